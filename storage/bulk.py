"""Bulk import of articles: archives and dumps loaded in large transactions.

:func:`bulk_ingest` stores an iterable of article rows (dicts with the
``articles`` columns) the way the crawler's writer would, with the same
duplicate rules (a URL or canonical URL already stored, or a text whose
``content_hash`` is already stored, is skipped), but built for volume:

- rows are prepared (validated, hashed) on a second thread while the
  database writes the previous batch, so reading and parsing the input
  overlaps with SQLite's work;
- each batch (``batch`` rows, default 50,000) is one ``BEGIN IMMEDIATE``
  transaction and one ``executemany``; the duplicate checks are one indexed
  ``IN (...)`` query per 500 keys;
- the FTS5 index is built per batch with one ``INSERT ... SELECT`` (the
  per-row trigger is deferred, see :func:`storage.db.deferred_fts`), with
  :data:`BULK_FTS_OPTIONS` for the import: a buffer large enough for a whole
  batch and no merging until the end. Through the trigger, FTS5 wrote one
  tiny segment per row and merged them again and again: that, not the
  tokenizing, is what made large ingests slow down as the index grew;
- at the end the FTS5 index is merged into one segment (``optimize``, so
  that queries read one b-tree per term), the write-ahead log is
  checkpointed and truncated, and ``PRAGMA optimize`` refreshes the planner's
  statistics.

Each batch commits on its own, so another writer (the daemon) can write
between batches, and an interrupted import keeps the batches it committed,
every one of them indexed. A batch of 50,000 rows holds the write lock for
10-20 s on 2 cores, the final merge about 20 s at 1,000,000 rows (the
daemon's writer waits up to 30 s for it). The page cache is raised to
:data:`BULK_CACHE_KB` while importing.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from storage.db import deferred_fts, hash_text, utcnow

if TYPE_CHECKING:
    from storage.db import Store

#: the ``articles`` columns an imported row may set (``id`` is assigned)
ARTICLE_COLUMNS = (
    "url", "canonical_url", "fetched_url", "source", "title", "author", "published", "published_from",
    "feed_published", "date_disagreement", "language", "text", "content_hash", "fetched_at", "run_id",
)
#: rows per import transaction
BULK_BATCH = 50_000
#: FTS5 options while importing, restored afterwards: a 512 MB in-memory buffer (``hashsize``) so
#: that each batch is written as one segment, and no merging while importing (``automerge`` 0, a
#: forced merge only past 64 segments of one level): the final ``optimize`` merges once
BULK_FTS_OPTIONS = {"hashsize": 512 * 2**20, "automerge": 0, "crisismerge": 64}
#: what the import sets them back to (FTS5's defaults; the schema sets none of them), also after an
#: import that was killed before it could
FTS_DEFAULTS = {"hashsize": 2**20, "automerge": 4, "crisismerge": 16}
#: page cache while importing (KiB): the url, canonical URL, content hash and date indexes take
#: new keys all over, so every batch dirties most of their pages; kept in memory, they are not read
#: back from disk or spilled to the log mid-batch. SQLite allocates it only as pages are used.
BULK_CACHE_KB = 2**20
#: prepared batches waiting for the database (bounds the memory held)
QUEUED_BATCHES = 2
INSERT_SQL = "insert into articles ({cols}) values ({marks})".format(
    cols=", ".join(f"[{c}]" for c in ARTICLE_COLUMNS), marks=", ".join("?" * len(ARTICLE_COLUMNS))
)
CONFIG_SQL = "insert into articles_fts(articles_fts, rank) values (?, ?)"


class InvalidRow(NamedTuple):
    """An input line that is not a row (e.g. bad JSON): counted and reported as invalid."""

    reason: str


@dataclass
class ImportResult:
    """What an import did; ``seconds`` and its parts are wall-clock."""

    read: int = 0
    stored: int = 0
    url_duplicates: int = 0
    content_duplicates: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)  # the first few invalid rows, why
    batches: int = 0
    write_s: float = 0.0  # the batch transactions (duplicate checks, rows, indexes, FTS5)
    wait_s: float = 0.0  # waiting for the next prepared batch (reading and preparing the input)
    optimize_s: float = 0.0  # FTS5 merge into one segment, WAL checkpoint, PRAGMA optimize
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MAX_ERRORS = 10


def prepare(row: Mapping[str, Any], now: str) -> tuple[Any, ...] | str:
    """The row's values in :data:`ARTICLE_COLUMNS` order, or why it cannot be stored."""
    if isinstance(row, InvalidRow):
        return row.reason
    if not isinstance(row, Mapping):
        return f"not an object: {type(row).__name__}"
    url, source = row.get("url"), row.get("source")
    if not url or not isinstance(url, str):
        return "no url"
    if not source or not isinstance(source, str):
        return "no source"
    values = dict.fromkeys(ARTICLE_COLUMNS)
    for key, value in row.items():
        if key in values:  # other keys are ignored; lists and objects are stored as JSON text
            values[key] = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value
    if not values["content_hash"]:
        values["content_hash"] = hash_text(values["text"] or "")
    if not values["fetched_at"]:
        values["fetched_at"] = now
    return tuple(values.values())


def prepared_batches(rows: Iterable[Mapping[str, Any]], batch: int) -> Iterator[tuple[list[tuple[Any, ...]], list[str], int]]:
    """(prepared rows, reasons of the invalid ones, rows read) per ``batch`` input rows."""
    now = utcnow()
    good: list[tuple[Any, ...]] = []
    bad: list[str] = []
    read = 0
    for row in rows:
        read += 1
        values = prepare(row, now)
        if isinstance(values, str):
            bad.append(f"row {read}: {values}")
        else:
            good.append(values)
        if len(good) + len(bad) >= batch:
            yield good, bad, read
            good, bad = [], []
    if good or bad:
        yield good, bad, read


def in_background(batches: Iterator[Any], depth: int = QUEUED_BATCHES) -> Iterator[Any]:
    """Run ``batches`` on a second thread, ``depth`` items ahead of the consumer."""
    done = object()
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

    thread = threading.Thread(target=produce, name="newswatch-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def set_fts_option(store: Store, name: str, value: Any) -> None:
    """Set an FTS5 option (through FTS5, so that every connection sees the change)."""
    store.db.execute(CONFIG_SQL, [name, value])


def import_batch(store: Store, rows: list[tuple[Any, ...]], result: ImportResult) -> None:
    """Insert the new ones of ``rows`` (values in :data:`ARTICLE_COLUMNS` order) in one transaction."""
    url_at, canonical_at, hash_at = (ARTICLE_COLUMNS.index(c) for c in ("url", "canonical_url", "content_hash"))
    conn = store.db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        known = store.known_urls([r[url_at] for r in rows] + [r[canonical_at] or r[url_at] for r in rows])
        known_hashes = store.known_hashes([r[hash_at] for r in rows])
        new = []
        for row in rows:
            url, canonical, digest = row[url_at], row[canonical_at] or row[url_at], row[hash_at]
            if url in known or canonical in known:
                result.url_duplicates += 1
            elif digest in known_hashes:
                result.content_duplicates += 1
            else:
                known.update((url, canonical))
                known_hashes.add(digest)
                new.append(row)
        with deferred_fts(store.db):
            conn.executemany(INSERT_SQL, new)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    result.stored += len(new)


def finish(store: Store) -> None:
    """Merge the FTS5 index into one segment, checkpoint the log, refresh the statistics."""
    conn = store.db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("insert into articles_fts(articles_fts) values ('optimize')")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA optimize")


def bulk_ingest(
    store: Store,
    rows: Iterable[Mapping[str, Any]],
    batch: int = BULK_BATCH,
    optimize: bool = True,
    progress: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Store ``rows`` (article dicts) in batches of ``batch``; see the module's docstring.

    ``progress`` is called with the running :class:`ImportResult` after each
    batch. With ``optimize=False`` the FTS5 index is left as the batches
    wrote it (still complete; queries read a few more segments).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    result = ImportResult()
    started = time.perf_counter()
    previous_cache = store.db.execute("PRAGMA cache_size").fetchone()[0]
    for name, value in BULK_FTS_OPTIONS.items():
        set_fts_option(store, name, value)
    store.db.execute(f"PRAGMA cache_size = -{BULK_CACHE_KB}")
    batches = in_background(prepared_batches(rows, batch))
    try:
        while True:
            t0 = time.perf_counter()
            item = next(batches, None)
            t1 = time.perf_counter()
            result.wait_s += t1 - t0
            if item is None:
                break
            good, bad, result.read = item
            result.invalid += len(bad)
            result.errors.extend(bad[: MAX_ERRORS - len(result.errors)])
            if good:
                import_batch(store, good, result)
            result.batches += 1
            result.write_s += time.perf_counter() - t1
            if progress is not None:
                progress(result)
    finally:
        batches.close()  # stops the reader thread when a batch failed
        for name, value in FTS_DEFAULTS.items():
            set_fts_option(store, name, value)
        store.db.execute(f"PRAGMA cache_size = {int(previous_cache)}")
    if optimize:
        t0 = time.perf_counter()
        finish(store)
        result.optimize_s = time.perf_counter() - t0
    result.seconds = time.perf_counter() - started
    for name in ("write_s", "wait_s", "optimize_s", "seconds"):
        setattr(result, name, round(getattr(result, name), 2))
    return result
