"""Storage at scale: bulk ingest into a fresh newswatch database, then full-text query latency.

    python bench/storagebench.py [--articles 1000000] [--batch 50000] [--db PATH] [--keep]
    python bench/storagebench.py --db PATH --queries-only      # time the queries on a kept database

Rows. The texts are real: the 181 AEB article bodies (``truth.json``) and the
488 texts of ``dev.jsonl``, reused in turn. Each row gets its own title
(the text's first words plus a number), URL, source (one of eight outlets),
language and publication date (spread over 2015-2025), and its text a
dateline and a closing reference line, so every ``content_hash`` is unique
(the crawler's writer would otherwise skip the row as a duplicate).

Write path. The rows go through ``Store.bulk_ingest`` (what ``newswatch
import`` runs) on a database opened by ``storage.Store`` with the product's
pragmas: ``--batch`` rows per transaction (default 50,000), the URL and
content-hash duplicate checks, the insert, the FTS5 index built per batch with
one ``INSERT ... SELECT``, and at the end the FTS5 merge into one segment, the
WAL checkpoint and ``PRAGMA optimize``. The rate is rows over that whole time,
given with the machine's load average before and after (it may be shared).
The rows are generated on the import's reader thread, so generating them
(and hashing every text) is inside the time too. Then ``DAEMON_ROWS`` more
rows go through ``crawler.writer.write_batch`` in the crawler's flush size (50
rows), the path the crawler's writer thread takes, on the loaded database.

Queries. After the ingest, each analyst query runs ``--repeats`` times
(default 20) on a second, read-only connection, after one untimed warm-up: p50
and p95 in milliseconds, with the number of rows the query matched. They are
in :data:`QUERIES`: the product's helpers ``Store.search`` (bm25 over the
newest 2,000 matches) and ``Store.search_newest``, sqlite-utils' ``search``,
and for comparison the plain SQL the helpers avoid (bm25 over every match,
``id IN (match) ... ORDER BY published``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from newssite import default_shared_dir  # noqa: E402

OUTLETS = ("shafaq", "rudaw", "kurdistan24", "iraqinews", "aljazeera", "ina", "964", "alsumaria")
PLACES = ("BAGHDAD", "ERBIL", "MOSUL", "BASRA", "KIRKUK", "RAMADI", "NAJAF", "SULAIMANI", "DIYALA", "TIKRIT")
START = datetime(2015, 1, 1)
SPAN_S = int((datetime(2025, 12, 31) - START).total_seconds())

# (name, FTS5 query, how it runs, compared only). How: ``Store.search`` or
# ``Store.search_newest`` (the product's helpers), "sqlite-utils" (its ``search``), or SQL taking
# the query as ? (and a date for the filtered one). The rows marked "compared only" show what the
# helpers avoid; they have no target.
TOP_BY_RANK = (
    "select a.id, a.title, a.published from "
    "(select rowid, rank from articles_fts where articles_fts match ? order by rank limit 50) f "
    "join articles a on a.id = f.rowid order by f.rank"
)
NEWEST_SINCE = (
    "select a.id, a.title, a.published from articles a "
    "where a.id in (select rowid from articles_fts where articles_fts match ?) and a.published >= ? "
    "order by a.published desc limit 50"
)
#: ``Store.search``: bm25 over the most recently stored 2,000 matches (see storage/db.py)
SEARCH_HELPER = "Store.search"
#: ``Store.search_newest``: the product's helper, which walks the ``published``
#: index for a common word instead of collecting every match (see storage/db.py)
NEWEST_HELPER = "Store.search_newest"
QUERIES: list[tuple[str, str, str, bool]] = [
    ("rocket Baghdad, top 50 by rank (Store.search)", "rocket Baghdad", SEARCH_HELPER, False),
    ('"Ain al-Asad", top 50 by rank (phrase, Store.search)', '"Ain al-Asad"', SEARCH_HELPER, False),
    ("NEAR(drone Erbil, 10), top 50 by rank (Store.search)", "NEAR(drone Erbil, 10)", SEARCH_HELPER, False),
    ("milit* Diyala, top 50 by rank (prefix, Store.search)", "milit* Diyala", SEARCH_HELPER, False),
    ("attack since 2025-06-01, newest 50 (Store.search_newest)", "attack", NEWEST_HELPER, False),
    ('"Ain al-Asad" since 2025-06-01, newest 50 (Store.search_newest)', '"Ain al-Asad"', NEWEST_HELPER, False),
    ("sqlite-utils search: drone Erbil", "drone Erbil", "sqlite-utils", False),
    ("rocket Baghdad, bm25 over every match (plain SQL)", "rocket Baghdad", TOP_BY_RANK, True),
    ("milit* Diyala, bm25 over every match (plain SQL)", "milit* Diyala", TOP_BY_RANK, True),
    ("attack since 2025-06-01, newest 50 (plain IN form)", "attack", NEWEST_SINCE, True),
]
DATE_FILTER = "2025-06-01"
#: rows per import transaction (``newswatch import``'s default; the crawler's own batches are its flushes)
DEFAULT_BATCH = 50_000
#: rows then written through the crawler's write path, in its flush size, on the loaded database
DAEMON_ROWS, DAEMON_BATCH = 5000, 50
COUNT_SQL = "select count(*) from articles_fts where articles_fts match ?"


def load_texts(shared: Path | None = None) -> list[tuple[str, str, str]]:
    """(title seed, text, language) for every reusable text."""
    data = (shared or default_shared_dir()) / "data"
    texts: list[tuple[str, str, str]] = []
    truth = json.loads((data / "pages" / "aeb" / "truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        body = (truth[key].get("articleBody") or "").strip()
        if body:
            texts.append((" ".join(body.split()[:10]), body, "en"))
    with open(data / "dev.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                item = json.loads(line)
                if (item.get("text") or "").strip():
                    title = (item.get("title") or "").strip() or " ".join(item["text"].split()[:10])
                    texts.append((title, item["text"].strip(), "en"))
    return texts


def make_rows(texts: list[tuple[str, str, str]], start: int, count: int) -> list[dict[str, Any]]:
    """Rows ``start .. start+count-1`` (deterministic)."""
    rows = []
    for n in range(start, start + count):
        seed, text, language = texts[n % len(texts)]
        rnd = random.Random(n)
        outlet = OUTLETS[n % len(OUTLETS)]
        when = START + timedelta(seconds=rnd.randrange(SPAN_S))
        place = PLACES[rnd.randrange(len(PLACES))]
        url = f"https://{outlet}.example/news/{when:%Y/%m/%d}/{n}"
        rows.append({
            "url": url,
            "canonical_url": url,
            "fetched_url": url,
            "source": outlet,
            "title": f"{seed} ({n})",
            "author": None,
            "published": when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "published_from": "page",
            "feed_published": None,
            "date_disagreement": 0,
            "language": language,
            "text": f"{place}, {when:%B %d} ({outlet}) - {text}\n\nReference {n}.",
            "run_id": 1,
        })
    return rows


def generated_rows(texts: list[tuple[str, str, str]], articles: int, chunk: int = 10_000):
    """Rows ``0 .. articles-1``, generated ``chunk`` at a time (never all in memory)."""
    for start in range(0, articles, chunk):
        yield from make_rows(texts, start, min(chunk, articles - start))


def ingest(db_path: Path, articles: int, batch: int, texts: list[tuple[str, str, str]],
           progress: bool = False) -> dict[str, Any]:
    """Load ``articles`` rows with ``Store.bulk_ingest`` (what ``newswatch import`` runs); return the rates.

    Timed end to end: from the first row read to the FTS5 merge, the WAL
    checkpoint and ``PRAGMA optimize`` done. The rows are generated on the
    import's reader thread, so their generation is inside the time too.
    """
    from storage import Store

    store = Store(db_path)
    marks: list[tuple[float, int]] = []  # (seconds since start, rows read) after each batch
    load_before = os.getloadavg()
    started = time.perf_counter()

    def report(result: Any) -> None:
        marks.append((time.perf_counter() - started, result.read))
        if progress:
            rate = result.read / marks[-1][0]
            print(f"  {result.read:>9,} rows  {rate:,.0f} rows/s  load {os.getloadavg()[0]:.1f}",
                  file=sys.stderr, flush=True)

    try:
        result = store.bulk_ingest(generated_rows(texts, articles), batch=batch, progress=report)
    finally:
        store.close()
    if result.stored != articles:
        raise RuntimeError(f"only {result.stored} of {articles} rows were stored")
    before = max((m for m in marks if m[1] <= articles * 0.9), default=(0.0, 0))  # the last 10 %'s batches
    tail_s = marks[-1][0] - before[0]
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))
    text_bytes = sum(len(t[1].encode("utf-8")) for t in texts) / len(texts)
    return {
        "rows": result.stored,
        "batch": batch,
        "path": "Store.bulk_ingest",
        "ingest_s": result.seconds,
        "rows_per_s": round(result.stored / result.seconds),
        "batches_s": result.write_s,
        "waiting_for_rows_s": result.wait_s,
        "fts_merge_checkpoint_optimize_s": result.optimize_s,
        "rows_per_s_without_final_merge": round(result.stored / (result.seconds - result.optimize_s)),
        "last_10pct_rows_per_s": round((articles - before[1]) / tail_s) if tail_s else None,
        "db_mb": round(size / 1e6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # the process's, so far
        "mean_text_kb": round(text_bytes / 1000, 1),
        # the machine's 1-minute load average before and after (the machine may be shared: rates vary with it)
        "load_avg_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }


def daemon_writes(db_path: Path, texts: list[tuple[str, str, str]], start: int, rows: int = 5000,
                  batch: int = 50) -> dict[str, Any]:
    """The crawler's own write path on the loaded database: ``write_batch`` with its flush size."""
    from crawler.writer import write_batch
    from storage import Store

    store = Store(db_path)
    stored, write_s = 0, 0.0
    try:
        for first in range(start, start + rows, batch):
            items = [(row, None) for row in make_rows(texts, first, min(batch, start + rows - first))]
            t0 = time.perf_counter()
            outcomes = write_batch(store, items, [])
            write_s += time.perf_counter() - t0
            stored += sum(1 for o in outcomes if o.status == "stored")
    finally:
        store.close()
    return {"rows": stored, "batch": batch, "rows_per_s": round(stored / write_s) if write_s else None}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def query_latencies(db_path: Path, repeats: int) -> list[dict[str, Any]]:
    """p50/p95 of each analyst query on a read-only connection."""
    from sqlite_utils import Database

    from storage import Store

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    db = Database(conn)
    store = Store.__new__(Store)  # the product's query helpers on this read-only connection
    store.path, store.db = db_path, db
    results = []
    try:
        for name, fts_query, sql, compared in QUERIES:
            if sql == "sqlite-utils":
                def run(q: str = fts_query) -> int:
                    return len(list(db["articles"].search(q, limit=50, columns=["id", "title", "published"])))
            elif sql == SEARCH_HELPER:
                def run(q: str = fts_query) -> int:
                    return len(store.search(q, 50))
            elif sql == NEWEST_HELPER:
                def run(q: str = fts_query) -> int:
                    return len(store.search_newest(q, DATE_FILTER, 50))
            elif sql is NEWEST_SINCE:
                def run(q: str = fts_query, s: str = sql) -> int:
                    return len(conn.execute(s, [q, DATE_FILTER]).fetchall())
            else:
                def run(q: str = fts_query, s: str = sql) -> int:
                    return len(conn.execute(s, [q]).fetchall())
            t0 = time.perf_counter()
            returned = run()
            first_ms = (time.perf_counter() - t0) * 1000
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run()
                times.append((time.perf_counter() - t0) * 1000)
            matches = conn.execute(COUNT_SQL, [fts_query]).fetchone()[0]
            results.append({
                "query": name, "fts": fts_query, "matches": matches, "returned": returned, "compared_only": compared,
                "first_ms": round(first_ms, 1),
                "p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2),
            })
    finally:
        conn.close()
    return results


def run(articles: int = 1_000_000, batch: int = DEFAULT_BATCH, repeats: int = 20, db_path: Path | None = None,
        keep: bool = False, progress: bool = False, shared: Path | None = None) -> dict[str, Any]:
    """Ingest ``articles`` rows into a fresh database and time the queries."""
    texts = load_texts(shared)
    tmp = None
    if db_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="newswatch-bench-storage-")
        db_path = Path(tmp.name) / "scale.db"
    for stale in db_path.parent.glob(db_path.name + "*"):
        stale.unlink()
    try:
        result = ingest(db_path, articles, batch, texts, progress)
        result["queries"] = query_latencies(db_path, repeats)
        result["query_p95_max_ms"] = max(q["p95_ms"] for q in result["queries"] if not q["compared_only"])
        result["daemon_writes"] = daemon_writes(db_path, texts, articles, min(DAEMON_ROWS, max(articles // 10, 1)),
                                                DAEMON_BATCH)
        result["texts"] = len(texts)
    finally:
        if tmp is not None and not keep:
            tmp.cleanup()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--db", type=Path, default=None, help="write here (deleted first) instead of a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument("--queries-only", action="store_true", help="only time the queries on --db (kept as is)")
    args = parser.parse_args()
    if args.queries_only:
        if args.db is None:
            parser.error("--queries-only needs --db")
        print(json.dumps(query_latencies(args.db, args.repeats), indent=2))
        return 0
    print(json.dumps(run(args.articles, args.batch, args.repeats, args.db, args.keep, progress=True), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
