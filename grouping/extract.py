"""Read the grouping signature of each incident an article reports.

The detector gives each flagged article its incidents (date, governorate,
place, attack type, target, casualties, claim). Grouping needs a little more
than that, and needs it for every flagged article:

* a **date window** - the day of the attack with ACLED's tolerance, widened
  for "last week" or "in March", or the days before publication when no date
  is given (late reports);
* the **place** resolved against the gazetteer (site > district > city >
  governorate), which is what makes an English and an Arabic report comparable;
* the **attack types** and the **side** of the target (a militia rocket attack
  on a base and the US strike that answers it are two events);
* the **clues**, distinctive details in any language (barracks, a dud) that
  match a report to the same attack told in another language or weeks later.

:func:`read_incidents` takes the detector's incidents and fills the fields
it left empty from the text (a type, place or toll that the text gives
another incident, or does not support, is not taken); when the detector
returned none (an article flagged by hand, or in a language it does not
extract), the incidents are read from the text alone by
:func:`extract_incidents`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from grouping import vocab
from grouping.text import normalise_text, read_article_text

LOGGER = logging.getLogger(__name__)

IRAQ_TZ = timezone(timedelta(hours=3))
UNDATED_LOOKBACK_DAYS = 2
UNCUED_KINDS = ("armed_assault",)  # detector attack types taken only when the text cues them too
WEEK_LOOKBACK_DAYS = 10

WEEKDAYS = {
    0: ("monday", "الاثنين", "poniedzialek", "poniedzialku", "lundi", "montag"),
    1: ("tuesday", "الثلاثاء", "wtorek", "wtorku", "mardi", "dienstag"),
    2: ("wednesday", "الاربعاء", "sroda", "srode", "srody", "mercredi", "mittwoch"),
    3: ("thursday", "الخميس", "czwartek", "czwartku", "jeudi", "donnerstag"),
    4: ("friday", "الجمعه", "piatek", "piatku", "vendredi", "freitag"),
    5: ("saturday", "السبت", "sobota", "sobote", "soboty", "samedi", "samstag"),
    6: ("sunday", "الاحد", "niedziela", "niedziele", "niedzieli", "dimanche", "sonntag"),
}
MONTHS = {
    1: ("january", "jan", "يناير", "كانون الثاني", "stycznia", "styczniu", "janvier", "januar"),
    2: ("february", "feb", "فبراير", "شباط", "lutego", "lutym", "fevrier", "februar"),
    3: ("march", "mar", "مارس", "اذار", "marca", "marcu", "mars", "marz"),
    4: ("april", "apr", "ابريل", "نيسان", "kwietnia", "kwietniu", "avril"),
    5: ("may", "مايو", "ايار", "maja", "maju", "mai"),
    6: ("june", "jun", "يونيو", "حزيران", "czerwca", "czerwcu", "juin", "juni"),
    7: ("july", "jul", "يوليو", "تموز", "lipca", "lipcu", "juillet", "juli"),
    8: ("august", "aug", "اغسطس", "اب", "sierpnia", "sierpniu", "aout"),
    9: ("september", "sept", "sep", "سبتمبر", "ايلول", "wrzesnia", "wrzesniu", "septembre"),
    10: ("october", "oct", "اكتوبر", "تشرين الاول", "pazdziernika", "pazdzierniku", "octobre", "oktober"),
    11: ("november", "nov", "نوفمبر", "تشرين الثاني", "listopada", "listopadzie", "novembre"),
    12: ("december", "dec", "ديسمبر", "كانون الاول", "grudnia", "grudniu", "decembre", "dezember"),
}
TODAY = ("today", "this morning", "tonight", "earlier today", "اليوم", "فجر اليوم", "dzisiaj", "dzis", "aujourd hui")
YESTERDAY = ("yesterday", "last night", "overnight", "late on", "امس", "البارحه", "ليله امس", "wczoraj",
             "ubieglej nocy", "hier")
LAST_WEEK = ("last week", "past week", "this week", "the week", "w zeszlym tygodniu", "w ubieglym tygodniu",
             "la semaine derniere", "الاسبوع الماضي")
BACKGROUND = ("since", "od", "منذ", "depuis", "seit")
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "dozen": 12, "a dozen": 12, "two dozen": 24, "dozens": 24, "several": 3,
}
NUMBER = r"(?<!\w)(\d{1,4}|two dozen|a dozen|dozens|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several)(?!\w)"
KILLED_RE = re.compile(
    NUMBER + r" (?:\w+ ){0,3}(?:were |was |have been |had been )?(?:killed|dead|died|deaths)|"
    r"(?:killing|killed|kills|killed at least|killing at least) (?:at least )?" + NUMBER + r"(?! (?:injur|wound))|"
    r"(\d{1,4}) (?:\w+ ){0,2}(?:zabit\w*|zgin\w*|قتيل\w*|قتلى)"
)
WOUNDED_RE = re.compile(
    NUMBER + r" (?:\w+ ){0,4}(?:were |was |have been |had been )?(?:wounded|injured|hurt|injuries)|"
    r"(?:injuring|wounding|injured|wounded) (?:at least )?" + NUMBER + r"(?! (?:kill|dead))|"
    r"(\d{1,4}) (?:\w+ ){0,3}(?:rannych|rannymi|جريح\w*|مصاب\w*)|(?:rannych|ranny) (?:\w+ ){0,3}(\d{1,4})"
)
CAPTION_RE = re.compile(r"[^.]*(?:Getty Images|AP Photo|/AFP|via Reuters|/Reuters|/EPA|Photo:)[^.]*\)?\.?")
PHOTO_CREDIT_RE = re.compile(r"\((?:[^()]{0,80}/)?(?:Getty Images|AP Photo|AFP|Reuters|EPA|U\.S\. \w+(?: \w+)?)[^()]{0,60}\)\s*$")
WOUNDED_CUE_RE = re.compile(
    r"(?<!\w)(?:hurt|injur\w*|wound\w*|casualt\w*|rann\w*|blesse\w*|verletz\w*|جرح\w*|اصاب\w*|مصاب\w*)(?!\w)"
)
NO_CASUALTY_RE = re.compile(r"(?<!\w)(?:no|without|not cause any|caused no|bez) (?:\w+ ){0,2}(?:casualt|injur|damage|ofiar)")
ROUNDUP_RE = re.compile(
    r"(?<!\w)(?:bases|airbases|air bases|positions|facilities|two sites|separate (?:attack|incident|strike)\w*|series of|bazy|baz|bases|"
    r"\w+ times|several attacks|multiple attacks|a spate|in separate incidents|"
    r"(?:iraq|syria) and (?:iraq|syria)|(?:iraq|syria) (?:iraq|syria) and|w (?:iraku|syrii) i (?:iraku|syrii))(?!\w)"
)
FRESH_RE = re.compile(
    r"(?<!\w)(?:new|another|fresh|further|second|more|latest|kolejn\w*|nowe?\w*|nouvel\w*|neue\w*) (?:\w+ ){0,2}?"
    r"(?:attack|strike|airstrike|air strike|raid|drone|rocket|missile|bomb|blast|assault|ataki?|atak\w*|nalot\w*|"
    r"frappe|angriff)\w*|(?:targeted|attacked|hit|struck) again"
)
REGION_RE = re.compile(
    r"(?<!\w)(?:(?:military |air |us |american |coalition )?(?:base|airbase|facility|position|garrison)s?) "
    r"(?:\w+ ){0,3}?in (?:the )?(north|west|south|east|central|northern|western|southern|eastern)\w* iraq"
)
VAGUE_OBJECT_RE = re.compile(
    r"(?<!\w)(?:targeted|attacked|struck|hit|hitting|targeting) (?:\w+ ){0,2}?"
    r"(?:us|u s|american|coalition) (?:positions|bases|troops|forces) in iraq(?!\w)(?! and syria)"
)
REGIONS = {
    "north": ("Nineveh", "Erbil", "Duhok", "Sulaymaniyah", "Kirkuk", "Halabja", "Salah al-Din"),
    "west": ("Anbar",),
    "south": ("Basra", "Maysan", "Dhi Qar", "Muthanna", "Najaf", "Qadisiyah", "Karbala", "Babil", "Wasit"),
    "central": ("Baghdad", "Diyala", "Babil", "Wasit", "Salah al-Din"),
    "east": ("Diyala", "Wasit", "Maysan", "Sulaymaniyah"),
}
# what an air strike used and what it hit: two strikes with conflicting details are two events
STRIKE_DETAILS = {
    "gunship": re.compile(r"(?<!\w)(?:gunship\w*|ac 130\w*)(?!\w)"),
    "jet": re.compile(r"(?<!\w)(?:fighter (?:jet|aircraft|plane)\w*|warplane\w*|f 1[56]\w*|mysliwc\w*|avions? de chasse|kampfjet\w*)(?!\w)"),
    "vehicle": re.compile(r"(?<!\w)(?:vehicle\w*|truck\w*|car|convoy\w*|pojazd\w*|samochod\w*)(?!\w)"),
    "facility": re.compile(r"(?<!\w)(?:operations? cent\w*|headquarters|facilit\w*|depot\w*|warehouse\w*|command cent\w*|positions|stanowisk\w*|pozycj\w*)(?!\w)"),
}
DETAIL_CONFLICTS = (frozenset({"gunship", "jet"}), frozenset({"vehicle", "facility"}))
FOREIGN_RE = re.compile(r"(?<!\w)(?:syria\w*|yemen\w*|lebanon|lebanese|israel\w*|gaza|red sea|syrii|syrie|سوري\w*|اليمن)(?!\w)")
REPORTED_RE = re.compile(
    r"(?:revealed|said|says|told|announced|reported|confirmed|statement|ujawnil\w*|poinformowal\w*|podal\w*) "
    r"(?:\w+ ){0,4}$"
)
STATEMENT_RE = re.compile(r" (?:statement|briefing|interview|press conference|news conference)")
DATELINE_RE = re.compile(r"^\s*[A-Z][A-Z .'/-]{2,40}:\s+")
SENTENCE_RE = re.compile(r"(?<=[.!?؟])\s+|\n+")
STATE_STRIKERS = ("us ", "u s ", "american", "turkish", "turkey", "israeli", "iranian", "coalition", "pentagon",
                  "امريكي", "تركي", "usa ", "amerykansk", "tureck")


@dataclass
class Signature:
    """What grouping compares: one incident as reported by one article."""

    date: date | None
    precision: str  # day | approximate | month | unknown
    date_lo: date
    date_hi: date
    governorate: str | None = None
    place: str | None = None
    place_rank: int = 0
    attack_types: tuple[str, ...] = ()
    target: str | None = None
    killed: int | None = None
    wounded: int | None = None
    claimed_by: str | None = None
    foiled: bool = False
    evidence: list[str] = field(default_factory=list)
    mentions: tuple[str, ...] = ()  # every gazetteer place the report names
    injured: bool = False  # the report says people were hurt (with or without a figure)
    roundup: bool = False  # the report tells of several attacks at once (plural bases, "series of")
    fresh: bool = False  # the report presents the attack as a new one ("another", "new", "fresh")
    region: str | None = None  # north | west | south | east | central, for "a base in northern Iraq"
    details: tuple[str, ...] = ()  # air strikes: platform and object (gunship, jet, vehicle, facility)
    clues: tuple[str, ...] = ()  # distinctive details in any language ("barracks", "dud"): see vocab.CLUE_CUES

    @property
    def side(self) -> str | None:
        """``state`` for strikes by states on armed groups, ``armed_group`` for attacks on forces."""
        if not self.attack_types:
            return None
        if set(self.attack_types) == {"air_strike"} or (self.target in ("pmf", "other") and "air_strike" in self.attack_types):
            return "state"
        return "armed_group"

    @property
    def codable(self) -> bool:
        """False for a feature's summary ("clashes have picked up in recent weeks"): a round-up of the past
        weeks with no toll. It may join the incidents it fits but neither starts nor completes one."""
        return not (self.roundup and self.precision == "approximate" and not (self.killed or self.wounded))

    def to_incident(self) -> dict[str, Any]:
        """Return the codebook incident dict of this signature."""
        return {
            "date": self.date.isoformat() if self.date and self.precision != "month" else
            (self.date.strftime("%Y-%m") if self.date else None),
            "governorate": self.governorate, "place": self.place,
            "attack_type": self.attack_types[0] if self.attack_types else None,
            "target": self.target, "killed": self.killed, "wounded": self.wounded,
            "foiled": self.foiled, "claimed_by": self.claimed_by, "evidence": list(self.evidence),
        }


def parse_published(value: Any) -> datetime:
    """Return a publication time as an aware datetime (UTC when no offset; now when absent)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 12, tzinfo=timezone.utc)
    if value:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
            for fmt in ("%a, %d %b %Y %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        LOGGER.debug("unreadable publication date %r; using now", value)
    return datetime.now(timezone.utc)


def compile_words(words: tuple[str, ...]) -> re.Pattern[str]:
    return vocab.compile_terms(words)


WEEKDAY_RES = {day: compile_words(names) for day, names in WEEKDAYS.items()}
MONTH_RE = {month: compile_words(names) for month, names in MONTHS.items()}
TODAY_RE, YESTERDAY_RE, LAST_WEEK_RE = compile_words(TODAY), compile_words(YESTERDAY), compile_words(LAST_WEEK)
MONTHS_AGO_RE = re.compile(r"(\w+) months? ago|(\w+) weeks? ago|(\w+) days? ago")


def is_background(text: str, start: int) -> bool:
    """Return True when the date at ``start`` follows 'since' (a tally, not the incident)."""
    before = text[max(0, start - 12) : start].split()
    return bool(before) and before[-1] in BACKGROUND


def resolve_date(text: str, published: datetime) -> tuple[date | None, str, date, date]:
    """Return (date, precision, window start, window end) of the incident told in ``text``.

    ``text`` is normalised. Weekdays resolve to the last such day on or before
    publication (Iraq time); explicit day-month dates to that day; "yesterday",
    "last night" to the day before; "last week" and "N months ago" to a wide
    window; no date at all to the days before publication (a late report).
    """
    ref = published.astimezone(IRAQ_TZ).date()
    candidates: list[tuple[int, date, str]] = []
    for month, pattern in MONTH_RE.items():
        for match in pattern.finditer(text):
            if is_background(text, match.start()) or REPORTED_RE.search(text[max(0, match.start() - 40) : match.start()]):
                continue
            year_after = re.match(r" \d{1,2} (\d{4})", text[match.end() :])
            if year_after and int(year_after.group(1)) not in (ref.year, ref.year - 1):
                continue
            after = re.match(r" (\d{1,2})(?!\d)", text[match.end() :])
            before = re.search(r"(?<!\d)(\d{1,2}) $", text[: match.start()])
            day = int((after or before).group(1)) if (after or before) else None
            year = ref.year if (month, day or 1) <= (ref.month, ref.day) else ref.year - 1
            if day and 1 <= day <= 31:
                try:
                    candidates.append((match.start(), date(year, month, day), "day"))
                except ValueError:
                    continue
            elif month != ref.month and len(match.group(0)) > 3:
                candidates.append((match.start(), date(year, month, 1), "month"))
    for weekday, pattern in WEEKDAY_RES.items():
        for match in pattern.finditer(text):
            if is_background(text, match.start()) or STATEMENT_RE.match(text[match.end() :]):
                continue
            if not REPORTED_RE.search(text[max(0, match.start() - 40) : match.start()]):
                candidates.append((match.start(), ref - timedelta(days=(ref.weekday() - weekday) % 7), "day"))
    for pattern, offset in ((TODAY_RE, 0), (YESTERDAY_RE, 1)):
        for match in pattern.finditer(text):
            candidates.append((match.start(), ref - timedelta(days=offset), "day"))
    ago = MONTHS_AGO_RE.search(text)
    if ago:
        word = next(g for g in ago.groups() if g)
        amount = int(word) if word.isdigit() else NUMBER_WORDS.get(word)
        if amount:
            unit = 30 if ago.group(1) else 7 if ago.group(2) else 1
            candidates.append((ago.start(), ref - timedelta(days=amount * unit), "approximate"))
    if candidates:
        days = [c for c in candidates if c[2] == "day"]
        pos, when, precision = min(days or candidates)
        if precision == "month":
            last = (when.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            return when, "month", when, last
        if precision == "approximate":
            spread = max(2, (ref - when).days // 4)
            return when, "approximate", when - timedelta(days=spread), min(ref, when + timedelta(days=spread))
        return when, "day", when - timedelta(days=1), when + timedelta(days=1)
    if LAST_WEEK_RE.search(text):
        return None, "approximate", ref - timedelta(days=WEEK_LOOKBACK_DAYS), ref
    return None, "unknown", ref - timedelta(days=UNDATED_LOOKBACK_DAYS), ref


def read_number(value: str | None) -> int | None:
    if not value:
        return None
    return int(value) if value.isdigit() else NUMBER_WORDS.get(value)


def find_casualties(text: str) -> tuple[int | None, int | None]:
    """Return the highest killed and wounded figures stated in normalised ``text``."""
    figures: list[int | None] = []
    for pattern in (KILLED_RE, WOUNDED_RE):
        values = [read_number(next((g for g in m.groups() if g), None)) for m in pattern.finditer(text)]
        values = [v for v in values if v is not None and v < 5000]
        figures.append(max(values) if values else None)
    return figures[0], figures[1]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_RE.split(text) if s.strip()]


def strip_dateline(text: str) -> str:
    return DATELINE_RE.sub("", text or "", count=1)


def extract_incidents(article: dict[str, Any]) -> list[Signature]:
    """Read the incidents of an article from its text alone (one per attack side and site)."""
    title = article.get("title") or ""
    body = strip_dateline(article.get("text") or "")
    if len(body) < 400 and PHOTO_CREDIT_RE.search(body):
        body = ""  # the description is only a photo caption
    body = CAPTION_RE.sub(" ", body)
    raw = read_article_text({"title": title, "text": body})
    text = normalise_text(raw)
    published = parse_published(article.get("date") or article.get("published"))
    when, precision, lo, hi = resolve_date(text, published)
    places = vocab.find_places(text, raw)
    armed_group = bool(vocab.compile_armed_group_cues().search(text))
    if armed_group:
        text = re.sub(r"(?<!\w)drone (strike\w*)", r"air \1", text)
    types = vocab.find_attack_types(text)
    killed, wounded = find_casualties(text)
    claim = vocab.find_claim(text)
    target = vocab.find_target(text)
    injured = bool(wounded) or (bool(WOUNDED_CUE_RE.search(text)) and not NO_CASUALTY_RE.search(text))
    details = tuple(name for name, pattern in STRIKE_DETAILS.items() if pattern.search(text))
    base = Signature(date=when, precision=precision, date_lo=lo, date_hi=hi, attack_types=tuple(types),
                     target=target, killed=killed, wounded=wounded, claimed_by=claim,
                     evidence=split_sentences(raw)[:2], injured=injured, roundup=bool(ROUNDUP_RE.search(text)),
                     fresh=bool(FRESH_RE.search(normalise_text(title))) or bool(FRESH_RE.search(text[:160])),
                     details=details, clues=tuple(vocab.find_clues(text)))
    reprisal = bool(vocab.compile_reprisal_cues().search(text))
    others = tuple(t for t in types if t != "air_strike")
    strike = "air_strike" in types and (armed_group or reprisal) and not is_foreign_strike(raw)
    if "air_strike" in types and not strike and (others or target in vocab.FORCE_TARGETS):
        base = replace(base, attack_types=others)
    if reprisal and "air_strike" not in types and target in vocab.FORCE_TARGETS:
        strike = True
    signatures: list[Signature] = []
    if strike and (others or reprisal):
        strike_target = "pmf" if target in (None, "us_coalition", "iraqi_security", "diplomatic") else target
        signatures.append(replace(base, attack_types=("air_strike",), target=strike_target, killed=None,
                                  wounded=None, claimed_by=None, injured=False))
        attack_target = "us_coalition" if re.search(r"\b(us|u s|american)\b", text) else target
        signatures.append(replace(base, attack_types=others, target=attack_target, killed=None, claimed_by=claim,
                                  details=()))
        if base.killed is not None:
            signatures[0].killed = base.killed
    else:
        signatures.append(base)
    if not any("air_strike" in sig.attack_types for sig in signatures):
        signatures = [replace(sig, details=()) for sig in signatures]
    mentions = tuple(dict.fromkeys(p.name for p in places))
    located = []
    for sig in signatures:
        split = split_by_objects(sig, text, raw) if sig.side != "state" else None
        located.extend(split if split else locate(sig, places, text))
    return [replace(sig, mentions=mentions) for sig in located]


def find_objects(text: str, raw: str | None = None) -> list[tuple[int, int, str, Any]]:
    """Return what the attacks told in ``text`` aimed at: (start, end, kind, value) in order.

    ``kind`` is ``site`` (a gazetteer site or district), ``region`` (an unnamed base
    "in northern Iraq") or ``vague`` ("US positions in Iraq").
    """
    objects: list[tuple[int, int, str, Any]] = []
    variants, place_re, _blocked = vocab.load_gazetteer()
    if place_re is not None:
        for match in place_re.finditer(text):
            place = variants.get(match.group(0))
            if (place is not None and place.rank >= 3 and vocab.is_named_place(match.group(0), raw)
                    and not vocab.is_metonym(text, match.end())):
                objects.append((match.start(), match.end(), "site", place))
    for match in REGION_RE.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        if any(start < match.start() <= end + 12 for start, end, kind, _ in objects if kind == "site"):
            continue  # "the al Asad airbase in western Iraq": the region describes the named site
        if re.search(r"(?:asad|harir|airport|base) ?$", before):
            continue
        region = match.group(1)
        region = {"northern": "north", "western": "west", "southern": "south", "eastern": "east"}.get(region, region)
        objects.append((match.start(), match.end(), "region", region))
    for match in VAGUE_OBJECT_RE.finditer(text):
        objects.append((match.start(), match.end(), "vague", None))
    return sorted(objects, key=lambda o: o[0])


def split_by_objects(sig: Signature, text: str, raw: str | None = None) -> list[Signature] | None:
    """Split a round-up into one signature per distinct object attacked, or return None.

    "Two drones targeted the al Asad airbase in western Iraq and one drone
    targeted a base in northern Iraq" is two incidents; so is "drones targeted
    US positions in Iraq, and two rockets were aimed at the Baghdad Diplomatic
    Support Center". Each part takes the attack types cued in its own clause.
    """
    objects = find_objects(text, raw)
    distinct: list[tuple[int, int, str, Any]] = []
    for obj in objects:
        start, end, kind, value = obj
        if kind == "site" and any(k == "site" and v.governorate == value.governorate for _, _, k, v in distinct):
            continue  # "the US embassy in Baghdad's Green Zone": one place, told two ways
        if kind == "region" and any(
            (k == "region" and v == value) or (k == "site" and v.governorate in REGIONS.get(value, ()))
            for _, _, k, v in distinct
        ):
            continue
        if kind == "vague" and any(k == "vague" for _, _, k, _ in distinct):
            continue
        distinct.append(obj)
    if len(distinct) < 2 or all(kind == "vague" for _, _, kind, _ in distinct):
        return None
    parts: list[Signature] = []
    previous_end = 0
    for index, (start, end, kind, value) in enumerate(distinct):
        clause_start = max(previous_end, text.rfind(" and ", previous_end, start), start - 120)
        clause = text[clause_start:end]
        types = tuple(t for t in vocab.find_attack_types(clause) if t in sig.attack_types) or sig.attack_types
        target = vocab.find_target(clause)
        target = target if target in (*vocab.FORCE_TARGETS, "diplomatic") else sig.target
        part = replace(sig, attack_types=types, target=target)
        if kind == "site":
            part = replace(part, governorate=value.governorate, place=value.name, place_rank=value.rank)
        elif kind == "region":
            part = replace(part, governorate=None, place=None, place_rank=0, region=value)
        else:
            part = replace(part, governorate=None, place=None, place_rank=0, roundup=True)
        parts.append(part)
        previous_end = end
    # a vague part ("US positions in Iraq") only stands for an incident of its own beside one named
    # object and when its kind of attack differs; beside two or more it is the round-up's summary
    vague = [p for p, obj in zip(parts, distinct) if obj[2] == "vague"]
    named = [p for p, obj in zip(parts, distinct) if obj[2] != "vague"]
    if vague and (len(named) >= 2 or vague[0].attack_types == named[0].attack_types):
        parts = named
    return parts if len(parts) >= 2 else None


def kind_count(objects: list[tuple[int, int, str, Any]], kind: str) -> int:
    return sum(1 for obj in objects if obj[2] == kind)


def is_foreign_strike(raw: str) -> bool:
    """Return True when every sentence cueing an air strike places it outside Iraq."""
    cue = vocab.load_attack_cues()["air_strike"]
    sentences = [normalise_text(s) for s in split_sentences(raw)]
    cued = [s for s in sentences if cue.search(s)]
    return bool(cued) and all(FOREIGN_RE.search(s) and "iraq" not in s for s in cued)


def locate(signature: Signature, places: list[vocab.Place], text: str) -> list[Signature]:
    """Give a signature its place; split it when distinct sites in different governorates are named."""
    if not places:
        return [signature]
    sites: dict[str, vocab.Place] = {}
    for place in places:
        if place.kind == "site" and place.governorate not in {p.governorate for p in sites.values()}:
            sites[place.name] = place
    if len(sites) >= 2 and signature.side != "state":
        return [replace(signature, governorate=p.governorate, place=p.name, place_rank=p.rank) for p in sites.values()]
    if signature.side == "state":
        places = [p for p in places if p.kind != "site"] or [p for p in places if p.kind == "governorate"]
        if not places:
            return [signature]
    best = max(places, key=lambda p: p.rank)
    if signature.side == "state" and len({p.governorate for p in places}) > 1:
        return [replace(signature, governorate=None, place=None)]
    governorates = {p.governorate for p in places}
    governorate = best.governorate if len(governorates) == 1 or best.rank > 1 else None
    return [replace(signature, governorate=governorate, place=best.name if governorate else None,
                    place_rank=best.rank if governorate else 0)]


def read_detection(detection: Any) -> tuple[bool, float, list[dict[str, Any]]]:
    """Return (flagged, score, incidents) of a detector result, its dict form, or None."""
    if detection is None:
        return False, 0.0, []
    if not isinstance(detection, dict):
        detection = detection.to_dict() if hasattr(detection, "to_dict") else vars(detection)
    incidents = detection.get("incidents") or []
    return bool(detection.get("flagged")), float(detection.get("score") or 0.0), [dict(i) for i in incidents]


def is_kind_supported(kind: str | None, sig: Signature, text: str | None = None) -> bool:
    """Return True when a detector's attack type can be the kind of the incident ``sig`` reads.

    An air strike is not the kind of an attack on forces (the text already
    told "troops targeted again after airstrikes" apart from the strikes), and
    an armed assault, a detector's reading of a bare "attacked", needs a cue of
    its own in the (normalised) text: gunmen, a clash, an ambush.
    """
    if not kind or kind == "other":
        return False
    if kind == "air_strike" and sig.target in vocab.FORCE_TARGETS:
        return False
    return not (kind in UNCUED_KINDS and text is not None and not vocab.load_attack_cues()[kind].search(text))


def enrich(sig: Signature, incident: dict[str, Any], published: datetime, text: str | None = None) -> Signature:
    """Return ``sig`` with the fields a detector incident states and the text (normalised) left empty."""
    sig = replace(sig, attack_types=tuple(sig.attack_types), evidence=list(incident.get("evidence") or sig.evidence))
    when = str(incident.get("date") or "")
    ref = published.astimezone(IRAQ_TZ).date()
    if sig.precision == "unknown" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
        day = date.fromisoformat(when)
        if day < ref - timedelta(days=1):  # the detector's default is the publication day
            sig.date, sig.precision = day, "day"
            sig.date_lo, sig.date_hi = day - timedelta(days=1), day + timedelta(days=1)
    known = vocab.load_gazetteer()[0].get(normalise_text(incident.get("place") or ""))
    if incident.get("governorate") in vocab.GOVERNORATES and sig.side != "state":
        if known and known.governorate == incident["governorate"] and known.rank >= sig.place_rank:
            sig.governorate, sig.place, sig.place_rank = known.governorate, known.name, known.rank
        elif not sig.governorate and known:
            sig.governorate, sig.place, sig.place_rank = known.governorate, known.name, known.rank
    kind = incident.get("attack_type")
    if not sig.attack_types and is_kind_supported(kind, sig, text):
        sig.attack_types = (kind,)
    for key in ("killed", "wounded"):
        value = incident.get(key)
        if isinstance(value, int) and value > 0 and (getattr(sig, key) or 0) < value:
            setattr(sig, key, value)
    sig.foiled = sig.foiled or bool(incident.get("foiled"))
    return sig


def pair_incident(incident: dict[str, Any], signatures: list[Signature]) -> int | None:
    """Return the index of the text signature a detector incident describes, or None."""
    kind = incident.get("attack_type")
    target = incident.get("target")
    for index, sig in enumerate(signatures):
        if kind and kind != "other" and kind in sig.attack_types:
            return index
    for index, sig in enumerate(signatures):
        strike = sig.side == "state"
        if (kind == "air_strike") == strike and (target in vocab.FORCE_TARGETS) != strike:
            return index
    return 0 if len(signatures) == 1 else None


def read_incidents(article: dict[str, Any], incidents: list[dict[str, Any]]) -> list[Signature]:
    """Return the grouping signatures of a flagged article.

    The incidents read from the text give the structure (one per attack side
    and site, dates resolved against publication); each detector incident
    enriches the one it describes (place, type, casualties), and a typed
    detector incident that matches none of them is added as its own. A death
    toll the text gives a strike ("killing 3 militants after they fired on the
    base") is not also the toll of the attack it answers.
    """
    signatures = extract_incidents(article)
    published = parse_published(article.get("date") or article.get("published"))
    text = normalise_text(read_article_text(article))
    strike_tolls = {sig.killed for sig in signatures if sig.side == "state" and sig.killed}
    text_places = {sig.place for sig in signatures if sig.place}
    extra: list[Signature] = []
    for incident in incidents:
        index = pair_incident(incident, signatures)
        if index is not None:
            before = signatures[index]
            signatures[index] = enrich(before, incident, published, text)
            if not before.place and signatures[index].place in text_places:
                # the text put that place on another of its incidents ("drones on US positions, and
                # rockets at the Baghdad Diplomatic Support Center"): it is not this one's
                signatures[index] = replace(signatures[index], governorate=before.governorate, place=None,
                                            place_rank=before.place_rank)
        elif incident.get("attack_type") not in (None, "", "other"):
            sig = enrich(replace(signatures[0], attack_types=(), governorate=None, place=None, place_rank=0,
                                 killed=None, wounded=None, target=incident.get("target") or signatures[0].target),
                         incident, published, text)
            if sig.attack_types:
                extra.append(sig)
    return [replace(sig, killed=None) if sig.side != "state" and sig.killed in strike_tolls else sig
            for sig in signatures + extra]
