"""Group flagged articles into incidents (events), online and in publication order.

:class:`Grouper` keeps the open events in memory and, given a database, in
the ``events`` and ``event_articles`` tables (see :mod:`grouping.schema`).
Each call to :meth:`Grouper.add` takes one article and its detection, and
never looks ahead: the article's incidents (see :mod:`grouping.extract`; a
round-up is split into one incident per place it names) join the open events
they match (see :func:`grouping.events.score_match`) or start new ones. A
round-up that names no place joins every event of its days it fits; a report
with no day prefers the latest compatible event; an attack and the strike
answering it, once told together, stay paired (partners). A feature's summary
(a round-up of past weeks with no toll, see
:attr:`grouping.extract.Signature.codable`) joins only events that already
say what or where: it neither starts nor completes one. Every article the
grouper is given, even an unflagged one, feeds the online document
frequencies of the text similarity (the daemon's writer, and so ``newswatch
group`` and :mod:`grouping.evaluate`, give it the flagged ones only).

Alert policy
------------
:meth:`Grouper.add` returns the changes worth an alert, at most one per event
and article:

* ``("incident.created", event)`` once per event, as soon as it is
  identifiable (a kind of attack, a place or a toll: "US troops targeted again
  in Iraq" waits, stored and listed, for a report saying what and where);
* ``("incident.updated", event, reasons)`` when, since the *last alert* about
  the event, one of the policy's reasons appears:

  - ``casualties``: the killed maximum rises materially: a first figure, or a
    rise of at least 50 % *and* at least 3 (:class:`AlertPolicy`: ``rise_ratio``,
    ``rise_min``, ``rise_needs_both``);
  - ``claimed``: a claim of responsibility appears (negated claims, "no group
    claimed", are not claims);
  - ``attack_type``: a second attack-type *family* (drones and rockets of one
    salvo are one family; a round-up's other kinds are not added).

  Opt-in reasons (``Grouper(alert_reasons=ALL_REASONS)`` or any subset):
  ``wounded`` (the wounded maximum rises materially) and ``confirmed`` (a
  second independent outlet moves the event from provisional to confirmed).
  When not opted into, a confirmation is never an alert of its own: the state
  travels in every payload and in ``newswatch incidents``, and ``confirmed``
  (or ``wounded``) is listed among the reasons of the next alert a real change
  triggers.

A restarted grouper loads the events updated within ``open_days`` of the
newest one and rebuilds its similarity and near-duplicate indexes from the
stored links, so grouping goes on where it stopped; the stored state of each
event is taken as already alerted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from scipy import sparse
from sqlite_utils import Database

from grouping.events import (
    TYPE_FAMILIES,
    Event,
    MatchWeights,
    count_sources,
    is_date_compatible,
    make_event_id,
    score_match,
    start_event,
)
from grouping.extract import Signature, parse_published, read_detection, read_incidents
from grouping.schema import decode_event_row, ensure_events_tables
from grouping.vocab import FORCE_TARGETS
from grouping.text import DocumentFrequencies, DuplicateIndex, TextVectoriser, normalise_text, read_article_text

LOGGER = logging.getLogger(__name__)

OPEN_DAYS = 14
SNIPPET_CHARS = 1500
ALL_REASONS = ("casualties", "claimed", "attack_type", "wounded", "confirmed")
DEFAULT_ALERT_REASONS = ("casualties", "claimed", "attack_type")
UPDATE_REASONS = ALL_REASONS  # every reason a deployment can opt into


@dataclass(frozen=True)
class AlertPolicy:
    """When an update of an event is worth an ``incident.updated`` alert.

    ``reasons`` are the reasons that trigger an alert (a subset of
    :data:`ALL_REASONS`). A figure rise is *material* when it is the first
    figure, or when it rises by at least ``rise_ratio`` of the figure last
    alerted and by at least ``rise_min`` people (``rise_needs_both=False``:
    either is enough). The early, conflicting counts of one attack (1, then
    2, then 3 dead) stay quiet; 3 -> 8 dead, or a first death toll, alerts.
    """

    reasons: tuple[str, ...] = DEFAULT_ALERT_REASONS
    rise_ratio: float = 0.5
    rise_min: int = 3
    rise_needs_both: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.reasons) - set(ALL_REASONS)
        if unknown:
            raise ValueError(f"unknown alert reasons {sorted(unknown)} (known: {', '.join(ALL_REASONS)})")

    def is_material_rise(self, before: int | None, after: int | None) -> bool:
        if not after:
            return False
        if not before:
            return True
        by_ratio, by_count = after >= before * (1 + self.rise_ratio), after - before >= self.rise_min
        return after > before and ((by_ratio and by_count) if self.rise_needs_both else (by_ratio or by_count))


def type_families(types: list[str] | tuple[str, ...]) -> set[str]:
    """Return the attack-type families of ``types`` (drones and rockets of one salvo are one family)."""
    families = set()
    for kind in types:
        if kind == "other":
            continue
        family = next((f for f in TYPE_FAMILIES if kind in f), None)
        families.add(min(family) if family else kind)
    return families


@dataclass
class GroupingResult:
    """What one article did to the events."""

    article_key: str
    flagged: bool
    event_ids: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    duplicate_of: str | None = None


def read_article_key(article: dict[str, Any]) -> str:
    """Return the key an article is known by: its id, else its URL."""
    key = article.get("id") if article.get("id") not in (None, "") else article.get("url")
    if key in (None, ""):
        raise ValueError("an article needs an id or a url to be grouped")
    return str(key)


class Grouper:
    """Online grouping of flagged articles into events, with optional SQLite persistence."""

    def __init__(
        self,
        db: Database | None = None,
        *,
        weights: MatchWeights | None = None,
        open_days: int = OPEN_DAYS,
        duplicate_threshold: float = 0.7,
        alert_reasons: tuple[str, ...] | None = None,
        alert_policy: AlertPolicy | None = None,
    ) -> None:
        self.db = db
        if alert_policy is None:
            alert_policy = AlertPolicy(reasons=tuple(DEFAULT_ALERT_REASONS if alert_reasons is None else alert_reasons))
        elif alert_reasons is not None:
            alert_policy = AlertPolicy(tuple(alert_reasons), alert_policy.rise_ratio, alert_policy.rise_min,
                                       alert_policy.rise_needs_both)
        self.alert_policy = alert_policy
        self.alert_reasons = alert_policy.reasons
        self.weights = weights or MatchWeights()
        self.open_days = open_days
        self.vectoriser = TextVectoriser()
        self.frequencies = DocumentFrequencies()
        self.duplicates = DuplicateIndex(threshold=duplicate_threshold)
        self.events: dict[str, Event] = {}
        self.seen: set[str] = set()
        self.links: dict[str, list[str]] = {}
        self.added: dict[str, datetime] = {}  # article key -> publication time, for forgetting it later
        if db is not None:
            ensure_events_tables(db)
            self.load_open_events()

    # -- the online step ----------------------------------------------------
    def add(self, article: dict[str, Any], detection: Any) -> GroupingResult:
        """Group one article (in publication order) and return what changed."""
        key = read_article_key(article)
        flagged, score, incidents = read_detection(detection)
        result = GroupingResult(article_key=key, flagged=flagged)
        if key in self.links:
            result.event_ids = list(self.links[key])
            return result
        text = read_article_text(article)
        vector = self.vectoriser.transform_one(text)
        if key not in self.seen:
            self.seen.add(key)
            self.frequencies.observe(vector)  # every article teaches which wording is common
        published = parse_published(article.get("date") or article.get("published"))
        self.added.setdefault(key, published)
        if not flagged:
            return result
        self.close_old_events(published)
        origin = self.duplicates.add(key, text, article.get("title") or "")
        result.duplicate_of = origin
        signatures = read_incidents(article, incidents)
        touched: dict[str, bool] = {}  # event id -> created by this article
        sides: dict[str, list[str]] = {}  # side -> events this article's incidents of that side went to
        for seq, sig in enumerate(signatures):
            partners = {p for side, ids in sides.items() if side != (sig.side or "armed_group")
                        for i in ids for p in self.events[i].partners}
            found = self.find_events(sig, vector, origin, published, exclude=set(touched), partners=partners)
            if not found and not sig.codable:
                continue
            if not found:
                event = start_event(make_event_id(key, seq), sig, published)
                self.events[event.id] = event
                touched[event.id] = True
                found = [event]
            for event in found:
                touched.setdefault(event.id, False)
                self.absorb(event, sig, article, key, seq, origin, vector, published, text)
                event.score = max(event.score, score)
            side = sig.side or ("armed_group" if sig.target in (*FORCE_TARGETS, "diplomatic") else "")
            sides.setdefault(side, []).extend(e.id for e in found)
        self.link_partners(sides)
        for event_id, created in touched.items():
            event = self.events[event_id]
            result.event_ids.append(event_id)
            if created:
                result.created.append(event_id)
            if event.alerted is None:
                if self.is_identifiable(event):
                    event.alerted = self.read_alert_state(event)
                    result.changes.append(("incident.created", event.to_dict()))
                continue
            reasons = self.compare_alert_state(event.alerted or self.read_alert_state(event), event)
            if reasons:
                event.alerted = self.read_alert_state(event)
                result.changes.append(("incident.updated", event.to_dict(), reasons))
        self.links[key] = list(result.event_ids)
        if self.db is not None:
            self.save(result, [self.events[i] for i in result.event_ids])
        LOGGER.debug("article %s -> events %s (%d changes)", key, result.event_ids, len(result.changes))
        return result

    def link_partners(self, sides: dict[str, list[str]]) -> None:
        """Remember an attack and the strike answering it, told together, as partner events."""
        attacks, strikes = sides.get("armed_group") or [], sides.get("state") or []
        for attack in attacks:
            for strike in strikes:
                self.events[attack].mentions.add("partner:" + strike)
                self.events[strike].mentions.add("partner:" + attack)

    def find_events(
        self, sig: Signature, vector: sparse.csr_matrix, origin: str | None, published: datetime, exclude: set[str],
        partners: set[str] = frozenset(),
    ) -> list[Event]:
        """Return the open events this incident joins: none (it starts a new one), one, or several.

        A report joins the best-scoring event over the threshold (ties go to
        the most recently updated one). A round-up that names no place ("drone
        attacks on US bases in Iraq on Tuesday") joins every event of its days
        that passes the threshold: it reports each of them.
        """
        scored = []
        for event in self.events.values():
            if event.id in exclude or not (sig.codable or self.is_identifiable(event)):
                continue
            score = score_match(sig, vector, origin, event, self.weights, published, self.frequencies)
            if score is None:
                continue
            if event.id in partners:
                score += self.weights.partner
            scored.append([score, event.first_seen, event.id])
        if sig.precision == "unknown" and scored:
            # a report with no day most likely tells of the latest of the incidents it fits
            max(scored, key=lambda s: s[1])[0] += self.weights.newest
        scored = [(s, first, i) for s, first, i in scored if s >= self.weights.threshold]
        if not scored:
            return []
        scored.sort(reverse=True)
        best = [self.events[scored[0][2]]]
        if sig.roundup and not sig.place and not sig.region and sig.precision in ("day", "unknown"):
            best += [self.events[event_id] for _, _, event_id in scored[1:]
                     if is_date_compatible(sig, self.events[event_id])]
        return best

    def find_event(
        self, sig: Signature, vector: sparse.csr_matrix, origin: str | None, published: datetime, exclude: set[str]
    ) -> Event | None:
        """Return the best open event this incident joins, or None when it starts a new one."""
        found = self.find_events(sig, vector, origin, published, exclude)
        return found[0] if found else None

    def absorb(
        self, event: Event, sig: Signature, article: dict[str, Any], key: str, seq: int, origin: str | None,
        vector: sparse.csr_matrix, published: datetime, text: str,
    ) -> None:
        """Merge one report's incident into the event."""
        if sig.precision == "day" and sig.date:
            event.days.append(sig.date)
        if event.days:
            distinct = sorted(set(event.days))
            event.date = distinct[0]
            event.precision = "day" if len(distinct) == 1 else "approximate"
            event.date_lo, event.date_hi = distinct[0] - timedelta(days=1), distinct[-1] + timedelta(days=1)
        else:
            lo, hi = max(event.date_lo, sig.date_lo), min(event.date_hi, sig.date_hi)
            if lo <= hi:
                event.date_lo, event.date_hi = lo, hi
            if sig.precision == "month" or event.precision == "month":
                event.precision, event.date = "month", event.date or sig.date
            elif event.date is None and sig.date is not None:
                event.date, event.precision = sig.date, sig.precision
        if sig.place_rank > event.place_rank and (not event.governorate or sig.governorate == event.governorate):
            event.governorate, event.place, event.place_rank = sig.governorate, sig.place, sig.place_rank
        elif not event.governorate and sig.governorate:
            event.governorate = sig.governorate
        known = type_families(event.attack_types)
        for kind in sig.attack_types:
            if kind in event.attack_types or kind == "other":
                continue
            if sig.roundup and known and not type_families([kind]) & known:
                continue  # a round-up's other kinds of attack belong to its other incidents
            event.attack_types.append(kind)
        event.target = event.target or sig.target
        event.claimed_by = event.claimed_by or sig.claimed_by
        for name in ("killed", "wounded"):
            value = getattr(sig, name)
            if value is not None:
                low, high = getattr(event, f"{name}_min"), getattr(event, f"{name}_max")
                setattr(event, f"{name}_min", value if low is None else min(low, value))
                setattr(event, f"{name}_max", value if high is None else max(high, value))
        event.foiled = event.foiled or sig.foiled
        event.mentions.update(sig.mentions)
        if sig.region and not event.governorate and not event.region:
            event.mentions.add("region:" + sig.region)
        event.mentions.update("detail:" + d for d in sig.details)
        event.mentions.update("clue:" + c for c in sig.clues)
        if sig.injured:
            event.mentions.add("injured")
        event.title = event.title or article.get("title")
        event.last_updated = max(event.last_updated, published.isoformat())
        event.articles.append({
            "key": key, "seq": seq, "source": article.get("source") or "", "url": article.get("url"),
            "title": article.get("title"), "published": published.isoformat(), "origin": origin or key,
            "snippet": normalise_text(text)[:SNIPPET_CHARS], "killed": sig.killed, "wounded": sig.wounded,
            "claimed_by": sig.claimed_by, "attack_types": list(sig.attack_types),
            "article_id": article.get("article_id") or (article["id"] if isinstance(article.get("id"), int) else None),
        })
        event.vectors = vector if event.vectors is None else sparse.vstack([event.vectors, vector]).tocsr()
        event.sources = count_sources(event.articles)
        if event.sources >= 2:
            event.state = "confirmed"

    # -- alert-worthy changes ---------------------------------------------
    @staticmethod
    def is_identifiable(event: Event) -> bool:
        """Return True once an analyst can tell the event apart: a kind of attack, a place or a toll.

        "US troops targeted again in Iraq" says neither what nor where: its
        ``incident.created`` waits for a report that does (it is listed by
        ``newswatch incidents`` meanwhile).
        """
        return event.identifiable

    @staticmethod
    def read_alert_state(event: Event) -> dict[str, Any]:
        """Return what an alert about ``event`` tells (the baseline of the next update)."""
        return {
            "killed": event.killed_max, "wounded": event.wounded_max, "state": event.state,
            "claimed_by": event.claimed_by, "families": sorted(type_families(event.attack_types)),
        }

    def compare_alert_state(self, before: dict[str, Any], event: Event) -> list[str]:
        """Return the reasons (if any) an update of ``event`` is worth an alert, against the last alert.

        Only the policy's reasons trigger an alert. A change of state
        (provisional -> confirmed) that is not a reason of its own is listed
        with the others when one of them triggers the alert.
        """
        policy = self.alert_policy
        found = []
        if policy.is_material_rise(before.get("killed"), event.killed_max):
            found.append("casualties")
        if event.claimed_by and not before.get("claimed_by"):
            found.append("claimed")
        families = set(before.get("families") or [])
        if families and type_families(event.attack_types) - families:
            found.append("attack_type")
        if policy.is_material_rise(before.get("wounded"), event.wounded_max):
            found.append("wounded")
        confirmed = before.get("state") != event.state and event.state == "confirmed"
        if confirmed:
            found.append("confirmed")
        triggers = [r for r in found if r in policy.reasons]
        if not triggers:
            return []
        return triggers + [r for r in found if r not in triggers and r in ("confirmed", "wounded")]

    # -- lifetime and persistence -------------------------------------------
    def close_old_events(self, now: datetime) -> None:
        """Forget (in memory) the events not updated within ``open_days`` of ``now``, and the
        articles published before then (their links, their near-duplicate signatures), so that
        a long-running grouper holds only the open window."""
        cutoff = now - timedelta(days=self.open_days)
        for event_id in [e.id for e in self.events.values() if e.last_updated < cutoff.isoformat()]:
            del self.events[event_id]
        for key in [k for k, published in self.added.items() if published < cutoff]:
            del self.added[key]
            self.seen.discard(key)
            self.links.pop(key, None)
            self.duplicates.forget(key)

    def save(self, result: GroupingResult, events: list[Event]) -> None:
        """Write the touched events and the article's links in one transaction."""
        assert self.db is not None
        with self.db.atomic():
            for event in events:
                self.db["events"].upsert(event_row(event), pk="id", alter=False)
                for link in event.articles:
                    if link["key"] == result.article_key:
                        self.db["event_articles"].upsert(link_row(event.id, link), pk=("event_id", "article_key", "seq"))

    def load_open_events(self) -> None:
        """Load the events updated within ``open_days`` of the newest one, with their links."""
        assert self.db is not None
        newest = self.db.execute("select max(last_updated) from events").fetchone()[0]
        if not newest:
            return
        cutoff = (parse_published(newest) - timedelta(days=self.open_days)).isoformat()
        for row in self.db["events"].rows_where("last_updated >= ?", [cutoff], order_by="first_seen"):
            event = read_event(decode_event_row(row))
            links = list(self.db["event_articles"].rows_where("event_id = ?", [event.id], order_by="published, seq"))
            for link in links:
                link = dict(link, key=link["article_key"], attack_types=json.loads(link.get("attack_types") or "[]"))
                event.articles.append(link)
                self.links.setdefault(link["key"], [])
                self.added.setdefault(link["key"], parse_published(link.get("published")))
                if event.id not in self.links[link["key"]]:
                    self.links[link["key"]].append(event.id)
                if link["key"] not in self.duplicates:
                    self.duplicates.add(link["key"], link.get("snippet") or "", link.get("title") or "")
            if links:
                event.vectors = self.vectoriser.transform([link.get("snippet") or "" for link in links])
            event.alerted = self.read_alert_state(event)  # a restart starts from what is stored
            self.events[event.id] = event
        LOGGER.info("loaded %d open events", len(self.events))


def event_row(event: Event) -> dict[str, Any]:
    """Return the ``events`` row of an event."""
    public = event.to_dict()
    return {
        "id": event.id, "date": public["date"], "date_precision": public["date_precision"],
        "date_lo": event.date_lo.isoformat(), "date_hi": event.date_hi.isoformat(),
        "days": json.dumps([d.isoformat() for d in event.days]), "governorate": event.governorate,
        "place": event.place, "place_rank": event.place_rank,
        "mentions": json.dumps(sorted(event.mentions)), "attack_types": json.dumps(event.attack_types),
        "target": event.target, "claimed_by": event.claimed_by, "killed_min": event.killed_min,
        "killed_max": event.killed_max, "wounded_min": event.wounded_min, "wounded_max": event.wounded_max,
        "foiled": int(event.foiled), "score": event.score, "first_seen": event.first_seen, "last_updated": event.last_updated,
        "sources": event.sources, "articles": len(event.articles), "state": event.state, "title": event.title,
    }


def link_row(event_id: str, link: dict[str, Any]) -> dict[str, Any]:
    """Return the ``event_articles`` row of one report of an event."""
    return {
        "event_id": event_id, "article_key": link["key"], "article_id": link.get("article_id"), "seq": link["seq"],
        "source": link.get("source"), "url": link.get("url"), "title": link.get("title"),
        "published": link.get("published"), "origin": link.get("origin"), "snippet": link.get("snippet"),
        "killed": link.get("killed"), "wounded": link.get("wounded"), "claimed_by": link.get("claimed_by"),
        "attack_types": json.dumps(link.get("attack_types") or []), "linked_at": link.get("published"),
    }


def read_event(row: dict[str, Any]) -> Event:
    """Return the in-memory event of a decoded ``events`` row (without its articles)."""
    days = [date.fromisoformat(d) for d in row.get("days") or []]
    raw_date = row.get("date")
    when = date.fromisoformat(raw_date + "-01" if raw_date and len(raw_date) == 7 else raw_date) if raw_date else None
    precision = row.get("date_precision") or "approximate"
    return Event(
        id=row["id"], date=when, precision=precision, date_lo=date.fromisoformat(row["date_lo"]),
        date_hi=date.fromisoformat(row["date_hi"]), governorate=row.get("governorate"), place=row.get("place"),
        place_rank=row.get("place_rank") or 0, attack_types=list(row.get("attack_types") or []),
        target=row.get("target"), claimed_by=row.get("claimed_by"), killed_min=row.get("killed_min"),
        killed_max=row.get("killed_max"), wounded_min=row.get("wounded_min"), wounded_max=row.get("wounded_max"),
        foiled=bool(row.get("foiled")), score=row.get("score") or 0.0, first_seen=row.get("first_seen") or "", last_updated=row.get("last_updated") or "",
        sources=row.get("sources") or 0, state=row.get("state") or "provisional", title=row.get("title"), days=days,
        mentions=set(row.get("mentions") or []),
    )
