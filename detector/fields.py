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

from .context import SentenceContext, resolve_date, strip_attribution_day
from .gazetteer import Place, choose_place
from .casualties import extract_casualties, says_no_casualties
from .lexicon import ATTACK_TYPES, target_priority
from .matcher import Analysis, SentenceMatch
from .normalize import compile_arabic, normalize_arabic, normalize_for_matching

logger = logging.getLogger(__name__)

MAX_INCIDENTS = 6

_EN_DAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|last night)\b")
_AR_DAY = compile_arabic(r"(?:^|\s)(?:يوم\s+)?(الاثنين|الثلاثاء|الاربعاء|الخميس|الجمعه|السبت|الاحد|امس)(?:\s|$)")


def _day_of(sentence: SentenceMatch, language: str) -> str:
    """The day a sentence names ("Tuesday", "yesterday"), lower-cased; "" when none."""
    if language == "ar":
        match = _AR_DAY.search(normalize_arabic(sentence.text))
    else:
        match = _EN_DAY.search(strip_attribution_day(sentence.text, language).lower())
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


def is_incident_sentence(sentence: SentenceMatch, ctx: SentenceContext) -> bool:
    """Whether a sentence can open an incident: attack vocabulary, located in
    Iraq, current and no running tally.

    A sentence naming a foreign place qualifies only with a place inside a
    governorate (and no launch-site wording), or when it reports hostages held
    in Iraq: foreign nationals abducted there are named with their home
    country ("three Indians taken hostage in Iraq").
    """
    if not (sentence.has_attack and ctx.context_located) or ctx.background or sentence.has("tally"):
        return False
    if not ctx.foreign or sentence.has("launched_from"):
        return not ctx.foreign
    return bool(sentence.iraq_places) or (sentence.has("attack:abduction") and sentence.in_iraq)


def extract_incidents(analysis: Analysis, contexts: list[SentenceContext], article: dt.date | None) -> list[dict]:
    """Build codebook incident dicts (with ``evidence``) from an analysis."""
    drafts: list[_Draft] = []
    current: _Draft | None = None
    pending: list[SentenceMatch] = []
    fallback = _fallback_place(analysis)
    flags = [is_incident_sentence(s, c) for s, c in zip(analysis.sentences, contexts)]
    # a round-up total ("19 killed in bombings across Iraq", a title totalling
    # several places) does not open an incident when a specific one follows
    summaries = [
        flag and (
            _is_summary(s) or _names_governorates(s) > 1 and s.is_title or (
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
_AR_ROUNDUP = compile_arabic(r"(?:عمليتين|هجومين|تفجيرين|انفجارين|هجمات|عمليات|حوادث|اشتباكات|غارات|ضربات)\s+(?:\S+\s+)?(?:متفرقه|منفصله|امنيه)|(?:^|\s)(?:ب|في\s+)?(?:عمليتين|هجومين|تفجيرين)(?:\s|$)|متفرقه")

_AR_VAGUE_TOLL = compile_arabic(r"(?:مقتل|قتل|لقي|سقوط|عشرات\s+القتلي)\s+(?:\S+\s+)?(?:ال)?عشرات")
_EN_PLURAL = re.compile(r"\b(?:attacks|bombings|blasts|explosions|clashes|strikes|incidents)\b")
_AR_PLURAL = compile_arabic(r"(?:هجمات|تفجيرات|انفجارات|اشتباكات|غارات|ضربات|عمليات|عمليتين|هجومين|تفجيرين)")


_NATIONWIDE = compile_arabic(r"\b(?:across|around|throughout)\s+(?:iraq|the\s+country)\b|(?:انحاء|مختلف\s+مناطق)\s+(?:العراق|البلاد)")


def _nationwide(draft: _Draft, language: str) -> bool:
    """An incident made only of round-up lines ("a wave of bombings", "clashes
    across Iraq") whose place is at most a dateline: it has no governorate."""
    summaries = [s for s in draft.sentences if _is_summary(s) or (s.has("aggregate") and _NATIONWIDE.search(
        normalize_arabic(s.text) if language == "ar" else s.text.lower()))]
    if not summaries:
        return False
    located = [s for s in draft.sentences if s.iraq_places and s not in summaries]
    return not located and all(len(s.iraq_places) <= 1 for s in summaries)


def _names_governorates(sentence: SentenceMatch) -> int:
    """How many governorates a sentence names: a title naming two ("attack on
    the Green Zone and a storming attempt in Basra") heads several incidents."""
    return len({p.governorate for p in sentence.iraq_places if p.governorate})


def _is_casualty_summary(sentence: SentenceMatch, language: str) -> bool:
    """A total over several incidents: round-up wording or more than one governorate."""
    if _is_summary(sentence):
        return True
    several = _names_governorates(sentence) > 1
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
_AR_IMPACT = compile_arabic(r"(?:^|\s)(?:و|ف)?(?:سقط|سقطت|اصاب|اصابت|الحق|الحقت|اضرار|احترق\S*|دمر\S*)(?:\s|$)")


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
_AR_TURKISH = compile_arabic(r"(?:^|\s)(?:و|ب|ل)?(?:ال)?(?:تركي|تركيه|تركيا|اتراك)(?:\s|$|[.,،])")


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
_AR_ATTRIBUTION = compile_arabic(
    r"(?:تبنى|تبنت|يتبنى|تبني|مسؤوليته|مسؤوليتها|المسؤوليه|نسب\S*|اتهم\S*|حمل\S*\s+\S*\s*مسؤوليه|يقف\S*\s+وراء|نفذه|نفذها|نفذته|المشتبه|يشتبه)"
)
_EN_SUBJECT_VERB = (
    r"(?:[\w-]+\s+){0,3}?(?:attacked|attack|attacks|bombed|bombs|struck|strikes|shelled|shells|fired|fires|launched|launches|stormed|storms|"
    r"ambushed|ambush|killed|kill|kills|kidnapped|kidnap|abducted|seized|blew|targeted|hit|raided|overran|assaulted)\b"
)
_AR_PERPETRATOR_VERB = compile_arabic(r"(?:^|\s)(?:و|ف)?(?:شن|شنت|تشن|يشن|نفذ|نفذت|تنفذ|ينفذ|قصف|قصفت|تقصف|يقصف|هاجم|هاجمت|يهاجم|تهاجم|استهدف|استهدفت|فجر|فجرت|اقتحم|اقتحمت)(?:\s|$)")
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
    if says_no_casualties(lead, analysis.language):
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
