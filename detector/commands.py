"""Command-line tools: ``newswatch classify`` and ``newswatch eval``.

Both are plain click commands; the ``newswatch`` group registers them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from collections.abc import Callable
from typing import IO, Any, Iterator

import click

from .core import Detector

logger = logging.getLogger(__name__)

PARALLEL_MIN_LINES = 200
SCORED_FIELDS = ("governorate", "attack_type", "killed")

_worker_detector: Detector | None = None


def _init_worker() -> None:
    """Create one detector per worker process."""
    global _worker_detector
    _worker_detector = Detector()


def _classify_record(record: dict) -> dict:
    """Classify one parsed input record in a worker."""
    assert _worker_detector is not None
    return classify_record(_worker_detector, record)


def classify_record(detector: Detector, record: dict) -> dict:
    """Run the detector on one ``{"id", "title", "text", "date"?}`` record."""
    detection = detector.detect(
        str(record.get("title") or ""), str(record.get("text") or ""), record.get("date"), record.get("language")
    )
    return {
        "id": record["id"],
        "flagged": detection.flagged,
        "score": detection.score,
        "why": detection.why,
        "incidents": detection.incidents,
    }


def read_json_lines(
    stream: IO[str], check: Callable[[Any], str | None]
) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield ``(line_number, record, error)`` for each non-blank input line.

    ``check(record)`` returns why a parsed line is unusable, or None.
    """
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON ({exc.msg})"
            continue
        error = check(record)
        yield (number, None, error) if error else (number, record, None)


def check_article(record: Any) -> str | None:
    """Why ``record`` is not an article to classify (``id`` and ``text`` needed), or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if "id" not in record or record["id"] is None:
        return "missing 'id'"
    if not isinstance(record.get("text"), str):
        return "missing 'text'"
    return None


def check_prediction(record: Any) -> str | None:
    """Why ``record`` is not a prediction (only ``id`` needed), or None."""
    if not isinstance(record, dict) or "id" not in record:
        return "not a JSON object with an 'id'"
    return None


def read_records(stream: IO[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield ``(line_number, record, error)`` for each non-blank article line."""
    return read_json_lines(stream, check_article)


def _open_input(path: str) -> IO[str]:
    """Open ``path`` for reading (``-`` is stdin)."""
    return click.open_file(path, "r", encoding="utf-8")


@click.command(name="classify")
@click.option("--input", "input_path", default="-", show_default=True, help="JSON-lines input file, - for stdin.")
@click.option("--output", "output_path", default="-", show_default=True, help="JSON-lines output file, - for stdout.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: all cores for large inputs).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None, help="Alternative model file.")
def classify_command(input_path: str, output_path: str, workers: int | None, model_path: str | None) -> None:
    """Flag articles that report an attack in Iraq.

    Reads one JSON object per line with "id", "title", "text" and optionally
    "date" and "url"; writes one JSON object per line with "id", "flagged",
    "score", "why" and "incidents". Malformed lines are reported on stderr
    with their line number and skipped; the exit code is then 1.

    Example:

    \b
        newswatch classify --input articles.jsonl --output flagged.jsonl
        cat articles.jsonl | newswatch classify > flagged.jsonl
        newswatch classify --input big.jsonl --output out.jsonl --workers 2
    """
    with _open_input(input_path) as stream:
        items = list(read_records(stream))
    bad = 0
    records: list[dict] = []
    for number, record, error in items:
        if error:
            bad += 1
            click.echo(f"line {number}: {error}; skipped", err=True)
        else:
            records.append(record)  # type: ignore[arg-type]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(records) >= PARALLEL_MIN_LINES else 1
    workers = max(1, min(workers, os.cpu_count() or 1))
    with click.open_file(output_path, "w", encoding="utf-8") as out:
        if workers > 1 and model_path is None:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
                results = pool.map(_classify_record, records, chunksize=32)
                for result in results:
                    out.write(json.dumps(result, ensure_ascii=False) + "\n")
        else:
            detector = Detector(model_path)
            for record in records:
                out.write(json.dumps(classify_record(detector, record), ensure_ascii=False) + "\n")
    if bad:
        click.echo(f"{bad} malformed line(s) skipped", err=True)
        sys.exit(1)


def score_predictions(labels: list[dict], predictions: dict[str, dict]) -> dict:
    """Compare predictions with labelled rows: P/R/F1 overall and per source, field accuracy."""

    def prf(rows: list[dict]) -> dict:
        tp = sum(1 for r in rows if r["label"] == 1 and predictions.get(r["id"], {}).get("flagged"))
        fp = sum(1 for r in rows if r["label"] == 0 and predictions.get(r["id"], {}).get("flagged"))
        fn = sum(1 for r in rows if r["label"] == 1 and not predictions.get(r["id"], {}).get("flagged"))
        p = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        return {"precision": round(p, 4), "recall": round(rec, 4), "f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn, "n": len(rows)}

    by_source: dict[str, list[dict]] = {}
    for row in labels:
        by_source.setdefault(str(row.get("source", "")), []).append(row)
    fields: dict[str, dict] = {}
    for name in SCORED_FIELDS:
        right = total = 0
        for row in labels:
            prediction = predictions.get(row["id"], {})
            if row["label"] != 1 or not prediction.get("flagged") or not row.get("incidents"):
                continue
            gold = row["incidents"][0]
            if gold.get(name) is None:
                continue
            total += 1
            predicted = (prediction.get("incidents") or [{}])[0]
            right += predicted.get(name) == gold[name]
        fields[name] = {"accuracy": round(right / total, 4) if total else None, "n": total}
    missing = [r["id"] for r in labels if r["id"] not in predictions]
    return {
        "overall": prf(labels),
        "by_source": {source: prf(rows) for source, rows in sorted(by_source.items())},
        "fields": fields,
        "false_negatives": [r["id"] for r in labels if r["label"] == 1 and not predictions.get(r["id"], {}).get("flagged")],
        "false_positives": [r["id"] for r in labels if r["label"] == 0 and predictions.get(r["id"], {}).get("flagged")],
        "missing_predictions": missing,
    }


def _print_report(report: dict) -> None:
    """Human-readable evaluation report."""
    o = report["overall"]
    click.echo(f"overall  precision {o['precision']:.3f}  recall {o['recall']:.3f}  F1 {o['f1']:.3f}  (n={o['n']}, tp={o['tp']}, fp={o['fp']}, fn={o['fn']})")
    click.echo("per source:")
    for source, m in report["by_source"].items():
        click.echo(f"  {source:36s} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  (n={m['n']})")
    click.echo("field accuracy on flagged true positives (first incident):")
    for name, m in report["fields"].items():
        accuracy = "n/a" if m["accuracy"] is None else f"{m['accuracy']:.3f}"
        click.echo(f"  {name:12s} {accuracy}  (n={m['n']})")
    click.echo("misclassified:")
    click.echo("  false negatives: " + (" ".join(report["false_negatives"]) or "-"))
    click.echo("  false positives: " + (" ".join(report["false_positives"]) or "-"))
    if report["missing_predictions"]:
        click.echo(f"  missing predictions: {len(report['missing_predictions'])}")


@click.command(name="eval")
@click.option("--labels", "labels_path", required=True, type=click.Path(exists=True, dir_okay=False), help="Labelled JSON-lines file.")
@click.option("--predictions", "predictions_path", type=click.Path(exists=True, dir_okay=False), default=None, help="Score these predictions instead of running the detector.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(labels_path: str, predictions_path: str | None, as_json: bool) -> None:
    """Evaluate the detector against a labelled file.

    Prints precision, recall and F1 (overall and per source), accuracy of
    governorate, attack_type and killed on flagged true positives (first
    incident; fields null in the labels are skipped) and the misclassified
    ids. Figures on the training data (dev.jsonl) are optimistic; use
    ``python -m detector.train --cv`` for cross-validated figures.

    Example:

    \b
        newswatch eval --labels ../shared/data/dev.jsonl
        newswatch eval --labels dev.jsonl --predictions out.jsonl --json
    """
    labels = [json.loads(line) for line in Path(labels_path).read_text(encoding="utf-8").splitlines() if line.strip()]
    predictions: dict[str, dict] = {}
    if predictions_path:
        with open(predictions_path, encoding="utf-8") as handle:
            for number, record, error in read_records_any(handle):
                if error:
                    click.echo(f"line {number}: {error}; skipped", err=True)
                else:
                    predictions[str(record["id"])] = record  # type: ignore[index]
    else:
        detector = Detector()
        for row in labels:
            predictions[row["id"]] = classify_record(detector, row)
    report = score_predictions(labels, predictions)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)


def read_records_any(stream: IO[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    """Like :func:`read_records` but only requires an ``id`` (prediction files)."""
    return read_json_lines(stream, check_prediction)
