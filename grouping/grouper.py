"""Group flagged articles into incidents (events), online and in publication order.

:class:`Grouper` keeps the open events in memory and, given a database, in
the ``events`` and ``event_articles`` tables (see :mod:`grouping.schema`).
Each call to :meth:`Grouper.add` takes one article and its detection, and
never looks ahead: the article's incidents (see :mod:`grouping.extract`) join
the open events they match (see :func:`grouping.events.score_match`) or start
new ones. It returns the events joined or created and the changes worth an
alert:

* ``("incident.created", event)`` once per event;
* ``("incident.updated", event, reasons)`` only when a reason an analyst cares
  about appears: ``casualties`` (the highest killed or wounded figure rises),
  ``confirmed`` (a second independent outlet reports it), ``claimed`` (a claim
  of responsibility appears), ``attack_type`` (a second, different kind of
  attack: not one of the same family, as drones and rockets in one salvo).

A restarted grouper loads the events updated within ``open_days`` of the
newest one and rebuilds its similarity and near-duplicate indexes from the
stored links, so grouping goes on where it stopped.
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
    Event,
    MatchWeights,
    count_sources,
    is_type_compatible,
    make_event_id,
    score_match,
    start_event,
)
from grouping.extract import Signature, parse_published, read_detection, read_incidents
from grouping.schema import decode_event_row, ensure_events_tables
from grouping.text import DuplicateIndex, TextVectoriser, normalise_text, read_article_text

LOGGER = logging.getLogger(__name__)

OPEN_DAYS = 14
SNIPPET_CHARS = 1500
UPDATE_REASONS = ("casualties", "confirmed", "claimed", "attack_type")


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
        alert_reasons: tuple[str, ...] = UPDATE_REASONS,
    ) -> None:
        self.db = db
        self.alert_reasons = tuple(alert_reasons)
        self.weights = weights or MatchWeights()
        self.open_days = open_days
        self.vectoriser = TextVectoriser()
        self.duplicates = DuplicateIndex(threshold=duplicate_threshold)
        self.events: dict[str, Event] = {}
        self.links: dict[str, list[str]] = {}
        if db is not None:
            ensure_events_tables(db)
            self.load_open_events()

    # -- the online step ----------------------------------------------------
    def add(self, article: dict[str, Any], detection: Any) -> GroupingResult:
        """Group one article (in publication order) and return what changed."""
        key = read_article_key(article)
        flagged, score, incidents = read_detection(detection)
        result = GroupingResult(article_key=key, flagged=flagged)
        if not flagged:
            return result
        if key in self.links:
            result.event_ids = list(self.links[key])
            return result
        published = parse_published(article.get("date") or article.get("published"))
        self.close_old_events(published)
        text = read_article_text(article)
        origin = self.duplicates.add(key, text, article.get("title") or "")
        result.duplicate_of = origin
        vector = self.vectoriser.transform_one(text)
        signatures = read_incidents(article, incidents)
        touched: dict[str, list[str] | None] = {}
        for seq, sig in enumerate(signatures):
            event = self.find_event(sig, vector, origin, published, exclude=set(touched))
            if event is None:
                event = start_event(make_event_id(key, seq), sig, published)
                self.events[event.id] = event
                before = None
            else:
                before = self.read_alert_state(event)
            self.absorb(event, sig, article, key, seq, origin, vector, published, text)
            event.score = max(event.score, score)
            if before is None:
                touched[event.id] = None
            else:
                reasons = [r for r in self.compare_alert_state(before, event) if r in self.alert_reasons]
                touched[event.id] = sorted(set(touched.get(event.id) or []) | set(reasons))
        for event_id, reasons in touched.items():
            event = self.events[event_id]
            result.event_ids.append(event_id)
            if reasons is None:
                result.created.append(event_id)
                result.changes.append(("incident.created", event.to_dict()))
            elif reasons:
                result.changes.append(("incident.updated", event.to_dict(), reasons))
        self.links[key] = list(result.event_ids)
        if self.db is not None:
            self.save(result, [self.events[i] for i in result.event_ids])
        LOGGER.debug("article %s -> events %s (%d changes)", key, result.event_ids, len(result.changes))
        return result

    def find_event(
        self, sig: Signature, vector: sparse.csr_matrix, origin: str | None, published: datetime, exclude: set[str]
    ) -> Event | None:
        """Return the open event this incident joins, or None when it starts a new one."""
        best: tuple[float, str] | None = None
        for event in self.events.values():
            if event.id in exclude:
                continue
            score = score_match(sig, vector, origin, event, self.weights, published)
            if score is not None and score >= self.weights.threshold and (best is None or score > best[0]):
                best = (score, event.id)
        return self.events[best[1]] if best else None

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
        for kind in sig.attack_types:
            if kind not in event.attack_types and kind != "other":
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
    def read_alert_state(event: Event) -> dict[str, Any]:
        return {
            "killed": event.killed_max, "wounded": event.wounded_max, "state": event.state,
            "claimed_by": event.claimed_by, "types": list(event.attack_types),
        }

    @staticmethod
    def compare_alert_state(before: dict[str, Any], event: Event) -> list[str]:
        """Return the reasons (if any) an update of ``event`` is worth an alert."""
        reasons = []
        if (event.killed_max or 0) > (before["killed"] or 0) or (event.wounded_max or 0) > (before["wounded"] or 0):
            reasons.append("casualties")
        if before["state"] != event.state and event.state == "confirmed":
            reasons.append("confirmed")
        if event.claimed_by and not before["claimed_by"]:
            reasons.append("claimed")
        added = set(event.attack_types) - set(before["types"])
        if before["types"] and added and not any(
            is_type_compatible(set(before["types"]), {kind}) for kind in added
        ):
            reasons.append("attack_type")
        return reasons

    # -- lifetime and persistence -------------------------------------------
    def close_old_events(self, now: datetime) -> None:
        """Forget (in memory) the events not updated within ``open_days`` of ``now``."""
        cutoff = (now - timedelta(days=self.open_days)).isoformat()
        for event_id in [e.id for e in self.events.values() if e.last_updated < cutoff]:
            del self.events[event_id]

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
                if event.id not in self.links[link["key"]]:
                    self.links[link["key"]].append(event.id)
                if link["key"] not in self.duplicates:
                    self.duplicates.add(link["key"], link.get("snippet") or "", link.get("title") or "")
            if links:
                event.vectors = self.vectoriser.transform([link.get("snippet") or "" for link in links])
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
