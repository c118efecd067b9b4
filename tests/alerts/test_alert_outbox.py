"""The outbox: queueing inside the caller's transaction, filters, state changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alert_helpers import (  # fixtures: db, db_path
    ARTICLE,
    SECRET,
    db,
    db_path,
    make_detection,
    make_hook,
)

from alerts.outbox import (
    claim_alert,
    count_alerts,
    enqueue_report_alerts,
    fetch_due_alerts,
    list_alerts,
    match_webhook,
    revive_alerts,
)
from alerts.payload import PayloadError, make_report_id
from storage.db import open_database

URL = "http://127.0.0.1:9/hook"


def test_enqueue_stores_one_pending_alert_per_webhook(db: Any) -> None:
    hooks = [make_hook(URL, "ops"), make_hook(URL, "press")]
    with db.atomic():
        ids = enqueue_report_alerts(db, ARTICLE, make_detection(), hooks)
    assert len(ids) == 2
    rows = list_alerts(db, with_payload=True)
    assert [r["id"] for r in rows] == ids
    assert [r["webhook"] for r in rows] == ["ops", "press"]
    for row in rows:
        assert row["state"] == "pending" and row["attempts"] == 0 and row["event"] == "report.flagged"
        assert row["subject"] == make_report_id(ARTICLE["canonical_url"])
        payload = json.loads(row["payload"])
        assert payload["delivery_id"] == row["delivery_id"]
        assert payload["created_at"] == row["created_at"]
    assert rows[0]["delivery_id"] != rows[1]["delivery_id"]
    assert count_alerts(db) == {"pending": 2, "delivered": 0, "dead": 0}


def test_enqueue_joins_the_callers_transaction(db: Any, db_path: Path) -> None:
    other = open_database(db_path)
    try:
        with pytest.raises(RuntimeError):
            with db.atomic():
                db["articles"].insert({"id": 1, "url": ARTICLE["canonical_url"], "source": "example-news"})
                db["reports"].insert({"article_id": 1, "score": 0.9, "why": "x"})
                enqueue_report_alerts(db, ARTICLE, make_detection(), [make_hook(URL)])
                assert db.conn.in_transaction
                assert other.execute("select count(*) from alerts").fetchone()[0] == 0  # not committed
                raise RuntimeError("crawler failed after queueing")
        assert db["alerts"].count == 0 and db["reports"].count == 0
        with db.atomic():
            enqueue_report_alerts(db, ARTICLE, make_detection(), [make_hook(URL)], event="report.updated")
        assert other.execute("select event from alerts").fetchall() == [("report.updated",)]
    finally:
        other.close()


def test_enqueue_refuses_bad_input_before_inserting(db: Any) -> None:
    with pytest.raises(PayloadError):
        enqueue_report_alerts(db, ARTICLE, make_detection(), [make_hook(URL)], event="report.deleted")
    with pytest.raises(PayloadError):
        enqueue_report_alerts(db, {"source": "x"}, make_detection(), [make_hook(URL), make_hook(URL, "b")])
    assert db["alerts"].count == 0
    assert enqueue_report_alerts(db, ARTICLE, make_detection(), []) == []


def incident(governorate: str, attack_type: str) -> dict[str, Any]:
    return {"governorate": governorate, "attack_type": attack_type, "evidence": []}


@pytest.mark.parametrize(
    ("filters", "detection", "expected"),
    [
        ({}, make_detection(), True),
        ({"min_score": 0.9}, make_detection(score=0.87), False),
        ({"min_score": 0.87}, make_detection(score=0.87), True),
        ({"governorates": ("anbar",)}, make_detection(), True),
        ({"governorates": ("Baghdad", "Basra")}, make_detection(), False),
        ({"attack_types": ("drone",)}, make_detection(), False),
        ({"attack_types": ("drone", "rocket_missile")}, make_detection(), True),
        # both filters must hold for the same incident
        ({"governorates": ("Basra",), "attack_types": ("drone",)},
         make_detection(incidents=[incident("Baghdad", "drone"), incident("Basra", "ied")]), False),
        ({"governorates": ("Basra",), "attack_types": ("ied",)},
         make_detection(incidents=[incident("Baghdad", "drone"), incident("Basra", "ied")]), True),
        ({"governorates": ("Basra",)}, make_detection(incidents=[]), False),
        ({"governorates": ("Salah al-Din",)}, make_detection(incidents=[incident("salah  al-din", "ied")]), True),
    ],
)
def test_webhook_filters(filters: dict[str, Any], detection: dict[str, Any], expected: bool) -> None:
    assert match_webhook(make_hook(URL, **filters), detection) is expected


def test_enqueue_applies_filters(db: Any) -> None:
    hooks = [
        make_hook(URL, "all"),
        make_hook(URL, "baghdad", governorates=("Baghdad",)),
        make_hook(URL, "anbar-rockets", governorates=("Anbar",), attack_types=("rocket_missile",)),
        make_hook(URL, "drones", attack_types=("drone",)),
        make_hook(URL, "sure", min_score=0.95),
    ]
    enqueue_report_alerts(db, ARTICLE, make_detection(), hooks)
    assert [r["webhook"] for r in list_alerts(db)] == ["all", "anbar-rockets"]


def test_secret_is_never_stored(db: Any) -> None:
    enqueue_report_alerts(db, ARTICLE, make_detection(), [make_hook(URL)])
    dump = "\n".join(db.conn.iterdump())
    assert "rep_" in dump
    assert SECRET not in dump


def test_claim_is_taken_once(db: Any) -> None:
    [alert_id] = enqueue_report_alerts(db, ARTICLE, make_detection(), [make_hook(URL)])
    row = fetch_due_alerts(db, "2999-01-01T00:00:00+00:00")[0]
    assert claim_alert(db, alert_id, row["attempts"], "2999-01-01T00:00:10+00:00")
    assert not claim_alert(db, alert_id, row["attempts"], "2999-01-01T00:00:10+00:00")
    assert fetch_due_alerts(db, "2999-01-01T00:00:05+00:00") == []
    assert [r["id"] for r in fetch_due_alerts(db, "2999-01-01T00:00:10+00:00")] == [alert_id]
    assert list_alerts(db)[0]["attempts"] == 1


def test_revive_reports_what_it_did(db: Any) -> None:
    ids = enqueue_report_alerts(db, ARTICLE, make_detection(), [make_hook(URL, n) for n in "abc"])
    db.execute("update alerts set state = 'dead', attempts = 5 where id = ?", [ids[0]])
    db.execute("update alerts set state = 'delivered' where id = ?", [ids[1]])
    db.execute("update alerts set next_attempt_at = '2999-01-01T00:00:00+00:00' where id = ?", [ids[2]])
    outcomes = revive_alerts(db, [ids[0], ids[1], ids[2], 999])
    assert outcomes == {ids[0]: "revived", ids[1]: "already delivered", ids[2]: "due now", 999: "not found"}
    rows = {r["id"]: r for r in list_alerts(db)}
    assert rows[ids[0]]["state"] == "pending" and rows[ids[0]]["attempts"] == 0
    db.execute("update alerts set state = 'dead'")
    assert revive_alerts(db, all_dead=True) == dict.fromkeys(ids, "revived")
    assert list_alerts(db, state="dead") == []
    with pytest.raises(ValueError):
        list_alerts(db, state="lost")
