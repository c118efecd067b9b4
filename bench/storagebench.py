"""Storage at scale: bulk ingest into a fresh newswatch database, then full-text query latency.

    python bench/storagebench.py [--articles 1000000] [--batch 1000] [--db PATH] [--keep]

Rows. The texts are real: the 181 AEB article bodies (``truth.json``) and the
488 texts of ``dev.jsonl``, reused in turn. Each row gets its own title
(the text's first words plus a number), URL, source (one of eight outlets),
language and publication date (spread over 2015-2025), and its text a
dateline and a closing reference line, so every ``content_hash`` is unique
(the crawler's writer would otherwise skip the row as a duplicate).

Write path. Batches go through ``crawler.writer.write_batch(store, items, [])``
on a :class:`storage.Store`: the very function the crawler's writer thread
calls for every flush (one transaction per batch; per row a content-hash
duplicate check, the URL duplicate check of ``Store.insert_articles``, the
insert, and the FTS5 triggers that index title and text). The database is
opened by ``storage.open_database`` with the product's pragmas (WAL,
``synchronous = NORMAL``); nothing is tuned for the benchmark. The batch size
(``--batch``, default 5,000 rows) is the one knob: the crawler flushes at 50
rows or 0.5 s, a bulk import uses large batches.

Queries. After the ingest (and ``PRAGMA optimize``), each analyst query runs
``--repeats`` times (default 20) on a second, read-only connection, after one
untimed warm-up: p50 and p95 in milliseconds, with the number of rows the
query matched. The SQL is in :data:`QUERIES`; "newest since a date" runs both
through the product's helper ``Store.search_newest`` and in the plain
``id IN (match) ... ORDER BY published`` form, for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
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

# (name, FTS5 query, SQL). The SQL takes the query as ? (and a date for the filtered one).
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
#: ``Store.search_newest``: the product's helper, which walks the ``published``
#: index for a common word instead of collecting every match (see storage/db.py)
NEWEST_HELPER = "Store.search_newest"
QUERIES: list[tuple[str, str, str]] = [
    ("rocket Baghdad (top 50 by rank)", "rocket Baghdad", TOP_BY_RANK),
    ('"Ain al-Asad" (phrase, top 50 by rank)', '"Ain al-Asad"', TOP_BY_RANK),
    ("NEAR(drone Erbil, 10) (top 50 by rank)", "NEAR(drone Erbil, 10)", TOP_BY_RANK),
    ("milit* Diyala (prefix, top 50 by rank)", "milit* Diyala", TOP_BY_RANK),
    ("attack since 2025-06-01, newest 50 (Store.search_newest)", "attack", NEWEST_HELPER),
    ("attack since 2025-06-01, newest 50 (plain IN form)", "attack", NEWEST_SINCE),
    ('"Ain al-Asad" since 2025-06-01, newest 50 (Store.search_newest)', '"Ain al-Asad"', NEWEST_HELPER),
    ("sqlite-utils search: drone Erbil", "drone Erbil", "sqlite-utils"),
]
DATE_FILTER = "2025-06-01"
#: rows per write transaction: what a bulk import uses (the crawler's own batches are its flushes)
DEFAULT_BATCH = 5000
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


def ingest(db_path: Path, articles: int, batch: int, texts: list[tuple[str, str, str]],
           progress: bool = False) -> dict[str, Any]:
    """Write ``articles`` rows through the crawler's write path; return the rates."""
    from crawler.writer import write_batch
    from storage import Store

    store = Store(db_path)
    stored = 0
    generate_s = 0.0
    write_s = 0.0
    tail_rows, tail_s = 0, 0.0
    tail_from = int(articles * 0.9)
    try:
        for start in range(0, articles, batch):
            count = min(batch, articles - start)
            t0 = time.perf_counter()
            rows = make_rows(texts, start, count)
            t1 = time.perf_counter()
            outcomes = write_batch(store, [(row, None) for row in rows], [])
            t2 = time.perf_counter()
            generate_s += t1 - t0
            write_s += t2 - t1
            stored += sum(1 for o in outcomes if o.status == "stored")
            if start >= tail_from:
                tail_rows += count
                tail_s += t2 - t1
            if progress and (start // batch) % 50 == 0:
                print(f"  {start + count:>9,} rows  {stored / write_s:,.0f} rows/s", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        store.db.execute("PRAGMA optimize")
        optimize_s = time.perf_counter() - t0
    finally:
        store.close()
    if stored != articles:
        raise RuntimeError(f"only {stored} of {articles} rows were stored")
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))
    text_bytes = sum(len(t[1].encode("utf-8")) for t in texts) / len(texts)
    return {
        "rows": stored,
        "batch": batch,
        "write_s": round(write_s, 1),
        "rows_per_s": round(stored / write_s),
        "last_10pct_rows_per_s": round(tail_rows / tail_s) if tail_s else None,
        "generate_s": round(generate_s, 1),
        "optimize_s": round(optimize_s, 1),
        "db_mb": round(size / 1e6),
        "mean_text_kb": round(text_bytes / 1000, 1),
    }


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
        for name, fts_query, sql in QUERIES:
            if sql == "sqlite-utils":
                def run(q: str = fts_query) -> int:
                    return len(list(db["articles"].search(q, limit=50, columns=["id", "title", "published"])))
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
                "query": name, "fts": fts_query, "matches": matches, "returned": returned,
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
        result["query_p95_max_ms"] = max(q["p95_ms"] for q in result["queries"])
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
    args = parser.parse_args()
    print(json.dumps(run(args.articles, args.batch, args.repeats, args.db, args.keep, progress=True), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
