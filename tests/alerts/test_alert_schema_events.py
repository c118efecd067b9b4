"""One JSON Schema for every webhook payload: real report, test and incident payloads validate against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from alerts.outbox import enqueue_report_alerts
from alerts.payload import EVENTS, build_test_payload, load_payload_schema, make_delivery_id
from grouping.alerts import enqueue_incident_alerts
from grouping.grouper import ALL_REASONS, Grouper
from newswatch.config import Webhook
from storage.db import open_database

REPO = Path(__file__).resolve().parents[2]
HOOK = Webhook(name="ops", url="https://hooks.example/ops", secret="s")


def validator() -> jsonschema.Draft202012Validator:
    schema = load_payload_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def car_bomb(killed=None, claimed_by=None) -> dict:
    return {"flagged": True, "score": 0.91, "why": "car bomb in Kirkuk", "explanation": {}, "incidents": [
        {"date": "2024-04-02", "governorate": "Kirkuk", "place": "Kirkuk", "attack_type": "car_bomb",
         "target": "civilians", "killed": killed, "wounded": None, "foiled": False, "claimed_by": claimed_by,
         "evidence": ["A car bomb exploded in a Kirkuk market on Tuesday."]}]}


def article(n: int, source: str, text: str) -> dict:
    return {"id": n, "source": source, "date": f"2024-04-02T{8 + n:02d}:00:00+00:00",
            "url": f"https://{source.lower().replace(' ', '')}.example/{n}", "title": f"Car bomb in Kirkuk ({source})",
            "text": text}


def real_payloads(tmp_path: Path) -> list[dict]:
    """Queue real alerts of every kind in a database and return their stored bodies."""
    db = open_database(tmp_path / "n.db")
    grouper = Grouper(db, alert_reasons=ALL_REASONS)
    stories = [
        (article(1, "Outlet One", "A car bomb exploded in a Kirkuk market on Tuesday morning, police said."), car_bomb()),
        (article(2, "Outlet Two", "Four people were killed by a car bomb in a Kirkuk market on Tuesday."), car_bomb(4)),
        (article(3, "Outlet Three", "Islamic State claimed Tuesday's car bomb in a Kirkuk market that killed 9."),
         car_bomb(9, "Islamic State")),
    ]
    with db.atomic():
        for row, detection in stories:
            for change in grouper.add(row, detection).changes:
                enqueue_incident_alerts(db, change, [HOOK])
        row, detection = stories[0]
        enqueue_report_alerts(db, row, detection, [HOOK])
        enqueue_report_alerts(db, row, {**detection, "version": 2}, [HOOK], event="report.updated")
    payloads = [json.loads(r["payload"]) for r in db["alerts"].rows_where(order_by="id")]
    db.close()
    payloads.append(build_test_payload(delivery_id=make_delivery_id(), created_at="2024-04-02T12:00:00+00:00"))
    return payloads


def test_every_kind_of_real_payload_validates_against_the_one_schema(tmp_path: Path) -> None:
    payloads = real_payloads(tmp_path)
    events = [p["event"] for p in payloads]
    assert set(events) == set(EVENTS)
    assert events.count("incident.created") == 1 and events.count("incident.updated") >= 1
    check = validator()
    for payload in payloads:
        check.validate(payload)
    updated = [p for p in payloads if p["event"] == "incident.updated"]
    assert all(p["reasons"] for p in updated)
    assert {r for p in updated for r in p["reasons"]} >= {"casualties", "confirmed"}


def test_the_schema_tells_the_kinds_apart(tmp_path: Path) -> None:
    payloads = {p["event"]: p for p in real_payloads(tmp_path)}
    check = validator()
    report, created = payloads["report.flagged"], payloads["incident.created"]
    updated = payloads["incident.updated"]
    with pytest.raises(jsonschema.ValidationError):  # a report body sent as an incident event
        check.validate({**report, "event": "incident.created"})
    with pytest.raises(jsonschema.ValidationError):  # an incident body sent as a report event
        check.validate({**created, "event": "report.flagged"})
    with pytest.raises(jsonschema.ValidationError):
        check.validate({k: v for k, v in created.items() if k != "sources"})
    with pytest.raises(jsonschema.ValidationError):  # created carries no reasons, updated at least one
        check.validate({**created, "reasons": ["casualties"]})
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**updated, "reasons": []})
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**created, "incident_id": "rep_0123456789abcdef"})
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**updated, "incident": {**updated["incident"], "killed": {"min": -1, "max": 2}}})


def test_the_separate_incident_schema_is_gone() -> None:
    assert not (REPO / "grouping" / "incident-payload.schema.json").exists()
    schema = load_payload_schema()
    assert {"report_payload", "incident_payload"} <= set(schema["$defs"])
    assert set(schema["$defs"]["incident_payload"]["properties"]["reasons"]["items"]["enum"]) == set(ALL_REASONS)
