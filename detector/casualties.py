"""Casualty figures of incident sentences: killed and wounded, English and Arabic.

``extract_casualties`` returns the highest figure the sentences give, 0 where
they say nobody was hurt, ``None`` where they say nothing. Running tallies
("since the start of the year"), ages and projectiles ("shot down two drones",
"سقوط 3 قذائف") are no toll. Arabic patterns are written in plain spelling
and compiled over normalised text (:func:`~detector.normalize.compile_arabic`).
"""

from __future__ import annotations

import logging
import re

from .lexicon import load_lexicon
from .normalize import compile_arabic, normalize_arabic

logger = logging.getLogger(__name__)

_EN_UNITS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12, "dozens": 24, "scores": 40,
    "hundreds": 200, "several": 3, "a few": 3, "couple": 2, "a couple": 2, "both": 2, "twin": 2,
}
_EN_NUM = r"(\d[\d,]*|(?:a\s+)?(?:dozens?|hundreds?|scores|several|couple|a\s+few)|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|both|an?)"
_EN_PROJECTILES = r"(?:drones?|rockets?|missiles?|projectiles?|shells?|aircraft|planes?|helicopters?|jets?|uavs?)\b"
_EN_QUAL = r"(?:at\s+least|more\s+than|over|about|around|nearly|almost|some|up\s+to|as\s+many\s+as|another)?\s*"
_EN_KILLED = [
    re.compile(_EN_QUAL + _EN_NUM + r"\s+(?:[\w'-]+,?\s+){0,5}?(?:people\s+)?(?:were\s+|was\s+|have\s+been\s+|had\s+been\s+|are\s+|being\s+)?(?:killed|dead|died|slain|massacred|shot\s+dead|lost\s+their\s+lives|martyred)\b"),
    re.compile(r"\b(?:killing|killed|kills|kill|leaving|left|claimed\s+the\s+lives\s+of|death\s+toll\s+(?:rose|rises|climbed|climbs|reached|stands|stood)\s+(?:to|at)|toll\s+of)\s+" + _EN_QUAL + _EN_NUM + r"\b"),
    re.compile(r"\b" + _EN_NUM + r"\s+(?:deaths|dead|fatalities|bodies|lives)\b"),
    re.compile(r"\b(?:killing|deaths?|murders?)\s+of\s+" + _EN_QUAL + _EN_NUM + r"\b"),
    # "shot down two gunmen", not "shot down two drones"
    re.compile(r"\b(?:shot|shoot|shoots|shooting|gunned|gun|guns|gunning)\s+(?:dead|down)\s+" + _EN_QUAL + _EN_NUM + r"\b(?!\s+(?:[\w'-]+\s+)?" + _EN_PROJECTILES + r")"),
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
    re.compile(_EN_QUAL + _EN_NUM + r"\s+(?:[\w'-]+,?\s+){0,5}?(?:were\s+|was\s+|have\s+been\s+|had\s+been\s+|are\s+)?(?:wounded|injured|hurt)\b"),
    re.compile(r"\b(?:wounding|injuring|wounded|injured|wounds|injures)\s+" + _EN_QUAL + _EN_NUM + r"\b"),
]
_EN_NONE_KILLED = re.compile(r"\b(?:no\s+(?:reports?\s+of\s+(?:injur\w*|casualties|deaths|victims)|one\s+was\s+(?:killed|hurt|injured|harmed)|casualties|deaths|fatalities|injuries|immediate\s+reports?\s+of\s+casualties)|without\s+(?:causing\s+)?casualties|nobody\s+was\s+(?:killed|hurt|injured)|no\s+casualties\s+(?:were|have\s+been)\s+reported|unharmed)\b")

_AR_NUM = r"(\d+|[^\s\d]+)"
_AR_QUAL = r"(?:ما\s+لا\s+يقل\s+عن\s+|اكثر\s+من\s+|نحو\s+|حوالي\s+|قرابه\s+|زهاء\s+)?"
# "سقوط 3 قذائف هاون": shells fell, nobody was killed
_AR_NOT_PROJECTILE = r"(?!\s+(?:قذايف|قذيفه|قذيفتين|صواريخ|صاروخ|صاروخين|طايرات|طايره|مسيرات))"  # normalised spellings
_AR_KILLED = [
    compile_arabic(r"(?:مقتل|(?:و|ف)?(?:ي|ت)?قتل(?:ت|وا|ا)?|استشهاد|مصرع|وفاه|سقوط|اعدام|(?:و|ف)?(?:ي|ت)?عدم|(?:و|ف)?اعدم|(?:ارتفاع|ارتفعت)\s+(?:عدد|حصيله)\s+(?:\S+\s+){0,3}?(?:الي|ل))\s+" + _AR_QUAL + _AR_NUM + _AR_NOT_PROJECTILE),
    compile_arabic(_AR_NUM + r"\s+(?:قتلى|قتيلا|قتيل|شهداء|شهيدا|اشخاص\s+قتلوا|قتلوا)"),
    compile_arabic(_AR_NUM + r"\s+(?:\S+\s+){0,4}?(?:قتلوا|لقوا\s+(?:حتفهم|مصرعهم))"),
    compile_arabic(r"لقي\s+" + _AR_QUAL + _AR_NUM),
]
_AR_WOUNDED = [
    compile_arabic(r"(?:اصابه|جرح|اصيب|واصابه|وجرح|واصيب)\s+" + _AR_QUAL + _AR_NUM),
    compile_arabic(_AR_NUM + r"\s+(?:جرحى|جريحا|جريح|مصابين|مصابا|اخرين\s+بجروح)"),
]
_AR_SINGLE_KILLED = compile_arabic(
    r"(?:مقتل|استشهاد|مصرع)\s+(?:شرطي|جندي|مدني|ضابط|شخص|طفل|امراه|رجل|مواطن|عنصر|منتسب|صحفي|ناشط|متظاهر|محتج|عراقي)\b"
    r"|(?:قتل|قتلت|مقتل)\s+(?:\S+\s+){0,2}?\S+\s+واحد\b|لقي\s+(?:شخص|رجل|مواطن|متظاهر|جندي|شرطي)\s+مصرعه"
    # an assassination (not an attempt) of one person: "اغتيال ملكة جمال بغداد"
    r"|(?:^|\s)(?<!محاوله\s)(?<!محاولتي\s)و?(?:اغتيال|اغتيل|اغتالت|اغتال)\s+(?!(?:\S+ين|\S+ات|قاده|عدد|عشرات)(?:\s|$))"
)
# dual nouns: "جنديين", "قتيلين", "مدنيان" after a killing word
_AR_DUAL_KILLED = compile_arabic(r"(?:مقتل|(?:و|ف)?(?:ي|ت)?قتل(?:ت|وا)?|استشهاد|مصرع)\s+\S+(?:يين|يان|ين|ان)\b(?!\s+(?:من|في)\s+\d)|\b\S+(?:يين|يان)\s+قتلا\b|قتيلين|قتيلان")
_AR_NONE = compile_arabic(r"(?:دون\s+(?:وقوع\s+)?(?:اصابات|خسائر)|لم\s+(?:تسفر|يسفر)\s+عن\s+(?:اي\s+)?(?:اصابات|خسائر|ضحايا))")


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
            # go on after the number: "two dead and seven others injured" has a second figure
            position = match.end(1)
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


def says_no_casualties(texts: list[str], language: str) -> bool:
    """True when one of ``texts`` states that nobody was killed or hurt."""
    if language == "ar":
        return any(_AR_NONE.search(normalize_arabic(t)) for t in texts)
    return any(_EN_NONE_KILLED.search(re.sub(r"\s+", " ", t.lower())) for t in texts)
