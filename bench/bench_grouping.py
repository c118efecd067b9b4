"""Benchmark grouping: articles per second and time per article, in memory and with SQLite.

Replays the labelled stream (``../shared/data/incidents-dev.jsonl``) with the
labels' flags, ``--repeat`` times with shifted ids and dates (so later copies
are new articles a week apart, not re-reads), and prints the throughput of
:meth:`grouping.grouper.Grouper.add`. The detector is not timed: each entry
gets a detection with no incidents, so the grouper reads them from the text.

    python bench/bench_grouping.py --repeat 20
    python bench/bench_grouping.py --db /tmp/bench.db
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grouping.evaluate import read_stream  # noqa: E402
from grouping.grouper import Grouper  # noqa: E402

LOGGER = logging.getLogger(__name__)
DEFAULT_STREAM = Path(__file__).resolve().parents[2] / "shared" / "data" / "incidents-dev.jsonl"


def shift_entry(entry: dict, round_: int) -> dict:
    """Return a copy of ``entry`` as if published ``round_`` x 7 weeks later, with a new id."""
    when = datetime.fromisoformat(entry["date"]) + timedelta(weeks=7 * round_)
    return {**entry, "id": f"{entry['id']}#{round_}", "url": f"{entry.get('url')}#{round_}", "date": when.isoformat()}


def run_benchmark(stream: Path, repeat: int, db_path: str | None) -> dict[str, float]:
    """Group the stream ``repeat`` times; return the timing figures."""
    entries = read_stream(stream)
    db = None
    if db_path:
        from grouping.schema import ensure_events_tables
        from storage.db import open_database

        Path(db_path).unlink(missing_ok=True)
        db = open_database(db_path)
        ensure_events_tables(db)
    grouper = Grouper(db)
    times = []
    flagged = 0
    for round_ in range(repeat):
        for entry in entries:
            detection = {"flagged": bool(entry.get("label")), "score": 1.0, "incidents": []}
            start = time.perf_counter()
            grouper.add(shift_entry(entry, round_), detection)
            if entry.get("label"):
                times.append(time.perf_counter() - start)
                flagged += 1
    total = sum(times)
    return {
        "articles": repeat * len(entries), "flagged": flagged, "seconds": total,
        "flagged_per_s": flagged / total if total else 0.0,
        "median_ms": statistics.median(times) * 1000 if times else 0.0,
        "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))] * 1000 if times else 0.0,
        "open_events": len(grouper.events),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", type=Path, default=DEFAULT_STREAM)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--db", default=None, help="persist to this SQLite file (deleted first)")
    args = parser.parse_args()
    if not args.stream.exists():
        print(f"stream {args.stream} not found", file=sys.stderr)
        return 2
    figures = run_benchmark(args.stream, args.repeat, args.db)
    print(f"{figures['flagged']} flagged of {figures['articles']} articles grouped in {figures['seconds']:.2f} s: "
          f"{figures['flagged_per_s']:.0f}/s, median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, "
          f"{figures['open_events']} open events at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
