"""The daemon against a bad webhook receiver, and what it must never show.

* ``newswatch run`` with a receiver that answers 503 + Retry-After several
  times: the alert waits and is then delivered, never dead before its
  attempts run out; the webhook secret appears nowhere: not in the daemon's
  log, its health or metrics answers, ``newswatch status`` / ``alerts list``
  output, nor the database.
* With no ``[service] host`` configured, the health endpoint listens on
  127.0.0.1 only (checked in the kernel's socket table of the process).
* The delivery worker against a receiver that is down, slow, answers
  garbage, drops the connection and errs, in turn: the alert stays pending
  until the last allowed attempt, which succeeds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from daemonkit import ATTACKS, REPO, DaemonProcess, DemoFeedSite, query, wait_for
from drill_helpers import SECRET, AckReceiver, write_config

pytestmark = pytest.mark.timeout(180)


def listening_addresses(pid: int) -> set[str]:
    """Local addresses (hex, as /proc shows them) of the TCP sockets ``pid`` listens on."""
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                found.add(fields[1].split(":")[0])
    return found


def test_daemon_waits_out_a_refusing_receiver_and_never_shows_the_secret(tmp_path):
    site = DemoFeedSite("Drill").start()
    receiver = AckReceiver()
    receiver.plan = [{"status": 503, "headers": {"Retry-After": "1"}}] * 4
    receiver.start()
    db = tmp_path / "n.db"
    # no [service] host: the default must be loopback
    config = write_config(tmp_path / "c.toml", site, receiver, extra_webhook="max_attempts = 6",
                          service="port = 0")
    site.publish_variant(0, ATTACKS[0])
    daemon = DaemonProcess(config, db, tmp_path / "daemon.log")
    outputs = []
    try:
        listening = wait_for(lambda: daemon.events("health.listening"), 60, "the health endpoint", daemon)[0]
        assert listening["host"] == "127.0.0.1"
        port = int(listening["port"])
        assert listening_addresses(daemon.proc.pid) == {"0100007F"}, "the daemon listens beyond 127.0.0.1"

        dead_early = []

        def delivered():
            if not db.exists():
                return False
            rows = query(db, "select state, attempts from alerts")
            dead_early.extend(r for r in rows if r[0] == "dead" and r[1] < 6)
            return rows and all(r[0] == "delivered" for r in rows)

        wait_for(delivered, 90, "the alert delivered after the refusals", daemon)
        assert not dead_early, dead_early
        rows = query(db, "select state, attempts, last_error from alerts")
        assert any(attempts >= 5 for _, attempts, _ in rows), rows  # it waited through the four 503s

        for path in ("/healthz", "/metrics", "/status"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
                    outputs.append(answer.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as exc:
                outputs.append(exc.read().decode("utf-8", "replace"))
        for args in (["status"], ["alerts", "list"]):
            done = subprocess.run([sys.executable, "-m", "newswatch.cli", *args, "--config", str(config), "--db", str(db)],
                                  capture_output=True, text=True, timeout=60, cwd=str(REPO))
            outputs.append(done.stdout + done.stderr)
        assert daemon.terminate() == 0, daemon.tail()
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()
        site.stop()
        receiver.stop()

    assert len(receiver.acked()) == len(query(db, "select id from alerts")) >= 1
    log = daemon.log_path.read_text(encoding="utf-8", errors="replace")
    assert "503" in log or "Service Unavailable" in log or "retry" in log.lower()  # the refusals were logged
    dump = "\n".join(sqlite3.connect(str(db)).iterdump())
    for where, text in [("daemon log", log), ("database", dump)] + [(f"output {i}", o) for i, o in enumerate(outputs)]:
        assert SECRET not in text, f"the webhook secret appears in the {where}"
    # the secret is not even sent: only its signature
    assert all(SECRET.encode() not in body for body in receiver.bodies)
    assert all(SECRET not in " ".join(h.values()) for h in receiver.headers)


def test_delivery_waits_through_down_slow_garbage_and_errors_until_the_last_attempt(tmp_path):
    """max_attempts = 6: five bad answers of every kind, then a 200. Never dead before that."""
    from alerts.delivery import DeliveryWorker
    from alerts.outbox import enqueue_report_alerts
    from newswatch.config import Webhook
    from storage.db import open_database

    receiver = AckReceiver().start()
    port = receiver.port
    receiver.stop()  # down: connections refused for the first attempt
    receiver.plan = [{"delay": 2.5}, {"garbage": True}, {"status": 500}, {"status": 502}]
    hook = Webhook(name="ops", url=f"http://127.0.0.1:{port}/hook", secret=SECRET, timeout=1.0, max_attempts=6)
    db_path = tmp_path / "alerts.db"
    db = open_database(db_path)
    with db.atomic():
        enqueue_report_alerts(db, {"url": "https://news.example.org/a", "source": "s", "title": "t"},
                              {"score": 0.9, "why": "attack", "incidents": []}, [hook])
    db.close()
    # rand=1: every back-off is exactly 0.5 s, time enough to bring the receiver up after the first attempt
    worker = DeliveryWorker(db_path, [hook], backoff_base=0.5, backoff_max=0.5, lease_margin=0.0,
                            poll_interval=0.05, rand=lambda: 1.0)
    states: list[tuple[str, int]] = []

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        deadline = time.monotonic() + 60
        restarted = False
        while time.monotonic() < deadline:
            state, attempts, error = query(db_path, "select state, attempts, last_error from alerts")[0]
            row = (state, attempts)
            states.append(row)
            if error and not restarted:  # the first attempt failed on the closed port
                receiver.port = port
                receiver.start()  # up again, but still misbehaving (the plan)
                restarted = True
            if row[0] != "pending":
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 30)

    try:
        asyncio.run(scenario())
    finally:
        receiver.stop()
        worker.close()
    final = query(db_path, "select state, attempts from alerts")[0]
    assert final == ("delivered", 6), (final, states[-5:])
    assert all(state == "pending" for state, _ in states[:-1]), states
    assert len(receiver.bodies) == 5  # the first attempt found no one listening
    assert len(receiver.acked()) == 1
