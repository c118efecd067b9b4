"""`newswatch run` end to end: real crawler, real local site, real webhook receiver.

The daemon runs as a subprocess (as in production): its feed is polled every
second while new items appear, flagged reports reach the receiver signed and
once each, SIGTERM stops it cleanly during a crawl, and a SIGKILL between a
report and its delivery loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from daemonkit import ATTACKS, QUIET, DaemonProcess, DemoFeedSite, wait_for
from e2e_helpers import WebhookReceiver, write_config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def site():
    site = DemoFeedSite().start()
    yield site
    site.stop()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def query(db_path, sql, *args):
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_daemon_polls_stores_alerts_once_and_stops_on_sigterm(tmp_path, site, receiver):
    db = tmp_path / "n.db"
    config = write_config(tmp_path / "c.toml", site, receiver)
    site.publish(ATTACKS[0], QUIET[0])
    daemon = DaemonProcess(config, db, tmp_path / "daemon.log")
    try:
        wait_for(lambda: site.url(ATTACKS[0]) in receiver.urls(), 60, "first alert", daemon)
        # more polls of the same feed: the same report is not alerted again
        polls_before = len(daemon.events("poll.finished"))
        daemon.wait_event("poll.finished", polls_before + 2, timeout=20)

        # new items appear between cycles
        site.publish(ATTACKS[1], QUIET[1], ATTACKS[2])
        wait_for(lambda: {site.url(ATTACKS[1]), site.url(ATTACKS[2])} <= set(receiver.urls()), 60,
                 "alerts for the new items", daemon)
        daemon.wait_event("poll.finished", len(daemon.events("poll.finished")) + 2, timeout=20)

        status, body = daemon.get("/healthz")
        assert status == 200 and json.loads(body)["ok"] is True
        status, metrics = daemon.get("/metrics")
        assert 'newswatch_articles_stored_total{source="Tigris"} 5.0' in metrics
        assert "newswatch_alert_deliveries_total 3.0" in metrics

        # SIGTERM while a crawl is in flight: it finishes, then the daemon exits 0
        slow_path = "/news/slow-story.html"
        slow_page = (site.site.routes[ATTACKS[3]][2])

        def slow(request):
            time.sleep(2.0)
            return 200, {"Content-Type": "text/html; charset=utf-8"}, slow_page

        site.add_page(slow_path, slow)
        site.publish(slow_path)
        wait_for(lambda: site.site.hits(slow_path) >= 1, 30, "the slow page requested", daemon)
        assert daemon.terminate() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()

    assert daemon.events("daemon.stopped")[0]["abandoned_polls"] == 0
    assert query(db, "select count(*) from crawl_runs where status = 'running'") == [(0,)]
    stored = {row[0] for row in query(db, "select url from articles")}
    published = {site.url(p) for p in (*ATTACKS[:3], *QUIET[:2], slow_path)}
    assert published <= stored
    # every accepted delivery was signed, and each report reached the receiver exactly once
    assert all(d.signature_ok for d in receiver.accepted) and not receiver.refused
    assert len(receiver.accepted) == len({d.report_id for d in receiver.accepted}) >= 3
    polls = daemon.events("poll.finished")
    assert len(polls) >= 6 and site.site.hits("/feed.xml") >= 6
    assert all(p["stored"] == 0 for p in polls if p["new"] == 0)
    row = query(db, "select last_poll, next_poll, current_interval_s, consecutive_failures from sources")[0]
    assert row[0] and row[1] and row[3] == 0 and 1 <= row[2] <= 2


def test_report_stored_before_a_sigkill_is_delivered_after_restart(tmp_path, site, receiver):
    db = tmp_path / "n.db"
    config = write_config(tmp_path / "c.toml", site, receiver, interval="2s")
    receiver.refusing = True  # 503 + Retry-After: 1, the alert stays pending
    site.publish(ATTACKS[0])
    first = DaemonProcess(config, db, tmp_path / "first.log")
    try:
        wait_for(lambda: receiver.refused, 60, "a first delivery attempt", first)
        first.kill()  # SIGKILL: no cleanup at all
    finally:
        if first.proc.poll() is None:
            first.kill()
    pending = query(db, "select delivery_id, state from alerts")
    assert len(pending) == 1 and pending[0][1] == "pending"
    assert receiver.accepted == []

    receiver.refusing = False
    second = DaemonProcess(config, db, tmp_path / "second.log")
    try:
        wait_for(lambda: receiver.accepted, 60, "the delivery after restart", second)
        second.wait_event("poll.finished", 2, timeout=30)
        assert second.terminate() == 0
    finally:
        if second.proc.poll() is None:
            second.kill()
    assert [d.delivery_id for d in receiver.accepted] == [pending[0][0]]
    assert receiver.accepted[0].url == site.url(ATTACKS[0]) and receiver.accepted[0].signature_ok
    assert query(db, "select state from alerts") == [("delivered",)]
    assert query(db, "select count(*) from crawl_runs where status = 'running'") == [(0,)]
    # the restarted daemon resumed from the stored state and did not store the article twice
    assert query(db, "select count(*) from articles") == [(1,)]


def test_a_second_sigterm_forces_the_exit(tmp_path, site, receiver):
    import signal

    db = tmp_path / "n.db"
    config = write_config(tmp_path / "c.toml", site, receiver)
    hang_path = "/news/hanging-story.html"

    def hang(request):
        time.sleep(30)
        return 200, {"Content-Type": "text/html"}, b"<html><body>late</body></html>"

    site.add_page(hang_path, hang)
    site.publish(hang_path)
    daemon = DaemonProcess(config, db, tmp_path / "daemon.log")
    try:
        wait_for(lambda: site.site.hits(hang_path) >= 1, 60, "the hanging page requested", daemon)
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.wait_event("daemon.stopping", timeout=10)
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(30)
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()
    assert code == 1
    assert time.monotonic() - started < 20
