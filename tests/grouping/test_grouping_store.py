"""Persistence: the events tables, restart, and alerts queued per incident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grouping.alerts import build_incident_payload, enqueue_incident_alerts
from grouping.grouper import Grouper
from grouping.schema import m002_events
from grouping_helpers import flagged, incident, make_article
from newswatch.config import Webhook
from storage.db import open_database

ROCKETS = incident(date="2024-03-05", governorate="Baghdad", place="Green Zone", attack_type="rocket_missile",
                   target="diplomatic")


def open_db(path: Path):
    db = open_database(path)
    if not db["events"].exists():
        with db.atomic():
            m002_events(db)
    return db


def article(key: str, source: str, when: str, text: str) -> dict:
    return make_article(key, source, when, f"Rockets hit Baghdad's Green Zone ({source} report)", text)


def test_migration_creates_the_events_tables(tmp_path: Path) -> None:
    db = open_db(tmp_path / "news.db")
    assert {"events", "event_articles"} <= set(db.table_names())
    assert db["event_articles"].pks == ["event_id", "article_key", "seq"]


def test_restarted_grouper_loads_open_events_and_keeps_grouping(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    grouper = Grouper(open_db(path))
    first = grouper.add(article("h1", "Outlet One", "2024-03-05T21:00:00+00:00",
                                "Two rockets struck the Green Zone in Baghdad on Tuesday night."), flagged(ROCKETS))
    event_id = first.event_ids[0]
    grouper.db.close()
    restarted = Grouper(open_db(path))
    assert event_id in restarted.events and restarted.events[event_id].state == "provisional"
    second = restarted.add(article("h2", "Outlet Two", "2024-03-06T06:00:00+00:00",
                                   "Rockets landed inside Baghdad's Green Zone late on Tuesday, police said."),
                           flagged(ROCKETS))
    assert second.event_ids == [event_id]
    assert second.changes == []  # confirmation alone is no alert by default
    row = restarted.db["events"].get(event_id)
    assert row["state"] == "confirmed" and row["sources"] == 2 and row["articles"] == 2
    links = list(restarted.db["event_articles"].rows_where("event_id = ?", [event_id]))
    assert {link["article_key"] for link in links} == {"h1", "h2"}


def test_incident_payload_matches_the_webhook_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    grouper = Grouper()
    result = grouper.add(article("i1", "Outlet One", "2024-03-05T21:00:00+00:00",
                                 "Two rockets struck the Green Zone on Tuesday night, wounding two guards."),
                         flagged({**ROCKETS, "wounded": 2}))
    event = grouper.events[result.event_ids[0]]
    payload = build_incident_payload(event, event.articles, event_type="incident.updated", reasons=["casualties"],
                                     delivery_id="dlv_" + "0" * 32, created_at="2024-03-05T21:01:00+00:00")
    from alerts.payload import load_payload_schema

    jsonschema.Draft202012Validator(load_payload_schema()).validate(payload)
    assert payload["incident_id"] == event.id and payload["incident"]["wounded"] == {"min": 2, "max": 2}
    assert payload["sources"][0]["outlet"] == "Outlet One" and payload["reasons"] == ["casualties"]


def test_enqueue_incident_alerts_applies_webhook_filters(tmp_path: Path) -> None:
    db = open_db(tmp_path / "news.db")
    grouper = Grouper(db)
    result = grouper.add(article("j1", "Outlet One", "2024-03-05T21:00:00+00:00",
                                 "Two rockets struck the Green Zone on Tuesday night."), flagged(ROCKETS, score=0.7))
    hooks = [
        Webhook(name="all", url="https://hooks.example/all", secret="s"),
        Webhook(name="baghdad", url="https://hooks.example/b", secret="s", governorates=("baghdad",),
                attack_types=("rocket_missile",)),
        Webhook(name="anbar", url="https://hooks.example/a", secret="s", governorates=("Anbar",)),
        Webhook(name="strict", url="https://hooks.example/s", secret="s", min_score=0.8),
    ]
    with db.atomic():
        ids = enqueue_incident_alerts(db, result.changes[0], hooks)
    rows = list(db["alerts"].rows_where(order_by="id"))
    assert [r["webhook"] for r in rows] == ["all", "baghdad"] and len(set(ids)) == 2
    assert all(r["state"] == "pending" and r["event"] == "incident.created" for r in rows)
    assert rows[0]["subject"] == result.event_ids[0]
    body = json.loads(rows[0]["payload"])
    assert body["delivery_id"] == rows[0]["delivery_id"] and body["sources"][0]["url"].startswith("https://")
