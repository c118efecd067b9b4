"""Feature extraction for the attack-report classifier.

Two groups of features are produced from an :class:`~detector.matcher.Analysis`:

* rule features – counts of sentence-level co-occurrences (attack term with a
  place in Iraq in the same sentence, with a foreign place, in background
  context, with casualties, ...), named and log-scaled;
* text features – hashed unigrams and bigrams of the title and of the
  sentences that contain attack vocabulary (they sit beside the rule features
  in one logistic regression);
* a separate bag of hashed word 1–2-grams and character 3–5-grams of the
  title and of every sentence about Iraq or with attack vocabulary, for the
  second (text) logistic regression whose log-odds are averaged with the
  first (see :mod:`detector.model`).

Hashing uses CRC-32 so that indices are stable across Python versions and
processes, and inference needs no scikit-learn.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import zlib
from functools import lru_cache

from .context import SentenceContext
from .lexicon import ATTACK_TYPES
from .matcher import Analysis
from .normalize import normalize_for_matching

logger = logging.getLogger(__name__)

HASH_DIM = 1 << 14
TEXT_DIM = 1 << 16

RULE_FEATURES: tuple[str, ...] = (
    "t_attack", "t_specific", "t_place", "t_iraq", "t_foreign", "t_negative", "t_casualty",
    "t_foiled", "t_threat", "t_hit", "t_hit_specific",
    "n_attack", "n_hit", "n_hit_clean", "n_hit_current", "n_hit_specific", "n_hit_casualty",
    "n_hit_recent", "n_hit_background", "n_hit_foreign", "n_hit_negative", "n_hit_foiled",
    "n_hit_place", "n_context_hit", "n_attack_foreign", "n_casualty", "n_negative",
    "n_background", "n_foreign", "n_place", "n_iraq", "n_launched", "n_tally", "n_threat",
    "f3_hit", "f3_context_hit", "f3_foreign", "f3_iraq",
    "frac_located", "iraq_dominance", "log_sentences", "has_date",
    "strict_gate", "t_weak", "n_weak_iraq", "n_casualty_iraq", "n_foiled_iraq", "f3_casualty", "f3_weak",
    "t_arrest_only", "n_arrest_only", "n_hit_threat", "n_hit_tally", "lead_foreign", "article_iraq_only",
    "t_attack_abroad", "lead_attack_abroad", "n_attack_abroad", "keyword_gate",
) + tuple(f"type_{t}" for t in ATTACK_TYPES)


_CUE_CATEGORIES = ("casualty", "weak", "foiled")


def is_candidate(analysis: Analysis, contexts: list[SentenceContext], current_only: bool = False) -> bool:
    """Keyword-stage decision: some sentence in Iraq (by name, or by the title or
    previous sentence) uses attack, casualty, violence or foiled-attack vocabulary
    and names no foreign place.

    Softer than :func:`is_strict_candidate` (which the classifier sees as a
    feature): "violence", "bodies" or "explosions" with an Iraqi place pass.
    Articles failing this test are not scored further. When the title reports
    an attack located only abroad ("Drone attack kills three US soldiers in
    Jordan"), a body sentence must name a place inside an Iraqi governorate:
    "Iraq" alone (the Islamic Resistance in Iraq, US troops in Iraq) is not enough.
    Syria named beside Iraq ("drone attacks on US bases in Iraq and Syria") does
    not make a sentence foreign here (``SentenceContext.co_located``); the rule
    features still count it as foreign, so the classifier weighs it.

    With ``current_only`` background sentences do not count: an article whose
    only attack in Iraq is a passing mention of an old one (an anniversary, a
    profile, "since the 2014 massacre") reports no incident (codebook). The
    classifier's gate uses it; the keyword stage, which has no article date
    to tell old from current, does not.
    """
    title = analysis.title
    title_abroad = title is not None and _attack_abroad(title, contexts[0])
    for sentence, ctx in zip(analysis.sentences, contexts):
        if not (ctx.context_located or sentence.in_iraq) or sentence.has("launched_from"):
            continue
        if current_only and ctx.background:
            continue
        if title_abroad and not sentence.iraq_places:
            continue
        if ctx.foreign and not ctx.co_located and not sentence.iraq_places and not sentence.has("attack:abduction"):
            continue
        if sentence.has_attack or any(sentence.has(c) for c in _CUE_CATEGORIES):
            return True
    return False


def _attack_abroad(sentence, ctx: SentenceContext) -> bool:
    """An attack sentence whose only location is foreign (hostage stories excepted:
    foreign nationals held in Iraq are named with their home country)."""
    return sentence.has_attack and ctx.foreign and not sentence.in_iraq and not sentence.has("attack:abduction")


def is_strict_candidate(analysis: Analysis, contexts: list[SentenceContext]) -> bool:
    """Some sentence pairs attack (or casualty) vocabulary with Iraq.

    The place may be in the sentence itself or carried over from the title or
    the previous sentence.
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
        violent = attack or sentence.has("casualty") or sentence.has("weak") or sentence.has("foiled")
        arrest_only = sentence.has("negative") and not sentence.has("casualty") and not attack
        iraqi = (ctx.context_located or sentence.in_iraq) and not ctx.foreign
        specific = any(t != "other" for t in sentence.attack_types)
        hit = attack and ctx.located and not ctx.foreign
        # an attack sentence whose only location is foreign (not a hostage story)
        abroad = _attack_abroad(sentence, ctx)
        counts["n_attack_abroad"] += abroad
        if sentence.is_title:
            f["t_attack"] = float(attack)
            f["t_specific"] = float(specific)
            f["t_place"] = float(bool(sentence.iraq_places))
            f["t_iraq"] = float(sentence.in_iraq)
            # foreign nationals held hostage in Iraq are named by their home country
            f["t_foreign"] = float(ctx.foreign and not sentence.has("attack:abduction"))
            f["t_attack_abroad"] = float(abroad)
            f["t_negative"] = float(sentence.has("negative"))
            f["t_casualty"] = float(sentence.has("casualty"))
            f["t_foiled"] = float(sentence.has("foiled"))
            f["t_threat"] = float(sentence.has("threat"))
            f["t_hit"] = float(hit)
            f["t_hit_specific"] = float(hit and specific)
            f["t_weak"] = float(sentence.has("weak"))
            f["t_arrest_only"] = float(arrest_only)
        else:
            body_seen += 1
            if body_seen <= 3:
                counts["f3_hit"] += hit and not ctx.background
                counts["f3_context_hit"] += attack and ctx.context_located and not ctx.foreign and not ctx.background
                counts["f3_foreign"] += ctx.foreign
                counts["f3_iraq"] += sentence.in_iraq
                counts["f3_casualty"] += sentence.has("casualty") and iraqi and not ctx.background
                counts["f3_weak"] += sentence.has("weak") and iraqi
                counts["lead_foreign"] += ctx.foreign
                counts["lead_attack_abroad"] += abroad
        counts["n_weak_iraq"] += sentence.has("weak") and iraqi
        counts["n_casualty_iraq"] += sentence.has("casualty") and iraqi and not ctx.background
        counts["n_foiled_iraq"] += sentence.has("foiled") and iraqi
        counts["n_arrest_only"] += arrest_only and iraqi
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
            counts["n_hit_threat"] += sentence.has("threat")
            counts["n_hit_tally"] += sentence.has("tally")
            if not ctx.background:
                for attack_type in sentence.attack_types:
                    types[attack_type] = types.get(attack_type, 0) + 1
        if attack and ctx.context_located and not ctx.foreign and not ctx.background:
            counts["n_context_hit"] += 1
    for name, value in counts.items():
        if name.startswith(("n_", "f3_", "lead_")):
            f[name] = _log(value)
    for attack_type, value in types.items():
        f[f"type_{attack_type}"] = _log(value)
    f["frac_located"] = counts["n_hit_clean"] / (counts["n_attack"] + 1)
    f["iraq_dominance"] = (counts["n_iraq"] - counts["n_foreign"]) / (counts["n_iraq"] + counts["n_foreign"] + 1)
    f["log_sentences"] = _log(len(analysis.sentences)) / 3.0
    f["has_date"] = float(article is not None)
    f["strict_gate"] = float(is_strict_candidate(analysis, contexts))
    f["article_iraq_only"] = float(counts["n_iraq"] > 0 and counts["n_foreign"] == 0)
    f["keyword_gate"] = float(is_candidate(analysis, contexts))
    return f


def has_iraq_reference(analysis: Analysis) -> bool:
    """Some sentence names Iraq or a place in Iraq: the article is scored.

    Articles without any Iraqi reference score 0. The keyword stage
    (:func:`is_candidate`) is no hard gate for the classifier: it enters the
    rule features as ``keyword_gate``.
    """
    return any(s.in_iraq or s.iraq_places for s in analysis.sentences)


@lru_cache(maxsize=200_000)
def _token_indices(token: str) -> tuple[int, ...]:
    """Hashed indices of a token and of its character 3–5-grams (cached: tokens repeat)."""
    out = [zlib.crc32(("w:" + token).encode("utf-8")) % TEXT_DIM]
    if len(token) >= 3 and not token.isdigit():
        padded = f"<{token}>"
        for size in (3, 4, 5):
            for i in range(len(padded) - size + 1):
                out.append(zlib.crc32(("c:" + padded[i : i + size]).encode("utf-8")) % TEXT_DIM)
    return tuple(out)


def extract_text_features(analysis: Analysis, contexts: list[SentenceContext]) -> dict[int, float]:
    """Binary hashed word 1–2-grams and character 3–5-grams of the title and of the
    sentences about Iraq (by name or context) or with attack or casualty words,
    L2-normalised."""
    indices: set[int] = set()
    language = analysis.language
    for sentence, ctx in zip(analysis.sentences, contexts):
        if not (sentence.is_title or sentence.in_iraq or sentence.has_attack or ctx.context_located or sentence.has("casualty")):
            continue
        tokens = _tokens(sentence.text, language)
        for i, token in enumerate(tokens):
            indices.update(_token_indices(token))
            if i:
                indices.add(zlib.crc32(f"b:{tokens[i - 1]}_{token}".encode("utf-8")) % TEXT_DIM)
            if sentence.is_title:
                indices.add(zlib.crc32(f"t:{token}".encode("utf-8")) % TEXT_DIM)
    if not indices:
        return {}
    weight = 1.0 / math.sqrt(len(indices))
    return dict.fromkeys(indices, weight)


def _tokens(text: str, language: str) -> list[str]:
    """Normalised tokens of ``text``."""
    return normalize_for_matching(text, language).split()


def _char_grams(tokens: list[str], sizes: tuple[int, ...] = (3, 4, 5)) -> set[str]:
    """Character n-grams of padded words (Arabic: robust to clitics and inflection)."""
    out: set[str] = set()
    for token in tokens:
        if len(token) < 3 or token.isdigit():
            continue
        padded = f"<{token}>"
        for size in sizes:
            for i in range(len(padded) - size + 1):
                out.add("c:" + padded[i : i + size])
    return out


def extract_hashed_features(analysis: Analysis, contexts: list[SentenceContext]) -> dict[int, float]:
    """Hashed text features of the title, the lead and the sentences with attack vocabulary.

    Word unigrams and bigrams prefixed by the sentence's role (title, located
    hit, other attack sentence, lead); for Arabic also character n-grams of
    the normalised words.
    """
    grams: set[str] = set()
    body_seen = 0
    arabic = analysis.language == "ar"
    for sentence, ctx in zip(analysis.sentences, contexts):
        lead = False
        if not sentence.is_title:
            body_seen += 1
            lead = body_seen <= 2
        cue = sentence.has_attack or sentence.has("casualty")
        if not (sentence.is_title or cue or lead):
            continue
        if sentence.is_title:
            prefix = "t"
        elif sentence.has_attack and ctx.located and not ctx.foreign:
            prefix = "h"
        elif cue:
            prefix = "a"
        else:
            prefix = "l"
        tokens = _tokens(sentence.text, analysis.language)
        for i, token in enumerate(tokens):
            grams.add(f"{prefix}:{token}")
            grams.add(f"w:{token}")
            if i:
                grams.add(f"b:{tokens[i - 1]}_{token}")
        if arabic:
            grams |= _char_grams(tokens)
    if not grams:
        return {}
    weight = 1.0 / math.sqrt(len(grams))
    out: dict[int, float] = {}
    for gram in grams:
        index = zlib.crc32(gram.encode("utf-8")) % HASH_DIM
        out[index] = out.get(index, 0.0) + weight
    return out
