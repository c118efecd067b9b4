"""Sentence-level keyword and place matching with Aho-Corasick automata.

One automaton per language holds every lexicon term and every gazetteer
spelling. Keys carry a leading space so matches start at a word boundary; the
end boundary is checked after the match unless the term is a stem. Arabic keys
are expanded with the attached prefixes (wa-, fa-, bi-, li-, ka-, al-).
Overlapping place matches are resolved longest-first, so a blocked look-alike
("Baghdad Bounedjah") suppresses the shorter place inside it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

import ahocorasick

from .gazetteer import Place, PlaceVariant, load_gazetteer
from .lexicon import ATTACK_TYPES, Term, load_lexicon
from .normalize import clean_text, compile_arabic, normalize_for_matching
from .sentences import split_sentences

logger = logging.getLogger(__name__)

_DATELINE = re.compile(
    r"^\s*((?:[A-Z][A-Z.'/\- ]{2,40}|[A-Z][A-Za-z.' ]{2,30}(?=,|\s*\())(?:,\s*[A-Z][A-Za-z.' ]{1,30})?(?:,\s*[A-Z][a-z]{2,4}\.?\s*\d{1,2}\.?)?\s*"
    r"(?:\((?:Reuters|AP|AFP|CNN|Antara|AFX|Xinhua|UPI|dpa|Kurdistan 24|Rudaw)\)\s*)?)(?:--|-|\u2014|\u2013|:)\s+"
)
_REFERENCE = re.compile(
    r"(?:\b(?:north|south|east|west|northeast|northwest|southeast|southwest|north east|north west|south east|south west)"
    r"(?:ern)?\s+of\s+(?:the\s+)?(?:capital\s+)?"
    r"|\b(?:miles|mile|kilometers|kilometres|km|kms)\s+(?:\d+\s+(?:kilometers|kilometres|km|miles)\s+)?(?:\w+\s+){0,2}(?:of|from)\s+(?:the\s+)?)$"
)
_NEGATED = {
    "en": re.compile(r"(?:^|\s)(?:without|no|nor)\s+(?:any\s+)?$"),
    "ar": compile_arabic(
        r"(?:^|\s)و?(?:دون|بدون|عدم|اي)\s+(?:وقوع\s+|حدوث\s+|تسجيل\s+)?$"
        r"|(?:^|\s)(?:ب|و|وب)?(?:تهم|تهمه|قضايا|جرائم)\s+$"
    ),
}
"""Negators right before an attack term ("without clashes", "من دون اشتباكات", "لم
تسجل أي اشتباكات"): the term reports that nothing happened. Arabic charges
("بتهم إرهابية", "قضايا إرهابية") name an offence in court, not an incident."""
_AR_PREFIXES = ("", "و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")
_AR_DEFINITE_PREFIXES = ("", "و", "ف", "ب", "ك", "وب", "فب", "وك")


@dataclass
class SentenceMatch:
    """Keyword and place matches of one sentence."""

    index: int
    text: str
    is_title: bool
    hits: dict[str, list[str]] = field(default_factory=dict)
    places: list[Place] = field(default_factory=list)
    secondary: list[Place] = field(default_factory=list)
    """Places that locate the sentence only loosely: reference points of distances and directions ("north of Baghdad", "60 miles west of
    Baghdad"). They count for :attr:`in_iraq` but not for :attr:`iraq_places`."""
    dateline: list[Place] = field(default_factory=list)
    """Places of the dateline ("BAGHDAD, Iraq (CNN) --"): where the report was filed."""

    def has(self, category: str) -> bool:
        """True when a term of ``category`` was matched."""
        return category in self.hits

    @property
    def attack_types(self) -> list[str]:
        """Matched attack types in priority order."""
        return [t for t in ATTACK_TYPES if f"attack:{t}" in self.hits]

    @property
    def has_attack(self) -> bool:
        """True when any attack term was matched."""
        return any(key.startswith("attack:") for key in self.hits)

    @property
    def iraq_places(self) -> list[Place]:
        """Places inside a governorate (generic Iraq mentions excluded)."""
        return [p for p in self.places if p.governorate]

    @property
    def in_iraq(self) -> bool:
        """True when the sentence names Iraq or a place in Iraq."""
        return bool(self.places or self.secondary or self.dateline)

    @property
    def all_places(self) -> list[Place]:
        """Places of the sentence including dateline and reference places."""
        return self.dateline + self.secondary + self.places

    def terms(self) -> list[str]:
        """All matched terms, de-duplicated, in category order."""
        seen: dict[str, None] = {}
        for key, values in self.hits.items():
            if key.startswith(("attack:", "casualty", "foiled")):
                for value in values:
                    seen.setdefault(value, None)
        return list(seen)


@dataclass
class Analysis:
    """Matches of a whole article (the title is sentence 0 when present)."""

    language: str
    sentences: list[SentenceMatch]

    @property
    def title(self) -> SentenceMatch | None:
        """The title sentence, if any."""
        return self.sentences[0] if self.sentences and self.sentences[0].is_title else None

    @property
    def body(self) -> list[SentenceMatch]:
        """Sentences of the text (title excluded)."""
        return [s for s in self.sentences if not s.is_title]


@dataclass(frozen=True)
class _Entry:
    length: int
    stem: bool
    term: Term | None
    place: PlaceVariant | None


def _arabic_variants(text: str) -> list[str]:
    """Spellings of an Arabic term with attached prefixes."""
    out = [p + text for p in _AR_PREFIXES]
    if text.startswith("ال"):
        bare = text[2:]
        out += ["لل" + bare, "ولل" + bare, "فلل" + bare]
    else:
        out += [p + "ال" + text for p in _AR_DEFINITE_PREFIXES] + ["لل" + text, "ولل" + text]
    return out


@lru_cache(maxsize=4)
def build_automaton(language: str) -> ahocorasick.Automaton:
    """Build (once) the automaton for ``language``."""
    automaton = ahocorasick.Automaton()
    store: dict[str, list[_Entry]] = {}

    def add(text: str, stem: bool, term: Term | None, place: PlaceVariant | None) -> None:
        spellings = _arabic_variants(text) if language == "ar" else [text]
        for spelling in spellings:
            key = " " + spelling
            store.setdefault(key, []).append(_Entry(len(key), stem, term, place))

    for term in load_lexicon(language).terms:
        add(term.text, term.stem, term, None)
    for variant in load_gazetteer(language):
        add(variant.text, False, None, variant)
    for key, entries in store.items():
        automaton.add_word(key, tuple(entries))
    automaton.make_automaton()
    logger.debug("built %s automaton with %d keys", language, len(store))
    return automaton


def _is_negated(padded: str, start: int, pattern: re.Pattern[str]) -> bool:
    """Whether the term whose key starts at ``start`` (its leading space) follows a negator."""
    return bool(pattern.search(padded[max(0, start - 30) : start + 1]))


def match_sentence(text: str, language: str, index: int = 0, is_title: bool = False) -> SentenceMatch:
    """Match lexicon terms and places in one sentence."""
    padded = normalize_for_matching(text, language)
    result = SentenceMatch(index=index, text=text, is_title=is_title)
    spans: list[tuple[int, int, PlaceVariant]] = []
    negated = _NEGATED.get(language)
    for end, entries in build_automaton(language).iter(padded):
        boundary = padded[end + 1] == " " if end + 1 < len(padded) else True
        for entry in entries:
            if not entry.stem and not boundary:
                continue
            if entry.term is not None:
                if negated is not None and entry.term.category.startswith("attack:") and _is_negated(padded, end - entry.length + 1, negated):
                    continue
                result.hits.setdefault(entry.term.category, []).append(entry.term.text)
            elif entry.place is not None:
                spans.append((end - entry.length + 2, end + 1, entry.place))
    if spans:
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
        taken: list[tuple[int, int, PlaceVariant]] = []
        for span in spans:
            if all(span[1] <= t[0] or span[0] >= t[1] for t in taken):
                taken.append(span)
        taken.sort(key=lambda s: s[0])
        for start, _end, variant in taken:
            if variant.place is None:
                continue
            if language == "en" and variant.place.governorate and _REFERENCE.search(padded[max(0, start - 60):start]):
                result.secondary.append(variant.place)
            else:
                result.places.append(variant.place)
    return result


def analyse_article(title: str, text: str, language: str) -> Analysis:
    """Split an article into sentences and match each of them."""
    sentences: list[SentenceMatch] = []
    title = clean_text(title).strip()
    if title:
        sentences.append(match_sentence(title, language, 0, True))
    for sentence in split_sentences(clean_text(text), language):
        # without a title the text often opens with the headline, then the dateline
        is_lead = len(sentences) == 1 if title else len(sentences) <= 1
        dateline = _DATELINE.match(sentence) if is_lead and language == "en" else None
        if dateline:
            # a dateline names where the report was filed: its Iraqi places count, foreign ones do not
            head = match_sentence(dateline.group(1), language)
            match = match_sentence(sentence[dateline.end():], language, len(sentences), False)
            match.text = sentence
            match.dateline = head.places + head.secondary
        else:
            match = match_sentence(sentence, language, len(sentences), False)
        sentences.append(match)
    return Analysis(language=language, sentences=sentences)
