"""The crawler's incident pipeline: grouping and alerts inside the writer's transaction."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import pytest

from alerts.payload import load_payload_schema
from crawler.writer import Writer, write_batch
from grouping.pipeline import IncidentPipeline, article_for_grouping
from grouping_helpers import flagged, incident
from newswatch.config import Webhook
from storage import Store

MORTARS = incident(date="2024-06-10", governorate="Diyala", place="Baqubah", attack_type="mortar_artillery",
                   target="security_forces")
TEXTS = {
    1: ("Mortar shells hit a checkpoint in Baqubah",
        "Three mortar shells landed near an army checkpoint in Baqubah, Diyala, on Monday evening, police said."),
    2: ("Mortar fire targets army post in Diyala",
        "Mortar rounds struck an army post on the edge of Baqubah in Diyala province on Monday, a security source said."),
    3: ("Soldiers killed in Baqubah mortar attack",
        "Four soldiers were killed when mortar shells hit an army checkpoint in Baqubah on Monday, officials said."),
}
OUTLETS = {1: "Outlet One", 2: "Outlet Two", 3: "Outlet Three"}


def article(n: int) -> dict:
    title, text = TEXTS[n]
    return {"url": f"https://outlet{n}.example/news/{n}", "source": OUTLETS[n], "title": title,
            "text": text + " " + " ".join(f"filler{n}-{i}" for i in range(40)),
            "published": f"2024-06-10T{17 + n}:00:00+00:00", "language": "en"}


def detection(n: int) -> dict:
    return flagged({**MORTARS, "killed": 4} if n == 3 else MORTARS, score=0.9)


def hooks(*specs: tuple[str, str, dict]) -> tuple[Webhook, ...]:
    return tuple(Webhook(name=name, url=f"https://hooks.example/{name}", secret="s", alert_on=alert_on, **extra)
                 for name, alert_on, extra in specs)


def alerts(store: Store) -> list[dict]:
    return [dict(r) for r in store.db["alerts"].rows_where(order_by="id")]


def test_pipeline_groups_links_and_alerts_per_incident_and_per_report(tmp_path: Path) -> None:
    store = Store(tmp_path / "n.db")
    pipeline = IncidentPipeline(hooks(("inc", "incidents", {}), ("rep", "reports", {}), ("both", "both", {}),
                                      ("elsewhere", "incidents", {"governorates": ("Basra",)})))
    bound = pipeline.bind(store.db)
    for n in (1, 2, 3):
        write_batch(store, [(article(n), detection(n))], [], hook=bound)
        bound.committed()
    events = list(store.db["events"].rows)
    assert len(events) == 1 and events[0]["sources"] == 3 and events[0]["articles"] == 3
    links = list(store.db["event_articles"].rows)
    assert sorted(link["article_id"] for link in links) == [1, 2, 3]  # linked to the stored articles
    rows = alerts(store)
    by_hook = {name: [r["event"] for r in rows if r["webhook"] == name] for name in ("inc", "rep", "both", "elsewhere")}
    assert by_hook["inc"] == ["incident.created", "incident.updated"]
    assert by_hook["rep"] == ["report.flagged"] * 3
    assert sorted(by_hook["both"]) == sorted(["incident.created", "incident.updated"] + ["report.flagged"] * 3)
    assert by_hook["elsewhere"] == []  # filters apply to incident alerts
    validator = jsonschema.Draft202012Validator(load_payload_schema())
    for row in rows:
        validator.validate(json.loads(row["payload"]))
    assert pipeline.read_counters() == {"incidents_created": 1, "incidents_updated": 1, "incident_alerts": 4,
                                        "report_alerts": 6, "grouped_articles": 3, "grouping_errors": 0}
    store.close()


def test_without_webhooks_incidents_are_still_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "n.db")
    pipeline = IncidentPipeline(())
    write_batch(store, [(article(1), detection(1)), (article(2), detection(2))], [], hook=pipeline)
    assert store.db["events"].count == 1 and store.db["alerts"].count == 0
    assert pipeline.read_counters()["incidents_created"] == 1
    store.close()


def test_one_grouper_per_writer_kept_across_batches_and_rebuilt_after_a_rollback(tmp_path: Path) -> None:
    pipeline = IncidentPipeline(hooks(("inc", "incidents", {})))
    notified: list[int] = []
    pipeline.on_alerts = lambda: notified.append(1)

    async def run() -> tuple[Writer, list]:
        writer = Writer(tmp_path / "n.db", flush_items=1, hook=pipeline)
        outcomes = []
        for n in (1, 2):
            outcomes.append(await writer.add_article(article(n), detection(n)))
        grouper = writer._bound_hook.grouper
        assert grouper is not None
        # a batch that fails after grouping: its transaction is rolled back, and so is the grouper's memory
        real = writer._bound_hook.group

        def failing(db, row, det):
            real(db, row, det)
            raise RuntimeError("disk on fire")

        writer._bound_hook.group = failing
        outcomes.append(await writer.add_article(article(3), detection(3)))
        writer._bound_hook.group = real
        assert writer._bound_hook.grouper is None  # dropped: rebuilt from the database when needed
        await writer.close()
        return writer, outcomes

    writer, outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == ["stored", "stored", "stored"]
    store = Store(tmp_path / "n.db")
    # article 3 is stored with its report but, its grouping having failed, without incident and alert
    assert store.db["reports"].count == 3
    assert sorted(r["article_id"] for r in store.db["event_articles"].rows) == [1, 2]
    assert [r["event"] for r in alerts(store)] == ["incident.created"]
    assert pipeline.read_counters()["grouping_errors"] == 1 and notified == [1]
    store.close()


def test_a_database_error_rolls_back_the_report_and_its_incidents(tmp_path: Path) -> None:
    import sqlite3

    store = Store(tmp_path / "n.db")
    pipeline = IncidentPipeline(hooks(("inc", "incidents", {})))
    bound = pipeline.bind(store.db)
    real = bound.group

    def broken(db, row, det):
        real(db, row, det)
        raise sqlite3.OperationalError("database is locked")

    bound.group = broken
    with pytest.raises(sqlite3.OperationalError):
        write_batch(store, [(article(1), detection(1))], [], hook=bound)
    bound.rolled_back()
    assert store.db["articles"].count == 0 and store.db["events"].count == 0 and store.db["alerts"].count == 0
    assert bound.grouper is None and pipeline.read_counters()["incidents_created"] == 0
    bound.group = real
    write_batch(store, [(article(1), detection(1))], [], hook=bound)
    bound.committed()
    assert store.db["events"].count == 1 and [r["event"] for r in alerts(store)] == ["incident.created"]
    store.close()


def test_a_restarted_pipeline_goes_on_with_the_stored_incidents(tmp_path: Path) -> None:
    store = Store(tmp_path / "n.db")
    write_batch(store, [(article(1), detection(1))], [], hook=IncidentPipeline(hooks(("inc", "incidents", {}))))
    store.close()
    store = Store(tmp_path / "n.db")
    again = IncidentPipeline(hooks(("inc", "incidents", {})))
    write_batch(store, [(article(2), detection(2)), (article(3), detection(3))], [], hook=again)
    assert store.db["events"].count == 1
    assert [r["event"] for r in alerts(store)] == ["incident.created", "incident.updated"]
    assert again.read_counters()["incidents_created"] == 0
    store.close()


def test_article_for_grouping_uses_the_stored_row() -> None:
    row = {"id": 7, "url": "https://a.example/x", "canonical_url": "https://a.example/y", "source": "A",
           "title": "T", "text": "body", "published": None, "fetched_at": "2024-06-10T20:00:00+00:00"}
    assert article_for_grouping(row) == {"id": 7, "source": "A", "date": "2024-06-10T20:00:00+00:00",
                                         "url": "https://a.example/y", "title": "T", "text": "body", "language": None}
