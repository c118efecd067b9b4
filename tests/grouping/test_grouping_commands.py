"""The ``newswatch group`` and ``newswatch incidents`` command contracts."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import grouping.commands as commands


class KeywordDetector:
    """A stand-in detector: flags texts that mention an attack, with no incidents."""

    def detect(self, title: str, text: str, date: str | None = None, language: str | None = None) -> SimpleNamespace:
        hit = "attack" in f"{title} {text}".lower()
        return SimpleNamespace(to_dict=lambda: {"flagged": hit, "score": 0.9 if hit else 0.1, "why": "", "incidents": []})


@pytest.fixture(autouse=True)
def stub_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "make_detector", KeywordDetector)


def line(key: str, source: str, date: str, title: str, text: str) -> str:
    return json.dumps({"id": key, "source": source, "date": date, "url": f"https://{source}.example/{key}",
                       "title": title, "text": text}, ensure_ascii=False)


STREAM = "\n".join([
    line("n1", "one", "2024-03-05T08:00:00+00:00", "Drone attack on Ain al-Asad",
         "A drone attack targeted Ain al-Asad air base in Anbar on Tuesday."),
    "{not json",
    "[1, 2]",
    json.dumps({"title": "no id here", "text": "attack"}),
    line("n2", "two", "2024-03-05T09:00:00+00:00", "Budget vote delayed", "Parliament delayed the budget vote."),
    "",
    line("n3", "three", "2024-03-05T10:30:00+00:00", "Ain al-Asad base hit by drone attack",
         "Air defences at Ain al-Asad in Anbar shot down a drone in an attack on Tuesday morning."),
]) + "\n"


def test_group_command_writes_one_line_per_article_and_skips_malformed_lines() -> None:
    result = CliRunner().invoke(commands.group_command, ["--input", "-", "--output", "-"], input=STREAM)
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["n1", "n2", "n3"]
    assert [r["flagged"] for r in rows] == [True, False, True]
    assert rows[1]["incidents"] == [] and rows[0]["incidents"] == rows[2]["incidents"]
    assert rows[0]["incidents"][0].startswith("EV-")
    assert "line 2: skipped" in result.stderr and "line 3: skipped" in result.stderr
    assert "line 4: skipped" in result.stderr and "line 6" not in result.stderr
    assert "3 articles, 2 flagged, 1 incidents" in result.stderr


def test_group_command_files_database_and_incidents_listing(tmp_path: Path) -> None:
    source, output, db = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "news.db"
    source.write_text(STREAM, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(commands.group_command, ["--input", str(source), "--output", str(output), "--db", str(db)])
    assert result.exit_code == 0, result.output
    event_id = json.loads(output.read_text().splitlines()[0])["incidents"][0]
    listed = runner.invoke(commands.incidents_command, ["--db", str(db), "--json", "--governorate", "anbar"])
    assert listed.exit_code == 0, listed.output
    events = [json.loads(x) for x in listed.stdout.splitlines()]
    assert [e["id"] for e in events] == [event_id] and events[0]["state"] == "confirmed"
    none = runner.invoke(commands.incidents_command, ["--db", str(db), "--json", "--attack-type", "ied"])
    assert none.stdout.strip() == ""
    shown = runner.invoke(commands.incidents_command, ["--db", str(db), "show", event_id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert {a["article_key"] for a in json.loads(shown.stdout)["articles"]} == {"n1", "n3"}
    table = runner.invoke(commands.incidents_command, ["--db", str(db)])
    assert table.exit_code == 0 and event_id in table.stdout
    missing = runner.invoke(commands.incidents_command, ["--db", str(db), "show", "EV-0000000000"])
    assert missing.exit_code != 0 and "no incident" in missing.output


def test_help_has_examples() -> None:
    for command in (commands.group_command, commands.incidents_command):
        result = CliRunner().invoke(command, ["--help"])
        assert result.exit_code == 0 and "Example:" in result.output


def test_group_command_hands_the_grouper_flagged_articles_only_as_the_daemon_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    add = commands.Grouper.add

    def recording_add(self, article, detection):  # type: ignore[no-untyped-def]
        seen.append(article["id"])
        return add(self, article, detection)

    monkeypatch.setattr(commands.Grouper, "add", recording_add)
    result = CliRunner().invoke(commands.group_command, ["--input", "-", "--output", "-"], input=STREAM)
    assert result.exit_code == 0, result.output
    assert seen == ["n1", "n3"]
