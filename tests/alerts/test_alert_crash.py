"""A worker process killed with SIGKILL mid-delivery loses nothing.

A child process queues alerts and starts sending them to a slow receiver; it
is killed while a request is in flight. A new worker then delivers the rest.
The receiver de-duplicates by X-Newswatch-Delivery, as documented: every
alert is accepted, and only the one in flight at the kill may arrive twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from alert_helpers import (  # fixtures: receiver
    SECRET,
    Receiver,
    make_hook,
    read_alerts,
    receiver,
    run_worker_until,
    wait_for,
)

from alerts.delivery import DeliveryWorker

REPO = Path(__file__).resolve().parents[2]
COUNT = 6

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from alerts.delivery import DeliveryWorker
    from alerts.outbox import enqueue_report_alerts
    from newswatch.config import Webhook
    from storage.db import open_database

    db_path, url, secret, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    hook = Webhook(name="ops", url=url, secret=secret, timeout=1.0, max_attempts=10)
    db = open_database(db_path)
    with db.atomic():
        for n in range(count):
            url_n = f"https://news.example.org/story-{n}"
            enqueue_report_alerts(db, {"url": url_n, "source": "example-news", "title": f"Story {n}"},
                                  {"score": 0.9, "why": "attack", "incidents": []}, [hook])
    db.close()
    print("queued", flush=True)
    worker = DeliveryWorker(db_path, [hook], backoff_base=0.01, lease_margin=0.0, poll_interval=0.05)
    asyncio.run(worker.run_forever(asyncio.Event()))
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_delivery_loses_nothing_and_duplicates_nothing_acknowledged(
    receiver: Receiver, tmp_path: Path
) -> None:
    db_path = tmp_path / "newswatch.db"
    receiver.default = {"status": 200, "body": "ok", "delay": 0.3}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path), receiver.url, SECRET, str(COUNT)],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "queued"
        # two alerts acknowledged and recorded, the third one in flight
        wait_for(lambda: len(receiver.requests) >= 3, timeout=15)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    time.sleep(0.35)  # let the receiver finish answering the dead client

    rows = read_alerts(db_path)
    assert len(rows) == COUNT
    states = [r["state"] for r in rows]
    assert states[:2] == ["delivered", "delivered"]
    assert "pending" in states and "dead" not in states
    in_flight = receiver.requests[2].delivery_id
    assert next(r for r in rows if r["delivery_id"] == in_flight)["state"] == "pending"

    receiver.default = {"status": 200, "body": "ok"}
    hook = make_hook(receiver.url, timeout=1.0, max_attempts=10)
    worker = DeliveryWorker(db_path, [hook], backoff_base=0.01, lease_margin=0.0, poll_interval=0.05)
    asyncio.run(run_worker_until(
        worker, lambda: all(r["state"] == "delivered" for r in read_alerts(db_path)), timeout=15))
    worker.close()

    rows = read_alerts(db_path)
    ids = {r["delivery_id"] for r in rows}
    assert set(receiver.accepted) == ids  # every alert reached the receiver
    for delivery_id, times in receiver.accepted.items():
        # an alert acknowledged and recorded before the kill was never sent again;
        # only the one in flight may arrive twice, with the same delivery id
        assert times == 1 or (delivery_id == in_flight and times == 2)
    assert all(r.signature_ok for r in receiver.requests)
