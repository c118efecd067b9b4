"""Open the newswatch SQLite database and read and write its rows.

The database is an ordinary SQLite file in WAL mode, so that ``sqlite-utils``,
Datasette or a reader process can look at it while newswatch writes. All
writes go through one :class:`Store` at a time (see :class:`storage.writer.Writer`
for the single writer thread the crawler uses).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from storage.ftsquery import expand_prefixes
from storage.schema import MIGRATIONS

if TYPE_CHECKING:
    from storage.bulk import ImportResult

LOGGER = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
#: page cache per connection (KiB); SQLite allocates it only as pages are used
CACHE_SIZE_KB = 256 * 1024

#: top matches by bm25; the inner query ranks on the FTS index alone
SEARCH_BY_RANK_SQL = (
    "select a.id, a.title, a.published from "
    "(select rowid, rank from articles_fts where articles_fts match ? order by rank limit ?) f "
    "join articles a on a.id = f.rowid order by f.rank"
)
#: the best by bm25 among the newest ``?`` matches: FTS5 reads the doclists newest first, stops
#: after that many rows and computes bm25 for those rows only; then the best ``?`` are joined
SEARCH_RECENT_BY_RANK_SQL = (
    "select a.id, a.title, a.published from "
    "(select rowid, rank from "
    "(select rowid, rank from articles_fts where articles_fts match ? order by rowid desc limit ?) "
    "order by rank limit ?) f "
    "join articles a on a.id = f.rowid order by f.rank"
)
#: matches ranked by :meth:`Store.search`: the most recently stored ones
SEARCH_CANDIDATES = 2000
#: rows walked newest first (published index) before collecting every match instead
NEWEST_PROBE_BUDGET = 300
NEWEST_COUNT_SQL = "select count(*) from articles_fts where articles_fts match ?"
#: the ``published`` value ``budget`` rows down from the newest (index only)
NEWEST_BOUND_SQL = (
    "select published from articles indexed by idx_articles_published "
    "where published >= ? order by published desc limit 1 offset ?"
)
#: walks the published index newest first and stops at ``limit`` matches
NEWEST_WALK_SQL = (
    "select a.id, a.title, a.published from articles a indexed by idx_articles_published "
    "where a.published >= ? "
    "and exists (select 1 from articles_fts f where f.rowid = a.id and articles_fts match ?) "
    "order by a.published desc limit ?"
)
NEWEST_COLLECT_SQL = (
    "select a.id, a.title, a.published from articles a "
    "where a.id in (select rowid from articles_fts where articles_fts match ?) and a.published >= ? "
    "order by a.published desc limit ?"
)


#: indexes the articles stored since a batch writer deferred the insert trigger (see schema m003)
INDEX_DEFERRED_SQL = "insert into articles_fts (rowid, title, text) select id, title, text from articles where id >= ?"


@contextmanager
def deferred_fts(db: Database) -> Iterator[None]:
    """Inside the caller's transaction: index the articles inserted in the block with one FTS5 statement.

    The block's inserts skip the per-row FTS trigger (``fts_deferred`` has a
    row, visible to this transaction only); on leaving, every article with an
    id above those stored before the block is indexed at once and the row is
    deleted. Inserted articles must not set ``id`` (they get ids above every
    stored one). On an error the caller's transaction is rolled back, flag
    included.
    """
    if not db.conn.in_transaction:
        raise StorageError("deferred_fts needs an open transaction")
    first = (db.execute("select max(rowid) from articles").fetchone()[0] or 0) + 1
    db.execute("insert into fts_deferred (since_id) values (?)", [first])
    yield
    db.execute(INDEX_DEFERRED_SQL, [first])
    db.execute("delete from fts_deferred")


class StorageError(Exception):
    "The database could not be opened or written"


def utcnow() -> str:
    """Return the current UTC time as an ISO 8601 string (seconds)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def hash_text(text: str) -> str:
    """Return the content hash stored with each article (whitespace-normalised)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) and migrate the database at ``path``.

    Raises :class:`StorageError` with a readable reason when the path cannot
    be opened or is not an SQLite database.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise StorageError(f"cannot open database {path}: directory {path.parent} does not exist")
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # read the schema before anything is written: a file that is not a database, or
        # whose schema is damaged, is refused untouched (not even switched to WAL)
        conn.execute("select count(*) from sqlite_master").fetchone()
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # a large page cache keeps the FTS index's hot pages in memory during batch writes
        conn.execute(f"PRAGMA cache_size = -{CACHE_SIZE_KB}")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        MIGRATIONS.apply(db)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    return db


class Store:
    """Reads and writes newswatch rows on one open database."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = open_database(self.path)

    def close(self) -> None:
        self.db.close()

    # -- sources ---------------------------------------------------------
    def sync_sources(self, sources: Iterable[Any]) -> None:
        """Insert or update the configured sources, keeping their polling state."""
        with self.db.atomic():
            for src in sources:
                row = {
                    "name": src.name,
                    "homepage": src.homepage,
                    "language": src.language,
                    "feeds": json.dumps(list(src.feeds)),
                    "sitemaps": json.dumps(list(src.sitemaps)),
                    "interval_s": src.interval,
                    "min_interval_s": src.min_interval,
                    "max_interval_s": src.max_interval,
                }
                table = self.db["sources"]
                if table.count_where("name = ?", [src.name]):
                    table.update(src.name, row)
                else:
                    table.insert({**row, "current_interval_s": src.interval})

    def get_source(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db["sources"].rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def update_source(self, name: str, **fields: Any) -> None:
        self.db["sources"].update(name, fields)

    # -- feed state ------------------------------------------------------
    def get_feed_state(self, url: str) -> dict[str, Any] | None:
        rows = list(self.db["feed_state"].rows_where("url = ?", [url]))
        return rows[0] if rows else None

    def set_feed_state(self, url: str, **fields: Any) -> None:
        self.db["feed_state"].upsert({"url": url, **fields}, pk="url", alter=False)

    # -- articles --------------------------------------------------------
    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Return those of ``urls`` already stored (as url or canonical_url)."""
        found: set[str] = set()
        urls = list(dict.fromkeys(urls))
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = (
                f"select url from articles where url in ({marks}) "
                f"union select canonical_url from articles where canonical_url in ({marks})"
            )
            found.update(row[0] for row in self.db.execute(sql, chunk + chunk).fetchall())
        return found

    def insert_articles(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert new articles in one transaction; return the rows actually stored.

        An article whose ``url`` (or ``canonical_url``) is already stored is
        skipped: stored rows are never rewritten, so the FTS index is not
        churned. Each returned row carries its new ``id``.
        """
        stored: list[dict[str, Any]] = []
        if not rows:
            return stored
        with self.db.atomic(), deferred_fts(self.db):
            known = self.known_urls([r["url"] for r in rows] + [r.get("canonical_url") or r["url"] for r in rows])
            for row in rows:
                if row["url"] in known or (row.get("canonical_url") or row["url"]) in known:
                    continue
                row = dict(row)
                row.pop("id", None)  # ids are assigned (above every stored one: see deferred_fts)
                row.setdefault("fetched_at", utcnow())
                if not row.get("content_hash"):
                    row["content_hash"] = hash_text(row.get("text") or "")
                cursor = self.db.execute(
                    "insert or ignore into articles ({cols}) values ({marks})".format(
                        cols=", ".join(f"[{c}]" for c in row),
                        marks=", ".join("?" * len(row)),
                    ),
                    list(row.values()),
                )
                if cursor.rowcount:
                    row["id"] = cursor.lastrowid
                    stored.append(row)
                    known.add(row["url"])
                    known.add(row.get("canonical_url") or row["url"])
        return stored

    def bulk_ingest(self, rows: Iterable[dict[str, Any]], batch: int | None = None, optimize: bool = True,
                    progress: Callable[[ImportResult], None] | None = None) -> ImportResult:
        """Store many articles fast (archives, dumps): see :func:`storage.bulk.bulk_ingest`."""
        from storage.bulk import BULK_BATCH, bulk_ingest

        return bulk_ingest(self, rows, batch=batch or BULK_BATCH, optimize=optimize, progress=progress)

    def search(self, query: str, limit: int = 50,
               candidates: int | None = SEARCH_CANDIDATES) -> list[dict[str, Any]]:
        """The ``limit`` articles that best match the FTS5 ``query`` (bm25), best first.

        bm25 costs a few microseconds per matching row, so a common query
        (tens of thousands of matches at a million articles) would spend
        hundreds of milliseconds ranking rows it does not return. Only the
        ``candidates`` most recently stored matches are ranked (FTS5 reads
        its doclists newest first and stops there; bm25 runs on those rows
        only). A query with fewer matches is ranked in full, as is every
        query with ``candidates=None``. Prefix tokens are searched as their
        terms (see :func:`expand_prefixes`).
        """
        query = expand_prefixes(self.db, query)
        if candidates is None:
            cursor = self.db.execute(SEARCH_BY_RANK_SQL, [query, limit])
        else:
            cursor = self.db.execute(SEARCH_RECENT_BY_RANK_SQL, [query, max(candidates, limit), limit])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def search_newest(self, query: str, since: str | None = None, limit: int = 50,
                      probe_budget: int = NEWEST_PROBE_BUDGET) -> list[dict[str, Any]]:
        """The newest ``limit`` articles published at or after ``since`` that match the FTS5 ``query``.

        Two plans, chosen at run time from the number of matches (counted on
        the full-text index alone, which is cheap). A common word (expected
        to reach ``limit`` matches within ``probe_budget`` rows) walks the
        ``published`` index newest first and checks each row against the
        full-text index, stopping at ``limit`` matches: its tens of thousands
        of matches are never collected. Otherwise (or when the walk ends at
        the budget short of ``limit``) the matches are collected from the
        full-text index and sorted by date. Prefix tokens are searched as
        their terms (see :func:`expand_prefixes`).
        """
        since = since or ""
        query = expand_prefixes(self.db, query)
        matches = self.db.execute(NEWEST_COUNT_SQL, [query]).fetchone()[0]
        if not matches:
            return []
        total = self.db.execute("select max(rowid) from articles").fetchone()[0] or 0
        cursor = None
        if matches * probe_budget >= limit * total:
            # a common word: about ``limit * total / matches`` rows to walk before ``limit`` matches
            bound = self.db.execute(NEWEST_BOUND_SQL, [since, probe_budget]).fetchone()
            cursor = self.db.execute(NEWEST_WALK_SQL, [max(since, bound[0] or "") if bound else since, query, limit])
            rows = cursor.fetchall()
            if len(rows) < limit and bound is not None:
                cursor = None  # the walk stopped at the budget short of ``limit``
        if cursor is None:
            cursor = self.db.execute(NEWEST_COLLECT_SQL, [query, since, limit])
            rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in rows]

    def count_duplicate_content(self, content_hash: str) -> int:
        return self.db["articles"].count_where("content_hash = ?", [content_hash])

    def known_hashes(self, hashes: Sequence[str]) -> set[str]:
        """Return those of ``hashes`` already stored as an article's ``content_hash`` (one query per 500)."""
        found: set[str] = set()
        hashes = list(dict.fromkeys(hashes))
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            sql = f"select content_hash from articles where content_hash in ({','.join('?' * len(chunk))})"
            found.update(row[0] for row in self.db.execute(sql, chunk).fetchall())
        return found

    # -- failures and runs -------------------------------------------------
    def record_failures(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            with self.db.atomic():
                self.db["failures"].insert_all(
                    [{"at": utcnow(), **r} for r in rows], alter=False
                )

    def start_run(self, source: str) -> int:
        with self.db.atomic():
            return self.db["crawl_runs"].insert(
                {"source": source, "started": utcnow(), "status": "running",
                 "found": 0, "new": 0, "stored": 0, "duplicates": 0, "errors": 0, "flagged": 0}
            ).last_pk

    def finish_run(self, run_id: int, status: str, counts: dict[str, int], error: str | None = None) -> None:
        with self.db.atomic():
            self.db["crawl_runs"].update(
                run_id, {**counts, "status": status, "error": error, "finished": utcnow()}
            )

    def close_stale_runs(self) -> int:
        """Mark runs left 'running' by a process that died as 'interrupted'."""
        with self.db.atomic():
            cur = self.db.execute(
                "update crawl_runs set status = 'interrupted', finished = ? where status = 'running'",
                [utcnow()],
            )
        return cur.rowcount
