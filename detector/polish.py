"""Keyword-rule path for Polish articles.

No Polish training data exists, so Polish articles are not scored by a model:
a fixed rule follows the codebook as the English keyword stage does. A
sentence reports an attack in Iraq when it holds an attack word (or a weapon
word with an action word: "drony zaatakowały", not "Irak kupił drony") and a
place in Iraq ("w Iraku", "Bagdadzie", "bazę Ain al-Asad"), and no exclusion
applies: threats, warnings and condemnations; trials, anniversaries, culture,
sport, exercises, accidents, trade; diplomacy and arrests without casualties;
background and past years; running counts ("ciągłe ataki"); a foreign place
not merely named beside Iraq ("bojówki w Iraku zaatakowały bazy w Syrii");
Iraq only as a launch site ("z Iraku"). Attacks "w Iraku i Syrii" need a
concrete detail (a casualty figure, a governorate's place, a day). Reporting
tails ("- przekazało Ministerstwo Obrony w Ankarze") are not matched.

Words are matched by stem on folded text (lower case, no diacritics) with one
Aho-Corasick automaton; the vocabulary is in :mod:`detector.lexicon_pl`.

Score (flagged from 0.5 up):

* 0.9 – the rule holds in the title or the lead (first sentence of the text);
* 0.8 – title and lead together: an attack in one, Iraq in the other, neither
  excluded nor foreign;
* 0.7 – the rule holds in a later sentence with a place inside a governorate
  or a concrete detail;
* 0.4 – only a later sentence naming just "Iraq" (not flagged);
* 0.2 – an attack word and Iraq met in a sentence that an exclusion removed;
* 0.0 – otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from . import lexicon_pl as lx
from .context import parse_article_date
from .gazetteer import Place, choose_place
from .lexicon import ATTACK_TYPES
from .matcher import SentenceMatch
from .normalize import clean_text
from .sentences import split_sentences

logger = logging.getLogger(__name__)

THRESHOLD = 0.5
MAX_EVIDENCE = 5
MAX_INCIDENTS = 6
RULES: dict[str, tuple[float, str]] = {
    "title_or_lead": (0.9, "the title or lead pairs an attack with a place in Iraq"),
    "title_with_lead": (0.8, "the title reports an attack and the lead places it in Iraq"),
    "later_specific": (0.7, "a later sentence pairs an attack with a place in Iraq"),
    "later_generic": (0.4, "only a later sentence pairs an attack with a mere mention of Iraq"),
    "excluded": (0.2, "attack and Iraq meet only in excluded sentences"),
    "none": (0.0, "no sentence pairs an attack term with a place in Iraq"),
}
"""The fixed score of each rule (see the module docstring) and its wording in ``why``."""

_PL_LETTERS = re.compile("[ąćęłńśźżĄĆĘŁŃŚŹŻ]")
_PL_WORDS = frozenset(
    word
    for spelled in "się że jest nie oraz przez który która które których którzy został została zostało zostali zostały "
    "także również już jednak tego jego dla czy też są był była było byli być może w z ze od na po jak ich tym".split()
    for word in (spelled, lx.fold(spelled))
)
"""Polish function words, also as written without diacritics."""
_WORD = re.compile(r"\w+", re.UNICODE)
_PL_CAPITAL_SPLIT = re.compile(r"(?<=[.!?])[\"'\u201d)]*\s+(?=[\"\u201e(]?[ĄĆĘŁŃÓŚŹŻ])")
_PL_ABBREVIATION = re.compile(r"\b(?:gen|płk|ppłk|dr|ok|tys|ds|ul|im|św|prof|m\.in|tzw|np|godz|mjr|kpt|por|ppor|sierż|mln|mld|pt|ws|nt)\.$")
_ATTRIBUTION_TAIL = re.compile(
    r"\s[-\u2013\u2014]\s+(?=(?:jak\s+)?(?:poinformowa|przekaza|poda|oświadczy|powiedzia|ogłosi|twierdz|informuj|donos|napisa|"
    r"zapewni|podkreśli|doda|relacjonuj|wynika|czytamy|według|ujawni|potwierdzi|zapowiedzia|przyzna|pisze|podaj|alarmuj)\w*)",
    re.IGNORECASE,
)
_MONTH_NAMES = [lx.fold(month) for month in lx.MONTHS]
_ORIGIN = re.compile(r"(?: z| ze| od strony| z terytorium| z terenu| z obszaru| z kierunku)(?: \w+)? $")
_NEGATOR = re.compile(r"(?: nie doszlo do| nie bylo| bez| zadn\w+| brak| nie odnotowano| nie zanotowano| nie ma)(?: \w+)? $")
_COUNTED = re.compile(
    r" (?:\d+|kilkanascie|kilkadziesiat|dziesiatki|setki) razy "
    r"| (?:\d\d+|kilkadziesiat|kilkudziesieciu|dziesiat\w*|setk\w*|kilkuset|kilkaset) (?:\w+ )?(?:atak\w*|incydent\w*|uderzen\w*) "
    r"| od (?:\d{1,2} )?(?:" + "|".join(_MONTH_NAMES) + r") "
)
"""Running counts: "40 razy", "ponad 60 ataków", "od 17 października"."""
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_CO_LOCATED = re.compile(
    rf" (?:w |we )?irak\w*(?: i| oraz| a takze)(?: w| we)?(?: \w+)? {lx.CO_THEATRE}| {lx.CO_THEATRE}(?: i| oraz| a takze)(?: w| we)?(?: \w+)? irak\w*"
)
_WEEKDAY_NUMBER = {lx.fold(day): number for day, number in lx.WEEKDAYS.items()}
_WEEKDAYS = re.compile(r" we? (" + "|".join(_WEEKDAY_NUMBER) + r")(?= )")
_REPORTING_DAY = re.compile(
    r" (?:poinformowa|przekaza|poda|oswiadczy|powiedzia|oglosi|potwierdzi|twierdzi|informuj|przyzna|oskarzy|zapowiedzia)\w*"
    r"(?: \w+){0,3}? we? (?:" + "|".join(_WEEKDAY_NUMBER) + r")(?= )"
)
"""The day of a report, not of the incident ("poinformowały we wtorek władze")."""
_MONTH_DATE = re.compile(r" (\d{1,2}) (" + "|".join(_MONTH_NAMES) + r")(?: (\d{4}))?(?= )")


def is_polish(title: str, text: str) -> bool:
    """Whether an article is in Polish: Polish letters (ą ć ę ł ń ś ź ż, which
    Czech and Slovak do not use) and Polish function words together.

    A Polish name in English text ("Łukasz Błaszczykowski said") has the
    letters but not the words; Polish text without diacritics still has many
    function words.
    """
    sample = lx.repair_mojibake(f"{title or ''} {(text or '')[:2000]}")
    words = _WORD.findall(sample.lower())
    if not words:
        return False
    function_words = sum(word in _PL_WORDS for word in words)
    letters = len(_PL_LETTERS.findall(sample))
    if letters >= 2 and function_words >= 2:
        return True
    return function_words >= 6 and function_words / len(words) >= 0.15


def split_polish_sentences(text: str) -> list[str]:
    """Split Polish text: the shared splitter, then breaks before Polish capitals
    ("… Iraku. Żołnierze …"), re-joining cuts after abbreviations ("gen.", "ds.")."""
    pieces: list[str] = []
    for sentence in split_sentences(clean_text(lx.repair_mojibake(text)), "en"):
        pieces.extend(p for p in _PL_CAPITAL_SPLIT.split(sentence) if p.strip())
    merged: list[str] = []
    for piece in pieces:
        if merged and _PL_ABBREVIATION.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


@dataclass
class PolishSentence(SentenceMatch):
    """Matches of one Polish sentence (the reporting tail left out); ``hits``
    also holds ``weapon:<type>`` and ``action`` terms."""

    padded: str = ""
    foreign: list[str] = field(default_factory=list)
    origin: bool = False
    """Iraq is named only as the place an attack came from ("z Iraku")."""

    def types(self) -> list[str]:
        """Attack and weapon types matched, in codebook priority order."""
        kinds = {key.split(":", 1)[1] for key in self.hits if key.startswith(("attack:", "weapon:"))}
        if "projectile" in kinds:
            kinds.discard("projectile")
            kinds.add("mortar_artillery" if "mortar_artillery" in kinds else "rocket_missile")
        return [t for t in ATTACK_TYPES if t in kinds]

    @property
    def has_attack(self) -> bool:
        """An attack word proper ("atak", "nalot"), or a weapon word with an action word."""
        weapon = any(key.startswith("weapon:") for key in self.hits)
        return any(key.startswith("attack:") for key in self.hits) or (weapon and self.has("action"))

    def terms(self) -> list[str]:
        """Matched attack, weapon, casualty and foiled terms."""
        keys = [k for k in self.hits if k.startswith(("attack:", "weapon:", "casualty", "foiled"))]
        return list(dict.fromkeys(t for k in keys for t in self.hits[k]))


def match_polish_sentence(text: str, index: int = 0, is_title: bool = False) -> PolishSentence:
    """Match the Polish vocabulary in one sentence."""
    core = _ATTRIBUTION_TAIL.split(text, maxsplit=1)[0]
    padded = lx.normalize_polish(core)
    result = PolishSentence(index=index, text=text, is_title=is_title, padded=padded)
    matches = lx.iter_matches(padded)
    blocked = [(s, e) for s, e, entry in matches if entry.category == "blocked"]
    spans: list[tuple[int, int, Place | None]] = []
    for start, end, entry in matches:
        surface = padded[start:end].strip()
        if entry.category in ("place", "blocked_place"):
            spans.append((start, end, entry.place))
            continue
        if entry.category.startswith(("attack:", "weapon:")):
            if any(s <= start and end <= e for s, e in blocked) or _NEGATOR.search(padded[max(0, start - 30):start + 1]):
                continue
        if entry.category == "foreign" and _ORIGIN.search(padded[max(0, start - 25):start + 1]):
            continue
        if entry.category == "foreign":
            result.foreign.append(surface)
        elif entry.category != "blocked":
            result.hits.setdefault(entry.category, []).append(surface)
    located, origins = _resolve_places(padded, spans)
    result.places = located
    result.origin = bool(origins) and not located
    return result


def _resolve_places(padded: str, spans: list[tuple[int, int, Place | None]]) -> tuple[list[Place], list[Place]]:
    """Longest matches first (a blocked look-alike before a place of the same
    length); blocked look-alikes drop; "z Iraku" is an origin, not a location."""
    taken: list[tuple[int, int, Place | None]] = []
    for span in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0], s[2] is not None)):
        if all(span[1] <= t[0] or span[0] >= t[1] for t in taken):
            taken.append(span)
    located: list[Place] = []
    origins: list[Place] = []
    for start, _end, place in sorted(taken, key=lambda s: s[0]):
        if place is None:
            continue
        (origins if _ORIGIN.search(padded[max(0, start - 25):start + 1]) else located).append(place)
    return located, origins


def analyse_polish(title: str, text: str) -> list[PolishSentence]:
    """Match the title (sentence 0 when present) and every sentence of the text."""
    sentences: list[PolishSentence] = []
    title = clean_text(lx.repair_mojibake(title or "")).strip()
    if title:
        sentences.append(match_polish_sentence(title, 0, True))
    for sentence in split_polish_sentences(text or ""):
        sentences.append(match_polish_sentence(sentence, len(sentences), False))
    return sentences


# Sentence rule


def _is_old(sentence: PolishSentence, article: dt.date | None) -> bool:
    """A year before the article's (any year when the article is undated)."""
    years = [int(y) for y in _YEAR.findall(sentence.text)]
    if article is None:
        return bool(years)
    return any(year < article.year for year in years)


def find_exclusion(sentence: PolishSentence, article: dt.date | None) -> str:
    """Why a sentence holding an attack and Iraq is no report ("" when it is one)."""
    relief = sentence.has("casualty") or sentence.has("foiled")
    if sentence.has("threat"):
        return "threat or statement"
    if sentence.has("negative"):
        return "not an attack report (" + sentence.hits["negative"][0] + ")"
    if sentence.has("accident") and not [t for t in sentence.types() if t != "other"]:
        return "accident (" + sentence.hits["accident"][0] + ")"
    if sentence.has("soft_negative") and not relief:
        return "diplomacy or arrest (" + sentence.hits["soft_negative"][0] + ")"
    if sentence.has("background") or _is_old(sentence, article):
        return "background"
    if sentence.has("tally") or _COUNTED.search(sentence.padded):
        return "running count"
    attack_words = [t for k, v in sentence.hits.items() if k.startswith("attack:") for t in v]
    if not sentence.is_title and attack_words and all(lx.HABITUAL.fullmatch(t) for t in attack_words) and not relief:
        return "habitual present tense"
    if sentence.foreign:
        if not _co_located(sentence):
            return "" if sentence.iraq_places else "foreign: " + ", ".join(dict.fromkeys(sentence.foreign))
        if not is_concrete(sentence):
            return "attacks in Iraq and Syria with no specific incident"
    return ""


def _co_located(sentence: PolishSentence) -> bool:
    """Every foreign place is Syria named beside Iraq ("w Iraku i Syrii")."""
    syria_only = all(re.fullmatch(lx.CO_THEATRE, term) for term in sentence.foreign)
    return syria_only and bool(_CO_LOCATED.search(sentence.padded))


def is_concrete(sentence: PolishSentence) -> bool:
    """A casualty figure, a count of targets hit, a place inside a governorate,
    a day, or a named attacker acting ("Turcja przeprowadziła naloty")."""
    killed, wounded = extract_casualties([sentence.text])
    if killed or wounded or sentence.iraq_places or _day_of(sentence.padded) or _TARGET_COUNT.search(sentence.padded):
        return True
    return bool(_acting_actor(sentence))


def assess(sentence: PolishSentence, article: dt.date | None) -> tuple[bool, str]:
    """``(counts, reason)``: whether the sentence reports an attack in Iraq."""
    if not sentence.has_attack:
        return False, "no attack term"
    if not sentence.in_iraq:
        return False, "launched from Iraq" if sentence.origin else "no place in Iraq"
    reason = find_exclusion(sentence, article)
    return not reason, reason


def score_article(sentences: list[PolishSentence], article: dt.date | None) -> tuple[str, list[PolishSentence], list[tuple[str, str]]]:
    """The rule that holds (a key of :data:`RULES`), its evidence sentences and
    the excluded candidate sentences with their reasons."""
    verdicts = [assess(s, article) for s in sentences]
    hits = [s for s, (ok, _) in zip(sentences, verdicts) if ok]
    excluded = [(s.text, why) for s, (ok, why) in zip(sentences, verdicts) if not ok and s.has_attack and s.in_iraq]
    title = sentences[0] if sentences and sentences[0].is_title else None
    body = [s for s in sentences if not s.is_title]
    lead = body[0] if body else None
    front = [s for s in hits if s.is_title or s is lead]
    if hits and choose_attack_type(hits) == "" and any(s.has("accident") for s in sentences):
        # an explosion of unknown kind in an article that speaks of an accident
        excluded += [(s.text, "explosion reported as an accident") for s in hits]
        return "excluded", [], excluded
    if front:
        return "title_or_lead", hits, excluded
    if title is not None and lead is not None and _title_with_lead(title, lead, article):
        return "title_with_lead", [title, lead], excluded
    specific = [s for s in hits if s.iraq_places or is_concrete(s)]
    if specific:
        return "later_specific", hits, excluded
    if hits:
        return "later_generic", hits, excluded
    return ("excluded" if excluded else "none"), [], excluded


def _title_with_lead(title: PolishSentence, lead: PolishSentence, article: dt.date | None) -> bool:
    """An attack in one of title and lead and Iraq in the other, neither excluded
    nor foreign ("Nieudany atak drona na koszary" + "Dron w Iraku …"). The
    half naming Iraq must name a place inside a governorate or speak of the
    attack too (a weapon, casualties): "Sprawcą jest obywatel Iraku" is no place."""
    for attack, place in ((title, lead), (lead, title)):
        if not attack.has_attack or attack.in_iraq or attack.foreign or attack.origin:
            continue
        if not place.in_iraq or place.foreign or find_exclusion(attack, article) or find_exclusion(place, article):
            continue
        if place.iraq_places or place.terms():
            return True
    return False


# Incident fields


_NUMBER_WORDS = {lx.fold(k): v for k, v in lx.NUMBERS.items()}
_NUM = r"(\d+|" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True)) + r")(?!\w)(?: (" + "|".join(
    k for k, v in _NUMBER_WORDS.items() if v < 10
) + r")(?!\w))?"
_QUAL = r"(?:(?:co najmniej|przynajmniej|ponad|okolo|niemal|prawie|blisko|nawet|az|do|kolejn\w+|jeszcze|prawdopodobnie) )?"
_NOT_PEOPLE = (
    r"(?! (?:dron|rakiet|pocisk|bomb|samolot|mysliwc|ladun|granat|raz|dni|dzien|lat|rok|godzin|tygodni|miesi|km|kilometr|metr|proc|"
    r"letn|latk|tys|mln|stanowisk|cel|baz|" + "|".join(_MONTH_NAMES) + r"))"
)
_TARGET_COUNT = re.compile(r" " + _NUM + r"(?: \w+)? (?:cel(?:e|ow)|stanowisk\w*|obiekt\w*|pozycj\w*|kryjowek|magazyn\w*)(?= )")
_GAP = r"(?: (?!(?:\d+|zgin\w*|rann\w*|zabit\w*|" + "|".join(_NUMBER_WORDS) + r")(?= ))\w+){0,4}?"
"""Up to four words between a figure and its casualty word, none of them another figure."""
_KILLED = [
    re.compile(r" " + _NUM + _NOT_PEOPLE + _GAP + r" (?:zgin\w*|zabit\w*|zabici|nie zyj\w*|poleg\w*|zmarl\w*|ofiar\w* smierteln\w*)"),
    re.compile(r" (?:zgin\w*|nie zyj\w*|zabil\w*|zabito|zabijajac\w*|smierc poniosl\w*|poleglo|polegli|zmarlo)(?: \w+){0,3}? " + _QUAL + _NUM + _NOT_PEOPLE),
    re.compile(r" " + _NUM + r" (?:zabitych|ofiar smiertelnych|ofiar)(?= )"),
]
_WOUNDED = [
    re.compile(r" " + _NUM + _NOT_PEOPLE + _GAP + r" (?:rann\w*|odnios\w* obrazen\w*|poszkodowan\w*)"),
    re.compile(r" (?:rann\w*|raniac\w*|ranil\w*|ranion\w*|obrazen\w*(?: \w+)? odnios\w*|urazy(?: \w+)? odnios\w*)(?: \w+){0,3}? " + _QUAL + _NUM + _NOT_PEOPLE),
]
_SINGLE_KILLED = re.compile(
    r"(?<! nie) (?:zginal|zginela|zostal zabity|zostala zabita|zabity zostal|zostal zastrzelony|zostala zastrzelona|zmarl|zmarla)(?= )"
    r"| (?:zabil\w*|zabito|zastrzelil\w*|zastrzelono) (?:\w+ )?(?:dowodce|przywodce|szefa|lidera|komendanta|polityka|dziennikarza|"
    r"policjanta|zolnierza|funkcjonariusza|oficera|mezczyzne|kobiete)(?= )"
)
_NONE = re.compile(
    r" (?:nikt nie zginal|nikt nie zostal rann\w*|nie bylo ofiar|bez ofiar|nie ma ofiar|nie odnotowano ofiar|obylo sie bez ofiar|"
    r"nie ma rannych|nie bylo rannych|brak ofiar|nikt nie ucierpial|nie ucierpial)"
)


def parse_polish_number(first: str, second: str | None = None) -> int | None:
    """Value of "24", "dwudziestu" or "dwudziestu czterech" (folded words)."""
    value = int(first) if first.isdigit() else _NUMBER_WORDS.get(first)
    if value is None:
        return None
    if second and value >= 20 and value % 10 == 0:
        value += _NUMBER_WORDS.get(second, 0)
    return value if value < 100000 and not 1900 <= value <= 2100 else None


def _highest(patterns: list[re.Pattern[str]], padded: str) -> int | None:
    """Largest figure captured by ``patterns``."""
    values = [parse_polish_number(m.group(1), m.group(2)) for p in patterns for m in p.finditer(padded)]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def extract_casualties(texts: list[str]) -> tuple[int | None, int | None]:
    """``(killed, wounded)``: highest figures given, 0 when "no victims" is said, else None."""
    killed: int | None = None
    wounded: int | None = None
    none_said = False
    for text in texts:
        padded = lx.normalize_polish(text)
        k = _highest(_KILLED, padded)
        if k is None and _SINGLE_KILLED.search(padded):
            k = 1
        w = _highest(_WOUNDED, padded)
        none_said = none_said or bool(_NONE.search(padded))
        killed = k if killed is None else max(killed, k or 0)
        wounded = w if wounded is None else max(wounded, w or 0)
    if none_said:
        killed, wounded = killed or 0, wounded or 0
    return killed, wounded


def _day_of(padded: str) -> str:
    """The incident day a sentence names ("wtorek", "wczoraj"), reporting days left out."""
    padded = _REPORTING_DAY.sub(" ", padded)
    if " wczoraj " in padded or re.search(r" (?:zeszlej|ostatniej|minionej) nocy ", padded):
        return "wczoraj"
    weekday = _WEEKDAYS.search(padded)
    return weekday.group(1) if weekday else ""


def resolve_polish_date(sentences: list[PolishSentence], article: dt.date | None) -> str | None:
    """Incident day from "24 października", "we wtorek", "wczoraj"; else the article's date."""
    if article is None:
        return None
    for sentence in sentences:
        for match in _MONTH_DATE.finditer(sentence.padded):
            month = _MONTH_NAMES.index(match.group(2)) + 1
            try:
                date = dt.date(int(match.group(3) or article.year), month, int(match.group(1)))
            except ValueError:
                continue
            if 0 <= (article - date).days <= 10:
                return date.isoformat()
        day = _day_of(sentence.padded)
        if day == "wczoraj":
            return (article - dt.timedelta(days=1)).isoformat()
        if day:
            return (article - dt.timedelta(days=(article.weekday() - _WEEKDAY_NUMBER[day]) % 7)).isoformat()
    return article.isoformat()


_BOMB = re.compile(r" bomb(?!ard)\w*| zamach\w* bombow\w*")
_EXPLOSION = re.compile(r" (?:wybuch\w*|eksploz\w*|eksplod\w*|detonac\w*|zdetonowa\w*|wysadz\w*)")
_ASSAULT = re.compile(r" (?:atak\w*|zaatakowa\w*|zamach\w*|uderz\w*)")
_TURKISH = re.compile(r" (?:turcj\w*|tureck\w*|ankar\w*)(?= )")


def choose_attack_type(sentences: list[PolishSentence]) -> str:
    """Codebook attack type: the highest-priority specific type of the incident,
    else from the generic words (a bomb is an ``ied``, a Turkish raid an
    ``air_strike``, an attack an ``armed_assault``, an explosion of unknown kind "")."""
    present = {t for s in sentences for t in s.types()}
    for attack_type in ATTACK_TYPES:
        if attack_type in present and attack_type != "other":
            return attack_type
    text = " ".join(s.padded for s in sentences)
    if _TURKISH.search(text):
        return "air_strike"
    if _BOMB.search(text):
        return "ied"
    if _ASSAULT.search(text):
        return "armed_assault"
    return "" if _EXPLOSION.search(text) else "other"


def choose_target(sentences: list[PolishSentence]) -> str:
    """Codebook target: the first category of :data:`lexicon_pl.TARGETS` matched."""
    for name, _terms in lx.TARGETS:
        if any(s.has(f"target:{name}") for s in sentences):
            return lx.TARGET_ALIASES.get(name, name)
    return "other"


def choose_actor(sentences: list[PolishSentence]) -> str:
    """Who claimed the attack or was blamed for it: an actor in a sentence with
    claim wording ("przyznała się", "odpowiedzialność za"), or the subject of an
    attack verb ("Turcja zbombardowała", "Myśliwce USA zaatakowały")."""
    order = [name for name, _ in lx.ACTORS]
    for sentence in sentences:
        actors = sorted({k.split(":", 1)[1] for k in sentence.hits if k.startswith("actor:")}, key=order.index)
        if "pro-Iran factions" in actors:
            actors = [a for a in actors if a != "Iran"]
        if actors and sentence.has("claim"):
            return actors[0]
        acting = _acting_actor(sentence)
        if acting:
            return acting
    return ""


def _acting_actor(sentence: PolishSentence) -> str:
    """The actor that is the subject of an attack verb ("Myśliwce USA zaatakowały"), or ""."""
    for name, _terms in lx.ACTORS:
        for term in sentence.hits.get(f"actor:{name}", []):
            if re.search(" " + re.escape(term) + r"(?: \w+){0,2}? " + lx.ATTACK_VERBS, sentence.padded):
                return name
    return ""


def is_foiled(sentences: list[PolishSentence]) -> bool:
    """Thwarted and nothing of it hit (a dud that struck the barracks is not foiled)."""
    return any(s.has("foiled") for s in sentences) and not any(s.has("impact") for s in sentences)


@dataclass
class _Draft:
    """An incident under construction."""

    sentences: list[PolishSentence]
    governorate: str = ""

    def accepts(self, sentence: PolishSentence) -> bool:
        """Same governorate (or none named) and compatible attack types."""
        governorates = {p.governorate for p in sentence.iraq_places}
        if self.governorate and governorates and self.governorate not in governorates:
            return False
        mine = [t for s in self.sentences for t in s.types() if t != "other"]
        theirs = [t for t in sentence.types() if t != "other"]
        return not mine or not theirs or bool(set(mine) & set(theirs))


def _supports(sentence: PolishSentence, article: dt.date | None) -> bool:
    """A sentence without a place that adds to the incident before it (casualties, a claim)."""
    useful = sentence.has_attack or sentence.has("casualty") or sentence.has("foiled") or sentence.has("claim")
    return useful and not sentence.foreign and not sentence.iraq_places and not find_exclusion(sentence, article)


def extract_polish_incidents(sentences: list[PolishSentence], evidence: list[PolishSentence], article: dt.date | None) -> list[dict]:
    """Codebook incident dicts from the evidence sentences and their supporting neighbours."""
    drafts: list[_Draft] = []
    chosen = {s.index for s in evidence}
    current: _Draft | None = None
    for sentence in sentences:
        if sentence.index in chosen:
            target = current if current is not None and current.accepts(sentence) else None
            target = target or next((d for d in drafts if d.accepts(sentence)), None)
            if target is None:
                target = _Draft(sentences=[])
                drafts.append(target)
            target.sentences.append(sentence)
            if not target.governorate and sentence.iraq_places:
                target.governorate = choose_place(sentence.iraq_places).governorate
            current = target
        elif current is not None and sentence.index <= current.sentences[-1].index + 2 and _supports(sentence, article):
            current.sentences.append(sentence)
    title = sentences[0] if sentences and sentences[0].is_title else None
    if drafts and title is not None and title.index not in chosen and (title.has_attack or title.has("casualty")) and not title.foreign:
        if not find_exclusion(title, article) and drafts[0].accepts(title):
            drafts[0].sentences.insert(0, title)
    return [_finalise(d, sentences, article) for d in drafts[:MAX_INCIDENTS]]


def _finalise(draft: _Draft, sentences: list[PolishSentence], article: dt.date | None) -> dict:
    """Turn a draft into a codebook incident dict."""
    draft.sentences.sort(key=lambda s: s.index)
    place = choose_place([p for s in draft.sentences for p in s.iraq_places])
    if place is None:
        fallback = [p for s in sentences[:2] for p in s.iraq_places]
        place = choose_place(fallback) if len({p.governorate for p in fallback}) == 1 else None
    killed, wounded = extract_casualties([s.text for s in draft.sentences])
    return {
        "date": resolve_polish_date(draft.sentences, article),
        "governorate": place.governorate if place else "",
        "place": place.name if place else "",
        "attack_type": choose_attack_type(draft.sentences),
        "target": choose_target(draft.sentences),
        "killed": killed,
        "wounded": wounded,
        "foiled": is_foiled(draft.sentences),
        "claimed_by": choose_actor(draft.sentences),
        "evidence": [s.text for s in draft.sentences],
    }


# Decision


def detect_polish(title: str, text: str, date: str | None) -> dict:
    """Decide on a Polish article: the keyword rule, its fixed score and the incidents.

    Returns the keyword arguments of :class:`detector.core.Detection`:
    ``flagged``, ``score``, ``why``, ``incidents`` and ``explanation`` (with
    ``language``, ``terms``, ``places``, ``sentences``, ``foreign``,
    ``background_sentences``, ``rule_contributions``, ``score``, ``threshold``,
    ``rule`` and ``excluded``).
    """
    article = parse_article_date(date)
    sentences = analyse_polish(title, text)
    rule, evidence, excluded = score_article(sentences, article)
    score, wording = RULES[rule]
    flagged = score >= THRESHOLD
    incidents = extract_polish_incidents(sentences, evidence, article) if flagged else []
    terms = list(dict.fromkeys(t for s in evidence for t in s.terms()))
    places = list(dict.fromkeys(p.name for s in evidence for p in s.places))
    foreign = list(dict.fromkeys(t for s in sentences for t in s.foreign))
    verdict = "attack in Iraq" if flagged else "not an Iraq attack report"
    parts = [f"{verdict} (score {score:.2f}, threshold {THRESHOLD:.2f})", "Polish rule: " + wording]
    if terms:
        parts.append("terms: " + ", ".join(terms[:6]))
    if places:
        parts.append("places: " + ", ".join(places[:4]))
    if excluded and not flagged:
        parts.append("excluded: " + ", ".join(dict.fromkeys(why for _, why in excluded)))
    explanation = {
        "language": "pl",
        "terms": terms,
        "places": places,
        "sentences": [s.text for s in evidence[:MAX_EVIDENCE]],
        "foreign": foreign,
        "background_sentences": sum(s.has("background") for s in sentences),
        "rule_contributions": [(rule, score)],
        "score": score,
        "threshold": THRESHOLD,
        "rule": rule,
        "excluded": [{"sentence": sentence, "reason": why} for sentence, why in excluded[:MAX_EVIDENCE]],
    }
    return {"flagged": flagged, "score": score, "why": "; ".join(parts), "incidents": incidents, "explanation": explanation}
