"""Smoke test of the benchmark suite (``bench/run.py``) at tiny scale.

20 AEB pages, one run of each crawl, 2,000 rows, no news-please: every piece
runs for real (the trafilatura floor, ``newswatch crawl`` of the local site,
the storage ingest and FTS queries, the detector) and the table and the JSON
carry every expected figure. Loopback only, like every test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"


@pytest.fixture(autouse=True)
def _bench_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))


def test_bench_site_and_newswatch_config(shared_dir: Path, tmp_path: Path) -> None:
    import urllib.request

    import crawlbench
    from newssite import start_site

    from newswatch.config import load_config

    site = start_site(limit=5, shared=shared_dir)
    try:
        feed = urllib.request.urlopen(site.feed_url, timeout=10).read().decode()
        robots = urllib.request.urlopen(site.url("/robots.txt"), timeout=10).read().decode()
        home = urllib.request.urlopen(site.url("/"), timeout=10).read().decode()
        assert feed.count("<item>") == 5
        assert f"Sitemap: {site.sitemap_url}" in robots
        assert 'type="application/rss+xml"' in home
        page = urllib.request.urlopen(site.url(site.pages[0].path), timeout=10).read()
        assert page == site.pages[0].body
        for listing in ("rss", "sitemap"):
            path = tmp_path / f"{listing}.toml"
            crawlbench.write_newswatch_config(path, site, listing, concurrency=32, workers=0)
            config = load_config(str(path))
            assert config.crawl.allow_private_hosts and config.crawl.max_articles_per_source >= 181
            assert not config.crawl.autothrottle
    finally:
        site.stop()


def test_process_tree_sampler_sees_children() -> None:
    import crawlbench

    code = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1.5)']); time.sleep(1.5); p.wait()"
    proc = subprocess.Popen([sys.executable, "-c", code])
    with crawlbench.TreeSampler(proc.pid, interval=0.02) as sampler:
        proc.wait(timeout=30)
    assert sampler.max_processes >= 2
    assert sampler.peak_tree_kb > sampler.peak_main_kb > 0


def test_bench_run_tiny(shared_dir: Path, tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "latest.json", tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--pages", "20", "--runs", "1", "--articles", "2000",
         "--batch", "500", "--repeats", "3", "--detector-runs", "1", "--skip-newsplease",
         "--json", str(out_json), "--markdown", str(out_md)],
        cwd=str(REPO), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out_json.read_text())
    crawl = result["crawl"]
    assert crawl["site"]["pages"] == 20
    assert crawl["floor"]["pages_per_s"] > 0
    newswatch = crawl["newswatch"]
    assert newswatch["pages_per_s"] > 0 and newswatch["vs_floor"] > 0
    assert newswatch["runs"][0]["pages"] == 20 and newswatch["runs"][0]["stored"] >= 18
    assert newswatch["peak_tree_rss_mb"] > newswatch["runs"][0]["peak_main_rss_mb"] > 0
    assert crawl["newsplease"] == {"skipped": "--skip-newsplease"}
    storage = result["storage"]
    assert storage["rows"] == 2000 and storage["rows_per_s"] > 0
    assert {q["fts"] for q in storage["queries"]} >= {"rocket Baghdad", '"Ain al-Asad"', "attack"}
    assert all(q["p95_ms"] >= q["p50_ms"] >= 0 for q in storage["queries"])
    assert result["detector"]["keyword_stage_articles_per_s"] > 0
    assert result["network_guard"] == {"refused": 0, "examples": []}
    for key in ("python", "newswatch", "scrapy", "trafilatura", "news-please", "sqlite"):
        assert result["versions"][key]
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    measures = {row["measure"] for row in result["table"]}
    for expected in ("machine", "versions", "newswatch / floor", "newswatch peak RSS, process tree (MB)",
                     "detector keyword stage, 1 core (488 dev.jsonl articles/s)",
                     "network guard: refused non-loopback attempts"):
        assert any(m.startswith(expected) for m in measures), expected
    assert "floor: trafilatura alone" in proc.stdout and "newswatch / floor" in proc.stdout
    assert "| newswatch / floor |" in out_md.read_text()


def test_daemon_bench_measures_latency_to_each_report_alert(tmp_path: Path) -> None:
    import bench_daemon

    result = bench_daemon.measure_latency(3, 0.5, tmp_path)
    assert result["items"] == 3 and result["bad_signatures"] == 0 and result["exit_code"] == 0
    assert 0 < result["latency_p50_s"] <= result["latency_p95_s"] <= result["latency_max_s"] < 60
