"""Incident extraction: which sentences report which incidents, and their fields.

Incident sentences are sentences that contain attack vocabulary, are located
in Iraq (by name, or by the previous sentence or the title), name no foreign
place and are not background. Consecutive sentences about the same kind of
attack in the same governorate form one incident; supporting sentences
without a place (casualty figures, "one was dismantled") attach to the
neighbouring incident. Fields follow the codebook.

``killed`` and ``wounded`` follow the labels of the dev sets: the highest
figure given for that incident (its own sentences and a title about it), not
a round-up total over several places, days or operations ("At least 17 killed
in attacks near Baghdad and in Kirkuk", "مقتل العشرات ... في عمليات متفرقة");
the total is the fallback when no specific figure is given. A title or lead
saying "no casualties" gives 0 whatever later (background) sentences count.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from .context import SentenceContext, resolve_date
from .gazetteer import Place, choose_place
from .lexicon import ATTACK_TYPES, load_lexicon, target_priority
from .matcher import Analysis, SentenceMatch
from .normalize import normalize_arabic, normalize_for_matching

logger = logging.getLogger(__name__)

MAX_INCIDENTS = 6

_EN_UNITS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12, "dozens": 24, "scores": 40,
    "hundreds": 200, "several": 3, "a few": 3, "couple": 2, "a couple": 2, "both": 2, "twin": 2,
}
_EN_NUM = r"(\d[\d,]*|(?:a\s+)?(?:dozens?|hundreds?|scores|several|couple|a\s+few)|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|both|an?)"
_EN_QUAL = r"(?:at\s+least|more\s+than|over|about|around|nearly|almost|some|up\s+to|as\s+many\s+as|another)?\s*"
_EN_KILLED = [
    re.compile(_EN_QUAL + _EN_NUM + r"\s+(?:[\w'-]+\s+){0,5}?(?:people\s+)?(?:were\s+|was\s+|have\s+been\s+|had\s+been\s+|are\s+|being\s+)?(?:killed|dead|died|slain|massacred|shot\s+dead|lost\s+their\s+lives|martyred)\b"),
    re.compile(r"\b(?:killing|killed|kills|kill|leaving|left|claimed\s+the\s+lives\s+of|death\s+toll\s+(?:rose|rises|climbed|climbs|reached|stands|stood)\s+(?:to|at)|toll\s+of)\s+" + _EN_QUAL + _EN_NUM + r"\b"),
    re.compile(r"\b" + _EN_NUM + r"\s+(?:deaths|dead|fatalities|bodies|lives)\b"),
    re.compile(r"\b(?:killing|deaths?|murders?)\s+of\s+" + _EN_QUAL + _EN_NUM + r"\b"),
    re.compile(r"\b(?:shot|shoot|shoots|shooting|gunned|gun|guns|gunning)\s+(?:dead|down)\s+" + _EN_QUAL + _EN_NUM + r"\b"),
    re.compile(r"\b(?:shot|shooting|stabbed|beat|beating)\s+" + _EN_QUAL + _EN_NUM + r"\s+(?:[\w'-]+\s+){0,3}?to\s+death\b"),
    re.compile(r"\bclaim(?:s|ed|ing)?\s+(?:the\s+lives\s+of\s+)?" + _EN_QUAL + _EN_NUM + r"(?:\s+lives)?\b"),
]
# one victim: "was shot dead", "killing a policeman", "gunmen shoot dead an activist"
_EN_SINGLE_KILLED = re.compile(
    r"\b(?:was|has\s+been|had\s+been|is)\s+(?:\w+\s+)?(?:killed|shot\s+dead|gunned\s+down|assassinated|slain|murdered|beheaded|executed)\b"
    r"|\b(?:killing|killed|kills|kill|shot\s+dead|shoots?\s+dead|gunned\s+down|guns?\s+down|assassinated|assassinates?|murdered)\s+(?:an?|one)\s+(?!few\b|number\b|dozen\b|total\b|couple\b)"
    r"|\b(?:killing|assassination|murder)\s+of\s+(?:an?|one)\s+(?!few\b|number\b|dozen\b|total\b|couple\b)"
    r"|\b(?:an?|one)\s+(?!few\b|number\b|dozen\b|total\b|couple\b)(?:[\w'-]+\s+){0,4}?(?:was|has\s+been)\s+(?:\w+\s+)?(?:killed|shot\s+dead|gunned\s+down|slain)\b"
    r"|\b(?:shoots?|shot|gunned)\s+dead\b|\b(?:gunned|guns?)\s+down\b"
)
# figures that are not this incident's toll: tallies, ages
_EN_NOT_TOLL = re.compile(
    r"\b(?:since\s+(?:the\s+(?:start|beginning)|\d{4}|early|mid|late|last|then|(?:january|february|march|april|may|june|july|august|september|october|november|december)\b)|\w+\s+alone|so\s+far|this\s+year|last\s+year|in\s+recent\s+(?:years|months|weeks)|during\s+the\s+(?:unrest|protests|war|past)|"
    r"in\s+the\s+past\s+(?:\w+\s+)?(?:weeks?|months?|years?|days)|tally|according\s+to\s+(?:the\s+)?(?:u\s*n|united\s+nations|figures))\b"
)
_EN_OTHERS_KILLED = re.compile(r"\b" + _EN_QUAL + _EN_NUM + r"\s+others\s+(?:were\s+|have\s+been\s+)?(?:also\s+)?(?:killed|died|dead)\b")
_EN_AGE = re.compile(r",\s*(?:aged\s+)?\d{1,3}\s*,|\b\d{1,3}[\s-]years?[\s-]old\b")
_EN_WOUNDED = [
    re.compile(_EN_QUAL + _EN_NUM + r"\s+(?:[\w'-]+\s+){0,5}?(?:were\s+|was\s+|have\s+been\s+|had\s+been\s+|are\s+)?(?:wounded|injured|hurt)\b"),
    re.compile(r"\b(?:wounding|injuring|wounded|injured|wounds|injures)\s+" + _EN_QUAL + _EN_NUM + r"\b"),
]
_EN_NONE_KILLED = re.compile(r"\b(?:no\s+(?:reports?\s+of\s+(?:injur\w*|casualties|deaths|victims)|one\s+was\s+(?:killed|hurt|injured|harmed)|casualties|deaths|fatalities|injuries|immediate\s+reports?\s+of\s+casualties)|without\s+(?:causing\s+)?casualties|nobody\s+was\s+(?:killed|hurt|injured)|no\s+casualties\s+(?:were|have\s+been)\s+reported|unharmed)\b")

_AR_NUM = r"(\d+|[^\s\d]+)"
_AR_QUAL = r"(?:ما\s+لا\s+يقل\s+عن\s+|اكثر\s+من\s+|نحو\s+|حوالي\s+|قرابه\s+|زهاء\s+)?"
_AR_KILLED = [
    re.compile(r"(?:مقتل|(?:و|ف)?(?:ي|ت)?قتل(?:ت|وا|ا)?|استشهاد|مصرع|وفاه|سقوط|اعدام|(?:و|ف)?(?:ي|ت)?عدم|(?:و|ف)?اعدم|(?:ارتفاع|ارتفعت)\s+(?:عدد|حصيله)\s+(?:\S+\s+){0,3}?(?:الي|ل))\s+" + _AR_QUAL + _AR_NUM),
    re.compile(_AR_NUM + r"\s+(?:قتلى|قتيلا|قتيل|شهداء|شهيدا|اشخاص\s+قتلوا|قتلوا)"),
    re.compile(_AR_NUM + r"\s+(?:\S+\s+){0,4}?(?:قتلوا|لقوا\s+(?:حتفهم|مصرعهم))"),
    re.compile(r"لقي\s+" + _AR_QUAL + _AR_NUM),
]
_AR_WOUNDED = [
    re.compile(r"(?:اصابه|جرح|اصيب|واصابه|وجرح|واصيب)\s+" + _AR_QUAL + _AR_NUM),
    re.compile(_AR_NUM + r"\s+(?:جرحى|جريحا|جريح|مصابين|مصابا|اخرين\s+بجروح)"),
]
_AR_SINGLE_KILLED = re.compile(
    r"(?:مقتل|استشهاد|مصرع)\s+(?:شرطي|جندي|مدني|ضابط|شخص|طفل|امراه|رجل|مواطن|عنصر|منتسب|صحفي|ناشط|متظاهر|محتج|عراقي)\b"
    r"|(?:قتل|قتلت|مقتل)\s+(?:\S+\s+){0,2}?\S+\s+واحد\b|لقي\s+(?:شخص|رجل|مواطن|متظاهر|جندي|شرطي)\s+مصرعه"
)
# dual nouns: "جنديين", "قتيلين", "مدنيان" after a killing word
_AR_DUAL_KILLED = re.compile(r"(?:مقتل|(?:و|ف)?(?:ي|ت)?قتل(?:ت|وا)?|استشهاد|مصرع)\s+\S+(?:يين|يان|ين|ان)\b(?!\s+(?:من|في)\s+\d)|\b\S+(?:يين|يان)\s+قتلا\b|قتيلين|قتيلان")
_AR_NONE = re.compile(r"(?:دون\s+(?:وقوع\s+)?(?:اصابات|خسائر)|لم\s+(?:تسفر|يسفر)\s+عن\s+(?:اي\s+)?(?:اصابات|خسائر|ضحايا))")


def parse_number(token: str, language: str = "en") -> int | None:
    """Convert a number token ("12", "1,400", "two", "dozens", "ثلاثه") to an int."""
    token = token.strip().lower().replace(",", "")
    if not token:
        return None
    if token.isdigit():
        value = int(token)
        return value if value < 100000 else None
    if language == "ar":
        token = normalize_arabic(token)
        numbers = load_lexicon("ar").numbers
        if token in numbers:
            return numbers[token]
        if token.startswith("و") and token[1:] in numbers:
            return numbers[token[1:]]
        return None
    token = re.sub(r"\s+", " ", token)
    if token in _EN_UNITS:
        return _EN_UNITS[token]
    parts = re.split(r"[\s-]", token)
    if len(parts) == 2 and parts[0] in _EN_UNITS and parts[1] in _EN_UNITS:
        return _EN_UNITS[parts[0]] + _EN_UNITS[parts[1]]
    return None


def _max_number(patterns: list[re.Pattern[str]], text: str, language: str) -> int | None:
    """Largest number captured by ``patterns`` in ``text``."""
    best: int | None = None
    for pattern in patterns:
        position = 0
        while True:
            match = pattern.search(text, position)
            if match is None:
                break
            value = parse_number(match.group(1), language)
            if value is None:
                # a word that is no number ("ان 12 شخصا قتلوا"): retry from the next character
                position = match.start() + 1
                continue
            position = match.end()
            if 1900 <= value <= 2100:
                continue
            best = value if best is None else max(best, value)
    return best


_QUOTES = re.compile(r"[«»\"“”„]")


def extract_casualties(texts: list[str], language: str) -> tuple[int | None, int | None]:
    """Return ``(killed, wounded)``: highest figures given, 0 when "no casualties", else None."""
    killed: int | None = None
    wounded: int | None = None
    none_said = False
    for raw in texts:
        raw = _QUOTES.sub(" ", raw)  # "مقتل «19» من عناصر"
        if language == "ar":
            text = normalize_arabic(raw)
            k = _max_number(_AR_KILLED, text, "ar")
            if k is None and _AR_DUAL_KILLED.search(text):
                k = 2
            if k is None and _AR_SINGLE_KILLED.search(text):
                k = 1
            w = _max_number(_AR_WOUNDED, text, "ar")
            none_said = none_said or bool(_AR_NONE.search(text))
        else:
            text = re.sub(r"\s+", " ", raw.lower())
            none_said = none_said or bool(_EN_NONE_KILLED.search(text))
            if _EN_NOT_TOLL.search(text):
                continue
            text = _EN_AGE.sub(" ", text)
            k = _max_number(_EN_KILLED, text, "en")
            if k is None and _EN_SINGLE_KILLED.search(text):
                k = 1
            others = _EN_OTHERS_KILLED.search(text)
            if others and killed is not None and killed >= 1 and k is not None:
                # "... was killed. At least four others were also killed": the figure adds up
                extra = parse_number(others.group(1), "en")
                if extra is not None and k == extra:
                    k = killed + extra
            w = _max_number(_EN_WOUNDED, text, "en")
        if k is not None:
            killed = k if killed is None else max(killed, k)
        if w is not None:
            wounded = w if wounded is None else max(wounded, w)
    if none_said:
        killed = 0 if killed is None else killed
        wounded = 0 if wounded is None else wounded
    return killed, wounded


_EN_DAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|last night)\b")
_AR_DAY = re.compile(r"(?:^|\s)(?:يوم\s+)?(الاثنين|الثلاثاء|الاربعاء|الخميس|الجمعه|السبت|الاحد|امس)(?:\s|$)")


def _day_of(sentence: SentenceMatch, language: str) -> str:
    """The day a sentence names ("Tuesday", "yesterday"), lower-cased; "" when none."""
    if language == "ar":
        match = _AR_DAY.search(normalize_arabic(sentence.text))
    else:
        match = _EN_DAY.search(sentence.text.lower())
    if not match:
        return ""
    return "yesterday" if match[1] in {"last night", "امس"} else match[1]


@dataclass
class _Draft:
    """An incident under construction."""

    attack_types: list[str]
    governorate: str
    places: list[Place] = field(default_factory=list)
    sentences: list[SentenceMatch] = field(default_factory=list)
    day: str = ""

    @property
    def main_type(self) -> str:
        """The highest-priority specific attack type, or ``other``."""
        specific = [t for t in self.attack_types if t != "other"]
        return specific[0] if specific else "other"


def _compatible(draft: _Draft, types: list[str], governorate: str, day: str = "") -> bool:
    """True when a sentence can join ``draft``."""
    if governorate and draft.governorate and governorate != draft.governorate:
        return False
    if day and draft.day and day != draft.day:
        return False
    specific = [t for t in types if t != "other"]
    if not specific or draft.main_type == "other":
        return True
    return specific[0] == draft.main_type or draft.main_type in specific


def _fallback_place(analysis: Analysis) -> Place | None:
    """Place of the article when an incident sentence names only "Iraq"."""
    title = analysis.title
    if title and title.iraq_places:
        return choose_place(title.iraq_places)
    for sentence in analysis.body[:2]:
        if sentence.iraq_places:
            return sentence.iraq_places[0]
    counts: dict[str, int] = {}
    first: dict[str, Place] = {}
    for sentence in analysis.sentences:
        for place in sentence.iraq_places:
            counts[place.governorate] = counts.get(place.governorate, 0) + 1
            first.setdefault(place.governorate, place)
    if counts:
        return first[max(counts, key=lambda g: counts[g])]
    return None


def extract_incidents(analysis: Analysis, contexts: list[SentenceContext], article: dt.date | None) -> list[dict]:
    """Build codebook incident dicts (with ``evidence``) from an analysis."""
    drafts: list[_Draft] = []
    current: _Draft | None = None
    pending: list[SentenceMatch] = []
    fallback = _fallback_place(analysis)
    flags = [
        s.has_attack and c.context_located and not c.background and not s.has("tally")
        and (not c.foreign or (bool(s.iraq_places) and not s.has("launched_from")))
        for s, c in zip(analysis.sentences, contexts)
    ]
    # a round-up total ("19 killed in bombings across Iraq", a title totalling
    # several places) does not open an incident when a specific one follows
    summaries = [
        flag and (
            _is_summary(s) or (
                _is_casualty_summary(s, analysis.language)
                and (not s.is_title or extract_casualties([s.text], analysis.language)[0] is not None)
            )
        )
        for s, flag in zip(analysis.sentences, flags)
    ]
    specific_after = [False] * len(flags)
    seen = False
    for i in range(len(flags) - 1, -1, -1):
        specific_after[i] = seen
        seen = seen or (flags[i] and not summaries[i] and bool(analysis.sentences[i].iraq_places))
    for position, (sentence, ctx) in enumerate(zip(analysis.sentences, contexts)):
        is_incident = flags[position] and not (summaries[position] and specific_after[position])
        generic = not sentence.iraq_places and all(t == "other" for t in sentence.attack_types)
        if is_incident and generic and current is not None and not sentence.is_title:
            is_incident = False
        day = _day_of(sentence, analysis.language)
        if not is_incident:
            supports = sentence.has("casualty") or sentence.has("foiled") or sentence.has_attack
            same_place = not sentence.iraq_places or (
                current is not None
                and (not current.governorate or {p.governorate for p in sentence.iraq_places} <= {current.governorate, ""})
            )
            other_day = bool(day and current is not None and current.day and day != current.day)
            if (
                current is not None and supports and not ctx.foreign and not ctx.background
                and same_place and not sentence.has("tally") and not other_day
                and not (sentence.has("casualty") and _is_summary(sentence))
            ):
                if sentence.has("foiled"):
                    pending.append(sentence)
                else:
                    current.sentences.append(sentence)
                    current.places.extend(sentence.iraq_places)
                    if not current.governorate and sentence.iraq_places:
                        current.governorate = sentence.iraq_places[0].governorate
            elif pending and current is not None and not sentence.has("foiled"):
                current.sentences.extend(pending)
                pending = []
            continue
        types = sentence.attack_types
        place = choose_place(sentence.iraq_places)
        if place is None and not sentence.in_iraq and current is not None:
            place = choose_place(current.places)
        governorate = place.governorate if place else ""
        target: _Draft | None = None
        if current is not None and _compatible(current, types, governorate, day):
            target = current
        else:
            target = next(
                (d for d in drafts if _compatible(d, types, governorate, day) and (governorate or d.main_type != "other")),
                None,
            )
        if target is None:
            target = _Draft(attack_types=[], governorate=governorate)
            drafts.append(target)
        if day and not target.day:
            target.day = day
        if pending:
            if (sentence.has("foiled") and pending[-1].index == sentence.index - 1) or current is None:
                target.sentences.extend(pending)
            else:
                current.sentences.extend(pending)
            pending = []
        target.sentences.append(sentence)
        for t in types:
            if t not in target.attack_types:
                target.attack_types.append(t)
        target.attack_types.sort(key=lambda t: (t == "other", ATTACK_TYPES.index(t) if sentence.is_title else 0))
        if place is not None:
            target.places.append(place)
            if not target.governorate:
                target.governorate = place.governorate
        current = target
    if pending and current is not None:
        current.sentences.extend(pending)
    incidents = [_finalise(d, analysis, article, fallback, i == 0) for i, d in enumerate(drafts[:MAX_INCIDENTS])]
    return incidents


_EN_ROUNDUP = re.compile(r"\b(?:separate|several|various|multiple|a\s+series\s+of|across|twin|two)\s+(?:\w+\s+)?(?:attacks|incidents|bombings|clashes|operations|raids|strikes|explosions|blasts)\b")
_AR_ROUNDUP = re.compile(r"(?:عمليتين|هجومين|تفجيرين|انفجارين|هجمات|عمليات|حوادث|اشتباكات|غارات|ضربات)\s+(?:\S+\s+)?(?:متفرقه|منفصله|امنيه)|(?:^|\s)(?:ب|في\s+)?(?:عمليتين|هجومين|تفجيرين)(?:\s|$)|متفرقه")

_AR_VAGUE_TOLL = re.compile(r"(?:مقتل|قتل|لقي|سقوط|عشرات\s+القتلي)\s+(?:\S+\s+)?(?:ال)?عشرات")
_EN_PLURAL = re.compile(r"\b(?:attacks|bombings|blasts|explosions|clashes|strikes|incidents)\b")
_AR_PLURAL = re.compile(r"(?:هجمات|تفجيرات|انفجارات|اشتباكات|غارات|ضربات|عمليات|عمليتين|هجومين|تفجيرين)")


_NATIONWIDE = re.compile(r"\b(?:across|around|throughout)\s+(?:iraq|the\s+country)\b|(?:انحاء|مختلف\s+مناطق)\s+(?:العراق|البلاد)")


def _nationwide(draft: _Draft, language: str) -> bool:
    """An incident made only of round-up lines ("a wave of bombings", "clashes
    across Iraq") whose place is at most a dateline: it has no governorate."""
    summaries = [s for s in draft.sentences if _is_summary(s) or (s.has("aggregate") and _NATIONWIDE.search(
        normalize_arabic(s.text) if language == "ar" else s.text.lower()))]
    if not summaries:
        return False
    located = [s for s in draft.sentences if s.iraq_places and s not in summaries]
    return not located and all(len(s.iraq_places) <= 1 for s in summaries)


def _says_no_casualties(texts: list[str], language: str) -> bool:
    """True when one of ``texts`` states that nobody was killed or hurt."""
    if language == "ar":
        return any(_AR_NONE.search(normalize_arabic(t)) for t in texts)
    return any(_EN_NONE_KILLED.search(re.sub(r"\s+", " ", t.lower())) for t in texts)


def _is_casualty_summary(sentence: SentenceMatch, language: str) -> bool:
    """A total over several incidents: round-up wording or more than one governorate."""
    if _is_summary(sentence):
        return True
    several = len({p.governorate for p in sentence.iraq_places if p.governorate}) > 1
    if several and sentence.is_title:
        return True
    if language == "ar":
        text = normalize_arabic(sentence.text)
        if _AR_VAGUE_TOLL.search(text) and not re.search(r"\d", text):
            # "مقتل العشرات من عناصر داعش": a total over operations, not one incident's figure
            return True
        return bool(_AR_ROUNDUP.search(text) or (several and _AR_PLURAL.search(text)))
    text = sentence.text.lower()
    return bool(_EN_ROUNDUP.search(text) or (several and _EN_PLURAL.search(text)))


def _is_summary(sentence: SentenceMatch) -> bool:
    """A round-up line: aggregate wording and no single governorate ("19 killed in bombings in Iraq")."""
    governorates = {p.governorate for p in sentence.iraq_places}
    return sentence.has("aggregate") and len(governorates) != 1


_EN_IMPACT = re.compile(
    r"\b(?:fell|landed|hit|hits|struck|impacted|damag\w*|destroy\w*|set\s+ablaze|caught\s+fire|went\s+off)\b"
)
_AR_IMPACT = re.compile(r"(?:^|\s)(?:و|ف)?(?:سقط|سقطت|اصاب|اصابت|الحق|الحقت|اضرار|احترق\S*|دمر\S*)(?:\s|$)")


def _is_foiled(draft: _Draft, language: str) -> bool:
    """Foiled only when the attack was thwarted and nothing of it hit: a salvo of
    which one rocket was shot down and the other landed is not foiled."""
    if not any(s.has("foiled") for s in draft.sentences):
        return False
    for sentence in draft.sentences:
        if language == "ar":
            if _AR_IMPACT.search(normalize_arabic(sentence.text)):
                return False
        elif _EN_IMPACT.search(sentence.text.lower()):
            return False
    return True


_EN_BOMB_TERMS = frozenset({"bomb", "bombs", "bombing"})
_EN_EXPLOSION_TERMS = frozenset({"blast", "explosion", "exploded", "explode", "detonat"})
_EN_ASSAULT_TERMS = frozenset({"attack", "attacked", "assault", "came under attack", "came under fire", "targeted", "targeting", "hit by"})
_AR_BOMB_TERMS = frozenset({"تفجير", "تفجيرات"})
_AR_EXPLOSION_TERMS = frozenset({"انفجار", "انفجرت", "انفجر"})
_AR_ASSAULT_TERMS = frozenset({"هجوم", "هجمات", "الهجوم", "هجومين", "اعتداء", "استهدف", "استهداف"})


def _generic_type(draft: _Draft, language: str) -> str:
    """Type of an incident described only in generic words.

    "bomb"/"bombing" is a planted bomb (``ied``); an explosion or blast of
    unknown kind has no type (``""``); a generic "attack" on people is an
    ``armed_assault``; the rest (arson, sabotage, bodies found) is ``other``.
    """
    terms = {t for s in draft.sentences for t in s.hits.get("attack:other", [])}
    if language == "ar":
        bomb, explosion, assault = _AR_BOMB_TERMS, _AR_EXPLOSION_TERMS, _AR_ASSAULT_TERMS
    else:
        bomb, explosion, assault = _EN_BOMB_TERMS, _EN_EXPLOSION_TERMS, _EN_ASSAULT_TERMS
    if terms & bomb:
        return "ied"
    if terms & assault and not terms & explosion:
        return "armed_assault"
    if terms & explosion:
        return ""
    return "other"


_EN_TARGETED_KILLING = re.compile(r"\b(?:shot\s+dead|gunned\s+down|shoot\s+dead|shoots\s+dead|guns\s+down)\b")
_EN_PROMINENT = re.compile(r"\b(?:activist|journalist|reporter|official|judge|cleric|lawyer|candidate|politician|lawmaker|mayor|governor|commander|leader|adviser|advisor|doctor|professor)s?\b")


def _choose_type(draft: _Draft, language: str = "en") -> str:
    """Codebook attack type of an incident, by priority over its sentences."""
    main = draft.main_type
    if main == "armed_assault" and language == "en" and draft.sentences:
        # a named person shot dead by gunmen is an assassination
        lead = draft.sentences[0].text.lower()
        if _EN_TARGETED_KILLING.search(lead) and _EN_PROMINENT.search(lead):
            return "assassination"
    if main != "other":
        if main == "armed_assault" and _turkish_raid(draft, language, generic_only=True):
            return "air_strike"
        return main
    present = {t for s in draft.sentences for t in s.attack_types}
    for attack_type in ATTACK_TYPES:
        if attack_type in present and attack_type != "other":
            return attack_type
    if _turkish_raid(draft, language):
        return "air_strike"
    return _generic_type(draft, language)


_EN_TURKISH = re.compile(r"\b(?:turkish|turkey(?:'s)?|ankara)\b")
_AR_TURKISH = re.compile(r"(?:^|\s)(?:و|ب|ل)?(?:ال)?(?:تركي|تركيه|تركيا|اتراك)(?:\s|$|[.,،])")


def _turkish_raid(draft: _Draft, language: str, generic_only: bool = False) -> bool:
    """A generic "attack" or "bombed" by Turkey in Iraq: Turkish raids there are
    air strikes (shelling and drones have their own words)."""
    if generic_only:
        # only when the assault words are the generic ones ("شنت هجمات", "attacked")
        terms = {t for s in draft.sentences for t in s.hits.get("attack:armed_assault", [])}
        if terms - {"fighting", "raid", "raids", "battle", "battles", "clash", "clashes", "مسلح", "مسلحين", "مسلحون"}:
            return False
    for sentence in draft.sentences[:3]:
        text = normalize_arabic(sentence.text) if language == "ar" else sentence.text.lower()
        if (_AR_TURKISH if language == "ar" else _EN_TURKISH).search(text):
            return True
    return False


def _choose_target(draft: _Draft, language: str) -> str:
    """Codebook target of an incident, by target priority over its sentences."""
    for target in target_priority(language):
        if any(s.has(f"target:{target}") for s in draft.sentences):
            return target
    return "other"


_EN_ATTRIBUTION = re.compile(
    r"\b(?:claim(?:s|ed|ing)?\s+(?:responsibility|credit)|responsibility\s+(?:for|was\s+claimed)|blam(?:e|es|ed|ing)|"
    r"attribut(?:e|es|ed|ing)|carried\s+out\s+by|(?:was|were)\s+behind|(?:is|are)\s+behind|accus(?:e|es|ed|ing)|"
    r"suspected|(?:said|says)\s+(?:it|its\s+\w+|they|their\s+\w+)\s+(?:had\s+)?(?:carried\s+out|launched|targeted|attacked|fired|struck|killed)|"
    r"(?:by|of)\s+(?:the\s+)?(?:islamic\s+state|isis|isil|daesh|al[\s-]qaeda|pkk))\b"
)
_AR_ATTRIBUTION = re.compile(
    r"(?:تبنى|تبنت|يتبنى|تبني|مسؤوليته|مسؤوليتها|المسؤوليه|نسب\S*|اتهم\S*|حمل\S*\s+\S*\s*مسؤوليه|يقف\S*\s+وراء|نفذه|نفذها|نفذته|المشتبه|يشتبه)"
)
_EN_SUBJECT_VERB = (
    r"(?:[\w-]+\s+){0,3}?(?:attacked|attack|attacks|bombed|bombs|struck|strikes|shelled|shells|fired|fires|launched|launches|stormed|storms|"
    r"ambushed|ambush|killed|kill|kills|kidnapped|kidnap|abducted|seized|blew|targeted|hit|raided|overran|assaulted)\b"
)
_AR_PERPETRATOR_VERB = re.compile(r"(?:^|\s)(?:و|ف)?(?:شن|شنت|تشن|يشن|نفذ|نفذت|تنفذ|ينفذ|قصف|قصفت|تقصف|يقصف|هاجم|هاجمت|يهاجم|تهاجم|استهدف|استهدفت|فجر|فجرت|اقتحم|اقتحمت)(?:\s|$)")
_EN_NO_CLAIM = re.compile(r"\b(?:no\s+(?:one|group)|nobody|not\s+(?:immediately\s+)?clear\s+who|rare\s+for\s+anyone)\b")


def _choose_actor(draft: _Draft, analysis: Analysis | None = None) -> str:
    """Who claimed the attack or was blamed for it, from claim, blame and attribution wording only.

    A sentence counts when it says "claimed responsibility", "blamed on",
    "attributed to", "carried out by", "X said it launched", Arabic "تبنى",
    "أعلن ... مسؤوليته", "نسب" and the like; the actor must be named in that
    sentence. Targets (a convoy of the coalition) and the forces that foiled an
    attack are never the attacker. Sentences of the incident come first, then
    the sentence right after it.
    """
    language = analysis.language if analysis is not None else "en"
    pattern = _AR_ATTRIBUTION if language == "ar" else _EN_ATTRIBUTION
    candidates = list(draft.sentences)
    if analysis is not None and draft.sentences:
        last = max(s.index for s in draft.sentences)
        following = [s for s in analysis.sentences if s.index == last + 1]
        candidates += following
    for sentence in candidates:
        if sentence.has("background") or not any(k.startswith("actor:") for k in sentence.hits):
            continue
        text = normalize_arabic(sentence.text) if language == "ar" else normalize_for_matching(sentence.text, "en")
        actors = [key.split(":", 1)[1] for key in sentence.hits if key.startswith("actor:") and key != "actor:Iraqi forces"]
        if "pro-Iran factions" in actors:
            actors = [a for a in actors if a != "Iran"]
        attributed = bool(pattern.search(text)) and not (
            language == "en" and _EN_NO_CLAIM.search(text) and not re.search(r"\bblam|attribut|accus|suspect", text)
        )
        if attributed and actors:
            return actors[0]
        # the actor as the subject of the attack ("Islamic State militants attacked", "Turkish jets struck")
        for actor in actors:
            if language == "ar":
                if _AR_PERPETRATOR_VERB.search(text):
                    return actor
                continue
            for term in sentence.hits.get(f"actor:{actor}", []):
                if re.search(r"\b" + re.escape(term) + r"\w*\s+" + _EN_SUBJECT_VERB, text):
                    return actor
    return ""


_ACTOR_AS_TARGET = {"United States": "us_coalition"}


def _finalise(draft: _Draft, analysis: Analysis, article: dt.date | None, fallback: Place | None, first: bool = False) -> dict:
    """Turn a draft into a codebook incident dict."""
    draft.sentences.sort(key=lambda s: s.index)
    reference = [p for s in draft.sentences for p in s.secondary if p.governorate]
    dateline = [p for s in draft.sentences for p in s.dateline if p.governorate]
    place = choose_place(draft.places) or choose_place(reference) or fallback or choose_place(dateline)
    if _nationwide(draft, analysis.language):
        # a nationwide round-up ("a wave of bombings across Iraq") has no governorate,
        # whatever the dateline says
        place = None
    texts = [s.text for s in draft.sentences]
    title = analysis.title
    # figures of this incident: its own specific sentences first, then the
    # title, and round-up totals ("19 killed in separate clashes") only when
    # nothing more specific is given
    specific = [s.text for s in draft.sentences if not s.is_title and not _is_casualty_summary(s, analysis.language)]
    if title is not None and not _is_casualty_summary(title, analysis.language) and (
        (title.has("casualty") and first) or title in draft.sentences
    ):
        specific.insert(0, title.text)
    fallbacks: list[list[str]] = [specific]
    fallbacks.append([s.text for s in draft.sentences if s.text not in specific])
    if title is not None and title.has("casualty") and first:
        fallbacks.append([title.text])
    killed = wounded = None
    lead = [title.text] if title is not None and first else []
    lead += [s.text for s in draft.sentences[:1]]
    if _says_no_casualties(lead, analysis.language):
        # "Rockets hit base, no casualties reported": later figures are other events
        fallbacks.insert(0, lead)
    for group in fallbacks:
        k, w = extract_casualties(group, analysis.language)
        killed = k if killed is None else killed
        wounded = w if wounded is None else wounded
        if killed is not None and wounded is not None:
            break
    return {
        "date": resolve_date(draft.sentences, analysis.language, article),
        "governorate": place.governorate if place else "",
        "place": place.name if place else "",
        "attack_type": _choose_type(draft, analysis.language),
        "target": _choose_target(draft, analysis.language),
        "killed": killed,
        "wounded": wounded,
        "foiled": _is_foiled(draft, analysis.language),
        "claimed_by": _choose_actor(draft, analysis),
        "evidence": texts,
    }
