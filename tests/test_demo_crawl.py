"""The offline demo: the bundled site is served on 127.0.0.1 and crawled for real."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from newswatch.cli import cli
from newswatch.demo.run import DEMO_DIR

EXPECTED = json.loads((DEMO_DIR / "expected.json").read_text(encoding="utf-8"))["articles"]


def test_demo_crawls_the_bundled_site(tmp_path):
    db_path = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "articles stored" in result.output

    conn = sqlite3.connect(db_path)
    rows = conn.execute("select url, published, language, text, source from articles").fetchall()
    paths = {url.split(":", 2)[2].split("/", 1)[1]: row for row in rows for url in [row[0]]}
    expected_paths = {p.lstrip("/") for p, meta in EXPECTED.items() if meta.get("stored", True)}
    # every article stored exactly once, under its clean URL (no utm_* parameters)
    assert set(paths) == expected_paths
    assert len(rows) == len(expected_paths)
    assert not any("utm_" in row[0] for row in rows)
    # nothing under /private/ (robots.txt) was stored
    assert not any("/private/" in row[0] for row in rows)
    for path, meta in EXPECTED.items():
        if not meta.get("stored", True):
            continue
        url, published, language, text, source = paths[path.lstrip("/")]
        assert published and published[:10] == meta["published"][:10], path
        assert language == meta["language"], path
        assert source == meta["source"], path
        assert len(text) > 300, path
    runs = conn.execute("select status, errors from crawl_runs").fetchall()
    assert {status for status, _ in runs} == {"ok"}
    failures = conn.execute("select url, reason from failures").fetchall()
    assert all("/private/" in url and "robots" in reason for url, reason in failures), failures


def test_demo_flags_the_attack_reports(tmp_path):
    db_path = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db_path)
    flagged = {
        url.split("/", 3)[3]
        for (url,) in conn.execute("select url from reports join articles on articles.id = reports.article_id")
    }
    positives = {p.lstrip("/") for p, meta in EXPECTED.items() if meta.get("iraq_attack_report")}
    assert positives, "the demo site has attack reports"
    missed = positives - flagged
    assert not missed, f"attack reports not flagged: {missed}"
    governorates = {g for (g,) in conn.execute("select governorate from incidents")}
    assert {"Erbil", "Anbar", "Kirkuk"} <= governorates
