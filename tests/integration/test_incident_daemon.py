"""`newswatch run` end to end with incidents: three outlets, one attack, one incident alert.

A real daemon subprocess polls three outlets' feeds on a real local site; the
same rocket attack on Ain al-Asad air base is reported by all three (one in
Arabic) within hours, then a follow-up adds a death toll. A real webhook
receiver on 127.0.0.1 verifies every signature. The incident webhook gets one
``incident.created`` and one ``incident.updated`` (the toll), not one alert
per article; a webhook with ``alert_on = "reports"`` gets one
``report.flagged`` per article; a webhook filtered to another governorate gets
nothing; ``newswatch incidents --json`` shows one incident with three sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from alerts.payload import load_payload_schema
from daemonkit import REPO, DaemonProcess, query, wait_for
from incident_site import OUTLETS, STORIES, OutletsSite, SigningReceiver
from newswatch.localsite import LOCAL_CRAWL_SETTINGS

pytestmark = pytest.mark.timeout(180)

SECRET = "incident-e2e-whsec-7c2a"


def write_config(path: Path, site: OutletsSite, receiver: SigningReceiver) -> Path:
    sources = site.sources_toml()
    path.write_text(f"""
[crawl]
{LOCAL_CRAWL_SETTINGS}
interval = "1s"
min_interval = "1s"
max_interval = "2s"
{sources}
[[webhooks]]
name = "analysts"
url = "{receiver.url('/incidents')}"
secret = "{SECRET}"
governorates = ["anbar"]
attack_types = ["rocket_missile"]
timeout = "5s"

[[webhooks]]
name = "basra-desk"
url = "{receiver.url('/basra')}"
secret = "{SECRET}"
governorates = ["Basra"]
alert_on = "both"
timeout = "5s"

[[webhooks]]
name = "wire"
url = "{receiver.url('/reports')}"
secret = "{SECRET}"
alert_on = "reports"
timeout = "5s"

[service]
host = "127.0.0.1"
port = 0
log_format = "json"
""", encoding="utf-8")
    return path


@pytest.fixture
def site():
    site = OutletsSite().start()
    yield site
    site.stop()


@pytest.fixture
def receiver():
    receiver = SigningReceiver(SECRET).start()
    yield receiver
    receiver.stop()


def polls_since(daemon: DaemonProcess, count: int) -> int:
    return len(daemon.events("poll.finished")) - count


def test_three_outlets_one_attack_make_one_incident_alert(tmp_path: Path, site: OutletsSite,
                                                          receiver: SigningReceiver) -> None:
    db = tmp_path / "news.db"
    config = write_config(tmp_path / "newswatch.toml", site, receiver)
    site.publish("first", "arabic", "third")
    daemon = DaemonProcess(config, db, tmp_path / "daemon.log")
    try:
        wait_for(lambda: query(db, "select count(*) from event_articles", before_schema=[]) == [(3,)], 90,
                 "the three reports grouped", daemon)
        wait_for(lambda: receiver.at("/incidents", "incident.created"), 30, "the incident alert", daemon)
        wait_for(lambda: len(receiver.at("/reports")) >= 3, 30, "the three report alerts", daemon)
        # more polls of every source: nothing new, nothing sent again
        before = len(daemon.events("poll.finished"))
        wait_for(lambda: polls_since(daemon, before) >= 6, 30, "more polls", daemon)

        site.publish("followup")
        wait_for(lambda: query(db, "select killed_max from events", before_schema=[]) == [(2,)], 60, "the follow-up's toll", daemon)
        wait_for(lambda: receiver.at("/incidents", "incident.updated"), 30, "the update alert", daemon)
        wait_for(lambda: len(receiver.at("/reports")) >= 4, 30, "the fourth report alert", daemon)
        before = len(daemon.events("poll.finished"))
        wait_for(lambda: polls_since(daemon, before) >= 6, 30, "more polls after the follow-up", daemon)
        metrics = daemon.get("/metrics")[1]
        assert daemon.terminate() == 0
    finally:
        daemon.kill()

    validator = jsonschema.Draft202012Validator(load_payload_schema(),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert receiver.received and all(r.signature_ok for r in receiver.received)
    for record in receiver.received:
        validator.validate(record.payload)

    incident_alerts = receiver.at("/incidents")
    created = [r.payload for r in incident_alerts if r.event == "incident.created"]
    updated = [r.payload for r in incident_alerts if r.event == "incident.updated"]
    # one alert when the incident is identified, one when the toll appears: not one per article
    assert len(created) == 1 and len(updated) == 1 and len(incident_alerts) == 2
    print(f"\nincident alerts for one incident reported by 3 outlets + 1 follow-up: {len(incident_alerts)} "
          f"(created {len(created)}, updated {len(updated)}); report alerts: {len(receiver.at('/reports'))}")
    incident_id = created[0]["incident_id"]
    assert updated[0]["incident_id"] == incident_id
    assert "casualties" in updated[0]["reasons"]
    assert updated[0]["incident"]["killed"] == {"min": 2, "max": 2}
    assert updated[0]["incident"]["governorate"] == "Anbar"
    assert "rocket_missile" in updated[0]["incident"]["attack_types"]
    assert updated[0]["incident"]["sources"] == 3 and updated[0]["incident"]["state"] == "confirmed"
    assert {s["outlet"] for s in updated[0]["sources"]} == set(OUTLETS.values())
    assert len(updated[0]["sources"]) == 4

    # alert_on = "reports": one report.flagged per flagged article
    reports = receiver.at("/reports")
    assert [r.event for r in reports] == ["report.flagged"] * 4
    assert {r.payload["article"]["url"] for r in reports} == {site.url(s.path) for s in STORIES.values()}
    # the governorate filter applies to incident alerts too
    assert receiver.at("/basra") == []

    assert "newswatch_incidents_created_total 1.0" in metrics
    assert "newswatch_incidents_updated_total 1.0" in metrics
    assert "newswatch_incident_alerts_queued_total 2.0" in metrics
    assert "newswatch_report_alerts_queued_total 4.0" in metrics

    listing = subprocess.run(
        [sys.executable, "-m", "newswatch.cli", "incidents", "--json", "--db", str(db)],
        cwd=str(REPO), capture_output=True, text=True, timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    events = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    assert len(events) == 1
    assert events[0]["id"] == incident_id and events[0]["sources"] == 3 and events[0]["articles"] == 4
    assert query(db, "select state, count(*) from alerts group by state") == [("delivered", 6)]
    # every line the daemon and its extraction workers wrote is one JSON record
    not_json = [line for line in daemon.lines() if line.strip() and not line.startswith("{")]
    assert not_json == [], not_json[:5]
    # the secret is never stored nor logged
    assert SECRET not in (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert not query(db, "select count(*) from alerts where payload like ?", f"%{SECRET}%")[0][0]
