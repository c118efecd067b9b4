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
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlite_utils import Database

from storage.schema import ARTICLES_VOCAB, MIGRATIONS

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


#: a prefix token (``milit*``) is searched as its terms when it has at most this many (see expand_prefixes)
PREFIX_TERMS_CAP = 32
#: the index's terms from the first ``?`` (a prefix) up to the second (excluded), at most ``?`` of them
PREFIX_TERMS_SQL = f'select term from "{ARTICLES_VOCAB}" where term >= ? and term < ? limit ?'
#: the prefixes looked up: the default tokenizer (unicode61) keeps them as one token, lowercased
EXPANDABLE_PREFIX_RE = re.compile(r"[A-Za-z0-9]+")
#: the index and its vocabulary (m004), read before a prefix is looked up
FTS_TABLES_SQL = "select name, sql from sqlite_master where name in ('articles_fts', ?)"

#: FTS5 query syntax: its one-character tokens, the spaces it skips and its operators
FTS_PUNCTUATION = {"(": "LP", ")": "RP", "{": "LCP", "}": "RCP", ":": "COLON", ",": "COMMA",
                   "+": "PLUS", "*": "STAR", "-": "MINUS", "^": "CARET"}
FTS_SPACES = " \t\n\r"
FTS_OPERATORS = ("AND", "OR", "NOT")


class FtsToken(NamedTuple):
    """One token of an FTS5 query: ``kind`` is WORD (a bareword), QUOTED (a quoted string),
    AND, OR, NOT or one of :data:`FTS_PUNCTUATION`'s names; ``query[start:end] == text``."""

    kind: str
    text: str
    start: int
    end: int


def is_bareword_char(ch: str) -> bool:
    """FTS5's bareword characters: ASCII letters, digits, ``_``, 0x1A and every non-ASCII character."""
    return ch >= "\x80" or ch.isalnum() or ch in "_\x1a"


def tokenize_fts_query(query: str) -> list[FtsToken] | None:
    """The tokens of the FTS5 ``query``, split as FTS5 splits them; None for a query FTS5 refuses
    to tokenize (an unclosed quote, a character that is neither a bareword's nor syntax)."""
    tokens: list[FtsToken] = []
    pos = 0
    while pos < len(query):
        ch = query[pos]
        if ch in FTS_SPACES:
            pos += 1
            continue
        end = pos + 1
        if ch in FTS_PUNCTUATION:
            kind = FTS_PUNCTUATION[ch]
        elif ch == '"':
            kind = "QUOTED"
            while True:  # a doubled quote inside a quoted string is a literal one
                end = query.find('"', end) + 1
                if not end:
                    return None
                if not query.startswith('"', end):
                    break
                end += 1
        elif is_bareword_char(ch):
            while end < len(query) and is_bareword_char(query[end]):
                end += 1
            kind = query[pos:end] if query[pos:end] in FTS_OPERATORS else "WORD"
        else:
            return None
        tokens.append(FtsToken(kind, query[pos:end], pos, end))
        pos = end
    return tokens


class UnparsedQuery(Exception):
    "An FTS5 query whose structure :func:`prefix_runs` does not follow (it is left as it is)"


def closing_paren(tokens: list[FtsToken], at: int) -> int:
    """The index of the RP closing the LP at ``at``."""
    depth = 0
    for pos in range(at, len(tokens)):
        depth += {"LP": 1, "RP": -1}.get(tokens[pos].kind, 0)
        if depth == 0:
            return pos
    raise UnparsedQuery("unclosed parenthesis")


def phrase_end(tokens: list[FtsToken], at: int) -> int:
    """The index after the phrase at ``at``: ``[^]string[*]``, then ``+ [^]string[*]`` any number of times."""
    while True:
        at += at < len(tokens) and tokens[at].kind == "CARET"
        if at >= len(tokens) or tokens[at].kind not in ("WORD", "QUOTED"):
            raise UnparsedQuery("a phrase without a string")
        at += 1
        at += at < len(tokens) and tokens[at].kind == "STAR"
        if at >= len(tokens) or tokens[at].kind != "PLUS":
            return at
        at += 1


def is_near(tokens: list[FtsToken], at: int) -> bool:
    return tokens[at].text == "NEAR" and at + 1 < len(tokens) and tokens[at + 1].kind == "LP"


def is_column_filter(tokens: list[FtsToken], at: int) -> bool:
    kind = tokens[at].kind
    return kind in ("MINUS", "LCP") or (kind == "WORD" and at + 1 < len(tokens) and tokens[at + 1].kind == "COLON")


def prefix_runs(tokens: list[FtsToken]) -> list[tuple[list[tuple[int, int]], bool]]:
    """The runs of juxtaposed phrases (an implicit AND) that hold a bare prefix token.

    FTS5 binds ``a b`` tighter than NOT, AND and OR, and (SQLite 3.40) does
    not let a parenthesised group stand next to a phrase, so a prefix token
    is replaced together with its run (``a milit* b`` becomes ``(a AND (...)
    AND b)``): each run is its units' token spans ``(first, after last)`` and
    whether it is all of its group or query (then it needs no parentheses).
    A unit is a phrase, a ``NEAR(...)`` group or a column-filtered one, and
    is a bare prefix token when it is exactly ``word *``. Phrases inside NEAR groups,
    under column filters (``col:``, ``{a b}:``, ``-col:``) or joined with
    ``+`` or ``^`` are never units of their own, so they stay as written.
    Raises :class:`UnparsedQuery` for anything else.
    """
    runs: list[tuple[list[tuple[int, int]], bool]] = []

    def level(at: int) -> int:  # from ``at`` to this level's RP (or the end); returns its index
        run: list[tuple[int, int]] = []
        starts = at
        while at < len(tokens) and tokens[at].kind != "RP":
            kind, first = tokens[at].kind, at
            if kind in FTS_OPERATORS or kind == "LP":
                if kind == "LP":
                    at = level(at + 1)
                    if at >= len(tokens):
                        raise UnparsedQuery("unclosed parenthesis")
                close_run(run, False)
                run = []
                at += 1
                continue
            if is_column_filter(tokens, at):
                at += tokens[at].kind == "MINUS"
                if at < len(tokens) and tokens[at].kind == "LCP":
                    at = column_list_end(at + 1)
                if at + 2 >= len(tokens) or tokens[at].kind not in ("WORD", "RCP") or tokens[at + 1].kind != "COLON":
                    raise UnparsedQuery("a column filter without its operand")
                at += 2
                if tokens[at].kind == "LP":  # a filtered group: left as it is, and not a unit
                    close_run(run, False)
                    run = []
                    at = closing_paren(tokens, at) + 1
                    continue
            if is_near(tokens, at):
                at = closing_paren(tokens, at + 1) + 1
            else:
                at = phrase_end(tokens, at)
            run.append((first, at))
        close_run(run, bool(run) and run[0][0] == starts and run[-1][1] == at)  # the run is the whole level
        return at

    def column_list_end(at: int) -> int:  # the RCP closing a column list
        while at < len(tokens) and tokens[at].kind != "RCP":
            if tokens[at].kind != "WORD":
                raise UnparsedQuery("a column list with something else than column names")
            at += 1
        if at >= len(tokens):
            raise UnparsedQuery("an unclosed column list")
        return at

    def close_run(run: list[tuple[int, int]], whole: bool) -> None:
        if any(is_bare_prefix(tokens, first, after) for first, after in run):
            runs.append((run, whole))

    if level(0) != len(tokens):
        raise UnparsedQuery("an unopened parenthesis")
    return runs


def is_bare_prefix(tokens: list[FtsToken], first: int, after: int) -> bool:
    return after - first == 2 and tokens[first].kind == "WORD" and tokens[first + 1].kind == "STAR"


def fts_string(text: str) -> str:
    """``text`` as an FTS5 quoted string."""
    return '"' + text.replace('"', '""') + '"'


def prefix_terms(db: Database, prefix: str, cap: int) -> list[str] | None:
    """The index's terms that start with ``prefix``; None if none does, more than ``cap`` do, or
    the prefix is not one the default tokenizer keeps as it is (lowercased)."""
    if not EXPANDABLE_PREFIX_RE.fullmatch(prefix):
        return None
    low = prefix.lower()
    rows = db.execute(PREFIX_TERMS_SQL, [low, low[:-1] + chr(ord(low[-1]) + 1), cap + 1]).fetchall()
    return [row[0] for row in rows] if 0 < len(rows) <= cap else None


def expand_prefixes(db: Database, query: str, cap: int = PREFIX_TERMS_CAP) -> str:
    """``query`` with each bare prefix token (``milit*``) replaced by the OR of the index's terms it matches.

    ``milit* Diyala`` becomes ``("military" OR "militia" OR ...) AND Diyala``:
    the same rows, found without FTS5 merging the match lists of all the
    prefix's terms into one (which bm25 then reads whole, twice). The terms
    come from the vocabulary table (m004). Trade-offs, kept small on purpose:

    * a prefix that matches more than ``cap`` terms (``a*``) stays as it is,
      so no row is ever lost (only a rare prefix is faster);
    * the rows matched are the same, but bm25 scores each term on its own
      (its own rarity, summed over the terms a row holds) where it scored
      the prefix as one term, so rows with several or rare forms (militia,
      militants) rank higher than before: ``Store.search``'s best 50 can
      differ entirely from the prefix's, out of the same candidates;
    * only prefixes of ASCII letters and digits are looked up, and only on
      an index with the default tokenizer (whose terms they are, lowercased);
    * a prefix token inside quotes, a NEAR group, under a column filter or
      joined with ``+``/``^`` stays as it is, and so does a query this does
      not tokenize or parse (FTS5 then reports its own error, if any).
    """
    if "*" not in query:
        return query
    tokens = tokenize_fts_query(query)
    if tokens is None:
        return query
    try:
        runs = prefix_runs(tokens)
    except (UnparsedQuery, RecursionError):  # RecursionError: parentheses nested a thousand deep
        return query
    if not runs:
        return query
    tables = dict(db.execute(FTS_TABLES_SQL, [ARTICLES_VOCAB]).fetchall())
    if ARTICLES_VOCAB not in tables or "tokenize" in (tables.get("articles_fts") or "tokenize").lower():
        return query  # not upgraded yet (a read-only connection), or its terms are not the words
    edits: list[tuple[int, int, str]] = []
    for run, whole in runs:
        units, expanded = [], False
        for first, after in run:
            text = query[tokens[first].start:tokens[after - 1].end]
            terms = prefix_terms(db, tokens[first].text, cap) if is_bare_prefix(tokens, first, after) else None
            if terms:
                text, expanded = "(" + " OR ".join(fts_string(term) for term in terms) + ")", True
            units.append(text)
        if expanded:
            joined = " AND ".join(units)
            edits.append((tokens[run[0][0]].start, tokens[run[-1][1] - 1].end,
                          joined if whole or len(units) == 1 else f"({joined})"))
    for start, end, text in sorted(edits, reverse=True):
        query = query[:start] + text + query[end:]
    return query


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
