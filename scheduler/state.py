"""Polling state of each source: kept in memory, persisted in ``sources``.

:class:`SourceState` is what the daemon knows about one source between polls
(its adaptive interval, failures in a row, last poll and error).
:meth:`SourceState.apply_success` and :meth:`SourceState.apply_failure` turn
the outcome of a poll into the next delay with the rules of
:mod:`scheduler.policy`, and :meth:`SourceState.row` gives the columns written
back to the ``sources`` table, so that a restarted daemon resumes where the
last one stopped.

:class:`StateStore` owns one :class:`storage.Store` on a single thread of its
own: SQLite writes (which may wait on the crawler's writer for the lock) never
block the event loop, and the writes are applied in the order they were made.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.results import SourceResult
from scheduler import policy
from scheduler.policy import Bounds


@dataclass
class PollOutcome(SourceResult):
    """What one poll of one source produced: the crawler's :class:`SourceResult`, read for scheduling."""

    @classmethod
    def from_result(cls, result: SourceResult, crawl_errors: list[str] | tuple[str, ...] = ()) -> PollOutcome:
        """Return the outcome of ``result``; crawl-wide errors fail a source that got nothing."""
        outcome = cls(**{f.name: getattr(result, f.name) for f in fields(SourceResult)})
        outcome.error_messages = [str(m) for m in outcome.error_messages]
        if crawl_errors and outcome.found == 0 and outcome.stored == 0:
            outcome.error_messages += [str(e) for e in crawl_errors]
            outcome.status = "failed"
        return outcome

    @classmethod
    def failure(cls, source: str, message: str) -> PollOutcome:
        """Return the outcome of a poll that produced no result at all."""
        return cls(source, errors=1, error_messages=[message], status="failed")

    @property
    def seen_ratio(self) -> float | None:
        """The share of listed items already stored; ``None`` when nothing was listed."""
        return self.items_seen_ratio if self.found else None

    @property
    def failed(self) -> bool:
        return self.status == "failed" or policy.is_failed_poll(
            self.found, self.stored, self.errors, self.error_messages
        )

    @property
    def error_text(self) -> str:
        if self.error_messages:
            return "; ".join(self.error_messages[:3])
        return f"{self.errors} error(s), nothing found" if self.errors else ""


@dataclass
class SourceState:
    """The in-memory polling state of one source."""

    name: str
    bounds: Bounds
    interval: float
    failures: int = 0
    last_poll: datetime | None = None
    next_poll: datetime | None = None
    last_success: datetime | None = None
    last_new_item: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    watching_since: datetime | None = None
    ttl_hint: float | None = None
    silent: bool = False
    polls: int = 0
    running: bool = False

    @classmethod
    def from_row(cls, source: Any, row: dict[str, Any] | None) -> "SourceState":
        """Build the state of ``source`` from its ``sources`` row (None if new)."""
        row = row or {}
        bounds = Bounds.of(source)
        return cls(
            name=source.name,
            bounds=bounds,
            interval=policy.resume_interval(row.get("current_interval_s"), bounds),
            failures=int(row.get("consecutive_failures") or 0),
            last_poll=policy.parse_time(row.get("last_poll")),
            next_poll=policy.parse_time(row.get("next_poll")),
            last_success=policy.parse_time(row.get("last_success")),
            last_new_item=policy.parse_time(row.get("last_new_item")),
            last_error=row.get("last_error"),
            last_error_at=policy.parse_time(row.get("last_error_at")),
        )

    def first_delay(self, now: datetime, spread: float, rand: Callable[[], float] = random.random) -> float:
        """Return the delay before the first poll after a (re)start."""
        self.watching_since = self.watching_since or self.last_poll or now
        return policy.resume_delay(self.next_poll, now, spread=spread, rand=rand)

    def apply_success(self, outcome: PollOutcome, now: datetime) -> float:
        """Record a successful poll; return the delay before the next one."""
        self.polls += 1
        self.last_poll = self.last_success = now
        self.failures = 0
        if outcome.ttl_s:
            self.ttl_hint = outcome.ttl_s
        if outcome.new > 0 or outcome.stored > 0:
            self.last_new_item = now
        if outcome.error_messages:  # partial errors: kept as the last error, not a failure
            self.last_error = outcome.error_messages[-1][:2000]
            self.last_error_at = now
        self.interval = policy.adapt_interval(self.interval, outcome.seen_ratio, self.bounds, self.ttl_hint)
        self.next_poll = policy.after(now, self.interval)
        return self.interval

    def apply_failure(self, error: str, now: datetime, rand: Callable[[], float] = random.random) -> float:
        """Record a failed poll; return the back-off delay before the next one."""
        self.polls += 1
        self.last_poll = now
        self.failures += 1
        self.last_error = error[:2000]
        self.last_error_at = now
        delay = policy.compute_backoff(self.interval, self.failures, self.bounds, rand=rand)
        self.next_poll = policy.after(now, delay)
        return delay

    def check_silence(self, now: datetime) -> bool:
        """Update and return whether the source is silent now."""
        self.silent = policy.is_silent(self.last_new_item, self.watching_since, now, self.bounds)
        return self.silent

    def row(self) -> dict[str, Any]:
        """Return the ``sources`` columns that hold this state."""
        def fmt(moment: datetime | None) -> str | None:
            return policy.format_time(moment) if moment else None

        return {
            "current_interval_s": round(self.interval, 3),
            "last_poll": fmt(self.last_poll),
            "next_poll": fmt(self.next_poll),
            "last_success": fmt(self.last_success),
            "last_new_item": fmt(self.last_new_item),
            "last_error": self.last_error,
            "last_error_at": fmt(self.last_error_at),
            "consecutive_failures": self.failures,
        }

    def health(self) -> dict[str, Any]:
        """Return the JSON-ready summary shown by ``/healthz``."""
        row = self.row()
        return {
            "last_poll": row["last_poll"],
            "next_poll": row["next_poll"],
            "interval_s": row["current_interval_s"],
            "consecutive_failures": self.failures,
            "last_error": self.last_error if self.failures else None,
            "silent": self.silent,
            "running": self.running,
        }


class StateStore:
    """A :class:`storage.Store` used from one thread of its own."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-state")
        self._store: Any = None

    def _call(self, method: str, args: tuple, kwargs: dict) -> Any:
        if self._store is None:
            from storage import Store

            self._store = Store(self.db_path)
        return getattr(self._store, method)(*args, **kwargs)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``Store.<method>(*args, **kwargs)`` on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._call, method, args, kwargs))

    async def save_state(self, state: SourceState) -> None:
        """Write the polling state of one source."""
        await self.call("update_source", state.name, **state.row())

    async def flush(self) -> None:
        """Return once every write submitted before has been applied."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, lambda: None)

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def close(self) -> None:
        """Apply pending writes, close the database and the thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
