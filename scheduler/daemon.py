"""The long-running newswatch service (``newswatch run``).

One process, one asyncio event loop, one Twisted reactor on top of it (the
asyncio reactor, installed before anything imports
``twisted.internet.reactor``), one crawl service for the life of the process,
and APScheduler's :class:`AsyncIOScheduler` on the same loop. Each source has
one job; the job is a coroutine that awaits ``CrawlService.crawl([source])``.
Scrapy therefore runs again and again in the same reactor: no subprocess per
poll and no ``ReactorNotRestartable``.

Scheduling
    Each source's job has an :class:`IntervalTrigger` of the source's
    ``max_interval`` plus :data:`SAFETY_NET_MARGIN_S` as a safety net (it
    fires only if a reschedule was lost, and not while a long crawl is still
    running), and is moved after every poll with
    ``scheduler.modify_job(next_run_time=...)`` to the time chosen by
    :mod:`scheduler.policy` (adaptive interval after a success, exponential
    back-off after a failure). Jobs use ``max_instances=1`` (a source never
    overlaps itself), ``coalesce=True`` (missed runs collapse into one) and
    ``misfire_grace_time=None`` (a late run still runs). At most
    ``max_concurrent_polls`` sources are crawled at the same time.

Failures
    A crawl that raises, or that returns errors and nothing found, is a
    failed poll: it is logged (``poll.failed``), counted, recorded in
    ``sources.last_error`` / ``consecutive_failures``, and the source backs
    off. Other sources are not affected and the loop goes on.

Lifecycle
    On start, runs left ``running`` by a killed process are marked
    ``interrupted``. On SIGTERM/SIGINT (or ``stop_event``) the scheduler is
    paused, in-flight polls get ``grace_period`` seconds to finish and are
    then cancelled, polling state is flushed, and the crawl service and the
    alert delivery worker are closed. A second signal cancels in-flight polls
    at once; a third exits immediately.

:func:`run_daemon` is the synchronous entry point used by the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scheduler.logs import configure_logging, log_event
from scheduler.metrics import HealthServer, Metrics
from scheduler.state import PollOutcome, SourceState, StateStore
from scheduler.wiring import (
    connect_alerts,
    create_crawl_service,
    create_delivery_worker,
    read_delivery_counters,
    read_outcome,
    read_pipeline_counters,
)

LOGGER = logging.getLogger(__name__)

DEFAULT_GRACE_PERIOD_S = 30.0
DEFAULT_MAX_CONCURRENT_POLLS = 1  # CrawlService runs one crawl at a time anyway
SILENCE_CHECK_S = 60.0
FORCED_EXIT_AFTER_S = 10.0
STOP_WAIT_S = 10.0
SAFETY_NET_MARGIN_S = 600.0  # the interval trigger fires only if a reschedule was lost
EXIT_OK = 0
EXIT_FORCED = 1
EXIT_ERROR = 2


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Daemon:
    """The newswatch service: polls every source on its own adaptive schedule."""

    def __init__(
        self,
        config: Any,
        db_path: str | Path,
        *,
        crawl_service_factory: Callable[[Any, str | Path], Any] = create_crawl_service,
        delivery_worker_factory: Callable[[Any, str | Path], Any] = create_delivery_worker,
        grace_period: float = DEFAULT_GRACE_PERIOD_S,
        max_concurrent_polls: int = DEFAULT_MAX_CONCURRENT_POLLS,
        silence_check_s: float = SILENCE_CHECK_S,
        start_spread_s: float = 2.0,
    ) -> None:
        self.config = config
        self.db_path = Path(db_path)
        self.crawl_service_factory = crawl_service_factory
        self.delivery_worker_factory = delivery_worker_factory
        self.grace_period = grace_period
        self.max_concurrent_polls = max(1, int(max_concurrent_polls))
        self.silence_check_s = silence_check_s
        self.start_spread_s = start_spread_s
        self.metrics = Metrics()
        self.states: dict[str, SourceState] = {}
        self.port: int | None = None
        self.status = "created"  # created | starting | running | stopping | stopped
        self.started_monotonic: float | None = None
        self.crawl_service: Any = None
        self.delivery_worker: Any = None
        self.scheduler: Any = None
        self.health_server: HealthServer | None = None
        self.stop_event: asyncio.Event | None = None
        self.forced = False
        self.abandoned_polls = 0
        self._stop_requested = False
        self._store: StateStore | None = None
        self._slots: asyncio.Semaphore | None = None
        self._inflight: set[asyncio.Task] = set()
        self._delivery_stop: asyncio.Event | None = None
        self._delivery_task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    # -- public ------------------------------------------------------------
    async def run(self, stop_event: asyncio.Event | None = None) -> int:
        """Run until ``stop_event`` is set; return the exit code (0 when clean)."""
        self.stop_event = stop_event or asyncio.Event()
        if self._stop_requested:
            self.stop_event.set()
        self.status = "starting"
        self.started_monotonic = time.monotonic()
        try:
            await self._start()
            self.status = "running"
            self._ready.set()
            log_event(LOGGER, logging.INFO, "daemon.started", sources=len(self.states), port=self.port,
                      db=str(self.db_path))
            watcher = asyncio.create_task(self._watch_silence(), name="newswatch-silence")
            try:
                await self.stop_event.wait()
            finally:
                watcher.cancel()
        finally:
            await self._stop()
        return EXIT_FORCED if self.forced else EXIT_OK

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once the daemon is running (its port is known)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    def request_stop(self) -> None:
        """Ask for a graceful stop (what the first SIGTERM/SIGINT does)."""
        self._stop_requested = True
        if self.stop_event is not None:
            self.stop_event.set()

    def force_stop(self) -> None:
        """Cancel in-flight polls now and stop (what a second signal does)."""
        self.forced = True
        self.request_stop()
        for task in list(self._inflight):
            task.cancel()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Return (healthy, payload) for ``/healthz``."""
        from apscheduler.schedulers.base import STATE_RUNNING

        alive = (
            self.status == "running"
            and self.scheduler is not None
            and self.scheduler.state == STATE_RUNNING
        )
        uptime = time.monotonic() - self.started_monotonic if self.started_monotonic else 0.0
        payload = {
            "ok": alive,
            "status": self.status,
            "uptime_s": round(uptime, 3),
            "polls_in_flight": len(self._inflight),
            "sources": {name: st.health() for name, st in self.states.items()},
            "alerts": read_delivery_counters(self.delivery_worker),
            "incidents": read_pipeline_counters(self.crawl_service),
        }
        return alive, payload

    # -- start and stop ----------------------------------------------------
    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.max_concurrent_polls)
        self._store = StateStore(self.db_path)
        await self._store.call("sync_sources", self.config.sources)
        stale = await self._store.call("close_stale_runs")
        if stale:
            log_event(LOGGER, logging.WARNING, "runs.interrupted", count=stale,
                      message="crawl runs left running by a stopped process marked interrupted")
        now = utc_now()
        first_runs: dict[str, datetime] = {}
        for source in self.config.sources:
            row = await self._store.call("get_source", source.name)
            state = SourceState.from_row(source, row)
            self.states[source.name] = state
            delay = state.first_delay(now, self.start_spread_s)
            first_runs[source.name] = datetime.fromtimestamp(now.timestamp() + delay, timezone.utc)
            self.metrics.prepare_source(source.name)
            self.metrics.interval.labels(source.name).set(state.interval)
            self.metrics.failures.labels(source.name).set(state.failures)
            self.metrics.next_delay.labels(source.name).set(delay)
            log_event(LOGGER, logging.INFO, "source.scheduled", source=source.name,
                      interval_s=round(state.interval, 3), first_poll_in_s=round(delay, 3),
                      resumed=bool(row and row.get("last_poll")))
        self.crawl_service = self.crawl_service_factory(self.config, self.db_path)
        self.delivery_worker = self.delivery_worker_factory(self.config, self.db_path)
        if self.delivery_worker is not None:
            connect_alerts(self.crawl_service, self.delivery_worker)  # notify() once alerts are committed
            self._delivery_stop = asyncio.Event()
            self._delivery_task = asyncio.create_task(
                self.delivery_worker.run_forever(self._delivery_stop), name="newswatch-delivery"
            )
        self.metrics.watch_deliveries(lambda: read_delivery_counters(self.delivery_worker))
        self.metrics.watch_pipeline(lambda: read_pipeline_counters(self.crawl_service))
        service = self.config.service
        self.health_server = HealthServer(self.metrics, self.health, service.host, service.port)
        self.port = await self.health_server.start()
        self._start_scheduler(loop, first_runs)

    def _start_scheduler(self, loop: asyncio.AbstractEventLoop, first_runs: dict[str, datetime]) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler = AsyncIOScheduler(
            event_loop=loop,
            timezone=timezone.utc,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        for source in self.config.sources:
            self.scheduler.add_job(
                self._poll_job,
                IntervalTrigger(seconds=source.max_interval + SAFETY_NET_MARGIN_S, timezone=timezone.utc),
                args=[source.name],
                id=source.name,
                name=f"poll {source.name}",
                next_run_time=first_runs[source.name],
                replace_existing=True,
            )
        self.scheduler.start()

    async def _stop(self) -> None:
        self.status = "stopping"
        log_event(LOGGER, logging.INFO, "daemon.stopping", polls_in_flight=len(self._inflight),
                  grace_period_s=self.grace_period)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()
        await self._finish_inflight()
        await self._close_quietly("crawl_service", self.crawl_service)
        await self._stop_delivery()
        if self._store is not None:
            try:
                await self._store.flush()
                if self.abandoned_polls:
                    closed = await self._store.call("close_stale_runs")
                    log_event(LOGGER, logging.WARNING, "runs.interrupted", count=closed)
            except Exception:
                LOGGER.exception("cannot flush polling state")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler.shutdown runs on the next loop turn
        if self.health_server is not None:
            await self.health_server.stop()
        if self._store is not None:
            await self._store.close()
        self.status = "stopped"
        log_event(LOGGER, logging.INFO, "daemon.stopped", forced=self.forced,
                  abandoned_polls=self.abandoned_polls)

    async def _finish_inflight(self) -> None:
        """Let running polls finish within the grace period, then stop or cancel them.

        Past the grace period the crawl service is asked to stop gracefully
        (pages in flight are finished and stored, runs marked interrupted);
        polls still running :data:`STOP_WAIT_S` later are cancelled.
        """
        tasks = set(self._inflight)
        if not tasks:
            return
        pending = tasks
        if not self.forced:
            _, pending = await asyncio.wait(tasks, timeout=self.grace_period)
            stop = getattr(self.crawl_service, "stop", None)
            if pending and stop is not None and not self.forced:
                log_event(LOGGER, logging.WARNING, "poll.stopping", count=len(pending),
                          sources=sorted(n for n, st in self.states.items() if st.running))
                try:
                    await asyncio.wait_for(stop(), STOP_WAIT_S)
                except Exception:
                    LOGGER.debug("crawl service did not stop in time", exc_info=True)
                _, pending = await asyncio.wait(pending, timeout=STOP_WAIT_S)
        if pending:
            self.abandoned_polls += len(pending)
            log_event(LOGGER, logging.WARNING, "poll.abandoned", count=len(pending),
                      sources=sorted(n for n, st in self.states.items() if st.running))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=STOP_WAIT_S)

    async def _close_quietly(self, what: str, obj: Any) -> None:
        close = getattr(obj, "close", None)
        if close is None:
            return
        try:
            result = close()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await asyncio.wait_for(result, 15.0)
        except Exception:
            LOGGER.exception("cannot close %s", what)

    async def _stop_delivery(self) -> None:
        if self._delivery_task is None:
            return
        assert self._delivery_stop is not None
        self._delivery_stop.set()
        notify = getattr(self.delivery_worker, "notify", None)
        if notify is not None:
            notify()
        try:
            await asyncio.wait_for(asyncio.shield(self._delivery_task), 15.0)
        except asyncio.TimeoutError:
            self._delivery_task.cancel()
            log_event(LOGGER, logging.WARNING, "alerts.worker_abandoned")
        except Exception:
            LOGGER.exception("alert delivery worker failed")
        await self._close_quietly("delivery worker", self.delivery_worker)

    # -- polling -----------------------------------------------------------
    async def _poll_job(self, name: str) -> None:
        """The APScheduler job of one source: poll it, then reschedule it."""
        task = asyncio.current_task()
        assert task is not None and self._slots is not None
        self._inflight.add(task)
        try:
            async with self._slots:
                if self.status != "running":
                    return
                await self.poll_source(name)
        finally:
            self._inflight.discard(task)

    async def poll_source(self, name: str) -> float:
        """Poll one source now; record the outcome; return the delay to its next poll."""
        state = self.states[name]
        source = self.config.source(name)
        state.running = True
        started = time.monotonic()
        log_event(LOGGER, logging.INFO, "poll.started", source=name, url=_source_url(source))
        crashed: BaseException | None = None
        try:
            result = await self.crawl_service.crawl([source])
            outcome = read_outcome(result, name)
        except asyncio.CancelledError:
            state.running = False
            log_event(LOGGER, logging.WARNING, "poll.cancelled", source=name)
            raise
        except Exception as exc:  # a failing crawl is logged and recorded; the loop goes on
            crashed = exc
            outcome = PollOutcome.failure(name, f"{type(exc).__name__}: {exc}")
        finally:
            state.running = False
        elapsed = time.monotonic() - started
        return await self._record_poll(state, outcome, elapsed, crashed)

    async def _record_poll(self, state: SourceState, outcome: PollOutcome, elapsed: float,
                           crashed: BaseException | None) -> float:
        name = state.name
        now = utc_now()
        m = self.metrics
        m.poll_seconds.labels(name).observe(elapsed)
        m.articles_found.labels(name).inc(outcome.found)
        m.articles_fetched.labels(name).inc(outcome.new)
        m.articles_stored.labels(name).inc(outcome.stored)
        m.articles_flagged.labels(name).inc(outcome.flagged)
        m.source_errors.labels(name).inc(outcome.errors)
        if self.status == "stopping" and (crashed is not None or outcome.failed):
            # stopped by the shutdown, not a failure of the source: poll again soon after a restart
            state.next_poll = now
            log_event(LOGGER, logging.INFO, "poll.interrupted", source=name, duration_s=round(elapsed, 3))
            await self._save(state)
            return 0.0
        if crashed is not None or outcome.failed:
            m.polls.labels(name, "failed").inc()
            if crashed is not None:
                m.crash_count.labels(name).inc()
            delay = state.apply_failure(outcome.error_text or "poll failed", now)
            log_event(LOGGER, logging.ERROR if crashed else logging.WARNING, "poll.failed",
                      source=name, url=self._url_of(name), error=state.last_error, consecutive_failures=state.failures,
                      retry_in_s=round(delay, 3), duration_s=round(elapsed, 3),
                      exc_info=crashed if crashed is not None else None)
        else:
            m.polls.labels(name, "ok").inc()
            before = state.interval
            delay = state.apply_success(outcome, now)
            log_event(LOGGER, logging.INFO, "poll.finished", source=name, url=self._url_of(name),
                      found=outcome.found,
                      new=outcome.new, stored=outcome.stored, flagged=outcome.flagged,
                      errors=outcome.errors, seen_ratio=outcome.seen_ratio,
                      interval_s=round(delay, 3), previous_interval_s=round(before, 3),
                      duration_s=round(elapsed, 3))
        m.interval.labels(name).set(state.interval)
        m.next_delay.labels(name).set(delay)
        m.failures.labels(name).set(state.failures)
        self._check_silence(now)
        if (outcome.flagged or outcome.stored) and self.delivery_worker is not None:
            notify = getattr(self.delivery_worker, "notify", None)
            if notify is not None:
                notify()
        self._reschedule(name, state.next_poll)
        await self._save(state)
        return delay

    def _url_of(self, name: str) -> str:
        return _source_url(self.config.source(name))

    async def _save(self, state: SourceState) -> None:
        try:
            assert self._store is not None
            await self._store.save_state(state)
        except Exception:
            LOGGER.exception("cannot save polling state of %s", state.name)

    def _reschedule(self, name: str, when: datetime | None) -> None:
        if when is None or self.scheduler is None or not self.scheduler.running:
            return
        try:
            self.scheduler.modify_job(name, next_run_time=when)
        except Exception:  # the job is gone (shutting down): the stored next_poll resumes it
            LOGGER.debug("cannot reschedule %s", name, exc_info=True)

    # -- silence -----------------------------------------------------------
    def _check_silence(self, now: datetime) -> None:
        flags: dict[str, bool] = {}
        for name, state in self.states.items():
            was = state.silent
            flags[name] = state.check_silence(now)
            if flags[name] and not was:
                log_event(LOGGER, logging.WARNING, "source.silent", source=name,
                          last_new_item=state.last_new_item, threshold_s=_threshold(state))
            elif was and not flags[name]:
                log_event(LOGGER, logging.INFO, "source.active", source=name)
        self.metrics.set_silent(flags)

    async def _watch_silence(self) -> None:
        while True:
            self._check_silence(utc_now())
            if self.started_monotonic is not None:
                self.metrics.uptime.set(time.monotonic() - self.started_monotonic)
            self.metrics.up.set(1 if self.health()[0] else 0)
            await asyncio.sleep(self.silence_check_s)


def _threshold(state: SourceState) -> float:
    from scheduler.policy import silence_threshold

    return silence_threshold(state.bounds)


def _source_url(source: Any) -> str:
    urls = tuple(getattr(source, "feeds", ())) + tuple(getattr(source, "sitemaps", ()))
    return urls[0] if urls else getattr(source, "homepage", "")


# -- synchronous entry point -------------------------------------------------
def install_signal_handlers(loop: asyncio.AbstractEventLoop, daemon: Daemon) -> None:
    """SIGTERM/SIGINT: first stops gracefully, second cancels polls, third exits now."""
    received = {"count": 0}

    def on_signal(signum: int) -> None:
        received["count"] += 1
        name = signal.Signals(signum).name
        if received["count"] == 1:
            log_event(LOGGER, logging.INFO, "signal.received", signal=name, action="graceful stop")
            daemon.request_stop()
        elif received["count"] == 2:
            log_event(LOGGER, logging.WARNING, "signal.received", signal=name, action="forced stop")
            daemon.force_stop()
            loop.call_later(FORCED_EXIT_AFTER_S, os._exit, EXIT_FORCED)
        else:
            os._exit(EXIT_FORCED)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


def run_daemon(config: Any, db_path: str | Path, **options: Any) -> int:
    """Run the daemon until SIGTERM/SIGINT; return the process exit code.

    Configures logging (``service.log_format``), installs Twisted's asyncio
    reactor before anything imports it, starts it on its asyncio loop and
    runs :meth:`Daemon.run` there, so that Scrapy crawls, the scheduler, the
    alert delivery worker and the health endpoint share one loop. Returns 0
    after a graceful stop, 1 after a forced one, 2 when the daemon failed.
    ``options`` are passed to :class:`Daemon`.
    """
    configure_logging(config.service.log_format)
    from crawler.run import reactor_loop, release_reactor_threads

    loop = reactor_loop()
    asyncio.set_event_loop(loop)
    daemon = Daemon(config, db_path, **options)
    install_signal_handlers(loop, daemon)

    async def main() -> int:
        try:
            return await daemon.run(asyncio.Event())
        except Exception as exc:
            LOGGER.exception("daemon failed")
            log_event(LOGGER, logging.ERROR, "daemon.failed", error=f"{type(exc).__name__}: {exc}")
            return EXIT_ERROR

    try:
        return int(loop.run_until_complete(main()))
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        release_reactor_threads()
