"""Alerts per incident: ``incident.created`` and ``incident.updated`` webhook payloads.

A report alert (``report.flagged``) is about one article; an incident alert
is about one grouped event and lists every source that reports it. The
grouper emits a change once when an event is created and again only when
something an analyst cares about changes (see :mod:`grouping.grouper`);
:func:`enqueue_incident_alerts` turns one change into one pending row per
matching webhook in the ``alerts`` outbox, inside the caller's transaction.

The payload keeps the common envelope of every newswatch payload
(``schema_version``, ``event``, ``delivery_id``, ``created_at``) and the
``incident_id`` and ``incidents`` the webhook schema requires of
``incident.*`` events, and adds ``incident`` (the grouped fields, casualties
as min-max ranges), ``sources`` and ``reasons``. It is described, with the
report payloads, by the one webhook schema
``alerts/schema/webhook-payload.schema.json`` (``$defs/incident_payload``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION = 1
INCIDENT_EVENTS = ("incident.created", "incident.updated")


def make_delivery_id() -> str:
    """Return a new unique delivery id (the outbox's own form when the alerts package is present)."""
    try:
        from alerts.payload import make_delivery_id as make_outbox_id

        return make_outbox_id()
    except ImportError:
        return uuid.uuid4().hex


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def read_event_dict(event: Any) -> dict[str, Any]:
    """Return the public dict of an event (an :class:`~grouping.events.Event`, its dict or an ``events`` row)."""
    if hasattr(event, "to_dict"):
        return event.to_dict()
    event = dict(event)
    if isinstance(event.get("attack_types"), str):
        event["attack_types"] = json.loads(event["attack_types"] or "[]")
    if "killed" not in event:
        event["killed"] = {"min": event.get("killed_min"), "max": event.get("killed_max")}
        event["wounded"] = {"min": event.get("wounded_min"), "max": event.get("wounded_max")}
    return event


def build_sources(articles: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the event's sources (outlet, url, title, published), one per article, oldest first."""
    seen: set[str] = set()
    sources = []
    for article in sorted(articles, key=lambda a: str(a.get("published") or "")):
        key = str(article.get("url") or article.get("key") or article.get("article_key"))
        if key in seen:
            continue
        seen.add(key)
        origin = article.get("origin")
        own = article.get("key") or article.get("article_key")
        sources.append({
            "outlet": str(article.get("source") or ""),
            "url": article.get("url"),
            "title": article.get("title"),
            "published": article.get("published"),
            "syndicated": bool(origin and own and origin != own),
        })
    return sources


def build_incident_payload(
    event: Any,
    articles: Iterable[Mapping[str, Any]],
    *,
    event_type: str = "incident.created",
    reasons: Sequence[str] = (),
    delivery_id: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Return the webhook payload of an ``incident.created`` / ``incident.updated`` alert."""
    if event_type not in INCIDENT_EVENTS:
        raise ValueError(f"unknown incident event {event_type!r} (one of {', '.join(INCIDENT_EVENTS)})")
    data = read_event_dict(event)
    killed, wounded = data.get("killed") or {}, data.get("wounded") or {}
    types = list(data.get("attack_types") or [])
    incident = {
        "id": data["id"],
        "state": data.get("state") or "provisional",
        "date": data.get("date"),
        "date_precision": data.get("date_precision"),
        "governorate": data.get("governorate"),
        "place": data.get("place"),
        "attack_types": types,
        "target": data.get("target"),
        "claimed_by": data.get("claimed_by"),
        "killed": {"min": killed.get("min"), "max": killed.get("max")},
        "wounded": {"min": wounded.get("min"), "max": wounded.get("max")},
        "foiled": bool(data.get("foiled")),
        "first_seen": data.get("first_seen"),
        "last_updated": data.get("last_updated"),
        "sources": int(data.get("sources") or 0),
    }
    sources = build_sources(articles)
    evidence = [s["title"] for s in sources if s.get("title")][:3]
    summary = {
        "date": data.get("date"), "governorate": data.get("governorate"), "place": data.get("place"),
        "attack_type": types[0] if types else None, "target": data.get("target"),
        "killed": killed.get("max"), "wounded": wounded.get("max"), "foiled": bool(data.get("foiled")),
        "claimed_by": data.get("claimed_by"), "evidence": evidence,
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "event": event_type,
        "delivery_id": delivery_id or make_delivery_id(),
        "created_at": created_at or utcnow(),
        "incident_id": data["id"],
        "score": float(data.get("score") or 0.0),
        "incident": incident,
        "incidents": [summary],
        "sources": sources,
        "reasons": list(reasons) if event_type == "incident.updated" else [],
    }


def match_incident_webhook(hook: Any, event: Mapping[str, Any]) -> bool:
    """Return True when the event passes the webhook's filters (governorates, attack_types, min_score)."""
    if float(event.get("score") or 0.0) < float(getattr(hook, "min_score", 0.0) or 0.0):
        return False
    governorates = {str(g).casefold() for g in getattr(hook, "governorates", ()) or ()}
    if governorates and str(event.get("governorate") or "").casefold() not in governorates:
        return False
    attack_types = set(getattr(hook, "attack_types", ()) or ())
    if attack_types and not attack_types & set(event.get("attack_types") or []):
        return False
    return True


def read_event_articles(db: Any, event_id: str) -> list[dict[str, Any]]:
    """Return the stored reports of an event (``event_articles`` rows)."""
    return [dict(r, key=r["article_key"]) for r in db["event_articles"].rows_where(
        "event_id = ?", [event_id], order_by="published")]


def enqueue_incident_alerts(
    db: Any,
    change: Sequence[Any],
    webhooks: Iterable[Any],
    articles: Iterable[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Queue one pending alert per matching webhook for a grouper change; return the delivery ids.

    ``change`` is ``("incident.created", event)`` or ``("incident.updated",
    event, reasons)`` as :meth:`grouping.grouper.Grouper.add` returns it.
    The event's articles are read from ``event_articles`` unless given. Runs
    in the caller's transaction: it opens and commits nothing.
    """
    event_type, event = change[0], read_event_dict(change[1])
    reasons = list(change[2]) if len(change) > 2 else []
    hooks = [hook for hook in webhooks if match_incident_webhook(hook, event)]
    if not hooks:
        return []
    links = list(articles) if articles is not None else read_event_articles(db, event["id"])
    created_at = utcnow()
    delivery_ids = []
    for hook in hooks:
        payload = build_incident_payload(event, links, event_type=event_type, reasons=reasons,
                                         delivery_id=make_delivery_id(), created_at=created_at)
        db.execute(
            "insert into alerts (delivery_id, webhook, event, subject, payload, state, attempts,"
            " next_attempt_at, created_at) values (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
            [payload["delivery_id"], hook.name, event_type, event["id"],
             json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False),
             created_at, created_at],
        )
        delivery_ids.append(payload["delivery_id"])
    LOGGER.info("queued %s %s for %s", event_type, event["id"], ", ".join(h.name for h in hooks))
    return delivery_ids
