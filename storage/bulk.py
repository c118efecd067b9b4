"""Bulk import of articles: archives and dumps loaded in large transactions.

:func:`bulk_ingest` stores an iterable of article rows (dicts with the
``articles`` columns) the way the crawler's writer would, with the same
duplicate rules (a URL or canonical URL already stored, or a text whose
``content_hash`` is already stored, is skipped), but built for volume:

- rows are prepared (validated, hashed) on a second thread while the
  database writes the previous batch, so reading and parsing the input
  overlaps with SQLite's work. That thread waits while the writer runs
  Python (the duplicate checks and the ``executemany``, which takes the GIL
  back after each row's insert): otherwise the writer waited for the GIL
  after each row, and the second thread's work (some 55 µs a row) was paid
  on the writer's time instead of beside it. It runs while SQLite indexes
  the batch's text and commits, which needs no GIL and takes longer;
- each batch (``batch`` rows, default 50,000) is one ``BEGIN IMMEDIATE``
  transaction and one ``executemany``;
- the duplicate checks look the batch's URLs and content hashes up in
  memory (:class:`KnownKeys`: the ``hash()`` of every stored key, read once
  from the indexes, then kept up to date with the rows stored since by
  anyone); only the keys found there are looked up in the database (one
  indexed ``IN (...)`` query per 500 keys), so a row is never skipped on a
  ``hash()`` collision. The index probes cost 25 µs a row at 1,000,000
  rows, an eighth of the import;
- the FTS5 index is built per batch with one ``INSERT ... SELECT`` (the
  per-row trigger is deferred, see :func:`storage.db.deferred_fts`), with
  :data:`BULK_FTS_OPTIONS` for the import: a buffer large enough for a whole
  batch and no merging until the end. Through the trigger, FTS5 wrote one
  tiny segment per row and merged them again and again: that, not the
  tokenizing, is what made large ingests slow down as the index grew;
- at the end the FTS5 index is merged into one segment (``optimize``, so
  that queries read one b-tree per term), the write-ahead log is
  checkpointed and truncated (also with ``optimize=False``), and ``PRAGMA
  optimize`` refreshes the planner's statistics.

The write-ahead log is checkpointed after each batch, as SQLite does by
default (``wal_autocheckpoint``), on purpose. With checkpoints off until the
end, each batch's pages were written once instead of twice, but at
1,000,000 rows the log reached 10 GB: every page read that missed the cache
then searched the log's index, which grows with the log, and the
final checkpoint copied 6 GB with the disk's own speed, 47 s instead of
16 s for the whole finish. ``synchronous`` stays ``NORMAL``: in WAL mode
that syncs nothing at a commit, only at a checkpoint, so ``OFF`` would only
drop the syncs that keep a power loss during a checkpoint from corrupting
the file.

Each batch commits on its own, so another writer (the daemon) can write
between batches, and an interrupted import keeps the batches it committed,
every one of them indexed. A batch of 50,000 rows holds the write lock for
5-20 s on 2 cores, the final merge about 15 s at 1,000,000 rows (the
daemon's writer waits up to 30 s for it). The lock is free while the
log is checkpointed after each commit (about a second), which is enough for
a waiting writer to take it: during a 200,000-row import, another process
writing 50 rows every half second the crawler's way (``BEGIN IMMEDIATE``)
wrote 12 times, none failed, the longest wait 5 s. The page cache is raised to
:data:`BULK_CACHE_KB` while importing.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
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
#: rows the reader thread prepares between two looks at the writer (see :func:`writer_busy`)
GATE_ROWS = 64
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
    optimize_s: float = 0.0  # FTS5 merge into one segment (unless not asked for), WAL checkpoint, PRAGMA optimize
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


def prepared_batches(rows: Iterable[Mapping[str, Any]], batch: int,
                     gate: threading.Event | None = None) -> Iterator[tuple[list[tuple[Any, ...]], list[str], int]]:
    """(prepared rows, reasons of the invalid ones, rows read) per ``batch`` input rows.

    With a ``gate``, waits for it to be set every :data:`GATE_ROWS` rows (see :func:`writer_busy`).
    """
    now = utcnow()
    good: list[tuple[Any, ...]] = []
    bad: list[str] = []
    read = 0
    for row in rows:
        read += 1
        if gate is not None and not read % GATE_ROWS:
            gate.wait()
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


@contextmanager
def writer_busy(gate: threading.Event) -> Iterator[None]:
    """The reader thread pauses (at its next :data:`GATE_ROWS` rows) while the writer runs Python."""
    gate.clear()
    try:
        yield
    finally:
        gate.set()


def set_fts_option(store: Store, name: str, value: Any) -> None:
    """Set an FTS5 option (through FTS5, so that every connection sees the change)."""
    store.db.execute(CONFIG_SQL, [name, value])


class KnownKeys:
    """The stored articles' URLs (``url`` and ``canonical_url``) and content hashes, as their ``hash()``.

    Read once from the three indexes when the import starts (covering index
    scans: 1.7 s and 140 MB at the most for 1,000,000 stored articles), then
    brought up to date in each batch's transaction with the rows whose id is
    above the highest seen (the ones other writers stored in between; the
    import's own are added as it stores them). A key not in here is not stored; a key in here is confirmed
    in the database, so that a ``hash()`` collision never skips a row.

    Ids only grow as newswatch never deletes an article. Should a row be
    deleted by hand during an import and its id reused by another writer, a
    URL the import does not know of yet breaks the unique URL index: the
    batch is rolled back and tried again after a full reload (see
    :func:`import_batch`).
    """

    def __init__(self) -> None:
        self.urls: set[int] = set()
        self.hashes: set[int] = set()
        self.last_id = 0

    def load(self, conn: sqlite3.Connection) -> None:
        """Read every stored key (in one read transaction, so that ``last_id`` matches them)."""
        self.urls, self.hashes = set(), set()
        opened = not conn.in_transaction
        if opened:
            conn.execute("BEGIN")
        try:
            self.last_id = conn.execute("select max(rowid) from articles").fetchone()[0] or 0
            for sql, keys in ((LOAD_URLS_SQL, self.urls), (LOAD_CANONICAL_SQL, self.urls),
                              (LOAD_HASHES_SQL, self.hashes)):
                keys.update(hash(key) for (key,) in conn.execute(sql))
        finally:
            if opened:
                conn.execute("COMMIT")

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """Add the rows stored since (by another writer: call in the batch's transaction)."""
        for url, canonical, digest, rowid in conn.execute(SINCE_SQL, [self.last_id]):
            self.add(url, canonical or url, digest)
            self.last_id = max(self.last_id, rowid)

    def add(self, url: str, canonical: str, digest: str | None) -> None:
        self.urls.update((hash(url), hash(canonical)))
        if digest is not None:
            self.hashes.add(hash(digest))


#: the stored keys, each read from its own index (covering scans: the rows and their texts are not read)
LOAD_URLS_SQL = "select url from articles"
LOAD_CANONICAL_SQL = "select canonical_url from articles where canonical_url is not null"
LOAD_HASHES_SQL = "select content_hash from articles where content_hash is not null"
SINCE_SQL = "select url, canonical_url, content_hash, id from articles where id > ?"


def import_batch(store: Store, rows: list[tuple[Any, ...]], result: ImportResult, keys: KnownKeys,
                 gate: threading.Event) -> None:
    """Insert the new ones of ``rows`` (values in :data:`ARTICLE_COLUMNS` order) in one transaction.

    ``gate`` is cleared while this runs Python (see :func:`writer_busy`). On a
    URL the in-memory keys missed (see :class:`KnownKeys`), the batch is rolled
    back and tried once more with the keys read again from the database.
    """
    for attempt in (1, 2):
        try:
            return store_batch(store, rows, result, keys, gate)
        except sqlite3.IntegrityError:
            if attempt == 2:
                raise
            keys.load(store.db.conn)


def store_batch(store: Store, rows: list[tuple[Any, ...]], result: ImportResult, keys: KnownKeys,
                gate: threading.Event) -> None:
    conn = store.db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        with deferred_fts(store.db):  # its FTS5 statement runs as the block ends, beside the reader thread
            with writer_busy(gate):
                keys.catch_up(conn)
                new, new_keys, url_duplicates, content_duplicates = new_rows(store, rows, keys)
                conn.executemany(INSERT_SQL, new)
        last_id = conn.execute("select max(rowid) from articles").fetchone()[0] or 0
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    with writer_busy(gate):
        for url, canonical, digest in new_keys:
            keys.add(url, canonical, digest)
    keys.last_id = last_id
    result.stored += len(new)
    result.url_duplicates += url_duplicates
    result.content_duplicates += content_duplicates


URL_AT, CANONICAL_AT, HASH_AT = (ARTICLE_COLUMNS.index(c) for c in ("url", "canonical_url", "content_hash"))


def new_rows(store: Store, rows: list[tuple[Any, ...]],
             keys: KnownKeys) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, str]], int, int]:
    """The rows to store, their (url, canonical URL, content hash), and the URL and content duplicates skipped."""
    batch_keys = [(r[URL_AT], r[CANONICAL_AT] or r[URL_AT], r[HASH_AT]) for r in rows]
    urls, hashes = keys.urls, keys.hashes
    # only the keys that may be stored are looked up (confirmed) in the database
    known = store.known_urls([key for url, canonical, _ in batch_keys for key in (url, canonical) if hash(key) in urls])
    known_hashes = store.known_hashes([digest for _, _, digest in batch_keys if hash(digest) in hashes])
    new, new_keys, url_duplicates, content_duplicates = [], [], 0, 0
    for row, (url, canonical, digest) in zip(rows, batch_keys):
        if url in known or canonical in known:
            url_duplicates += 1
        elif digest in known_hashes:
            content_duplicates += 1
        else:
            known.update((url, canonical))
            known_hashes.add(digest)
            new.append(row)
            new_keys.append((url, canonical, digest))
    return new, new_keys, url_duplicates, content_duplicates


def finish(store: Store, optimize: bool) -> None:
    """Merge the FTS5 index into one segment (``optimize``), checkpoint the log, refresh the statistics."""
    conn = store.db.conn
    if optimize:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("insert into articles_fts(articles_fts) values ('optimize')")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if optimize:
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
    conn = store.db.conn
    previous_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    for name, value in BULK_FTS_OPTIONS.items():
        set_fts_option(store, name, value)
    conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KB}")
    keys = KnownKeys()
    keys.load(conn)
    gate = threading.Event()  # set: the reader thread may run (see writer_busy)
    gate.set()
    batches = in_background(prepared_batches(rows, batch, gate))
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
                import_batch(store, good, result, keys, gate)
            result.batches += 1
            result.write_s += time.perf_counter() - t1
            if progress is not None:
                progress(result)
    finally:
        gate.set()
        batches.close()  # stops the reader thread when a batch failed
        for name, value in FTS_DEFAULTS.items():
            set_fts_option(store, name, value)
        conn.execute(f"PRAGMA cache_size = {int(previous_cache)}")
    t0 = time.perf_counter()
    finish(store, optimize)
    result.optimize_s = time.perf_counter() - t0
    result.seconds = time.perf_counter() - started
    for name in ("write_s", "wait_s", "optimize_s", "seconds"):
        setattr(result, name, round(getattr(result, name), 2))
    return result
