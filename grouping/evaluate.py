"""Score grouping against a labelled stream: extended BCubed, pairwise F1, alerts per incident.

The stream is JSON lines in publication order with ``label`` (1 = Iraq attack
report) and ``incidents`` (the keys of the true incidents each entry
reports). Scores are computed over the entries that are positive in the
labels; an entry the detector missed counts as a cluster of its own.

* **Extended BCubed** (Amigo et al. 2009, for overlapping clusters): for each
  pair of items sharing a predicted event, multiplicity precision is
  ``min(|C(i)&C(j)|, |L(i)&L(j)|) / |C(i)&C(j)|``; for each pair sharing a true
  incident, multiplicity recall is the same minimum over ``|L(i)&L(j)|``.
  Precision averages over j then over i (pairs with i itself included); same
  for recall.
* **Pairwise**: a pair of items is linked when it shares an event (predicted)
  or an incident (true); precision, recall and F1 over those links.
* **Alerts per incident**: ``incident.created`` + ``incident.updated`` changes
  over the whole stream, divided by the number of true incidents.

Run ``python -m grouping.evaluate --stream STREAM.jsonl``: the figures end to
end (the detector's flags) and with the labels' flags (grouping alone);
``--lopo`` adds a leave-one-period-out check of the join threshold (chosen on
one half of the stream, scored on the other).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

from grouping.events import MatchWeights
from grouping.grouper import ALL_REASONS, Grouper

LOGGER = logging.getLogger(__name__)

Clusters = Mapping[str, set[str]]


def compute_bcubed(predicted: Clusters, gold: Clusters) -> dict[str, float]:
    """Return extended BCubed precision, recall and F1 of overlapping clusterings.

    ``predicted`` and ``gold`` map each item to the set of clusters it belongs
    to; the items scored are those of ``gold``. An item missing from
    ``predicted`` or with no cluster there is a singleton of its own.
    """
    items = list(gold)
    pred = {i: set(predicted.get(i) or ()) or {f"\x00{i}"} for i in items}
    precisions, recalls = [], []
    for i in items:
        p_terms, r_terms = [], []
        for j in items:
            shared_c = len(pred[i] & pred[j])
            shared_l = len(gold[i] & gold[j])
            if shared_c:
                p_terms.append(min(shared_c, shared_l) / shared_c)
            if shared_l:
                r_terms.append(min(shared_c, shared_l) / shared_l)
        precisions.append(sum(p_terms) / len(p_terms) if p_terms else 1.0)
        recalls.append(sum(r_terms) / len(r_terms) if r_terms else 1.0)
    precision = sum(precisions) / len(precisions) if items else 1.0
    recall = sum(recalls) / len(recalls) if items else 1.0
    return {"precision": precision, "recall": recall, "f1": harmonic_mean(precision, recall)}


def compute_pairwise(predicted: Clusters, gold: Clusters) -> dict[str, float]:
    """Return pairwise precision, recall and F1 (a pair is linked when it shares a cluster)."""
    items = list(gold)
    tp = fp = fn = 0
    for i, j in combinations(items, 2):
        linked_c = bool(set(predicted.get(i) or ()) & set(predicted.get(j) or ()))
        linked_l = bool(gold[i] & gold[j])
        tp += linked_c and linked_l
        fp += linked_c and not linked_l
        fn += linked_l and not linked_c
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall, "f1": harmonic_mean(precision, recall)}


def harmonic_mean(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def read_stream(path: str | Path) -> list[dict[str, Any]]:
    """Return the entries of a JSON-lines stream (blank lines skipped)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def make_detect(detector: Any | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Return a function giving each entry its detection as a dict (empty when no detector)."""

    def detect(entry: dict[str, Any]) -> dict[str, Any]:
        if detector is None:
            return {"flagged": False, "score": 0.0, "incidents": []}
        found = detector.detect(entry.get("title") or "", entry.get("text") or "", date=entry.get("date"),
                                language=entry.get("language"))
        return found.to_dict() if hasattr(found, "to_dict") else dict(found)

    return detect


def run_grouping(
    entries: Iterable[dict[str, Any]],
    detections: list[dict[str, Any]],
    *,
    gold_flags: bool,
    weights: MatchWeights | None = None,
    alert_reasons: tuple[str, ...] | None = None,
) -> tuple[dict[str, set[str]], int, int, dict[str, int]]:
    """Group a stream; return (item -> event ids, alert-worthy changes, events created, reason counts)."""
    grouper = Grouper(weights=weights) if alert_reasons is None else Grouper(weights=weights, alert_reasons=alert_reasons)
    predicted: dict[str, set[str]] = {}
    alerts = created = 0
    reasons: dict[str, int] = {}
    for entry, detection in zip(entries, detections):
        detection = dict(detection)
        if gold_flags:
            detection["flagged"] = bool(entry.get("label"))
            detection["score"] = max(float(detection.get("score") or 0.0), 1.0 if entry.get("label") else 0.0)
        if not detection.get("flagged"):  # as in the daemon, only flagged articles reach the grouper
            predicted[str(entry["id"])] = set()
            continue
        result = grouper.add(entry, detection)
        predicted[str(entry["id"])] = set(result.event_ids)
        alerts += len(result.changes)
        created += len(result.created)
        for change in result.changes:
            for reason in change[2] if len(change) > 2 else ["created"]:
                reasons[reason] = reasons.get(reason, 0) + 1
    return predicted, alerts, created, reasons


def score_stream(
    entries: list[dict[str, Any]], detections: list[dict[str, Any]], *, gold_flags: bool,
    weights: MatchWeights | None = None, alert_counts: bool = True,
) -> dict[str, Any]:
    """Return every figure for one run over a labelled stream (``alert_counts=False``: skip the all-reasons rerun)."""
    predicted, alerts, created, reasons = run_grouping(entries, detections, gold_flags=gold_flags, weights=weights)
    loud = alerts
    if alert_counts:
        loud = run_grouping(entries, detections, gold_flags=gold_flags, weights=weights, alert_reasons=ALL_REASONS)[1]
    gold = {str(e["id"]): set(e.get("incidents") or []) for e in entries if e.get("label")}
    true_incidents = {key for keys in gold.values() for key in keys}
    flagged = {k for k, v in predicted.items() if v}
    return {
        "mode": "gold flags" if gold_flags else "end to end",
        "bcubed": compute_bcubed(predicted, gold),
        "pairwise": compute_pairwise(predicted, gold),
        "alerts": alerts,
        "alert_reasons": reasons,
        "events": created,
        "true_incidents": len(true_incidents),
        "alerts_per_incident": alerts / len(true_incidents) if true_incidents else 0.0,
        "alerts_all_reasons": loud,
        "alerts_per_incident_all_reasons": loud / len(true_incidents) if true_incidents else 0.0,
        "positives": len(gold),
        "grouped_positives": len(flagged & set(gold)),
        "grouped_negatives": len(flagged - set(gold)),
    }


THRESHOLD_GRID = (1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5)


def split_periods(entries: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """Return the indexes of the first and second half of a stream, cut at the middle of its time span."""
    days = sorted(str(e.get("date") or "")[:10] for e in entries)
    from datetime import date

    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    middle = (first + (last - first) / 2).isoformat()
    early = [i for i, e in enumerate(entries) if str(e.get("date") or "")[:10] < middle]
    return early, [i for i in range(len(entries)) if i not in set(early)]


def leave_one_period_out(
    entries: list[dict[str, Any]], detections: list[dict[str, Any]], *, gold_flags: bool = True,
    grid: Iterable[float] = THRESHOLD_GRID,
) -> list[dict[str, Any]]:
    """Choose the join threshold on one half of the stream and score it on the other, both ways.

    Each half is grouped on its own (a fresh grouper), so no event crosses
    the cut. Returns one row per held-out half: the threshold chosen on the
    other half, its F1 there, and the held-out BCubed F1 (with the threshold
    that would have been best on the held-out half, for comparison).
    """
    halves = split_periods(entries)
    rows = []
    for tune, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        def f1(indexes: list[int], threshold: float) -> float:
            part = [entries[i] for i in indexes]
            report = score_stream(part, [detections[i] for i in indexes], gold_flags=gold_flags,
                                  weights=MatchWeights(threshold=threshold), alert_counts=False)
            return report["bcubed"]["f1"]

        tuned = {t: f1(tune, t) for t in grid}
        chosen = max(tuned, key=lambda t: (tuned[t], -abs(t - MatchWeights().threshold)))
        held = {t: f1(test, t) for t in grid}
        rows.append({
            "tuned_on": f"{entries[tune[0]]['date'][:10]}..{entries[tune[-1]]['date'][:10]}",
            "tested_on": f"{entries[test[0]]['date'][:10]}..{entries[test[-1]]['date'][:10]}",
            "threshold": chosen, "tuned_f1": tuned[chosen], "held_out_f1": held[chosen],
            "held_out_f1_at_default": held.get(MatchWeights().threshold, f1(test, MatchWeights().threshold)),
            "held_out_best": max(held.values()),
        })
    return rows


def load_detector() -> Any | None:
    """Return a Detector, or None (with a warning) when the detector cannot be loaded."""
    try:
        from detector import Detector

        return Detector()
    except Exception as exc:  # the detector package may be missing or broken
        LOGGER.warning("detector unavailable (%s): grouping reads incidents from the text alone", exc)
        return None


def format_report(report: dict[str, Any]) -> str:
    b, p = report["bcubed"], report["pairwise"]
    return (
        f"{report['mode']:>11}: BCubed P {b['precision']:.3f} R {b['recall']:.3f} F1 {b['f1']:.3f} | "
        f"pairwise P {p['precision']:.3f} R {p['recall']:.3f} F1 {p['f1']:.3f} | "
        f"alerts {report['alerts']} / {report['true_incidents']} incidents = {report['alerts_per_incident']:.2f} "
        f"({report['alerts_per_incident_all_reasons']:.2f} with all reasons) | "
        f"events {report['events']}, positives grouped {report['grouped_positives']}/{report['positives']}, "
        f"negatives grouped {report['grouped_negatives']} | alert reasons "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["alert_reasons"].items()))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grouping.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", required=True, help="labelled JSON-lines stream in publication order")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--threshold", type=float, default=None, help="join threshold (default: the grouper's)")
    parser.add_argument("--lopo", action="store_true",
                        help="also choose the threshold on one half of the stream and score the other (gold flags)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    entries = read_stream(args.stream)
    detector = load_detector()
    detect = make_detect(detector)
    detections = [detect(e) for e in entries]
    weights = MatchWeights(threshold=args.threshold) if args.threshold is not None else None
    reports = []
    if detector is not None:
        reports.append(score_stream(entries, detections, gold_flags=False, weights=weights))
    reports.append(score_stream(entries, detections, gold_flags=True, weights=weights))
    lopo = leave_one_period_out(entries, detections) if args.lopo else []
    if args.json:
        print(json.dumps({"reports": reports, "leave_one_period_out": lopo} if lopo else reports, indent=2))
    else:
        for report in reports:
            print(format_report(report))
        for row in lopo:
            print(f"  threshold chosen on {row['tuned_on']}: {row['threshold']} (F1 {row['tuned_f1']:.3f}); "
                  f"held out {row['tested_on']}: F1 {row['held_out_f1']:.3f} "
                  f"(default {row['held_out_f1_at_default']:.3f}, best possible {row['held_out_best']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
