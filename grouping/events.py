"""Grouped incidents (events) and the rule that decides whether a report joins one.

An :class:`Event` is one real-world attack, ACLED's unit: a date (with its
precision), a governorate and place, its attack types, target and claim,
casualties as the range the sources give, the articles that report it and
how many independent sources they are.

:func:`score_match` implements ACLED's grouping rule as hard constraints plus
a score. A report can only join an event of the same day (+/-1 day for late
reports and night attacks; wider only when the report gives no day), the same
place (governorates must agree; two different sites or districts are two
events), a compatible kind of attack and the same side (a militia rocket
attack on a base and the strike that answers it are two events). Among the
events that pass, the score adds agreement on place, type, day, target and
casualty figures to the text similarity; the best one is joined when its
score reaches the threshold, otherwise the report starts a new event.

Two things carry a match across languages and dates. *Clues*, the
distinctive details outlets in every language repeat (the barracks, the upper
floor, a dud; :data:`grouping.vocab.CLUE_CUES`), add to the score.
And an event no report has dated has only a guessed window (the days before
its first report), so a late report sharing a clue may join it within
``dormant_days`` (:func:`is_late_report`), even one dating the attack before
that first report. An event that says neither what nor where yet ("US troops
targeted again") favours the first report that does (``pending``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from scipy import sparse

from grouping.extract import DETAIL_CONFLICTS, REGIONS, Signature
from grouping.text import DocumentFrequencies, compute_max_similarity

LOGGER = logging.getLogger(__name__)

TYPE_FAMILIES = (
    frozenset({"drone", "rocket_missile", "mortar_artillery"}),
    frozenset({"ied", "car_bomb", "suicide", "grenade"}),
    frozenset({"armed_assault", "assassination"}),
)
FORCES = frozenset({"us_coalition", "diplomatic", "iraqi_security", "peshmerga", "government"})
ARMED_GROUPS = frozenset({"pmf"})


@dataclass
class MatchWeights:
    """Weights and threshold of the join score (see ``grouping/README`` in the module docs)."""

    same_place: float = 2.0
    same_governorate: float = 1.0
    same_type: float = 1.0
    family_type: float = 0.5
    same_day: float = 1.0
    next_day: float = 0.3
    same_target: float = 0.5
    same_figure: float = 1.0
    text: float = 4.0
    duplicate: float = 10.0
    recent: float = 0.5
    recent_hours: float = 24.0
    follow_up_text: float = 0.45
    injured: float = 0.5
    same_detail: float = 1.0
    same_clue: float = 1.0
    max_clues: int = 2
    partner: float = 1.5
    pending: float = 0.5
    newest: float = 0.5
    strong_text: float = 0.8
    fresh_hours: float = 24.0
    dormant_days: float = 7.0
    threshold: float = 2.0


@dataclass
class Event:
    """One grouped incident and the reports it is made of."""

    id: str
    date: date | None
    precision: str
    date_lo: date
    date_hi: date
    governorate: str | None = None
    place: str | None = None
    place_rank: int = 0
    attack_types: list[str] = field(default_factory=list)
    target: str | None = None
    claimed_by: str | None = None
    killed_min: int | None = None
    killed_max: int | None = None
    wounded_min: int | None = None
    wounded_max: int | None = None
    foiled: bool = False
    score: float = 0.0
    first_seen: str = ""
    last_updated: str = ""
    sources: int = 0
    state: str = "provisional"
    title: str | None = None
    days: list[date] = field(default_factory=list)
    mentions: set[str] = field(default_factory=set)
    articles: list[dict[str, Any]] = field(default_factory=list)
    vectors: sparse.csr_matrix | None = None
    alerted: dict[str, Any] | None = None  # what the last alert told (see grouping.grouper)

    @property
    def region(self) -> str | None:
        """The part of Iraq an unnamed base was placed in ("a base in northern Iraq")."""
        return next((m[7:] for m in self.mentions if m.startswith("region:")), None)

    @property
    def details(self) -> set[str]:
        """Air strikes: the platform and object its reports name (gunship, jet, vehicle, facility)."""
        return {m[7:] for m in self.mentions if m.startswith("detail:")}

    @property
    def clues(self) -> set[str]:
        """The distinctive details its reports tell, in any language (see :data:`grouping.vocab.CLUE_CUES`)."""
        return {m[5:] for m in self.mentions if m.startswith("clue:")}

    @property
    def partners(self) -> set[str]:
        """The events reported as attack and reprisal with this one (a rocket attack and the strike answering it)."""
        return {m[8:] for m in self.mentions if m.startswith("partner:")}

    @property
    def identifiable(self) -> bool:
        """True once an analyst can tell the event apart: a kind of attack, a place or a toll."""
        return bool(
            [t for t in self.attack_types if t != "other"] or self.place or self.governorate or self.region
            or self.killed_max or self.wounded_max
        )

    @property
    def injured(self) -> bool:
        return bool(self.wounded_max) or "injured" in self.mentions

    @property
    def side(self) -> str | None:
        if not self.attack_types:
            return None
        if set(self.attack_types) == {"air_strike"} or (
            self.target in ("pmf", "other") and "air_strike" in self.attack_types
        ):
            return "state"
        return "armed_group"

    def to_dict(self) -> dict[str, Any]:
        """Return the event's public fields (what the tables, CLI and payloads show)."""
        return {
            "id": self.id,
            "date": format_date(self.date or self.date_hi, self.precision),
            "date_precision": self.precision if self.precision in ("day", "month") else "approximate",
            "governorate": self.governorate,
            "place": self.place,
            "attack_types": list(self.attack_types),
            "target": self.target,
            "claimed_by": self.claimed_by,
            "killed": {"min": self.killed_min, "max": self.killed_max},
            "wounded": {"min": self.wounded_min, "max": self.wounded_max},
            "foiled": self.foiled,
            "score": round(self.score, 4),
            "first_seen": self.first_seen,
            "last_updated": self.last_updated,
            "sources": self.sources,
            "articles": len(self.articles),
            "state": self.state,
            "title": self.title,
        }


def format_date(day: date | None, precision: str) -> str | None:
    """Return an event date as YYYY-MM-DD, or YYYY-MM for month precision."""
    if day is None:
        return None
    return day.strftime("%Y-%m") if precision == "month" else day.isoformat()


def make_event_id(article_key: str, seq: int) -> str:
    """Return the stable id of the event first reported by ``article_key`` (its ``seq``-th incident)."""
    return "EV-" + hashlib.sha256(f"{article_key}\x00{seq}".encode()).hexdigest()[:10]


def is_type_compatible(a: set[str], b: set[str]) -> bool:
    a, b = a - {"other"}, b - {"other"}
    if not a or not b or a & b:
        return True
    return any(a & family and b & family for family in TYPE_FAMILIES)


def is_target_compatible(a: str | None, b: str | None) -> bool:
    return not ((a in FORCES and b in ARMED_GROUPS) or (a in ARMED_GROUPS and b in FORCES))


def is_date_compatible(sig: Signature, event: Event) -> bool:
    """Return True when the report's date fits the event's (ACLED: same day +/-1)."""
    if sig.precision == "day" and event.days:
        return max(event.days) - timedelta(days=1) <= sig.date <= min(event.days) + timedelta(days=1)
    if event.days:
        lo, hi = min(event.days) - timedelta(days=1), max(event.days) + timedelta(days=1)
    else:
        lo, hi = event.date_lo, event.date_hi
    return sig.date_lo <= hi and lo <= sig.date_hi


def is_late_report(sig: Signature, event: Event, hours: float | None, weights: MatchWeights) -> bool:
    """Return True when the report may tell, late, of an event no report has dated yet.

    An event whose reports give no day has only a guessed window (the days
    before its first report); a feature days later, or one dating the attack
    before that first report ("the drone that hit the barracks on October
    26"), may be the same attack. It still needs a shared distinctive detail
    (see :func:`score_match`) and a report within ``dormant_days``.
    """
    if event.days or event.precision == "month" or hours is None or hours > 24 * weights.dormant_days:
        return False
    if sig.precision == "day":
        return sig.date <= event.date_hi  # reports follow attacks: an earlier day, never a later one
    return sig.precision == "unknown"


def is_place_compatible(sig: Signature, event: Event, similarity: float = 0.0, strong: float = 1.0) -> bool:
    """Return True when the report's place can be the event's.

    Governorates must agree; two different named sites or districts (in one
    governorate) are two events unless the texts are near-identical; a base
    placed in one part of Iraq ("in northern Iraq") is not a site in another.
    """
    if sig.governorate and event.governorate and sig.governorate != event.governorate:
        return False
    if sig.place_rank >= 3 and event.place_rank >= 3 and sig.place != event.place:
        return similarity >= strong or event.place in sig.mentions and sig.place in event.mentions
    region = event.region
    if sig.region and region and sig.region != region:
        return False
    if sig.region and event.governorate and event.governorate not in REGIONS.get(sig.region, ()):
        return False
    if region and sig.governorate and sig.governorate not in REGIONS.get(region, ()):
        return False
    return True


def is_detail_compatible(sig: Signature, event: Event) -> bool:
    """Return False for two air strikes told apart by platform or object (a gunship on a truck, jets on a HQ)."""
    mine, theirs = set(sig.details), event.details
    return not any(mine & pair and theirs & pair and not mine & theirs & pair for pair in DETAIL_CONFLICTS)


def score_match(
    sig: Signature,
    vector: sparse.csr_matrix,
    origin: str | None,
    event: Event,
    weights: MatchWeights,
    published: datetime | None = None,
    frequencies: DocumentFrequencies | None = None,
) -> float | None:
    """Return how well a report fits an event, or None when ACLED's rule excludes it."""
    types, event_types = set(sig.attack_types), set(event.attack_types)
    similarity = compute_max_similarity(vector, event.vectors, frequencies)
    if not is_place_compatible(sig, event, similarity, weights.strong_text):
        return None
    if not is_detail_compatible(sig, event):
        return None
    hours = None
    if published is not None and event.last_updated:
        hours = (published - datetime.fromisoformat(event.last_updated)).total_seconds() / 3600
    same_figure = any(
        value and value >= 2 and value in (low, high)
        for value, low, high in ((sig.killed, event.killed_min, event.killed_max),
                                 (sig.wounded, event.wounded_min, event.wounded_max))
    )
    follow_up = (sig.precision in ("unknown", "approximate") and not sig.fresh
                 and (similarity >= weights.follow_up_text or same_figure)
                 and hours is not None and hours <= 2 * weights.recent_hours)
    shared_clues = set(sig.clues) & event.clues
    if not is_date_compatible(sig, event) and not follow_up and not (
        shared_clues and is_late_report(sig, event, hours, weights)
    ):
        return None
    if sig.fresh and published is not None and event.first_seen and (
        published - datetime.fromisoformat(event.first_seen)
    ).total_seconds() > weights.fresh_hours * 3600:
        return None  # "new airstrikes", "another attack": not an incident reported days ago
    if hours is not None and hours > 24 * weights.dormant_days and similarity < weights.follow_up_text and not (
        sig.place and sig.place == event.place and sig.place_rank >= 2
    ):
        return None  # a late feature joins an event nobody reported for a week only on its place or wording
    if not is_type_compatible(types, event_types) or not is_target_compatible(sig.target, event.target):
        return None
    if sig.side and event.side and sig.side != event.side:
        return None
    score = 0.0
    if sig.place and sig.place == event.place and sig.place_rank >= 2:
        score += weights.same_place
    elif sig.governorate and sig.governorate == event.governorate:
        score += weights.same_governorate
    if types & event_types - {"other"}:
        score += weights.same_type
    elif types and event_types:
        score += weights.family_type
    if sig.precision == "day" and event.days:
        gap = min(abs((sig.date - d).days) for d in event.days)
        score += weights.same_day if gap == 0 else weights.next_day if gap == 1 else 0.0
    if sig.target and sig.target == event.target:
        score += weights.same_target
    for value, low, high in ((sig.killed, event.killed_min, event.killed_max),
                             (sig.wounded, event.wounded_min, event.wounded_max)):
        if value and value in (low, high):
            score += weights.same_figure
    if sig.injured and event.injured:
        score += weights.injured
    if set(sig.details) & event.details:
        score += weights.same_detail
    score += weights.same_clue * min(len(shared_clues), weights.max_clues)
    if not event.identifiable and types - {"other"} and sig.codable:
        score += weights.pending  # "US troops targeted again" waits for the report that says what and where
    score += weights.text * similarity
    if hours is not None and hours <= weights.recent_hours:
        score += weights.recent
    if origin and any(a.get("origin") == origin or a.get("key") == origin for a in event.articles):
        score += weights.duplicate
    return score


def start_event(event_id: str, sig: Signature, published: datetime) -> Event:
    """Return a new event made of one report."""
    stamp = published.isoformat()
    return Event(
        id=event_id, date=sig.date, precision=sig.precision, date_lo=sig.date_lo, date_hi=sig.date_hi,
        first_seen=stamp, last_updated=stamp,
    )


def count_sources(articles: list[dict[str, Any]]) -> int:
    """Return the number of independent sources: one per outlet, syndicated copies folded together."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for article in articles:
        key = "a:" + article["key"]
        parent[find(key)] = find("s:" + (article.get("source") or article["key"]))
        if article.get("origin") and article["origin"] != article["key"]:
            parent[find(key)] = find("a:" + article["origin"])
    return len({find("a:" + a["key"]) for a in articles})
