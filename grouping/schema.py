"""The ``events`` and ``event_articles`` tables: grouped incidents and their reports.

``incidents`` rows (migration m001) are what the detector read from one
article; an ``events`` row is one real-world attack, grouped over every
article that reports it (ACLED's unit), and ``event_articles`` links each
flagged article to the event(s) it reports.

Register :func:`m002_events` in ``storage/schema.py``::

    from grouping.schema import m002_events as _m002_events
    MIGRATIONS()(_m002_events)

(sqlite-utils' ``Migrations`` records the function's ``__name__``,
``m002_events``, in ``_sqlite_migrations``.)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlite_utils import Database

LOGGER = logging.getLogger(__name__)

EVENT_COLUMNS: dict[str, type] = {
    "id": str,
    "date": str,  # YYYY-MM-DD, or YYYY-MM for month precision
    "date_precision": str,  # day | approximate | month | unknown
    "date_lo": str,  # the window of days the event may have happened in
    "date_hi": str,
    "days": str,  # JSON list of the days its reports state
    "governorate": str,
    "place": str,
    "place_rank": int,
    "mentions": str,  # JSON list of every gazetteer place its reports name
    "attack_types": str,  # JSON list, first reported first
    "target": str,
    "claimed_by": str,
    "killed_min": int,
    "killed_max": int,
    "wounded_min": int,
    "wounded_max": int,
    "foiled": int,
    "score": float,  # the highest detector score of its reports
    "first_seen": str,  # publication time of its first report
    "last_updated": str,  # publication time of its latest report
    "sources": int,  # independent sources (syndicated copies count once)
    "articles": int,
    "state": str,  # provisional | confirmed
    "title": str,  # headline of its first report
}
LINK_COLUMNS: dict[str, type] = {
    "event_id": str,
    "article_key": str,  # the article's id as the grouper saw it (articles.id as text in the daemon)
    "article_id": int,  # articles.id when the article is stored, else null
    "seq": int,  # which of the article's incidents this link is
    "source": str,
    "url": str,
    "title": str,
    "published": str,
    "origin": str,  # article_key of the story it copies (itself when original)
    "snippet": str,  # normalised start of title and text, to rebuild similarity after a restart
    "killed": int,
    "wounded": int,
    "claimed_by": str,
    "attack_types": str,  # JSON list
    "linked_at": str,
}


def m002_events(db: Database) -> None:
    """Create the ``events`` and ``event_articles`` tables."""
    db["events"].create(EVENT_COLUMNS, pk="id", not_null={"id", "state"}, defaults={"state": "provisional"})
    db["events"].create_index(["date"])
    db["events"].create_index(["governorate"])
    db["events"].create_index(["last_updated"])
    db["event_articles"].create(
        LINK_COLUMNS,
        pk=("event_id", "article_key", "seq"),
        foreign_keys=[("event_id", "events", "id")],
        not_null={"event_id", "article_key"},
    )
    db["event_articles"].create_index(["article_key"])
    db["event_articles"].create_index(["article_id"])


def ensure_events_tables(db: Database) -> None:
    """Apply :func:`m002_events` when the tables are missing (tests and one-off databases)."""
    if not db["events"].exists():
        with db.atomic():
            m002_events(db)


def decode_event_row(row: dict[str, Any]) -> dict[str, Any]:
    """Return an ``events`` row with its JSON columns decoded."""
    row = dict(row)
    for key in ("attack_types", "days", "mentions"):
        row[key] = json.loads(row[key]) if row.get(key) else []
    row["foiled"] = bool(row.get("foiled"))
    return row
