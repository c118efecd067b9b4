"""docs/webhooks.md: its example payload and example receiver work as written."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import types
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from alert_helpers import (  # fixtures: db_path
    SECRET,
    db_path,
    make_article,
    make_detection,
    make_hook,
    read_alerts,
)

from alerts.delivery import DeliveryWorker
from alerts.outbox import enqueue_report_alerts
from alerts.payload import load_payload_schema, make_report_id, sign_body
from storage.db import open_database

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def read_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_example_payloads_are_valid() -> None:
    examples = [json.loads(b) for b in read_blocks("json") if '"schema_version"' in b]
    validator = jsonschema.Draft202012Validator(load_payload_schema())
    assert sorted(p["event"] for p in examples) == ["incident.updated", "report.flagged"]
    for payload in examples:
        validator.validate(payload)
    [report] = [p for p in examples if p["event"] == "report.flagged"]
    assert report["report_id"] == make_report_id(report["article"]["url"])
    [incident] = [p for p in examples if p["event"] == "incident.updated"]
    assert incident["incident_id"] == incident["incident"]["id"] and incident["reasons"]


def test_documented_alert_on_values_are_the_configured_ones() -> None:
    from newswatch.config import ALERT_ON

    text = DOC.read_text(encoding="utf-8")
    for value in ALERT_ON:
        assert f'`"{value}"' in text


@pytest.fixture
def doc_receiver(monkeypatch: pytest.MonkeyPatch) -> Any:
    [source] = [b for b in read_blocks("python") if "class Hook" in b]
    monkeypatch.setenv("NEWSWATCH_WEBHOOK_SECRET", SECRET)
    module = types.ModuleType("webhook_receiver_example")
    exec(compile(source, str(DOC), "exec"), module.__dict__)
    handled: list[dict[str, Any]] = []
    module.handle = handled.append
    server = module.ThreadingHTTPServer(("127.0.0.1", 0), module.Hook)
    server.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/", handled=handled, seen=module.seen)
    server.shutdown()
    server.server_close()


def test_documented_receiver_accepts_once_and_refuses_forgeries(doc_receiver: Any, db_path: Path) -> None:
    hook = make_hook(doc_receiver.url)
    db = open_database(db_path)
    enqueue_report_alerts(db, make_article(1), make_detection(), [hook])
    db.close()
    worker = DeliveryWorker(db_path, [hook], backoff_base=0.01, lease_margin=0.0)
    assert asyncio.run(worker.run_once()) == 1
    worker.close()
    row = read_alerts(db_path)[0]
    assert [p["delivery_id"] for p in doc_receiver.handled] == [row["delivery_id"]]

    body = row["payload"].encode()
    good = {
        "Content-Type": "application/json",
        "X-Newswatch-Delivery": row["delivery_id"],
        "X-Newswatch-Signature": sign_body(SECRET, body),
    }
    with httpx.Client() as client:
        fresh = {**good, "X-Newswatch-Timestamp": str(int(time.time()))}
        replay = client.post(doc_receiver.url, content=body, headers=fresh)
        assert (replay.status_code, replay.text) == (200, "duplicate")
        forged = client.post(doc_receiver.url, content=body.replace(b"0.87", b"0.99"), headers=fresh)
        assert forged.status_code == 401
        stale = client.post(doc_receiver.url, content=body, headers={**good, "X-Newswatch-Timestamp": "1000"})
        assert stale.status_code == 401
    assert len(doc_receiver.handled) == 1
