"""The classify and eval commands."""

import json

from click.testing import CliRunner

from detector.commands import classify_command, eval_command

GOOD = {"id": "a1", "title": "Rocket hits Baghdad's Green Zone", "text": "A rocket hit the Green Zone in Baghdad on Sunday.", "date": "2021-12-19"}
QUIET = {"id": "a2", "title": "Markets rally", "text": "Stocks rose in London on Monday."}


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def test_classify_stdin_stdout():
    result = _runner().invoke(classify_command, [], input=json.dumps(GOOD) + "\n" + json.dumps(QUIET) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["id"] for r in rows} == {"a1", "a2"}
    by_id = {r["id"]: r for r in rows}
    assert by_id["a1"]["flagged"] is True and by_id["a2"]["flagged"] is False
    assert set(by_id["a1"]) == {"id", "flagged", "score", "why", "incidents"}
    assert by_id["a1"]["incidents"][0]["governorate"] == "Baghdad"


def test_classify_malformed_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    out = tmp_path / "out.jsonl"
    src.write_text("\n".join([json.dumps(GOOD), "{not json", "[1, 2]", json.dumps({"id": "x"}), json.dumps(QUIET)]) + "\n")
    result = _runner().invoke(classify_command, ["--input", str(src), "--output", str(out)])
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "line 3" in result.stderr and "line 4" in result.stderr
    assert "line 1" not in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2"]


def test_classify_parallel_workers(tmp_path):
    src = tmp_path / "in.jsonl"
    out = tmp_path / "out.jsonl"
    records = [dict(GOOD, id=f"g{i}") for i in range(30)] + [dict(QUIET, id=f"q{i}") for i in range(30)]
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = _runner().invoke(classify_command, ["--input", str(src), "--output", str(out), "--workers", "2"])
    assert result.exit_code == 0
    rows = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    assert len(rows) == 60 and rows["g3"]["flagged"] and not rows["q7"]["flagged"]


def test_help_has_example():
    for command in (classify_command, eval_command):
        result = _runner().invoke(command, ["--help"])
        assert "Example:" in result.output


def test_eval_with_predictions(tmp_path):
    labels = tmp_path / "labels.jsonl"
    preds = tmp_path / "preds.jsonl"
    labels.write_text(
        json.dumps({"id": "p", "source": "s1", "label": 1, "title": "", "text": "", "incidents": [{"governorate": "Baghdad", "attack_type": "drone", "killed": None}]}) + "\n"
        + json.dumps({"id": "n", "source": "s2", "label": 0, "title": "", "text": "", "incidents": []}) + "\n"
        + json.dumps({"id": "m", "source": "s2", "label": 1, "title": "", "text": "", "incidents": [{"governorate": "Anbar", "attack_type": "ied", "killed": 2}]}) + "\n"
    )
    preds.write_text(
        json.dumps({"id": "p", "flagged": True, "incidents": [{"governorate": "Baghdad", "attack_type": "rocket_missile", "killed": 3}]}) + "\n"
        + json.dumps({"id": "n", "flagged": True, "incidents": []}) + "\n"
        + json.dumps({"id": "m", "flagged": False, "incidents": []}) + "\n"
    )
    result = _runner().invoke(eval_command, ["--labels", str(labels), "--predictions", str(preds), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["overall"]["precision"] == 0.5 and report["overall"]["recall"] == 0.5
    assert report["fields"]["governorate"] == {"accuracy": 1.0, "n": 1}
    assert report["fields"]["attack_type"]["accuracy"] == 0.0
    assert report["fields"]["killed"]["n"] == 0
    assert report["false_negatives"] == ["m"] and report["false_positives"] == ["n"]
    assert set(report["by_source"]) == {"s1", "s2"}
    text = _runner().invoke(eval_command, ["--labels", str(labels), "--predictions", str(preds)])
    assert "precision" in text.output and "false negatives: m" in text.output


def test_eval_runs_detector_on_dev(shared):
    result = _runner().invoke(eval_command, ["--labels", str(shared / "data" / "dev.jsonl"), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["overall"]["n"] == 488
    assert report["overall"]["recall"] > 0.9
