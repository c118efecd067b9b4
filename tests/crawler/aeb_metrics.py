"""Text-overlap scores for extracted article bodies against ground truth.

- :func:`token_f1`: multiset overlap of ``\\w+`` tokens (lower-cased).
- :func:`aeb_scores`: the article-extraction-benchmark metric: 4-word
  shingles (``\\w+`` tokens) as multisets, precision and recall per page
  (counts normalised per page), each averaged over the pages, F1 from the two
  averages.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

WORD_RE = re.compile(r"\w+", re.UNICODE)


def tokens(text: str | None) -> list[str]:
    return WORD_RE.findall(text or "")


def token_f1(predicted: str | None, truth: str | None) -> float:
    """Token-level F1 between two texts (case-insensitive)."""
    pred = Counter(t.lower() for t in tokens(predicted))
    true = Counter(t.lower() for t in tokens(truth))
    if not pred and not true:
        return 1.0
    overlap = sum((pred & true).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(pred.values())
    recall = overlap / sum(true.values())
    return 2 * precision * recall / (precision + recall)


def shingles(text: str | None, size: int = 4) -> Counter[tuple[str, ...]]:
    words = tokens(text)
    if len(words) < size:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def shingle_counts(predicted: str | None, truth: str | None) -> tuple[float, float, float]:
    """Return (tp, fp, fn) of the 4-word shingles of one page, normalised to sum 1."""
    pred, true = shingles(predicted), shingles(truth)
    tp = float(sum((pred & true).values()))
    fp = float(sum((pred - true).values()))
    fn = float(sum((true - pred).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def aeb_scores(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, float]:
    """The benchmark's precision, recall and F1 over (predicted, truth) pairs."""
    precisions, recalls = [], []
    for predicted, truth in pairs:
        tp, fp, fn = shingle_counts(predicted, truth)
        if tp + fp > 0:
            precisions.append(1.0 if fp == fn == 0 else tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(1.0 if fp == fn == 0 else tp / (tp + fn))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
