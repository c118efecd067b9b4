"""Attack lexicons (English and Arabic) loaded from ``detector/data``.

A lexicon maps normalised terms to categories:

* ``attack:<type>`` – weapon and attack vocabulary keyed by codebook
  ``attack_type``;
* ``casualty``, ``foiled``, ``negative``, ``background``, ``recency``,
  ``tally``, ``threat``, ``launched_from``, ``foreign``, ``aggregate`` (plural or
  round-up wording: "attacks", "across Iraq") – context cues;
* ``target:<category>`` and ``actor:<name>`` – incident field vocabulary.

Terms ending in ``*`` match any word ending.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .normalize import normalize_term

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"

ATTACK_TYPES: tuple[str, ...] = (
    "suicide",
    "car_bomb",
    "ied",
    "drone",
    "rocket_missile",
    "mortar_artillery",
    "air_strike",
    "grenade",
    "assassination",
    "abduction",
    "armed_assault",
    "other",
)
"""Attack types in priority order: the first one present in a sentence wins."""

CONTEXT_CATEGORIES: tuple[str, ...] = (
    "casualty",
    "foiled",
    "negative",
    "background",
    "recency",
    "tally",
    "threat",
    "launched_from",
    "foreign",
    "weak",
    "aggregate",
)


@dataclass(frozen=True)
class Term:
    """One lexicon entry after normalisation."""

    category: str
    label: str
    text: str
    stem: bool


@dataclass
class Lexicon:
    """All lexicon terms of one language plus its number words."""

    language: str
    terms: list[Term] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)

    def categories(self) -> set[str]:
        """Return the set of categories present."""
        return {t.category for t in self.terms}


def _make_term(category: str, label: str, raw: str, language: str) -> Term | None:
    """Normalise ``raw`` into a :class:`Term`; ``None`` if it normalises away."""
    stem = raw.endswith("*")
    text = normalize_term(raw.rstrip("*"), language)
    if not text:
        return None
    return Term(category=category, label=label, text=text, stem=stem)


def _read_json(name: str) -> dict:
    """Read a JSON file from the package data directory."""
    with open(DATA_DIR / name, encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=4)
def load_lexicon(language: str) -> Lexicon:
    """Load and normalise the lexicon for ``language`` (``"en"`` or ``"ar"``)."""
    raw = _read_json(f"lexicon_{language}.json")
    targets = _read_json("targets.json")
    lexicon = Lexicon(language=language)
    for attack_type, words in raw["attack_types"].items():
        for word in words:
            term = _make_term(f"attack:{attack_type}", attack_type, word, language)
            if term:
                lexicon.terms.append(term)
    for category in CONTEXT_CATEGORIES:
        for word in raw.get(category, []):
            term = _make_term(category, category, word, language)
            if term:
                lexicon.terms.append(term)
    for target, words in targets["targets"][language]:
        for word in words:
            term = _make_term(f"target:{target}", target, word, language)
            if term:
                lexicon.terms.append(term)
    for actor, words in targets["actors"][language]:
        for word in words:
            term = _make_term(f"actor:{actor}", actor, word, language)
            if term:
                lexicon.terms.append(term)
    lexicon.numbers = {normalize_term(k, language): v for k, v in raw.get("numbers", {}).items()}
    logger.debug("loaded %d %s lexicon terms", len(lexicon.terms), language)
    return lexicon


def target_priority(language: str) -> list[str]:
    """Target categories in the priority order of ``targets.json``."""
    return [name for name, _ in _read_json("targets.json")["targets"][language]]
