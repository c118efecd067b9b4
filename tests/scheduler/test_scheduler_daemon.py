"""The daemon's scheduling: adaptive intervals, back-off, persistence, stop."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from crawler.results import CrawlResult, SourceResult
from scheduler.daemon import Daemon
from scheduler.wiring import read_outcome
from scheduler_helpers import (
    StubCrawlService,
    all_new,
    all_seen,
    always_raises,
    daemon_with,
    make_config,
    make_source,
    run_for,
    wait_until,
)
from storage import Store

pytestmark = pytest.mark.timeout(60)


def read_source(db_path, name):
    store = Store(db_path)
    try:
        return store.get_source(name)
    finally:
        store.close()


def test_failing_source_backs_off_while_another_keeps_being_polled(db_path):
    good = make_source("good", interval=0.2, min_interval=0.2, max_interval=2.0)
    bad = make_source("bad", interval=0.2, min_interval=0.2, max_interval=2.0)
    service = StubCrawlService({"good": all_new("good"), "bad": always_raises("connection refused")})
    daemon = daemon_with(make_config(good, bad), db_path, service)

    code = asyncio.run(run_for(daemon, 3.2))

    assert code == 0
    good_polls, bad_polls = service.polls("good"), service.polls("bad")
    assert len(good_polls) >= 10
    assert 2 <= len(bad_polls) <= 5
    gaps = [b - a for a, b in zip(bad_polls, bad_polls[1:])]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:])), gaps
    row = read_source(db_path, "bad")
    assert row["consecutive_failures"] == len(bad_polls)
    assert "connection refused" in row["last_error"]
    assert row["last_error_at"] and row["last_poll"] and not row["last_success"]
    good_row = read_source(db_path, "good")
    assert good_row["consecutive_failures"] == 0 and good_row["last_new_item"]
    assert daemon.metrics.polls.labels("bad", "failed")._value.get() == len(bad_polls)
    assert service.closed


def test_a_failure_that_returns_errors_counts_like_an_exception(db_path):
    src = make_source("s", interval=0.2, min_interval=0.2, max_interval=1.0)
    failing = lambda i: SourceResult("s", errors=1, error_messages=["feed: HTTP 503"])  # noqa: E731
    service = StubCrawlService({"s": failing})
    daemon = daemon_with(make_config(src), db_path, service)
    asyncio.run(run_for(daemon, 0.8))
    row = read_source(db_path, "s")
    assert row["consecutive_failures"] >= 1
    assert row["last_error"] == "feed: HTTP 503"


def test_success_after_failures_resets_the_count(db_path):
    src = make_source("s", interval=0.1, min_interval=0.1, max_interval=0.4)
    flaky = lambda i: RuntimeError("boom") if i < 2 else SourceResult("s", found=3, new=1, stored=1, items_seen_ratio=2 / 3)  # noqa: E731
    service = StubCrawlService({"s": flaky})
    daemon = daemon_with(make_config(src), db_path, service)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        await wait_until(lambda: len(service.polls("s")) >= 4, timeout=10)
        stop.set()
        return await task

    asyncio.run(scenario())
    row = read_source(db_path, "s")
    assert row["consecutive_failures"] == 0
    assert row["last_success"]
    assert row["last_error"] == "RuntimeError: boom"  # kept for history


def test_interval_adapts_and_is_persisted_then_resumed(db_path):
    src = make_source("s", interval=5, min_interval=5, max_interval=60)
    service = StubCrawlService({"s": all_seen("s")})
    first = daemon_with(make_config(src), db_path, service)

    async def poll_once_then_stop(daemon, service):
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        await wait_until(lambda: "s" in daemon.states and daemon.states["s"].polls >= 1)
        stop.set()
        await task

    asyncio.run(poll_once_then_stop(first, service))
    row = read_source(db_path, "s")
    assert row["current_interval_s"] == pytest.approx(7.5)  # all seen: x1.5
    next_poll = datetime.fromisoformat(row["next_poll"])
    assert 5 < (next_poll - datetime.now(timezone.utc)).total_seconds() <= 8

    # A restart resumes the stored interval and waits for the stored next poll.
    second_service = StubCrawlService({"s": all_seen("s")})
    second = daemon_with(make_config(src), db_path, second_service)

    async def check_resume():
        stop = asyncio.Event()
        task = asyncio.create_task(second.run(stop))
        await second.wait_ready()
        assert second.states["s"].interval == pytest.approx(7.5)
        job = second.scheduler.get_job("s")
        assert abs((job.next_run_time - next_poll).total_seconds()) < 1.0
        await asyncio.sleep(0.5)
        stop.set()
        await task

    asyncio.run(check_resume())
    assert second_service.calls == []


def test_restart_after_next_poll_passed_polls_soon(db_path):
    src = make_source("s", interval=30, min_interval=10, max_interval=600)
    store = Store(db_path)
    store.sync_sources([src])
    past = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    store.update_source("s", current_interval_s=120.0, next_poll=past, last_poll=past)
    store.close()
    service = StubCrawlService({"s": all_seen("s")})
    daemon = daemon_with(make_config(src), db_path, service, start_spread_s=0.3)
    asyncio.run(run_for(daemon, 1.0))
    assert len(service.calls) == 1
    row = read_source(db_path, "s")
    assert row["current_interval_s"] == pytest.approx(180)  # resumed 120, grown x1.5


def test_feed_ttl_hint_slows_polling(db_path):
    src = make_source("s", interval=0.1, min_interval=0.1, max_interval=30)
    hinted = lambda i: SourceResult("s", found=5, new=5, stored=5, items_seen_ratio=0.0, ttl_s=20)  # noqa: E731
    service = StubCrawlService({"s": hinted})
    daemon = daemon_with(make_config(src), db_path, service)
    asyncio.run(run_for(daemon, 1.0))
    assert len(service.calls) == 1
    assert daemon.states["s"].interval == pytest.approx(20)


def test_a_source_never_overlaps_itself(db_path):
    # the crawl takes longer than the interval, and the job is made due again while it runs
    src = make_source("s", interval=0.1, min_interval=0.1, max_interval=0.2)
    running = {"now": 0, "max": 0}

    def enter(name):
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])

    service = StubCrawlService({"s": all_new("s")}, delay=0.5, on_crawl=enter)
    original = service.crawl

    async def crawl(sources=None, progress=None):
        try:
            return await original(sources, progress)
        finally:
            running["now"] -= 1

    service.crawl = crawl
    daemon = daemon_with(make_config(src), db_path, service)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        await wait_until(lambda: running["now"] == 1)
        for _ in range(5):  # due again and again while the crawl runs
            daemon.scheduler.modify_job("s", next_run_time=datetime.now(timezone.utc))
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        stop.set()
        await task

    asyncio.run(scenario())
    assert running["max"] == 1
    assert 2 <= len(service.calls) <= 4


def test_graceful_stop_lets_the_inflight_crawl_finish(db_path):
    src = make_source("s", interval=10, min_interval=10, max_interval=60)
    service = StubCrawlService({"s": all_new("s")}, delay=0.6)
    daemon = daemon_with(make_config(src), db_path, service, grace_period=5)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        await wait_until(lambda: len(service.calls) == 1)
        stop.set()
        return await task

    assert asyncio.run(scenario()) == 0
    assert service.cancelled == []
    assert read_source(db_path, "s")["last_success"]
    assert daemon.abandoned_polls == 0 and service.closed


def test_stop_abandons_a_crawl_past_the_grace_period(db_path):
    src = make_source("s", interval=10, min_interval=10, max_interval=60)
    run_ids = []

    def start_run(name):  # the crawler records its run as 'running'
        store = Store(db_path)
        run_ids.append(store.start_run(name))
        store.close()

    service = StubCrawlService({"s": all_new("s")}, delay=30, on_crawl=start_run)
    daemon = daemon_with(make_config(src), db_path, service, grace_period=0.3)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        await wait_until(lambda: len(service.calls) == 1)
        started = time.monotonic()
        stop.set()
        code = await task
        return code, time.monotonic() - started

    code, took = asyncio.run(scenario())
    assert code == 0 and took < 5
    assert service.cancelled == ["s"] and daemon.abandoned_polls == 1
    store = Store(db_path)
    assert store.db["crawl_runs"].get(run_ids[0])["status"] == "interrupted"
    store.close()


def test_force_stop_cancels_at_once(db_path):
    src = make_source("s", interval=10, min_interval=10, max_interval=60)
    service = StubCrawlService({"s": all_new("s")}, delay=30)
    daemon = daemon_with(make_config(src), db_path, service, grace_period=60)

    async def scenario():
        task = asyncio.create_task(daemon.run(asyncio.Event()))
        await wait_until(lambda: len(service.calls) == 1)
        daemon.request_stop()
        await asyncio.sleep(0.2)
        daemon.force_stop()
        return await asyncio.wait_for(task, 10)

    assert asyncio.run(scenario()) == 1
    assert service.cancelled == ["s"]


def test_runs_left_running_are_marked_interrupted_on_start(db_path):
    store = Store(db_path)
    stale = store.start_run("s")
    store.close()
    src = make_source("s", interval=10, min_interval=10, max_interval=60)
    service = StubCrawlService({"s": all_seen("s")})
    asyncio.run(run_for(daemon_with(make_config(src), db_path, service), 0.2))
    store = Store(db_path)
    assert store.db["crawl_runs"].get(stale)["status"] == "interrupted"
    store.close()


def test_new_items_notify_the_delivery_worker(db_path):
    from scheduler_helpers import StubDeliveryWorker

    src = make_source("s", interval=0.2, min_interval=0.2, max_interval=1)
    flagged = lambda i: SourceResult("s", found=2, new=2, stored=2, flagged=1)  # noqa: E731
    worker = StubDeliveryWorker()
    daemon = daemon_with(make_config(src), db_path, StubCrawlService({"s": flagged}), worker=worker)
    asyncio.run(run_for(daemon, 0.5))
    assert worker.notified >= 1 and worker.stopped


def test_silent_source_is_flagged_in_metrics(db_path):
    src = make_source("s", interval=0.2, min_interval=0.2, max_interval=1)
    store = Store(db_path)
    store.sync_sources([src])
    old = (datetime.now(timezone.utc) - timedelta(days=3)).replace(microsecond=0).isoformat()
    store.update_source("s", last_new_item=old, last_poll=old, next_poll=old)
    store.close()
    daemon = daemon_with(make_config(src), db_path, StubCrawlService({"s": all_seen("s")}))
    asyncio.run(run_for(daemon, 0.3))
    assert daemon.states["s"].silent
    assert daemon.metrics.silent_sources._value.get() == 1


def test_read_outcome_reads_the_source_and_fails_a_missing_one():
    r = SourceResult("a", found=10, new=4, stored=4, items_seen_ratio=0.6, ttl_s=300)
    outcome = read_outcome(CrawlResult({"a": r}), "a")
    assert (outcome.found, outcome.stored, outcome.seen_ratio, outcome.ttl_s) == (10, 4, 0.6, 300)
    assert not outcome.failed
    missing = read_outcome(CrawlResult({}, errors=["reactor stopped"]), "a")
    assert missing.failed and missing.error_text == "reactor stopped"
    assert read_outcome(CrawlResult({}), "a").error_text == "crawl returned no result for a"


def test_crawl_wide_errors_fail_a_source_that_got_nothing():
    empty = SourceResult("a", found=0)
    outcome = read_outcome(CrawlResult({"a": empty}, errors=["spider crashed"]), "a")
    assert outcome.failed and outcome.seen_ratio is None and "spider crashed" in outcome.error_text
    busy = SourceResult("a", found=3, new=3, stored=3, items_seen_ratio=0.0)
    assert not read_outcome(CrawlResult({"a": busy}, errors=["spider crashed"]), "a").failed


def test_daemon_constructor_matches_the_documented_signature(db_path):
    daemon = Daemon(make_config(make_source("s")), db_path)
    assert daemon.port is None and daemon.status == "created"


def test_importing_the_scheduler_does_not_import_the_reactor():
    import subprocess
    import sys

    code = ("import sys, scheduler, scheduler.commands, scheduler.daemon\n"
            "print(sorted(m for m in sys.modules if m.startswith(('twisted.internet.reactor', 'scrapy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_port_in_use_fails_the_start_and_closes_what_was_opened(db_path):
    import dataclasses
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = make_config(make_source("s"))
        config = dataclasses.replace(config, service=dataclasses.replace(config.service, port=busy.getsockname()[1]))
        service = StubCrawlService({"s": all_seen("s")})
        daemon = daemon_with(config, db_path, service)
        with pytest.raises(OSError):
            asyncio.run(daemon.run(asyncio.Event()))
    assert service.closed and daemon.status == "stopped"
