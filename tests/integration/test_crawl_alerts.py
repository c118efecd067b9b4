"""`newswatch crawl` groups incidents and sends alerts too (for cron-driven users).

Real subprocesses of the command line against a real local site of three
outlets and a real webhook receiver on 127.0.0.1: the first crawl queues and
delivers the alerts and prints the counts; ``--no-alerts`` queues without
sending; a crawl whose receiver is down leaves the alerts pending.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from incident_site import OutletsSite, SigningReceiver
from newswatch.localsite import LOCAL_CRAWL_SETTINGS

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
SECRET = "crawl-e2e-whsec-51f0"


def write_config(path: Path, site: OutletsSite, receiver: SigningReceiver) -> Path:
    sources = site.sources_toml()
    path.write_text(f"""
[crawl]
{LOCAL_CRAWL_SETTINGS}
{sources}
[[webhooks]]
name = "analysts"
url = "{receiver.url('/incidents')}"
secret = "{SECRET}"

[[webhooks]]
name = "wire"
url = "{receiver.url('/reports')}"
secret = "{SECRET}"
alert_on = "reports"
""", encoding="utf-8")
    return path


def crawl(config: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "newswatch.cli", "crawl", "--quiet", "--config", str(config), "--db", str(db), *args],
        cwd=str(REPO), capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def alert_states(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("select state, count(*) from alerts group by state").fetchall())
    finally:
        conn.close()


def test_crawl_queues_sends_and_reports_alerts(tmp_path: Path) -> None:
    site = OutletsSite().start()
    receiver = SigningReceiver(SECRET).start()
    try:
        config = write_config(tmp_path / "newswatch.toml", site, receiver)
        db = tmp_path / "news.db"
        site.publish("first", "arabic", "third")

        first = crawl(config, db)
        assert "incidents: 1 created, 0 updated" in first.stdout
        assert "alerts: 4 queued, 4 delivered, 0 pending, 0 dead" in first.stdout
        assert [r.event for r in receiver.at("/incidents")] == ["incident.created"]
        assert [r.event for r in receiver.at("/reports")] == ["report.flagged"] * 3
        assert all(r.signature_ok for r in receiver.received)

        site.publish("followup")
        quiet = crawl(config, db, "--no-alerts")
        assert "incidents: 0 created, 1 updated" in quiet.stdout
        assert "alerts: 2 queued, not sent (--no-alerts), 2 pending" in quiet.stdout
        assert len(receiver.received) == 4 and alert_states(db) == {"delivered": 4, "pending": 2}

        receiver.stop()  # the receiver is down: the next crawl's attempts fail and stay pending
        down = crawl(config, db)
        assert "alerts: 0 queued, 0 delivered, 2 pending, 0 dead" in down.stdout
        assert alert_states(db) == {"delivered": 4, "pending": 2}
        assert SECRET not in down.stdout + down.stderr
    finally:
        receiver.stop()
        site.stop()

    listing = subprocess.run([sys.executable, "-m", "newswatch.cli", "incidents", "--json", "--db", str(db)],
                             cwd=str(REPO), capture_output=True, text=True, timeout=60)
    [event] = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    assert event["sources"] == 3 and event["killed_max"] == 2
