"""Deliver queued alerts to their webhooks, with retries and dead letters.

:class:`DeliveryWorker` sends the pending rows of the ``alerts`` table with
``httpx.AsyncClient``. One attempt of one alert goes::

    1. claim     UPDATE: attempts + 1, next_attempt_at = now + timeout + lease margin
    2. POST      the stored body, signed now; at most ``timeout`` seconds in all
    3. record    UPDATE: delivered (2xx) | pending, next_attempt_at = now + back-off
                 | dead (permanent failure, or the last attempt failed)

Each UPDATE commits on its own before the next step starts, so a process
killed at any moment loses no alert: a row is pending until step 3 has
committed ``delivered``. Killed during step 2, the row stays pending and is
sent again once the lease has passed, with the same delivery id and body.
Killed between the receiver's 2xx and the commit of step 3, that one alert is
sent a second time, again with the same ``X-Newswatch-Delivery`` id: delivery
is *at least once*, and receivers drop duplicates by that id. The claim also
keeps two workers on the same database (the daemon and ``newswatch alerts
retry``) from sending the same alert at the same time.

Outcomes of an attempt:

* 2xx: delivered.
* 408, 425, 429, 5xx, timeouts, connection and protocol errors: retried after
  ``rand() * min(backoff_max, backoff_base * 2 ** (attempt - 1))`` seconds
  (exponential back-off with full jitter), or after ``Retry-After`` when the
  receiver sends one (capped at ``backoff_max``). When the webhook's
  ``max_attempts`` attempts have failed, the alert is dead.
* Any other status (3xx, 400, 401, 403, 404, 410, 422...): dead at once, as
  sending the same request again cannot succeed; fix the receiver or the
  configuration and run ``newswatch alerts retry``.

The worker uses its own SQLite connection (WAL mode, busy_timeout); SQLite
serialises it with the crawler's writer thread. Database calls are short and
made on the event loop's thread, so run the worker on a loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlite_utils import Database

from alerts.outbox import (
    claim_alert,
    fetch_due_alerts,
    format_time,
    mark_delivered,
    parse_time,
    read_next_due,
    record_failed_attempt,
)
from alerts.payload import build_headers, build_test_payload, make_delivery_id, serialise_payload
from newswatch.config import Webhook
from storage.db import open_database

LOGGER = logging.getLogger(__name__)

PREVIEW_CHARS = 200
MAX_RESPONSE_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429})
DEFAULT_BACKOFF_BASE = 60.0
DEFAULT_BACKOFF_MAX = 3600.0
DEFAULT_LEASE_MARGIN = 30.0
DEFAULT_POLL_INTERVAL = 30.0


@dataclass
class DeliveryCounters:
    """Running totals since the worker started, for metrics."""

    delivered: int = 0
    failed_attempts: int = 0
    dead: int = 0


@dataclass(frozen=True)
class AttemptResult:
    """What one POST to a webhook gave."""

    ok: bool
    status: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    preview: str = ""  # first characters of the response body


def compute_backoff(attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Return the delay before the attempt after ``attempt`` (full jitter)."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return rand() * ceiling


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or None.

    Accepts delta-seconds (``"120"``) and HTTP dates; a date in the past gives 0.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now)


def classify_status(status: int) -> str:
    """Return ``"ok"``, ``"retry"`` or ``"permanent"`` for an HTTP status."""
    if 200 <= status < 300:
        return "ok"
    if status >= 500 or status in RETRYABLE_STATUSES:
        return "retry"
    return "permanent"


def redact(text: str, secret: str) -> str:
    """Return ``text`` with every occurrence of ``secret`` masked."""
    return text.replace(secret, "[secret]") if secret else text


async def _read_preview(response: httpx.Response) -> str:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data.extend(chunk)
        if len(data) >= MAX_RESPONSE_BYTES:
            break
    return bytes(data[:MAX_RESPONSE_BYTES]).decode("utf-8", "replace")[:PREVIEW_CHARS]


async def post_alert(
    client: httpx.AsyncClient,
    hook: Webhook,
    body: bytes,
    *,
    event: str,
    delivery_id: str,
    timestamp: int,
    attempt: int | None = None,
    now: float | None = None,
) -> AttemptResult:
    """POST ``body`` to ``hook`` signed with its secret; never raises for HTTP trouble.

    The whole attempt (connect, send, answer) is bounded by ``hook.timeout``.
    Error texts never contain the secret.
    """
    headers = build_headers(
        body=body, secret=hook.secret, event=event, delivery_id=delivery_id, timestamp=timestamp, attempt=attempt
    )
    response: httpx.Response | None = None
    preview = ""
    try:
        async with asyncio.timeout(hook.timeout):
            request = client.build_request("POST", hook.url, content=body, headers=headers, timeout=hook.timeout)
            response = await client.send(request, stream=True)
            preview = await _read_preview(response)
    except httpx.InvalidURL as exc:
        return AttemptResult(ok=False, error=redact(f"invalid webhook URL: {exc}", hook.secret), retryable=False)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        if response is None:  # no answer: the receiver may or may not have the request
            if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
                return AttemptResult(ok=False, error=f"timed out after {hook.timeout:g}s", retryable=True)
            reason = f"{type(exc).__name__}: {str(exc) or 'no answer'}"
            return AttemptResult(ok=False, error=redact(reason, hook.secret), retryable=True)
        # the status line arrived; a slow or broken body does not change what it said
    finally:
        if response is not None:
            await response.aclose()
    status = response.status_code
    kind = classify_status(status)
    if kind == "ok":
        return AttemptResult(ok=True, status=status, preview=preview)
    error = f"HTTP {status}"
    if 300 <= status < 400 and response.headers.get("location"):
        error += f" redirect to {response.headers['location'][:PREVIEW_CHARS]} (webhooks are not redirected)"
    elif preview.strip():
        error += f": {' '.join(preview.split())}"
    retry_after = None
    if kind == "retry":
        retry_after = parse_retry_after(response.headers.get("retry-after"), time.time() if now is None else now)
    return AttemptResult(
        ok=False,
        status=status,
        error=redact(error, hook.secret)[: PREVIEW_CHARS + 40],
        retryable=kind == "retry",
        retry_after=retry_after,
        preview=redact(preview, hook.secret),
    )


async def send_test_alerts(
    webhooks: Iterable[Webhook],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> list[tuple[Webhook, str, AttemptResult]]:
    """Send a signed sample payload (event ``test``) to each webhook, once.

    Nothing is stored. Returns ``(webhook, delivery id, result)`` per webhook.
    """
    hooks = list(webhooks)

    async def send_one(client: httpx.AsyncClient, hook: Webhook) -> tuple[Webhook, str, AttemptResult]:
        delivery_id = make_delivery_id()
        payload = build_test_payload(delivery_id=delivery_id, created_at=format_time(clock()))
        body = serialise_payload(payload).encode("utf-8")
        result = await post_alert(
            client, hook, body, event="test", delivery_id=delivery_id, timestamp=int(clock()), attempt=1, now=clock()
        )
        return hook, delivery_id, result

    async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
        return list(await asyncio.gather(*(send_one(client, hook) for hook in hooks)))


class DeliveryWorker:
    """Send due alerts from the database at ``db_path`` to ``webhooks``.

    ``transport`` replaces httpx's network transport (e.g. ``httpx.MockTransport``);
    ``clock`` (unix seconds), ``sleep`` and ``rand`` (0 <= x < 1, for jitter)
    are injectable for tests. ``on_result(outcome, webhook_name)`` is called with
    ``"delivered"``, ``"failed"`` (an attempt failed) or ``"dead"``; the same
    totals are kept in :attr:`counters`.
    """

    def __init__(
        self,
        db_path: str | Path,
        webhooks: Iterable[Webhook],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        lease_margin: float = DEFAULT_LEASE_MARGIN,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        batch_size: int = 100,
        on_result: Callable[[str, str], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.webhooks: dict[str, Webhook] = {hook.name: hook for hook in webhooks}
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease_margin = lease_margin
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.on_result = on_result
        self.counters = DeliveryCounters()
        self._db: Database | None = None
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._warned_unknown: set[str] = set()
        self._attempts_last_run = 0

    def __repr__(self) -> str:
        return f"DeliveryWorker(db_path={str(self.db_path)!r}, webhooks={sorted(self.webhooks)!r})"

    # -- resources -------------------------------------------------------
    @property
    def db(self) -> Database:
        """The worker's own connection, opened on first use."""
        if self._db is None:
            self._db = open_database(self.db_path)
        return self._db

    def close(self) -> None:
        """Close the worker's database connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextlib.asynccontextmanager
    async def _open_client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._client is not None:
            yield self._client
            return
        async with httpx.AsyncClient(transport=self.transport, follow_redirects=False) as client:
            yield client

    # -- one pass ----------------------------------------------------------
    async def run_once(self, *, ids: Collection[int] | None = None) -> int:
        """Attempt every due pending alert once; return how many are done.

        "Done" counts alerts that were delivered or became dead in this pass.
        Alerts of a webhook are sent one after another, oldest first, and
        webhooks in parallel; after a retryable failure the rest of that
        webhook's batch waits for the next pass. With ``ids``, only those
        alerts are considered, and each of them is attempted.
        """
        rows = fetch_due_alerts(self.db, format_time(self.clock()), limit=self.batch_size, ids=ids)
        self._attempts_last_run = 0
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row["webhook"] not in self.webhooks:
                if row["webhook"] not in self._warned_unknown:
                    self._warned_unknown.add(row["webhook"])
                    LOGGER.warning("alerts for webhook %r wait: it is not in the configuration", row["webhook"])
                continue
            groups.setdefault(row["webhook"], []).append(row)
        if not groups:
            return 0
        async with self._open_client() as client:
            done = await asyncio.gather(
                *(self._deliver_group(client, self.webhooks[name], group, stop_on_retry=ids is None)
                  for name, group in groups.items())
            )
        return sum(done)

    async def _deliver_group(
        self, client: httpx.AsyncClient, hook: Webhook, rows: list[dict[str, Any]], *, stop_on_retry: bool
    ) -> int:
        done = 0
        for row in rows:
            try:
                outcome = await self._deliver(client, hook, row)
            except sqlite3.Error as exc:
                LOGGER.error("cannot record delivery of alert %d to %s: %s", row["id"], hook.name, exc)
                break
            if outcome in ("delivered", "dead"):
                done += 1
            elif outcome == "failed" and stop_on_retry:
                break
        return done

    async def _deliver(self, client: httpx.AsyncClient, hook: Webhook, row: Mapping[str, Any]) -> str:
        alert_id, attempt = row["id"], row["attempts"] + 1
        lease_until = format_time(self.clock() + hook.timeout + self.lease_margin)
        if not claim_alert(self.db, alert_id, row["attempts"], lease_until):
            LOGGER.debug("alert %d was taken by another worker", alert_id)
            return "skipped"
        self._attempts_last_run += 1
        now = self.clock()
        result = await post_alert(
            client, hook, row["payload"].encode("utf-8"), event=row["event"], delivery_id=row["delivery_id"],
            timestamp=int(now), attempt=attempt, now=now,
        )
        finished = self.clock()
        if result.ok:
            mark_delivered(self.db, alert_id, status=result.status or 200, at=format_time(finished))
            self.counters.delivered += 1
            LOGGER.info("delivered alert %d (%s, %s) to %s on attempt %d: HTTP %s",
                        alert_id, row["event"], row["delivery_id"], hook.name, attempt, result.status)
            self._report("delivered", hook.name)
            return "delivered"
        self.counters.failed_attempts += 1
        self._report("failed", hook.name)
        error = result.error or "failed"
        if not result.retryable or attempt >= hook.max_attempts:
            why = "permanent failure" if not result.retryable else f"{attempt} attempt(s) failed"
            record_failed_attempt(self.db, alert_id, status=result.status, error=error, next_attempt_at=None, dead=True)
            self.counters.dead += 1
            LOGGER.warning("alert %d (%s) to %s is dead (%s): %s", alert_id, row["delivery_id"], hook.name, why, error)
            self._report("dead", hook.name)
            return "dead"
        delay = compute_backoff(attempt, base=self.backoff_base, cap=self.backoff_max, rand=self.rand)
        if result.retry_after is not None:
            delay = min(result.retry_after, self.backoff_max)
        record_failed_attempt(
            self.db, alert_id, status=result.status, error=error,
            next_attempt_at=format_time(finished + delay), dead=False,
        )
        LOGGER.info("attempt %d of alert %d to %s failed (%s); next in %.1fs",
                    attempt, alert_id, hook.name, error, delay)
        return "failed"

    def _report(self, outcome: str, webhook: str) -> None:
        if self.on_result is not None:
            try:
                self.on_result(outcome, webhook)
            except Exception:  # a metrics hook must not stop deliveries
                LOGGER.exception("on_result callback failed")

    # -- the loop ------------------------------------------------------------
    def notify(self) -> None:
        """Wake :meth:`run_forever` now (e.g. after alerts were queued); thread-safe."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    def compute_idle_delay(self) -> float:
        """Return how long to wait before the next pass (0 when alerts are due)."""
        next_due = read_next_due(self.db)
        if next_due is None:
            return self.poll_interval
        delay = (parse_time(next_due) - self.clock()) if next_due else 0.0
        if delay <= 0 and self._attempts_last_run == 0:
            return self.poll_interval  # due rows nobody can send (unknown webhook)
        return max(0.0, min(self.poll_interval, delay))

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Deliver alerts until ``stop_event`` is set.

        Sleeps until the next alert is due, at most ``poll_interval``, or until
        :meth:`notify`. An in-flight attempt is cancelled when the task is; its
        alert stays pending and is retried after its lease.
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            async with httpx.AsyncClient(transport=self.transport, follow_redirects=False) as client:
                self._client = client
                while not stop_event.is_set():
                    self._wake.clear()
                    try:
                        await self.run_once()
                        delay = self.compute_idle_delay()
                    except (sqlite3.Error, OSError) as exc:
                        LOGGER.error("delivery pass failed: %s", exc)
                        delay = self.poll_interval
                    if delay > 0 and not stop_event.is_set():
                        await self._wait(delay, stop_event)
        finally:
            self._client = None
            self._wake = None
            self._loop = None

    async def _wait(self, delay: float, stop_event: asyncio.Event) -> None:
        assert self._wake is not None
        waiters = [
            asyncio.ensure_future(self.sleep(delay)),
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop_event.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
