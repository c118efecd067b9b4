"""The crawler's single database writer, and how a flagged detection is stored.

:class:`Writer` owns one :class:`storage.Store` on one thread (a
``ThreadPoolExecutor(max_workers=1)``): the SQLite connection is created,
used and closed on that thread only, and the event loop never blocks on a
write. Articles and failures are buffered and committed in batches of
:data:`~crawler.settings.FLUSH_ITEMS` rows or every
:data:`~crawler.settings.FLUSH_SECONDS`, whichever comes first.

Duplicates. An article is not stored when

- its URL or the page's canonical URL is already stored (``url_duplicate``;
  most are caught before download by :meth:`Writer.known_urls`), or
- its text has the same ``content_hash`` as a stored article, or as an
  earlier article of the same batch (``content_duplicate``): the same story
  under another address (syndication, print/mobile variants). It is counted
  as a duplicate, not stored again, and is not a failure.

:func:`store_detection` writes a flagged article's ``reports`` row and its
``incidents`` rows, then calls the :func:`on_flagged` hook, all inside the
caller's transaction.

The hook. A plain callable ``hook(db, article_row, detection)`` is called as
is. A hook object with a ``bind(db)`` method is bound once per writer, on the
writer thread, to the writer's own connection: what ``bind`` returns is the
callable used for that writer's batches (so state such as the incident
grouper lives once per writer and persists across batches). A bound hook may
also have ``committed()``, called on the writer thread after each batch
transaction commits (e.g. to wake the alert delivery worker), and
``rolled_back()``, called after a batch transaction is rolled back (in-memory
state built during it must be dropped).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from crawler.settings import FLUSH_ITEMS, FLUSH_SECONDS, GIVE_UP_AFTER, GIVE_UP_STAGES
from storage import Store, hash_text, utcnow

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
FlaggedHook = Callable[[Database, dict[str, Any], dict[str, Any]], None]

INCIDENT_FIELDS = ("date", "governorate", "place", "attack_type", "target", "killed", "wounded", "claimed_by")


@dataclass(frozen=True)
class ArticleOutcome:
    """What became of one article handed to the writer."""

    status: str  # stored | url_duplicate | content_duplicate | error
    article_id: int | None = None
    flagged: bool = False
    error: str | None = None


def on_flagged(db: Database, article_row: dict[str, Any], detection: dict[str, Any]) -> None:
    """Called for every newly flagged article, inside the transaction that stores it.

    Does nothing by default; the alerts outbox plugs in here.
    """


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def store_detection(
    db: Database,
    article_id: int,
    detection: dict[str, Any],
    article_row: dict[str, Any] | None = None,
    hook: FlaggedHook | None = on_flagged,
) -> None:
    """Store a flagged detection: one ``reports`` row, its ``incidents``, then the hook.

    Runs in one transaction (a savepoint when the caller already holds one).
    """
    now = utcnow()
    with db.atomic():
        db["reports"].insert(
            {
                "article_id": article_id,
                "score": float(detection.get("score") or 0.0),
                "why": _as_text(detection.get("why")),
                "explanation": json.dumps(detection.get("explanation"), ensure_ascii=False, default=str),
                "detected_at": now,
                "updated_at": now,
                "version": 1,
            },
            replace=True,
        )
        db.execute("delete from incidents where article_id = ?", [article_id])
        for seq, incident in enumerate(detection.get("incidents") or [], start=1):
            if not isinstance(incident, dict):
                incident = incident.to_dict() if hasattr(incident, "to_dict") else vars(incident)
            row = {name: incident.get(name) for name in INCIDENT_FIELDS}
            row["killed"] = _as_int(row["killed"])
            row["wounded"] = _as_int(row["wounded"])
            row["date"] = _as_text(row["date"])
            row["foiled"] = int(bool(incident.get("foiled")))
            row["evidence"] = json.dumps(incident.get("evidence") or [], ensure_ascii=False, default=str)
            db["incidents"].insert({"article_id": article_id, "seq": seq, **row})
        if hook is not None:
            hook(db, {**(article_row or {}), "id": article_id}, detection)


def write_batch(
    store: Store,
    items: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
    failures: Sequence[dict[str, Any]],
    hook: FlaggedHook | None = on_flagged,
) -> list[ArticleOutcome]:
    """Write failures and articles (with their detections) in one transaction."""
    outcomes: list[ArticleOutcome | None] = [None] * len(items)
    with store.db.atomic():
        store.record_failures(list(failures))
        candidates: list[tuple[int, dict[str, Any]]] = []
        hashes: set[str] = set()
        rows = []
        for row, _ in items:
            row = dict(row)
            if not row.get("content_hash"):  # the extraction worker usually computed it
                row["content_hash"] = hash_text(row.get("text") or "")
            rows.append(row)
        stored_hashes = store.known_hashes([row["content_hash"] for row in rows])  # one query per batch
        for index, row in enumerate(rows):
            digest = row["content_hash"]
            if digest in hashes or digest in stored_hashes:
                outcomes[index] = ArticleOutcome("content_duplicate")
                continue
            hashes.add(digest)
            candidates.append((index, row))
        stored = {row["url"]: row for row in store.insert_articles([row for _, row in candidates])}
        for index, row in candidates:
            saved = stored.pop(row["url"], None)
            if saved is None:
                outcomes[index] = ArticleOutcome("url_duplicate")
                continue
            detection = items[index][1]
            flagged = bool(detection and detection.get("flagged"))
            if flagged:
                store_detection(store.db, saved["id"], detection, saved, hook)
            outcomes[index] = ArticleOutcome("stored", saved["id"], flagged)
    return [outcome or ArticleOutcome("error", error="not written") for outcome in outcomes]


def failed_urls(store: Store, urls: Sequence[str], times: int = GIVE_UP_AFTER) -> set[str]:
    """Return those of ``urls`` whose page failed at least ``times`` times (not worth retrying)."""
    found: set[str] = set()
    stages = list(GIVE_UP_STAGES)
    urls = list(dict.fromkeys(urls))
    for start in range(0, len(urls), 500):
        chunk = urls[start : start + 500]
        sql = (
            f"select url from failures where url in ({','.join('?' * len(chunk))}) "
            f"and stage in ({','.join('?' * len(stages))}) group by url having count(*) >= ?"
        )
        found.update(row[0] for row in store.db.execute(sql, [*chunk, *stages, times]).fetchall())
    return found


class Writer:
    """One thread, one connection: every crawler write goes through here."""

    def __init__(
        self,
        db_path: str | Path,
        flush_items: int = FLUSH_ITEMS,
        flush_seconds: float = FLUSH_SECONDS,
        hook: FlaggedHook | None = on_flagged,
    ) -> None:
        self.db_path = Path(db_path)
        self.flush_items = flush_items
        self.flush_seconds = flush_seconds
        self.hook = hook
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-writer")
        self._store: Store | None = None
        self._bound_hook: FlaggedHook | None = None
        self._articles: list[tuple[dict[str, Any], dict[str, Any] | None, asyncio.Future[ArticleOutcome]]] = []
        self._failures: list[dict[str, Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- running on the writer thread ---------------------------------------
    def _open_store(self) -> Store:
        if self._store is None:
            self._store = Store(self.db_path)
            bind = getattr(self.hook, "bind", None)
            self._bound_hook = bind(self._store.db) if callable(bind) else self.hook
        return self._store

    def _with_store(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, ...)`` in one ``BEGIN IMMEDIATE`` transaction (committed when it returns).

        Taking the write lock first matters: a deferred transaction that reads
        and then writes fails at once with "database is locked" when another
        connection (the alert delivery worker, the daemon's state store)
        committed in between; an immediate one waits for the lock instead.
        """
        store = self._open_store()
        conn = store.db.conn
        if conn.in_transaction:
            return fn(store, *args, **kwargs)
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(store, *args, **kwargs)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the read-only ``fn(store, ...)`` (no write lock)."""
        return fn(self._open_store(), *args, **kwargs)

    def _close_store(self) -> None:
        close = getattr(self._bound_hook, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                LOGGER.exception("the flagged-article hook did not close cleanly")
        self._bound_hook = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def _hook_event(self, name: str) -> None:
        """Tell the bound hook that a batch transaction committed or rolled back."""
        method = getattr(self._bound_hook, name, None)
        if callable(method):
            try:
                method()
            except Exception:  # the batch is already committed (or gone): only log
                LOGGER.exception("flagged-article hook %s() failed", name)

    def _write(self, items: list[tuple[dict[str, Any], dict[str, Any] | None]], failures: list[dict[str, Any]]) -> list[ArticleOutcome]:
        try:
            outcomes = self._with_store(lambda store: write_batch(store, items, failures, self._bound_hook))
        except Exception as exc:
            self._hook_event("rolled_back")
            if len(items) <= 1:
                if items:
                    LOGGER.error("cannot store %s: %s", items[0][0].get("url"), exc)
                    return [ArticleOutcome("error", error=f"database error: {exc}")]
                LOGGER.error("cannot record %d failures: %s", len(failures), exc)
                return []
            LOGGER.warning("batch write failed (%s); writing its %d rows one by one", exc, len(items))
            outcomes = self._write([], failures) if failures else []
            for item in items:
                outcomes.extend(self._write([item], []))
            return outcomes
        self._hook_event("committed")
        return outcomes

    # -- called from the event loop -------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, *args, **kwargs)`` on the writer thread, in one transaction, and return its result."""
        if self._closed:
            raise RuntimeError("the writer is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._with_store, fn, *args, **kwargs))

    async def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Return those of ``urls`` already stored (reads see every committed batch)."""
        if not urls:
            return set()
        return await self._call_read(Store.known_urls, list(urls))

    async def failed_urls(self, urls: Sequence[str]) -> set[str]:
        """Return those of ``urls`` that failed too often to be requested again."""
        if not urls:
            return set()
        return await self._call_read(failed_urls, list(urls))

    async def _call_read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError("the writer is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._read, fn, *args))

    def add_article(self, row: dict[str, Any], detection: dict[str, Any] | None) -> asyncio.Future[ArticleOutcome]:
        """Queue an article; the returned future resolves when its batch is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ArticleOutcome] = loop.create_future()
        self._articles.append((row, detection, future))
        self._schedule(loop)
        return future

    def add_failure(self, row: dict[str, Any]) -> None:
        """Queue a ``failures`` row (written with the next batch)."""
        self._failures.append(row)
        self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if len(self._articles) + len(self._failures) >= self.flush_items:
            self._start_flush(loop)
        elif self._timer is None:
            self._timer = loop.call_later(self.flush_seconds, self._start_flush, loop)

    def _start_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = loop.create_task(self.flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def flush(self) -> None:
        """Commit everything queued so far."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        articles, self._articles = self._articles, []
        failures, self._failures = self._failures, []
        if not articles and not failures:
            return
        loop = asyncio.get_running_loop()
        items = [(row, detection) for row, detection, _ in articles]
        try:
            outcomes = await loop.run_in_executor(self._executor, self._write, items, failures)
        except Exception as exc:  # the executor itself failed
            outcomes = [ArticleOutcome("error", error=str(exc))] * len(articles)
        for (_, _, future), outcome in zip(articles, outcomes):
            if not future.done():
                future.set_result(outcome)

    async def drain(self) -> None:
        """Flush, and wait for flushes already started."""
        await self.flush()
        while self._flushes:
            await asyncio.gather(*list(self._flushes), return_exceptions=True)

    async def close(self) -> None:
        """Flush what is pending, close the connection and stop the thread."""
        if self._closed:
            return
        await self.drain()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_store)
        self._closed = True
        self._executor.shutdown(wait=True)
