"""Feature extraction for the attack-report classifier.

Two groups of features are produced from an :class:`~detector.matcher.Analysis`:

* rule features – counts of sentence-level co-occurrences (attack term with a
  place in Iraq in the same sentence, with a foreign place, in background
  context, with casualties, ...), named and log-scaled;
* text features – hashed unigrams and bigrams of the title and of the
  sentences that contain attack vocabulary.

Hashing uses CRC-32 so that indices are stable across Python versions and
processes, and inference needs no scikit-learn.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import zlib

from .context import SentenceContext
from .lexicon import ATTACK_TYPES
from .matcher import Analysis
from .normalize import normalize_for_matching

logger = logging.getLogger(__name__)

HASH_DIM = 1 << 14

RULE_FEATURES: tuple[str, ...] = (
    "t_attack", "t_specific", "t_place", "t_iraq", "t_foreign", "t_negative", "t_casualty",
    "t_foiled", "t_threat", "t_hit", "t_hit_specific",
    "n_attack", "n_hit", "n_hit_clean", "n_hit_current", "n_hit_specific", "n_hit_casualty",
    "n_hit_recent", "n_hit_background", "n_hit_foreign", "n_hit_negative", "n_hit_foiled",
    "n_hit_place", "n_context_hit", "n_attack_foreign", "n_casualty", "n_negative",
    "n_background", "n_foreign", "n_place", "n_iraq", "n_launched", "n_tally", "n_threat",
    "f3_hit", "f3_context_hit", "f3_foreign", "f3_iraq",
    "frac_located", "iraq_dominance", "log_sentences", "has_date",
) + tuple(f"type_{t}" for t in ATTACK_TYPES)


def is_candidate(analysis: Analysis, contexts: list[SentenceContext]) -> bool:
    """Keyword-stage decision: some sentence pairs attack (or casualty) vocabulary with Iraq.

    The place may be in the sentence itself or carried over from the title or
    the previous sentence. Articles failing this test are not scored further.
    """
    for sentence, ctx in zip(analysis.sentences, contexts):
        if not (ctx.context_located or sentence.in_iraq) or sentence.has("launched_from"):
            continue
        if ctx.foreign and not sentence.iraq_places and not sentence.has("attack:abduction"):
            # foreign nationals abducted "in Iraq" are reported with their home country in the sentence
            continue
        if sentence.has_attack or (sentence.has("casualty") and (sentence.has("weak") or sentence.is_title)):
            return True
    return False


def _log(value: float) -> float:
    """Log-scale a count."""
    return math.log1p(value)


def extract_rule_features(analysis: Analysis, contexts: list[SentenceContext], article: dt.date | None) -> dict[str, float]:
    """Compute the named rule features of an article."""
    f = dict.fromkeys(RULE_FEATURES, 0.0)
    counts: dict[str, int] = dict.fromkeys(RULE_FEATURES, 0)
    types: dict[str, int] = {}
    body_seen = 0
    for sentence, ctx in zip(analysis.sentences, contexts):
        attack = sentence.has_attack
        specific = any(t != "other" for t in sentence.attack_types)
        hit = attack and ctx.located and not ctx.foreign
        if sentence.is_title:
            f["t_attack"] = float(attack)
            f["t_specific"] = float(specific)
            f["t_place"] = float(bool(sentence.iraq_places))
            f["t_iraq"] = float(sentence.in_iraq)
            f["t_foreign"] = float(ctx.foreign)
            f["t_negative"] = float(sentence.has("negative"))
            f["t_casualty"] = float(sentence.has("casualty"))
            f["t_foiled"] = float(sentence.has("foiled"))
            f["t_threat"] = float(sentence.has("threat"))
            f["t_hit"] = float(hit)
            f["t_hit_specific"] = float(hit and specific)
        else:
            body_seen += 1
            if body_seen <= 3:
                counts["f3_hit"] += hit and not ctx.background
                counts["f3_context_hit"] += attack and ctx.context_located and not ctx.foreign and not ctx.background
                counts["f3_foreign"] += ctx.foreign
                counts["f3_iraq"] += sentence.in_iraq
        counts["n_attack"] += attack
        counts["n_casualty"] += sentence.has("casualty")
        counts["n_negative"] += sentence.has("negative")
        counts["n_background"] += ctx.background
        counts["n_foreign"] += ctx.foreign
        counts["n_place"] += bool(sentence.iraq_places)
        counts["n_iraq"] += sentence.in_iraq
        counts["n_launched"] += sentence.has("launched_from")
        counts["n_tally"] += sentence.has("tally")
        counts["n_threat"] += sentence.has("threat")
        counts["n_attack_foreign"] += attack and ctx.foreign
        if attack and ctx.located:
            counts["n_hit"] += 1
            counts["n_hit_foreign"] += ctx.foreign
        if hit:
            counts["n_hit_clean"] += 1
            counts["n_hit_current"] += not ctx.background
            counts["n_hit_specific"] += specific
            counts["n_hit_casualty"] += sentence.has("casualty")
            counts["n_hit_recent"] += sentence.has("recency")
            counts["n_hit_background"] += ctx.background
            counts["n_hit_negative"] += sentence.has("negative")
            counts["n_hit_foiled"] += sentence.has("foiled")
            counts["n_hit_place"] += bool(sentence.iraq_places)
            if not ctx.background:
                for attack_type in sentence.attack_types:
                    types[attack_type] = types.get(attack_type, 0) + 1
        if attack and ctx.context_located and not ctx.foreign and not ctx.background:
            counts["n_context_hit"] += 1
    for name, value in counts.items():
        if name.startswith(("n_", "f3_")):
            f[name] = _log(value)
    for attack_type, value in types.items():
        f[f"type_{attack_type}"] = _log(value)
    f["frac_located"] = counts["n_hit_clean"] / (counts["n_attack"] + 1)
    f["iraq_dominance"] = (counts["n_iraq"] - counts["n_foreign"]) / (counts["n_iraq"] + counts["n_foreign"] + 1)
    f["log_sentences"] = _log(len(analysis.sentences)) / 3.0
    f["has_date"] = float(article is not None)
    return f


def _tokens(text: str, language: str) -> list[str]:
    """Normalised tokens of ``text``."""
    return normalize_for_matching(text, language).split()


def extract_hashed_features(analysis: Analysis, contexts: list[SentenceContext]) -> dict[int, float]:
    """Hashed unigram/bigram features of the title and attack sentences."""
    grams: set[str] = set()
    for sentence, ctx in zip(analysis.sentences, contexts):
        if not (sentence.is_title or sentence.has_attack):
            continue
        prefix = "t" if sentence.is_title else ("h" if ctx.located and not ctx.foreign else "a")
        tokens = _tokens(sentence.text, analysis.language)
        for i, token in enumerate(tokens):
            grams.add(f"{prefix}:{token}")
            grams.add(f"w:{token}")
            if i:
                grams.add(f"b:{tokens[i - 1]}_{token}")
    if not grams:
        return {}
    weight = 1.0 / math.sqrt(len(grams))
    out: dict[int, float] = {}
    for gram in grams:
        index = zlib.crc32(gram.encode("utf-8")) % HASH_DIM
        out[index] = out.get(index, 0.0) + weight
    return out
