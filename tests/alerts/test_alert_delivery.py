"""The delivery worker against a real receiver on 127.0.0.1, and its retry math."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from alert_helpers import (  # fixtures: db_path, receiver
    ARTICLE,
    SECRET,
    Receiver,
    db_path,
    make_article,
    make_detection,
    make_hook,
    read_alerts,
    receiver,
    run_worker_until,
)

from alerts.delivery import DeliveryWorker, classify_status, compute_backoff, parse_retry_after
from alerts.outbox import claim_alert, enqueue_report_alerts, format_time, parse_time
from storage.db import open_database

FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "lease_margin": 0.0, "poll_interval": 0.05}


def enqueue(db_path: Path, hooks: list[Any], n: int = 1) -> list[int]:
    db = open_database(db_path)
    try:
        ids: list[int] = []
        for i in range(n):
            with db.atomic():
                ids += enqueue_report_alerts(db, make_article(i + 1), make_detection(), hooks)
        return ids
    finally:
        db.close()


def make_worker(db_path: Path, hooks: list[Any], **kwargs: Any) -> DeliveryWorker:
    return DeliveryWorker(db_path, hooks, **{**FAST, **kwargs})


def test_pending_alert_is_delivered_signed(receiver: Receiver, db_path: Path) -> None:
    hook = make_hook(receiver.url)
    [alert_id] = enqueue(db_path, [hook])
    stored = read_alerts(db_path)[0]
    worker = make_worker(db_path, [hook])
    before = int(time.time())
    assert asyncio.run(worker.run_once()) == 1
    [got] = receiver.requests
    assert got.signature_ok
    assert got.body == stored["payload"].encode("utf-8")
    assert got.delivery_id == stored["delivery_id"] == json.loads(got.body)["delivery_id"]
    assert got.event == "report.flagged" and got.attempt == "1"
    assert before <= int(got.timestamp) <= int(time.time())
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("newswatch/")
    row = read_alerts(db_path)[0]
    assert row["state"] == "delivered" and row["attempts"] == 1 and row["last_status"] == 200
    assert row["delivered_at"] and row["next_attempt_at"] is None
    assert (worker.counters.delivered, worker.counters.failed_attempts, worker.counters.dead) == (1, 0, 0)
    assert asyncio.run(worker.run_once()) == 0  # nothing left to send
    worker.close()


def test_500_then_200_is_accepted_once_with_the_same_delivery_id(receiver: Receiver, db_path: Path) -> None:
    receiver.then({"status": 500, "body": "database down"})
    hook = make_hook(receiver.url)
    enqueue(db_path, [hook])
    worker = make_worker(db_path, [hook])
    asyncio.run(run_worker_until(worker, lambda: read_alerts(db_path)[0]["state"] == "delivered"))
    first, second = receiver.requests
    assert first.answered == 500 and second.answered == 200
    assert first.delivery_id == second.delivery_id
    assert first.body == second.body  # the same bytes on every retry
    assert (first.attempt, second.attempt) == ("1", "2")
    assert receiver.accepted == {first.delivery_id: 1}
    row = read_alerts(db_path)[0]
    assert row["attempts"] == 2 and row["last_error"] is None
    assert worker.counters.failed_attempts == 1 and worker.counters.delivered == 1
    worker.close()


def test_receiver_down_then_up_gets_everything(receiver: Receiver, db_path: Path) -> None:
    hook = make_hook(receiver.url, max_attempts=100)
    enqueue(db_path, [hook], n=4)
    receiver.stop()  # connections are refused

    async def scenario() -> None:
        worker = make_worker(db_path, [hook])
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        while worker.counters.failed_attempts < 3:
            await asyncio.sleep(0.02)
        assert worker.counters.delivered == 0
        receiver.start()
        while sum(receiver.accepted.values()) < 4:
            await asyncio.sleep(0.02)
        while worker.counters.delivered < 4:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 5)
        worker.close()

    asyncio.run(asyncio.wait_for(scenario(), 15))
    rows = read_alerts(db_path)
    assert {r["state"] for r in rows} == {"delivered"}
    assert set(receiver.accepted) == {r["delivery_id"] for r in rows}
    assert set(receiver.accepted.values()) == {1}


def test_attempts_exhausted_make_the_alert_dead(receiver: Receiver, db_path: Path) -> None:
    receiver.default = {"status": 503, "body": "overloaded"}
    hook = make_hook(receiver.url, max_attempts=3)
    enqueue(db_path, [hook])
    worker = make_worker(db_path, [hook])
    asyncio.run(run_worker_until(worker, lambda: read_alerts(db_path)[0]["state"] == "dead"))
    row = read_alerts(db_path)[0]
    assert row["attempts"] == 3 and row["last_status"] == 503
    assert row["last_error"] == "HTTP 503: overloaded" and row["next_attempt_at"] is None
    assert len(receiver.requests) == 3 and not receiver.accepted
    assert (worker.counters.failed_attempts, worker.counters.dead) == (3, 1)
    worker.close()


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_permanent_failures_are_dead_at_once(receiver: Receiver, db_path: Path, status: int) -> None:
    headers = {"Location": "https://elsewhere.example/hook"} if status == 301 else {}
    receiver.default = {"status": status, "body": "no such hook", "headers": headers}
    hook = make_hook(receiver.url)
    enqueue(db_path, [hook])
    worker = make_worker(db_path, [hook])
    assert asyncio.run(worker.run_once()) == 1
    row = read_alerts(db_path)[0]
    assert row["state"] == "dead" and row["attempts"] == 1 and row["last_status"] == status
    assert len(receiver.requests) == 1
    worker.close()


def test_slow_and_garbage_answers_are_retried(receiver: Receiver, db_path: Path, caplog: Any) -> None:
    receiver.then({"delay": 0.6}, {"garbage": True}, {"drop": True})
    hook = make_hook(receiver.url, timeout=0.2)
    enqueue(db_path, [hook])
    worker = make_worker(db_path, [hook])
    with caplog.at_level(logging.INFO, logger="alerts"):
        asyncio.run(run_worker_until(worker, lambda: read_alerts(db_path)[0]["state"] == "delivered"))
    assert read_alerts(db_path)[0]["attempts"] == 4
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 3
    assert "(timed out after 0.2s)" in failures[0]
    assert "RemoteProtocolError" in failures[1]
    assert len(receiver.accepted) == 1 and len({r.delivery_id for r in receiver.requests}) == 1
    worker.close()


def test_a_2xx_whose_body_stalls_counts_as_delivered(receiver: Receiver, db_path: Path) -> None:
    receiver.then({"status": 200, "body": "accepted, now", "stall": 1.0})
    hook = make_hook(receiver.url, timeout=0.3)
    enqueue(db_path, [hook])
    worker = make_worker(db_path, [hook])
    assert asyncio.run(worker.run_once()) == 1
    row = read_alerts(db_path)[0]
    assert row["state"] == "delivered" and row["attempts"] == 1 and len(receiver.requests) == 1
    worker.close()


def test_a_fresh_worker_delivers_what_was_queued(receiver: Receiver, db_path: Path) -> None:
    hook = make_hook(receiver.url)
    enqueue(db_path, [hook], n=3)
    # the process that queued them ended before any worker ran
    worker = make_worker(db_path, [hook])
    assert asyncio.run(worker.run_once()) == 3
    assert sorted(receiver.accepted.values()) == [1, 1, 1]
    worker.close()


def test_an_attempt_cut_short_is_retried_after_its_lease(receiver: Receiver, db_path: Path) -> None:
    hook = make_hook(receiver.url, timeout=5.0)
    [alert_id] = enqueue(db_path, [hook])
    db = open_database(db_path)
    now = time.time()
    # a worker claimed it and died before the answer was recorded
    assert claim_alert(db, alert_id, 0, format_time(now + hook.timeout + 30))
    db.close()
    clock = {"now": now}
    worker = make_worker(db_path, [hook], clock=lambda: clock["now"])
    assert asyncio.run(worker.run_once()) == 0 and receiver.requests == []  # leased
    clock["now"] = now + hook.timeout + 31
    assert asyncio.run(worker.run_once()) == 1
    row = read_alerts(db_path)[0]
    assert row["state"] == "delivered" and row["attempts"] == 2
    assert receiver.requests[0].delivery_id == row["delivery_id"] and receiver.requests[0].attempt == "2"
    worker.close()


def test_two_workers_never_send_the_same_alert_twice(receiver: Receiver, db_path: Path) -> None:
    receiver.default = {"status": 200, "delay": 0.05}
    hook = make_hook(receiver.url)
    enqueue(db_path, [hook], n=6)
    a, b = make_worker(db_path, [hook]), make_worker(db_path, [hook])

    async def both() -> list[int]:
        return list(await asyncio.gather(a.run_once(), b.run_once()))

    assert sum(asyncio.run(both())) == 6
    assert len(receiver.requests) == 6 and set(receiver.accepted.values()) == {1}
    a.close()
    b.close()


def test_notify_wakes_the_worker(receiver: Receiver, db_path: Path) -> None:
    hook = make_hook(receiver.url)

    async def scenario() -> float:
        worker = make_worker(db_path, [hook], poll_interval=30.0)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        await asyncio.sleep(0.2)  # idle, waiting for up to 30 s
        await asyncio.to_thread(enqueue, db_path, [hook])
        started = time.monotonic()
        await asyncio.to_thread(worker.notify)  # from another thread, like the crawler's writer
        while worker.counters.delivered < 1:
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        stop.set()
        await asyncio.wait_for(task, 5)
        worker.close()
        return elapsed

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) < 5


def test_alerts_of_unconfigured_webhooks_wait(receiver: Receiver, db_path: Path, caplog: Any) -> None:
    enqueue(db_path, [make_hook(receiver.url, "retired")])
    worker = make_worker(db_path, [make_hook(receiver.url, "ops")])
    with caplog.at_level(logging.WARNING, logger="alerts"):
        assert asyncio.run(worker.run_once()) == 0
    assert "retired" in caplog.text
    assert read_alerts(db_path)[0]["state"] == "pending" and receiver.requests == []
    assert worker.compute_idle_delay() == worker.poll_interval  # no busy loop
    worker.close()


def test_secret_never_reaches_logs_errors_or_the_database(
    receiver: Receiver, db_path: Path, caplog: Any
) -> None:
    # a careless receiver that echoes the secret in its error page
    receiver.then({"status": 500, "body": f"expected secret {SECRET}"}, {"status": 404, "body": SECRET})
    hook = make_hook(receiver.url, max_attempts=3)
    enqueue(db_path, [hook])
    results: list[tuple[str, str]] = []
    worker = make_worker(db_path, [hook], on_result=lambda outcome, name: results.append((outcome, name)))
    with caplog.at_level(logging.DEBUG):
        asyncio.run(run_worker_until(worker, lambda: read_alerts(db_path)[0]["state"] == "dead"))
    assert results == [("failed", "ops"), ("failed", "ops"), ("dead", "ops")]
    assert caplog.records and SECRET not in caplog.text
    assert SECRET not in repr(worker) and SECRET not in repr(hook)
    db = open_database(db_path)
    dump = "\n".join(db.conn.iterdump())
    db.close()
    assert "[secret]" in dump and SECRET not in dump
    worker.close()


# -- retry math with an injected transport and clock ---------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def scripted_transport(answers: list[httpx.Response | Exception]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler)


def read_due(db_path: Path) -> float:
    return parse_time(read_alerts(db_path)[0]["next_attempt_at"])


def test_backoff_doubles_with_full_jitter_and_honours_retry_after(db_path: Path) -> None:
    clock = FakeClock()
    answers: list[httpx.Response | Exception] = [
        httpx.Response(503),
        httpx.ConnectError("connection refused"),
        httpx.Response(500),
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(502),
        httpx.Response(204),
    ]
    hook = make_hook("https://hooks.example.net/in", max_attempts=10)
    enqueue(db_path, [hook])
    worker = DeliveryWorker(db_path, [hook], transport=scripted_transport(answers), clock=clock,
                            rand=lambda: 0.5, backoff_base=10, backoff_max=30, lease_margin=0)
    expected = [5.0, 10.0, 15.0, 7.0, 15.0]  # 0.5 * min(30, 10 * 2**(n-1)); Retry-After wins
    for delay in expected:
        assert asyncio.run(worker.run_once()) == 0
        due = read_due(db_path)
        assert round(due - clock.now, 2) == delay
        clock.now = due - 0.01
        assert asyncio.run(worker.run_once()) == 0  # not due yet
        clock.now = due
    assert asyncio.run(worker.run_once()) == 1
    row = read_alerts(db_path)[0]
    assert row["state"] == "delivered" and row["attempts"] == 6 and row["last_status"] == 204
    assert worker.counters.failed_attempts == 5
    worker.close()


def test_retry_math_helpers() -> None:
    assert [compute_backoff(n, base=1, cap=10, rand=lambda: 1.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert compute_backoff(3, base=1, cap=10, rand=lambda: 0.0) == 0
    assert parse_retry_after("120", 0) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None
    assert [classify_status(s) for s in (200, 204, 302, 400, 408, 425, 429, 500, 503)] == [
        "ok", "ok", "permanent", "permanent", "retry", "retry", "retry", "retry", "retry"]


def test_each_state_change_is_committed_at_once(db_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # while the request is in flight, another connection sees the claim
        other = open_database(db_path)
        seen.append(other.execute("select state, attempts from alerts").fetchone())
        other.close()
        return httpx.Response(200)

    hook = make_hook("https://hooks.example.net/in")
    enqueue(db_path, [hook])
    worker = make_worker(db_path, [hook], transport=httpx.MockTransport(handler))
    assert asyncio.run(worker.run_once()) == 1
    assert seen == [("pending", 1)]
    assert read_alerts(db_path)[0]["state"] == "delivered"
    worker.close()


def test_report_id_stays_the_subject(db_path: Path) -> None:
    enqueue(db_path, [make_hook("https://hooks.example.net/in")])
    payload = json.loads(read_alerts(db_path)[0]["payload"])
    assert payload["article"]["title"] == "Story 1" and payload["report_id"] == read_alerts(db_path)[0]["subject"]
    assert ARTICLE["source"] == payload["article"]["source"]
