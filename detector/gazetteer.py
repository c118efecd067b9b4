"""Gazetteer of Iraq: governorates, cities, districts, bases and sites.

Each place resolves to one of the 19 codebook governorate values. Generic
mentions of Iraq ("Iraq", "northern Iraq", "Kurdistan Region") resolve to the
empty governorate. ``blocked`` strings contain an Iraqi place name but denote
something else (a footballer, a district of Riyadh) and suppress the match.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache

from .lexicon import DATA_DIR
from .normalize import normalize_term

logger = logging.getLogger(__name__)

GOVERNORATES: tuple[str, ...] = (
    "Baghdad",
    "Basra",
    "Nineveh",
    "Erbil",
    "Sulaymaniyah",
    "Duhok",
    "Halabja",
    "Kirkuk",
    "Diyala",
    "Anbar",
    "Salah al-Din",
    "Babil",
    "Karbala",
    "Najaf",
    "Wasit",
    "Qadisiyah",
    "Maysan",
    "Dhi Qar",
    "Muthanna",
)

SPECIFICITY: dict[str, int] = {"site": 4, "district": 3, "city": 2, "governorate": 1, "country": 0}


@dataclass(frozen=True)
class Place:
    """A named place in Iraq."""

    name: str
    governorate: str
    kind: str

    @property
    def specificity(self) -> int:
        """Higher for more specific places (site > district > city > governorate)."""
        return SPECIFICITY.get(self.kind, 0)


IRAQ = Place(name="Iraq", governorate="", kind="country")


@dataclass(frozen=True)
class PlaceVariant:
    """A normalised spelling of a place (or a blocked look-alike when ``place`` is None)."""

    text: str
    place: Place | None


@lru_cache(maxsize=4)
def load_gazetteer(language: str) -> list[PlaceVariant]:
    """Return all normalised place variants for ``language``."""
    with open(DATA_DIR / "gazetteer.json", encoding="utf-8") as handle:
        raw = json.load(handle)
    column = 2 if language == "en" else 3
    variants: list[PlaceVariant] = []
    for governorate, entries in raw["governorates"].items():
        if governorate not in GOVERNORATES:
            raise ValueError(f"unknown governorate in gazetteer: {governorate}")
        for entry in entries:
            place = Place(name=entry[0], governorate=governorate, kind=entry[1])
            for spelling in entry[column]:
                text = normalize_term(spelling, language)
                if text:
                    variants.append(PlaceVariant(text=text, place=place))
    for spelling in raw["iraq"][language]:
        variants.append(PlaceVariant(text=normalize_term(spelling, language), place=IRAQ))
    for spelling in raw["blocked"][language]:
        variants.append(PlaceVariant(text=normalize_term(spelling, language), place=None))
    return variants


def resolve_governorate(name: str) -> str:
    """Map a free-text place or governorate name to a codebook governorate (or "")."""
    for language in ("en", "ar"):
        key = normalize_term(name, language)
        for variant in load_gazetteer(language):
            if variant.place is not None and variant.text == key:
                return variant.place.governorate
    return ""


def choose_place(places: list[Place]) -> Place | None:
    """Pick the most specific place; ties go to the first mentioned."""
    best: Place | None = None
    for place in places:
        if best is None or place.specificity > best.specificity:
            best = place
    return best
