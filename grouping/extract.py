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
  on a base and the US strike that answers it are two events).

:func:`read_incidents` takes the detector's incidents and fills the fields
it left empty from the text; when the detector returned none (an article
flagged by hand, or in a language it does not extract), the incidents are
read from the text alone by :func:`extract_incidents`.
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
UNDATED_LOOKBACK_DAYS = 3
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
NUMBER = r"(\d{1,4}|two dozen|a dozen|dozens|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several)"
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
FOREIGN_RE = re.compile(r"(?<!\w)(?:syria\w*|yemen\w*|lebanon|lebanese|israel\w*|gaza|red sea|syrii|syrie|سوري\w*|اليمن)(?!\w)")
REPORTED_RE = re.compile(r"(?:revealed|said|announced|reported|confirmed|statement|ujawnil\w*) (?:\w+ ){0,2}$")
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

    @property
    def side(self) -> str | None:
        """``state`` for strikes by states on armed groups, ``armed_group`` for attacks on forces."""
        if not self.attack_types:
            return None
        if set(self.attack_types) == {"air_strike"} or (self.target in ("pmf", "other") and "air_strike" in self.attack_types):
            return "state"
        return "armed_group"

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
    body = CAPTION_RE.sub(" ", strip_dateline(article.get("text") or ""))
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
    base = Signature(date=when, precision=precision, date_lo=lo, date_hi=hi, attack_types=tuple(types),
                     target=target, killed=killed, wounded=wounded, claimed_by=claim,
                     evidence=split_sentences(raw)[:2])
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
                                  wounded=None, claimed_by=None))
        attack_target = "us_coalition" if re.search(r"\b(us|u s|american)\b", text) else target
        signatures.append(replace(base, attack_types=others, target=attack_target, killed=None, claimed_by=claim))
        if base.killed is not None:
            signatures[0].killed = base.killed
    else:
        signatures.append(base)
    mentions = tuple(dict.fromkeys(p.name for p in places))
    return [replace(located, mentions=mentions) for sig in signatures for located in locate(sig, places, text)]


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


def enrich(sig: Signature, incident: dict[str, Any], published: datetime) -> Signature:
    """Return ``sig`` with the fields a detector incident states and the text left empty."""
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
    if kind and kind != "other" and not sig.attack_types:
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
    detector incident that matches none of them is added as its own.
    """
    signatures = extract_incidents(article)
    published = parse_published(article.get("date") or article.get("published"))
    extra: list[Signature] = []
    for incident in incidents:
        index = pair_incident(incident, signatures)
        if index is not None:
            signatures[index] = enrich(signatures[index], incident, published)
        elif incident.get("attack_type") not in (None, "", "other"):
            sig = enrich(replace(signatures[0], attack_types=(), governorate=None, place=None, place_rank=0,
                                 killed=None, wounded=None), incident, published)
            sig.target = incident.get("target") or sig.target
            extra.append(sig)
    return signatures + extra
