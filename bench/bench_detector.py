"""Throughput benchmark of the newswatch detector on the labelled dev set.

    python bench/bench_detector.py [--data-dir DIR] [--runs 5]

Measures articles per second on one core for the keyword stage alone and for
the full detector (classifier and incident extraction), median of several
runs. ``run(data_dir)`` returns the figures as a dict for bench runners.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector import Detector  # noqa: E402

logger = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """``$NEWSWATCH_SHARED/data`` or ``../shared/data`` beside the repository."""
    shared = os.environ.get("NEWSWATCH_SHARED")
    if shared:
        return Path(shared) / "data"
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _time_runs(func, articles: list[dict], runs: int) -> float:
    """Median articles per second of ``func`` over ``runs`` passes."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for article in articles:
            func(article)
        rates.append(len(articles) / (time.perf_counter() - start))
    return statistics.median(rates)


def run(data_dir: str | Path | None = None, runs: int = 5) -> dict:
    """Benchmark on ``dev.jsonl``; returns articles/s for both stages."""
    path = Path(data_dir or default_data_dir()) / "dev.jsonl"
    with open(path, encoding="utf-8") as handle:
        articles = [json.loads(line) for line in handle if line.strip()]
    detector = Detector()
    detector.detect("warm-up", "A rocket hit Baghdad.", "2021-12-19")
    keyword = _time_runs(lambda a: detector.keyword_stage(a.get("title") or "", a.get("text") or "", "en"), articles, runs)
    full = _time_runs(lambda a: detector.detect(a.get("title") or "", a.get("text") or "", a.get("date"), "en"), articles, runs)
    chars = sum(len(a.get("text") or "") for a in articles) / len(articles)
    return {
        "articles": len(articles),
        "mean_chars": round(chars),
        "runs": runs,
        "keyword_stage_articles_per_s": round(keyword, 1),
        "full_detector_articles_per_s": round(full, 1),
    }


def main() -> int:
    """Print a small results table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (args.data_dir / "dev.jsonl").exists():
        print(f"no dev.jsonl under {args.data_dir}", file=sys.stderr)
        return 2
    result = run(args.data_dir, args.runs)
    print(f"dev.jsonl: {result['articles']} articles, {result['mean_chars']} chars on average, one core, median of {result['runs']} runs")
    print(f"{'stage':<16}{'articles/s':>12}")
    print(f"{'keyword stage':<16}{result['keyword_stage_articles_per_s']:>12.1f}")
    print(f"{'full detector':<16}{result['full_detector_articles_per_s']:>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
