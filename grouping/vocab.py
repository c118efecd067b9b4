"""Vocabularies the grouper reads from text: places, attack types, targets, actors.

Places, targets and actors come from the detector's data files
(``detector/data/gazetteer.json`` and ``targets.json``), so grouping and
detection resolve a place or an attacker the same way. The attack-type cue
list here is the grouper's own and short on purpose: it only fills in what an
incident from the detector leaves empty, and it also covers the European
languages of the regional stream (Polish, French, German), where the
detector does not extract incidents. All terms are written normalised (see
:func:`grouping.text.normalise_text`); a trailing ``*`` matches any ending.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grouping.text import normalise_text

LOGGER = logging.getLogger(__name__)

DETECTOR_DATA = Path(__file__).resolve().parent.parent / "detector" / "data"
ARABIC_PREFIX = "(?:[وفبلك]|ول|وب|فب|لل|وال|بال|فال|كال)?"
PLACE_RANK = {"site": 4, "district": 3, "city": 2, "governorate": 1}

FORCE_TARGETS = ("us_coalition", "iraqi_security", "peshmerga", "diplomatic")
GOVERNORATES = (
    "Baghdad", "Basra", "Nineveh", "Erbil", "Sulaymaniyah", "Duhok", "Halabja", "Kirkuk", "Diyala", "Anbar",
    "Salah al-Din", "Babil", "Karbala", "Najaf", "Wasit", "Qadisiyah", "Maysan", "Dhi Qar", "Muthanna",
)

# attack type -> cue terms (normalised; English, Arabic, Polish, French, German)
ATTACK_CUES: dict[str, tuple[str, ...]] = {
    "suicide": ("suicide bomb*", "suicide attack*", "suicide blast*", "blew himself up", "انتحاري*", "حزام ناسف",
                "zamachowiec samobojca", "attentat suicide", "selbstmordanschlag*"),
    "car_bomb": ("car bomb*", "vehicle bomb*", "truck bomb*", "vbied*", "سياره مفخخه", "مفخخه", "samochod pulapka",
                 "voiture piegee", "autobombe*"),
    "ied": ("roadside bomb*", "roadside blast*", "ied", "ieds", "improvised explosive*", "explosive device*",
            "landmine*", "explosives", "عبوه ناسفه", "عبوات ناسفه", "ladunek wybuchow*", "engin explosif", "sprengsatz*"),
    "drone": ("drone*", "uav", "uavs", "unmanned aerial", "one way attack", "طائره مسيره", "طائرات مسيره", "مسيره",
              "مسيرات", "drony", "dron", "dronow", "dronem", "dronami", "drona", "drone*"),
    "rocket_missile": ("rocket*", "katyusha*", "missile*", "projectile*", "صاروخ*", "صواريخ", "كاتيوشا", "rakiet*",
                       "rakieta", "pocisk*", "roquette*", "rakete*"),
    "mortar_artillery": ("mortar*", "artillery", "shelling", "shelled", "هاون", "قصف مدفعي", "mozdzierz*",
                         "ostrzal*", "obus", "granatwerfer*"),
    "air_strike": ("airstrike*", "air strike*", "air raid*", "warplane*", "fighter jet*", "fighter aircraft",
                   "gunship*", "ac 130", "us strike*", "u s strike*", "american strike*", "retaliatory strike*", "response airstrike*", "struck back", "غاره*", "غارات", "قصف جوي",
                   "طيران حربي", "nalot*", "mysliwc*", "atak* powietrzn*", "frappe* aerienne*", "luftangriff*"),
    "grenade": ("grenade*", "rpg", "rpgs", "قنبله يدويه", "granat*"),
    "assassination": ("assassinat*", "اغتيال", "zamach na zycie", "zabojstw*"),
    "abduction": ("kidnap*", "abduct*", "hostage*", "اختطاف", "خطف", "مختطف*", "porwan*", "porwal*", "enleve*",
                  "otage*", "entfuhr*"),
    "armed_assault": ("gunmen", "gunman", "gunfire", "shot dead", "ambush*", "clash*", "firefight*", "opened fire",
                      "اشتباك*", "مسلحون", "مسلحين", "هجوم مسلح", "starci*", "strzelanin*", "fusillade*"),
}

ARMED_GROUP_CUES = ("militia*", "militant*", "fighters", "kataib hezbollah", "hezbollah", "pkk", "operations cent*",
                    "pro iran group*", "iran aligned", "iran backed group*", "insurgent*", "isis", "islamic state",
                    "bojownik*", "separatyst*", "milicj*", "فصائل", "الفصائل", "مسلحين", "داعش", "حزب العمال")
REPRISAL_CUES = ("retaliat*", "struck back", "strikes back", "in response to", "self defence", "self defense",
                 "response airstrike*", "odwet*", "رد على", "ردا على", "riposte")
CLAIM_CUES = ("claimed responsibility", "claimed the attack", "claimed the strike", "claim of responsibility",
              "claimed by", "przyznal* sie", "przyznala sie", "اعلن* مسؤوليت*", "تبنى", "تبنت", "revendiqu*")

# clue -> cue terms (normalised; English, Arabic, Polish, French, German): distinctive details of one
# attack that outlets in every language repeat ("the drone hit the second floor of the barracks", "it
# did not explode"), so reports in two languages, or a feature weeks later, can be matched on them.
# Only details that tell attacks apart are listed (not "air defences" or "a convoy", told of many attacks);
# the attack type, toll and place are compared as such.
CLUE_CUES: dict[str, tuple[str, ...]] = {
    "barracks": ("barrack*", "koszar*", "ثكن*", "caserne*", "kaserne*"),
    "upper_floor": ("second floor", "upper floor", "storey", "pietr*", "pietro", "الطابق", "etage", "stockwerk*"),
    "dud": ("defective", "faulty", "malfunction*", "failed to explode", "failed to detonate", "did not explode",
            "did not detonate", "wadliw*", "nie doszlo do detonacji", "nie wybuchl*", "لم تنفجر", "لم ينفجر",
            "defectueu*", "n a pas explose", "blindganger*"),
    "contractor": ("contractor*", "kontraktor*", "podwykonawc*", "متعاقد*", "sous traitant*", "auftragnehmer*"),
    "cardiac": ("cardiac", "heart attack", "zawal*", "نوبه قلبيه", "crise cardiaque", "herzinfarkt*"),
    "hangar": ("hangar*", "حظيره", "حظائر"),
    "ballistic": ("ballistic", "balistyczn*", "باليستي*", "balistique*", "ballistisch*"),
    "hostage_video": ("hostage video", "new video", "first video", "nagrani*", "wideo", "فيديو", "nouvelle video",
                      "neues video"),
}


@dataclass(frozen=True)
class Place:
    """One gazetteer entry: a canonical place name, its kind and governorate."""

    name: str
    kind: str
    governorate: str

    @property
    def rank(self) -> int:
        return PLACE_RANK.get(self.kind, 0)


def compile_terms(terms: tuple[str, ...] | list[str], arabic_prefix: bool = True) -> re.Pattern[str]:
    """Return one regex matching any of ``terms`` as whole words of normalised text."""
    parts = []
    for term in terms:
        term = "*".join(normalise_text(part) for part in term.split("*"))
        if not term.strip("*"):
            continue
        body = re.escape(term).replace(r"\*", r"\w*")
        prefix = ARABIC_PREFIX if arabic_prefix and re.match(r"[\u0600-\u06ff]", term) else ""
        parts.append(prefix + body)
    parts.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


def read_json(name: str) -> dict:
    """Return a detector data file as a dict, or an empty dict when it is missing or broken."""
    path = DETECTOR_DATA / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        LOGGER.warning("cannot read %s (%s); grouping goes on without it", path, exc)
        return {}


@lru_cache(maxsize=1)
def load_gazetteer() -> tuple[dict[str, Place], re.Pattern[str] | None, re.Pattern[str] | None]:
    """Return (variant -> Place, place-name regex, blocked-name regex)."""
    data = read_json("gazetteer.json")
    variants: dict[str, Place] = {}
    for governorate, entries in (data.get("governorates") or {}).items():
        for name, kind, english, arabic in entries:
            place = Place(name=name, kind=kind, governorate=governorate)
            for variant in [name, *english, *arabic]:
                key = normalise_text(variant)
                if key and (key not in variants or variants[key].rank < place.rank):
                    variants[key] = place
    blocked = [v for lang in ("en", "ar") for v in (data.get("blocked") or {}).get(lang, [])]
    place_re = compile_terms(list(variants)) if variants else None
    blocked_re = compile_terms(blocked) if blocked else None
    return variants, place_re, blocked_re


AMBIGUOUS_PLACES = {"hit", "hay", "ur", "salman", "zab", "rashad", "dora", "baaj", "khidr", "fao", "gwer", "anah", "rawa"}


def is_named_place(word: str, raw: str | None) -> bool:
    """Return False for a place name that is also a common word, unless ``raw`` names it as a place."""
    if word not in AMBIGUOUS_PLACES:
        return True
    if raw is None:
        return False
    pattern = r"\b(?:in|near|of|at|from|town|district|city)\s+(?:al-)?" + re.escape(word.capitalize()) + r"\b"
    return re.search(pattern, raw) is not None


METONYM_RE = re.compile(
    r" (?:says|said|denounce\w*|condemn\w*|slam\w*|accuse\w*|reject\w*|protest\w*|warn\w*|demand\w*|"
    r"summon\w*|insist\w*|call\w* on|and washington|government|authorities|officials)(?!\w)"
)


def is_metonym(text: str, end: int) -> bool:
    """Return True when a capital stands for its government ("Baghdad denounces the strikes")."""
    return METONYM_RE.match(text, end) is not None


def find_places(text: str, raw: str | None = None) -> list[Place]:
    """Return the Iraqi places named in normalised ``text``, in order of appearance.

    ``raw`` (the text before normalisation) lets a name that is also a common
    word (the town of Hit) count when it is written as a place name.
    """
    variants, place_re, blocked_re = load_gazetteer()
    if place_re is None:
        return []
    if blocked_re is not None:
        text = blocked_re.sub(" ", text)
    found = []
    for match in place_re.finditer(text):
        word = match.group(0)
        place = variants.get(word) or variants.get(re.sub("^" + ARABIC_PREFIX, "", word, count=1))
        if place is None:
            for cut in range(1, 4):
                place = variants.get(word[cut:])
                if place:
                    break
        if place is not None and is_named_place(word, raw) and not is_metonym(text, match.end()):
            found.append(place)
    return found


@lru_cache(maxsize=1)
def load_attack_cues() -> dict[str, re.Pattern[str]]:
    """Return attack type -> compiled cue regex."""
    return {kind: compile_terms(terms) for kind, terms in ATTACK_CUES.items()}


def find_attack_types(text: str) -> list[str]:
    """Return the attack types cued in normalised ``text``, in order of first appearance."""
    hits = []
    for kind, pattern in load_attack_cues().items():
        match = pattern.search(text)
        if match:
            hits.append((match.start(), kind))
    return [kind for _, kind in sorted(hits)]


@lru_cache(maxsize=1)
def load_targets() -> list[tuple[str, re.Pattern[str]]]:
    """Return [(target category, regex)] in the detector's priority order."""
    data = read_json("targets.json").get("targets") or {}
    merged: dict[str, list[str]] = {}
    for lang in ("en", "ar"):
        for category, terms in data.get(lang, []):
            merged.setdefault(category, []).extend(terms)
    merged.setdefault("pmf", []).extend(["militants", "militant vehicle", "operations centers", "pro iran group"])
    return [(category, compile_terms(terms)) for category, terms in merged.items()]


def find_target(text: str) -> str | None:
    """Return the first target category (priority order) named in normalised ``text``."""
    for category, pattern in load_targets():
        if pattern.search(text):
            return category
    return None


@lru_cache(maxsize=1)
def load_actors() -> list[tuple[str, re.Pattern[str]]]:
    """Return [(actor, regex)] from the detector's actor list."""
    data = read_json("targets.json").get("actors") or {}
    merged: dict[str, list[str]] = {}
    for lang in ("en", "ar"):
        for actor, terms in data.get(lang, []):
            merged.setdefault(actor, []).extend(terms)
    return [(actor, compile_terms(terms)) for actor, terms in merged.items()]


NEGATED_CLAIM_RE = re.compile(r"(?<!\w)(?:no|not|nobody|none|no one|yet to|has not|have not|did not|nikt|لم)(?: \w+){0,3} ?$")


def find_claim(text: str) -> str | None:
    """Return who claimed the attack when ``text`` reports a claim of responsibility."""
    cue = next((m for m in compile_claim_cues().finditer(text)
                if not NEGATED_CLAIM_RE.search(text[max(0, m.start() - 40) : m.start()])), None)
    if not cue:
        return None
    window = text[max(0, cue.start() - 120) : cue.end() + 120]
    best: tuple[int, str] | None = None
    for actor, pattern in load_actors():
        for match in pattern.finditer(window):
            distance = abs(match.start() - (cue.start() - max(0, cue.start() - 120)))
            if best is None or distance < best[0]:
                best = (distance, actor)
    return best[1] if best else "unnamed group"


@lru_cache(maxsize=1)
def compile_claim_cues() -> re.Pattern[str]:
    return compile_terms(CLAIM_CUES)


@lru_cache(maxsize=1)
def compile_armed_group_cues() -> re.Pattern[str]:
    return compile_terms(ARMED_GROUP_CUES)


@lru_cache(maxsize=1)
def compile_reprisal_cues() -> re.Pattern[str]:
    return compile_terms(REPRISAL_CUES)


@lru_cache(maxsize=1)
def load_clue_cues() -> dict[str, re.Pattern[str]]:
    """Return clue -> compiled cue regex."""
    return {clue: compile_terms(terms) for clue, terms in CLUE_CUES.items()}


def find_clues(text: str) -> list[str]:
    """Return the distinctive details (see :data:`CLUE_CUES`) told in normalised ``text``."""
    return [clue for clue, pattern in load_clue_cues().items() if pattern.search(text)]
