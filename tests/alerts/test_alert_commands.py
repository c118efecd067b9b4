"""The ``newswatch alerts`` commands, run with click's CliRunner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from alert_helpers import (  # fixtures: db_path, receiver
    SECRET,
    Receiver,
    db_path,
    make_article,
    make_detection,
    make_hook,
    read_alerts,
    receiver,
)
from click.testing import CliRunner

from alerts.commands import alerts_group
from alerts.delivery import DeliveryWorker
from alerts.outbox import enqueue_report_alerts
from storage.db import open_database


def write_config(tmp_path: Path, hooks: list[dict[str, Any]]) -> Path:
    lines = ['[[sources]]', 'name = "example-news"', 'feeds = ["http://127.0.0.1:9/feed.xml"]', ""]
    for hook in hooks:
        lines.append("[[webhooks]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in hook.items()]
        lines.append("")
    path = tmp_path / "newswatch.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def enqueue(db_path: Path, hooks: list[Any], n: int = 1) -> list[int]:
    db = open_database(db_path)
    ids: list[int] = []
    for i in range(n):
        with db.atomic():
            ids += enqueue_report_alerts(db, make_article(i + 1), make_detection(), hooks)
    db.close()
    return ids


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(alerts_group, list(args), catch_exceptions=False)
    return result


def test_list_shows_alerts_and_filters_by_state(db_path: Path) -> None:
    ids = enqueue(db_path, [make_hook("http://127.0.0.1:9/hook", "ops")], n=3)
    db = open_database(db_path)
    db.execute("update alerts set state = 'dead', attempts = 8, last_status = 500, last_error = 'HTTP 500: boom'"
               " where id = ?", [ids[1]])
    db.close()
    result = invoke("list", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    for word in ("id", "state", "webhook", "event", "subject", "attempts", "last error", "created",
                 "pending", "dead", "report.flagged", "HTTP 500: boom"):
        assert word in result.output
    dead = invoke("list", "--db", str(db_path), "--state", "dead", "--json")
    rows = json.loads(dead.output)
    assert [r["id"] for r in rows] == [ids[1]] and rows[0]["attempts"] == 8
    assert "payload" not in rows[0]
    bare = invoke("--db", str(db_path), "--state", "pending", "--json")
    assert [r["id"] for r in json.loads(bare.output)] == [ids[0], ids[2]]
    assert invoke("list", "--db", str(db_path), "--state", "delivered").output.strip() == "No delivered alerts."


def test_database_comes_from_the_environment(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [alert_id] = enqueue(db_path, [make_hook("http://127.0.0.1:9/hook")])
    monkeypatch.setenv("NEWSWATCH_DB", str(db_path))
    result = CliRunner().invoke(alerts_group, ["list", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)] == [alert_id]


def test_main_command_line_runs_alerts(db_path: Path) -> None:
    from newswatch.cli import cli

    enqueue(db_path, [make_hook("http://127.0.0.1:9/hook")])
    result = CliRunner().invoke(cli, ["alerts", "--db", str(db_path), "list", "--state", "pending", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 1


def test_list_needs_an_existing_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(alerts_group, ["list", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "missing.db").exists()


def test_dead_alert_is_listed_and_retry_resends_it(receiver: Receiver, db_path: Path, tmp_path: Path) -> None:
    receiver.default = {"status": 500, "body": "try later"}
    hook = make_hook(receiver.url, max_attempts=2)
    [alert_id] = enqueue(db_path, [hook])
    worker = DeliveryWorker(db_path, [hook], backoff_base=0.0, lease_margin=0.0)
    asyncio.run(worker.run_once())
    asyncio.run(worker.run_once())
    worker.close()
    assert read_alerts(db_path)[0]["state"] == "dead"
    listed = json.loads(invoke("list", "--db", str(db_path), "--state", "dead", "--json").output)
    assert [r["id"] for r in listed] == [alert_id] and listed[0]["last_error"] == "HTTP 500: try later"

    receiver.default = {"status": 202, "body": "queued"}
    config = write_config(tmp_path, [{"name": "ops", "url": receiver.url, "secret": SECRET}])
    result = invoke("retry", "--all-dead", "--config", str(config), "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert f"alert {alert_id}: delivered to ops (HTTP 202)" in result.output
    row = read_alerts(db_path)[0]
    assert row["state"] == "delivered" and row["attempts"] == 1
    assert [r.delivery_id for r in receiver.requests] == [row["delivery_id"]] * 3
    assert receiver.accepted == {row["delivery_id"]: 1}
    again = invoke("retry", str(alert_id), "--config", str(config), "--db", str(db_path))
    assert again.exit_code == 0 and "already delivered" in again.output
    assert invoke("retry", "--all-dead", "--config", str(config), "--db", str(db_path)).output == "No dead alerts.\n"


def test_retry_reports_a_failure_and_keeps_the_alert_pending(
    receiver: Receiver, db_path: Path, tmp_path: Path
) -> None:
    receiver.default = {"status": 503, "body": "maintenance"}
    [alert_id] = enqueue(db_path, [make_hook(receiver.url)])
    db = open_database(db_path)
    db.execute("update alerts set state = 'dead', attempts = 5")
    db.close()
    config = write_config(tmp_path, [{"name": "ops", "url": receiver.url, "secret": SECRET}])
    result = CliRunner().invoke(alerts_group, ["--config", str(config), "--db", str(db_path), "retry", str(alert_id), "77"])
    assert result.exit_code == 1
    assert f"alert {alert_id}: HTTP 503: maintenance (pending, next attempt at" in result.output
    assert "alert 77: not found" in result.output
    row = read_alerts(db_path)[0]
    assert row["state"] == "pending" and row["attempts"] == 1


def test_retry_needs_ids_or_all_dead(db_path: Path) -> None:
    result = CliRunner().invoke(alerts_group, ["retry", "--db", str(db_path)])
    assert result.exit_code == 2 and "--all-dead" in result.output


def test_test_command_prints_each_receivers_answer(receiver: Receiver, tmp_path: Path) -> None:
    receiver.default = {"status": 200, "body": "hello from the receiver " + "x" * 300}
    down = Receiver().start()
    down.stop()
    config = write_config(tmp_path, [
        {"name": "ops", "url": receiver.url, "secret": SECRET},
        {"name": "gone", "url": down.url, "secret": "another-secret"},
    ])
    result = CliRunner().invoke(alerts_group, ["test", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert f"ops (http://127.0.0.1:{receiver.port}): HTTP 200" in result.output
    assert "hello from the receiver " + "x" * 176 in result.output
    assert "x" * 177 not in result.output  # first 200 characters only
    assert "gone (" in result.output and "failed: ConnectError" in result.output
    [got] = receiver.requests
    assert got.signature_ok and got.event == "test" and json.loads(got.body)["event"] == "test"
    assert SECRET not in result.output

    only = CliRunner().invoke(alerts_group, ["test", "--config", str(config), "--webhook", "ops"])
    assert only.exit_code == 0 and "gone" not in only.output


def test_test_command_without_webhooks(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    result = CliRunner().invoke(alerts_group, ["test", "--config", str(config)])
    assert result.exit_code == 1 and "no [[webhooks]]" in result.output
    bad = CliRunner().invoke(alerts_group, ["test", "--config", str(tmp_path / "nope.toml")])
    assert bad.exit_code == 1 and "not found" in bad.output


@pytest.mark.parametrize("command", [[], ["list"], ["retry"], ["test"]])
def test_help_has_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(alerts_group, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "    newswatch alerts" in result.output
