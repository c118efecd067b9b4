"""newswatch benchmark suite: one command, one table.

    python bench/run.py                      # full run (3 crawl runs each, 1,000,000 rows)
    python bench/run.py --quick              # smoke run (1 crawl run each, 50,000 rows)
    python bench/run.py --skip-newsplease    # without the news-please comparison
    python bench/run.py --runs 5 --articles 200000

Everything runs on 127.0.0.1 (a loopback-only network guard is installed in
this process and in every process it starts; the run fails if it refused
anything). See bench/README.md for what each figure means and how it is
measured. Writes bench/results/latest.json and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests" / "netguard"))

import newswatch_netguard  # noqa: E402

TARGETS = {
    "newswatch_vs_floor": 1.5,
    "newswatch_vs_newsplease": 10.0,
    "ingest_rows_per_s": 5000,
    "query_p95_ms": 50.0,
    "keyword_articles_per_s": 1000,
}
NEWSPLEASE_PORT = 80


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def start_site(pages: int | None, want_port_80: bool) -> tuple[Any, str | None]:
    """Start the bench site, on port 80 when news-please will crawl it; return (site, why news-please can't run)."""
    from newssite import start_site as start

    if want_port_80:
        try:
            return start(pages, port=NEWSPLEASE_PORT), None
        except OSError as exc:
            return start(pages, port=0), f"cannot serve the site on 127.0.0.1:{NEWSPLEASE_PORT} ({exc})"
    return start(pages, port=0), None


def run_crawls(args: argparse.Namespace, workdir: Path, guard_log: Path, log: Any) -> dict[str, Any]:
    """Floor, newswatch and news-please, interleaved, ``args.runs`` times each."""
    import crawlbench

    site, np_problem = start_site(args.pages, want_port_80=not args.skip_newsplease)
    result: dict[str, Any] = {"site": {"pages": len(site.pages), "base_url": site.base_url, "listing": args.listing}}
    np_setup = None
    try:
        if not args.skip_newsplease and np_problem is None:
            log("news-please: preparing bench/.venv-newsplease ...")
            np_setup = crawlbench.ensure_newsplease(workdir / "newsplease-install.log")
            log(f"news-please {np_setup['version']} ready ({np_setup['setup_s']} s)")
        floor_runs, nw_runs, np_runs = [], [], []
        for n in range(args.runs):
            floor_runs.append(crawlbench.run_floor(args.pages, guard_log))
            log(f"run {n + 1}/{args.runs}: floor {floor_runs[-1]['pages_per_s']} pages/s")
            nw_runs.append(crawlbench.run_newswatch(site, workdir / f"newswatch-{n}", guard_log, args.listing,
                                                    args.concurrency))
            log(f"run {n + 1}/{args.runs}: newswatch {nw_runs[-1]['pages_per_s']} pages/s")
            if np_setup is not None:
                np_runs.append(crawlbench.run_newsplease(site, workdir / f"newsplease-{n}", guard_log, np_setup,
                                                         args.listing))
                log(f"run {n + 1}/{args.runs}: news-please {np_runs[-1]['pages_per_s']} pages/s")
    finally:
        site.stop()
    result["floor"] = {"runs": floor_runs, "pages_per_s": median([r["pages_per_s"] for r in floor_runs]),
                       "defaults_pages_per_s": median([r.get("defaults_pages_per_s") for r in floor_runs])}
    result["newswatch"] = {
        "runs": nw_runs,
        "pages_per_s": median([r["pages_per_s"] for r in nw_runs]),
        "pages_per_s_wall": median([r["pages_per_s_wall"] for r in nw_runs]),
        "peak_tree_rss_mb": max(r["peak_tree_rss_mb"] for r in nw_runs),
        "stored": median([r["stored"] for r in nw_runs]),
        "vs_floor": median([nw["pages_per_s"] / fl["pages_per_s"] for nw, fl in zip(nw_runs, floor_runs)]),
        "vs_floor_defaults": median([nw["pages_per_s"] / fl["defaults_pages_per_s"] for nw, fl in zip(nw_runs, floor_runs)
                                     if fl.get("defaults_pages_per_s")]),
    }
    if np_setup is not None:
        result["newsplease"] = {
            "setup": np_setup,
            "runs": np_runs,
            "pages_per_s": median([r["pages_per_s"] for r in np_runs]),
            "pages_per_s_wall": median([r["pages_per_s_wall"] for r in np_runs]),
            "peak_tree_rss_mb": max(r["peak_tree_rss_mb"] for r in np_runs),
            "stored": median([r["stored"] for r in np_runs]),
            "crashed": median([r["crashed"] for r in np_runs]),
        }
        result["newswatch"]["vs_newsplease"] = median(
            [nw["pages_per_s"] / np["pages_per_s"] for nw, np in zip(nw_runs, np_runs) if np["pages_per_s"]])
        result["newswatch"]["vs_newsplease_wall"] = median(
            [nw["pages_per_s_wall"] / np["pages_per_s_wall"] for nw, np in zip(nw_runs, np_runs)])
    else:
        result["newsplease"] = {"skipped": np_problem or "--skip-newsplease"}
    return result


def build_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, verdict) rows of the one table."""
    rows: list[tuple[str, str, str, str]] = []

    def add(name: str, value: Any, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        rows.append((name, "n/a" if value is None else str(value), target, verdict))

    m = r["machine"]
    add("machine", f"{m['cores']} cores, {m['cpu']}, {m['memory_gb']} GiB")
    add("load average at start / end", f"{m['load_start']} / {m['load_end']}")
    add("versions", ", ".join(f"{k} {v}" for k, v in r["versions"].items()))
    c = r.get("crawl")
    if c:
        runs = len(c["floor"]["runs"])
        add("site", f"{c['site']['pages']} AEB pages on {c['site']['base_url']}, via {c['site']['listing']}; "
                    f"median of {runs} interleaved run(s)")
        fl, nw, np_ = c["floor"], c["newswatch"], c["newsplease"]
        add("other processes' load during the runs (cores)",
            f"floor {median([x['other_load_cores'] for x in fl['runs']])}, "
            f"newswatch {median([x['other_load_cores'] for x in nw['runs']])}"
            + (f", news-please {median([x['other_load_cores'] for x in np_['runs']])}" if "runs" in np_ else ""))
        add("floor: trafilatura alone with newswatch's options, 1 process, 1 core (pages/s)", fl["pages_per_s"])
        add("floor: trafilatura alone with its defaults, 1 process, 1 core (pages/s)", fl.get("defaults_pages_per_s"))
        add("newswatch crawl, 2 cores (pages/s, first request to exit)", nw["pages_per_s"])
        add("newswatch crawl (pages/s, process start to exit)", nw["pages_per_s_wall"])
        add("newswatch articles stored / pages", f"{nw['stored']} / {c['site']['pages']}")
        add("newswatch peak RSS, process tree (MB)", nw["peak_tree_rss_mb"])
        add("newswatch / floor", nw["vs_floor"], f">= {TARGETS['newswatch_vs_floor']}",
            nw["vs_floor"] is not None and nw["vs_floor"] >= TARGETS["newswatch_vs_floor"])
        add("newswatch / floor with trafilatura's defaults", nw.get("vs_floor_defaults"))
        if "runs" in np_:
            add("news-please crawl (pages/s, first request to exit)", np_["pages_per_s"])
            add("news-please crawl (pages/s, process start to exit)", np_["pages_per_s_wall"])
            add("news-please articles written / pages", f"{np_['stored']} / {c['site']['pages']}")
            examples = sorted({e for x in np_["runs"] for e in x["crash_examples"]})
            add("news-please pages that crashed its extractor", f"{np_['crashed']}"
                + (f" ({'; '.join(examples)})" if examples else ""))
            add("news-please peak RSS, process tree (MB)", np_["peak_tree_rss_mb"])
            add("news-please set-up (venv + pip install, s)",
                f"{np_['setup']['setup_s']}" + (" (installed now)" if np_["setup"]["installed_now"] else " (already there)"))
            add("newswatch / news-please", nw["vs_newsplease"], f">= {TARGETS['newswatch_vs_newsplease']}",
                nw["vs_newsplease"] is not None and nw["vs_newsplease"] >= TARGETS["newswatch_vs_newsplease"])
            add("newswatch / news-please (process start to exit)", nw["vs_newsplease_wall"])
        else:
            add("news-please", f"skipped: {np_['skipped']}")
    s = r.get("storage")
    if s:
        add(f"storage: bulk import (Store.bulk_ingest), {s['rows']:,} rows, batches of {s['batch']:,}, "
            "end to end incl. FTS build, merge, checkpoint (rows/s)", s["rows_per_s"],
            f">= {TARGETS['ingest_rows_per_s']:,}", s["rows_per_s"] >= TARGETS["ingest_rows_per_s"])
        add("storage: import parts (s): batches / of which waiting for input / final FTS merge + checkpoint",
            f"{s['batches_s']} / {s['waiting_for_rows_s']} / {s['fts_merge_checkpoint_optimize_s']}")
        add("storage: import rate of the batches over the last 10 % (rows/s)", s["last_10pct_rows_per_s"])
        add("storage: database size (MB)", s["db_mb"])
        add("storage: peak RSS of the benchmark process after the import (MB)", s.get("peak_rss_mb"))
        w = s.get("daemon_writes")
        if w:
            add(f"storage: then the crawler's write path, {w['rows']:,} rows in batches of {w['batch']} (rows/s)",
                w["rows_per_s"])
        for q in s["queries"]:
            name = f"FTS {q['query']}: p50 / p95 ms ({q['matches']:,} matches)"
            if q.get("compared_only"):
                add(name, f"{q['p50_ms']} / {q['p95_ms']}", "(comparison)")
            else:
                add(name, f"{q['p50_ms']} / {q['p95_ms']}", f"p95 <= {TARGETS['query_p95_ms']:g}",
                    q["p95_ms"] <= TARGETS["query_p95_ms"])
    d = r.get("detector")
    if d:
        add(f"detector keyword stage, 1 core ({d['articles']} dev.jsonl articles/s)", d["keyword_stage_articles_per_s"],
            f">= {TARGETS['keyword_articles_per_s']:,}", d["keyword_stage_articles_per_s"] >= TARGETS["keyword_articles_per_s"])
        add("detector full (keywords, classifier, incidents), 1 core (articles/s)", d["full_detector_articles_per_s"])
    if r.get("detector_error"):
        add("detector benchmark", f"failed: {r['detector_error']}")
    g = r["network_guard"]
    add("network guard: refused non-loopback attempts", g["refused"], "0", g["refused"] == 0)
    add("total time (s)", r["total_s"])
    return rows


def render_text(rows: list[tuple[str, str, str, str]]) -> str:
    head = ("measure", "value", "target", "")
    widths = [max(len(row[i]) for row in [*rows, head]) for i in range(4)]
    widths[1] = min(widths[1], 90)
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(),
             "  ".join("-" * w for w in widths[:3])]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def render_markdown(rows: list[tuple[str, str, str, str]], when: str, command: str) -> str:
    out = [f"# newswatch benchmark results\n\nMeasured {when} with `{command}` "
           "(see bench/README.md for what each figure means).\n",
           "| measure | value | target | |", "| --- | --- | --- | --- |"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--runs", type=int, default=None, help="interleaved crawl runs of each kind (default 3; 1 with --quick)")
    parser.add_argument("--articles", type=int, default=None,
                        help="rows for the storage test (default 1,000,000; 50,000 with --quick; 0 skips it)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 crawl run each, 50,000 rows")
    parser.add_argument("--skip-newsplease", action="store_true", help="do not install or run news-please")
    parser.add_argument("--skip-crawl", action="store_true", help="skip the floor / newswatch / news-please crawls")
    parser.add_argument("--skip-detector", action="store_true", help="skip the detector figures")
    parser.add_argument("--pages", type=int, default=None, help="serve only the first N AEB pages (default all 181)")
    parser.add_argument("--listing", choices=("rss", "sitemap"), default="rss",
                        help="what both crawlers read: the RSS feed (default) or the Google News sitemap")
    parser.add_argument("--concurrency", type=int, default=32, help="newswatch crawl.concurrency (default 32)")
    parser.add_argument("--batch", type=int, default=None,
                        help="rows per import transaction in the storage test (default 50,000)")
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats of each FTS query (default 20)")
    parser.add_argument("--detector-runs", type=int, default=None, help="passes over dev.jsonl (default 5; 1 with --quick)")
    parser.add_argument("--json", type=Path, default=BENCH / "results" / "latest.json", help="where to write the JSON")
    parser.add_argument("--markdown", type=Path, default=BENCH / "RESULTS.md", help="where to write the Markdown table")
    parser.add_argument("--workdir", type=Path, default=None, help="keep crawl databases and logs here (default: a temp dir)")
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    args.articles = args.articles if args.articles is not None else (50_000 if args.quick else 1_000_000)
    args.detector_runs = args.detector_runs or (1 if args.quick else 5)

    started = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="newswatch-bench-")
    workdir = args.workdir or Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    guard_log = workdir / "netguard.log"
    guard_log.write_text("")
    os.environ["BENCH_NETGUARD_LOG"] = str(guard_log)
    newswatch_netguard.install()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    import newswatch

    result: dict[str, Any] = {
        "when": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {
            "cores": os.cpu_count(), "cpu": cpu_model(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "load_start": round(os.getloadavg()[0], 2),
        },
        "versions": {
            "python": platform.python_version(), "newswatch": newswatch.__version__,
            "scrapy": version("scrapy"), "trafilatura": version("trafilatura"),
            "news-please": "not run", "sqlite": sqlite3.sqlite_version, "sqlite-utils": version("sqlite-utils"),
        },
        "targets": TARGETS,
    }
    try:
        if not args.skip_crawl:
            result["crawl"] = run_crawls(args, workdir, guard_log, log)
            setup = result["crawl"]["newsplease"].get("setup")
            if setup:
                result["versions"]["news-please"] = f"{setup['version']} (newspaper4k {setup['newspaper4k']})"
        if args.articles > 0:
            import storagebench

            log(f"storage: ingesting {args.articles:,} rows ...")
            result["storage"] = storagebench.run(args.articles, args.batch or storagebench.DEFAULT_BATCH, args.repeats,
                                                 db_path=(args.workdir / "scale.db") if args.workdir else None)
            log(f"storage: {result['storage']['rows_per_s']:,} rows/s, queries p95 <= "
                f"{result['storage']['query_p95_max_ms']} ms")
        if not args.skip_detector:
            import bench_detector

            try:
                result["detector"] = bench_detector.run(None, args.detector_runs)
                log(f"detector: {result['detector']['keyword_stage_articles_per_s']} articles/s (keyword stage)")
            except Exception as exc:  # keep the crawl and storage figures of a long run
                result["detector_error"] = f"{type(exc).__name__}: {exc}"
                log(f"detector benchmark failed: {result['detector_error']}")
    finally:
        refused = [line for line in guard_log.read_text().splitlines() if line.strip()]
        result["network_guard"] = {"refused": len(refused), "examples": refused[:10]}
        result["machine"]["load_end"] = round(os.getloadavg()[0], 2)
        result["total_s"] = round(time.perf_counter() - started, 1)
        tmp.cleanup() if args.workdir is None else None

    rows = build_rows(result)
    result["table"] = [dict(zip(("measure", "value", "target", "verdict"), row)) for row in rows]
    text = render_text(rows)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(render_markdown(rows, result["when"], " ".join(["python bench/run.py", *(argv if argv is not None else sys.argv[1:])])), encoding="utf-8")
    log(f"wrote {args.json} and {args.markdown}")
    if refused:
        print(f"\nFAILED: the network guard refused {len(refused)} non-loopback attempt(s):", file=sys.stderr)
        for line in refused[:10]:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
