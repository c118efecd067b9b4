"""`newswatch status`, /healthz and /metrics."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from newswatch.config import Webhook
from scheduler.logs import JsonFormatter, TextFormatter, log_event
from scheduler.metrics import HealthServer, Metrics
from scheduler.status import collect_status, format_status
from scheduler_helpers import (
    StubCrawlService,
    StubDeliveryWorker,
    all_new,
    always_raises,
    daemon_with,
    make_config,
    make_source,
    wait_until,
)
from storage import Store

pytestmark = pytest.mark.timeout(60)

SECRET = "hunter2-very-secret-value"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment):
    return moment.replace(microsecond=0).isoformat()


def seed(db_path, sources):
    store = Store(db_path)
    store.sync_sources(sources)
    return store


def test_status_shows_each_sources_polling_state(db_path):
    ok, failing, silent, fresh = (make_source(n, 600, 120, 3600) for n in ("ok", "failing", "silent", "fresh"))
    store = seed(db_path, [ok, failing, silent, fresh])
    store.update_source("ok", last_poll=iso(NOW - timedelta(minutes=5)), next_poll=iso(NOW + timedelta(minutes=10)),
                        last_success=iso(NOW - timedelta(minutes=5)), last_new_item=iso(NOW - timedelta(hours=1)),
                        current_interval_s=900.0)
    store.update_source("failing", last_poll=iso(NOW), next_poll=iso(NOW + timedelta(minutes=40)),
                        last_error="feed: HTTP 503 Service Unavailable", last_error_at=iso(NOW),
                        consecutive_failures=3, last_new_item=iso(NOW - timedelta(hours=2)))
    store.update_source("silent", last_poll=iso(NOW), next_poll=iso(NOW + timedelta(hours=1)),
                        last_new_item=iso(NOW - timedelta(days=2)))
    store.insert_articles([
        {"url": f"https://example.org/{i}", "source": "ok", "title": "t", "text": "x" * 200,
         "fetched_at": iso(NOW - timedelta(hours=i * 10))}
        for i in range(4)  # 0, 10, 20 h ago count; 30 h ago does not
    ])
    store.close()
    hook = Webhook(name="ops", url=f"https://hooks.example.org/T0K3N?key={SECRET}", secret=SECRET)
    config = make_config(ok, failing, silent, fresh, webhooks=(hook,))

    rows = {r["source"]: r for r in collect_status(db_path, config, now=NOW)}

    assert rows["ok"]["state"] == "ok" and rows["ok"]["articles_24h"] == 3
    assert rows["ok"]["interval_s"] == 900.0 and not rows["ok"]["silent"]
    assert rows["failing"]["state"] == "failing" and rows["failing"]["consecutive_failures"] == 3
    assert "503" in rows["failing"]["last_error"]
    assert rows["silent"]["silent"] and rows["silent"]["state"] == "silent"
    assert rows["silent"]["silence_threshold_s"] == 86400
    assert rows["fresh"]["state"] == "never polled" and rows["fresh"]["last_poll"] is None

    text = format_status(list(rows.values()), now=NOW)
    for name in ("ok", "failing", "silent", "fresh", "503", "15m", "in 40m"):
        assert name in text
    dumped = text + json.dumps(list(rows.values()))
    assert SECRET not in dumped and "T0K3N" not in dumped and "hooks.example.org" not in dumped


def test_status_of_a_missing_database_lists_sources_as_never_polled(tmp_path):
    rows = collect_status(tmp_path / "none.db", make_config(make_source("a")))
    assert [r["state"] for r in rows] == ["never polled"]
    assert not (tmp_path / "none.db").exists()


def test_status_command_prints_the_table(tmp_path, db_path):
    from click.testing import CliRunner

    from newswatch.cli import cli

    config_file = tmp_path / "c.toml"
    config_file.write_text(
        '[[sources]]\nname = "Local"\nfeeds = ["http://127.0.0.1:9/feed.xml"]\n'
        f'[[webhooks]]\nurl = "http://127.0.0.1:9/hook"\nsecret = "{SECRET}"\n'
    )
    seed(db_path, [make_source("Local")]).close()
    result = CliRunner().invoke(cli, ["status", "--config", str(config_file), "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "Local" in result.output and "never polled" in result.output
    assert SECRET not in result.output
    as_json = CliRunner().invoke(cli, ["status", "--json", "--config", str(config_file), "--db", str(db_path)])
    assert json.loads(as_json.output.splitlines()[0])["source"] == "Local"


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode()
    finally:
        conn.close()


METRIC_NAMES = (
    "newswatch_polls_total", "newswatch_articles_found_total", "newswatch_articles_fetched_total",
    "newswatch_articles_stored_total", "newswatch_articles_flagged_total", "newswatch_source_errors_total",
    "newswatch_poll_duration_seconds_bucket", "newswatch_source_interval_seconds",
    "newswatch_silent_sources", "newswatch_source_silent", "newswatch_alert_deliveries_total",
    "newswatch_alert_delivery_failures_total", "newswatch_alerts_pending", "newswatch_uptime_seconds",
)


def test_health_and_metrics_endpoints_answer_on_loopback(db_path):
    good, bad = make_source("good"), make_source("bad")
    service = StubCrawlService({"good": all_new("good"), "bad": always_raises("DNS lookup failed")})
    worker = StubDeliveryWorker()
    daemon = daemon_with(make_config(good, bad), db_path, service, worker=worker)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        await daemon.wait_ready()
        await wait_until(lambda: daemon.states["good"].polls >= 2 and daemon.states["bad"].polls >= 1)
        health = await asyncio.to_thread(http_get, daemon.port, "/healthz")
        metrics = await asyncio.to_thread(http_get, daemon.port, "/metrics")
        missing = await asyncio.to_thread(http_get, daemon.port, "/nope")
        stop.set()
        await task
        return health, metrics, missing

    health, metrics, missing = asyncio.run(scenario())
    assert daemon.port and daemon.health_server.host == "127.0.0.1"
    status, ctype, body = health
    assert status == 200 and ctype == "application/json"
    payload = json.loads(body)
    assert payload["ok"] is True and payload["uptime_s"] >= 0
    assert payload["sources"]["bad"]["consecutive_failures"] >= 1
    assert "DNS lookup failed" in payload["sources"]["bad"]["last_error"]
    assert payload["sources"]["good"]["last_poll"]
    status, ctype, text = metrics
    assert status == 200 and ctype.startswith("text/plain")
    for name in METRIC_NAMES:
        assert name in text, name
    assert 'newswatch_polls_total{outcome="failed",source="bad"}' in text
    assert "newswatch_alert_deliveries_total 7.0" in text
    assert missing[0] == 404


def test_health_is_503_when_the_scheduler_is_not_running():
    metrics = Metrics()
    server = HealthServer(metrics, lambda: (False, {"ok": False, "status": "stopping"}))
    answer = server.answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 503")
    assert server.answer(b"POST /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405")
    assert server.answer(b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_each_metrics_object_has_its_own_registry():
    from prometheus_client import REGISTRY

    a, b = Metrics(), Metrics()
    a.polls.labels("x", "ok").inc()
    assert b"newswatch_polls_total{outcome=\"ok\",source=\"x\"} 1.0" in a.render()
    assert b"source=\"x\"" not in b.render()
    assert REGISTRY.get_sample_value("newswatch_polls_total", {"source": "x", "outcome": "ok"}) is None


def make_record(event="poll.finished", **fields):
    logger = logging.getLogger("scheduler.test")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log_event(logger, logging.INFO, event, **fields)
    finally:
        logger.removeHandler(handler)
    return records[0]


def test_json_log_lines_carry_event_source_and_url():
    record = make_record(source="Rudaw", url="https://www.rudaw.net/feed", new=3, secret=SECRET)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["event"] == "poll.finished" and data["source"] == "Rudaw"
    assert data["url"] == "https://www.rudaw.net/feed" and data["new"] == 3
    assert data["level"] == "info" and data["ts"].endswith("Z")
    assert SECRET not in line


def test_text_log_lines_are_key_value():
    line = TextFormatter().format(make_record(source="Iraqi News", new=2))
    assert " info poll.finished " in line
    assert 'source="Iraqi News"' in line and "new=2" in line


def test_foreign_records_are_formatted_too():
    record = logging.LogRecord("scrapy.core.scraper", logging.ERROR, __file__, 1, "oops %s", ("x",), None)
    data = json.loads(JsonFormatter().format(record))
    assert data["event"] == "log" and data["msg"] == "oops x" and data["logger"] == "scrapy.core.scraper"
