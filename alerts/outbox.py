"""The durable outbox: queue webhook alerts and move them through their states.

An alert is one row of the ``alerts`` table: one event for one webhook, with
the exact JSON body to send. It is queued by :func:`enqueue_report_alerts` in
the same transaction that stores the report, so a report is never stored
without its alerts nor alerts sent for a report that was rolled back. The
delivery worker (:mod:`alerts.delivery`) then moves each row::

    pending ──2xx──────────────────────────────▶ delivered
       │ ▲
       │ └─ retryable failure, attempts < max ──┐
       ├──────────────────────────────────────────┘
       └─ permanent failure, or attempts == max ─▶ dead ──alerts retry──▶ pending

Every change of state here is one UPDATE statement, so on the worker's own
autocommit connection it is one short, committed transaction. Times are
ISO 8601 UTC strings (``+00:00``), which compare correctly as text.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

from alerts.payload import (
    REPORT_EVENTS,
    PayloadError,
    build_report_payload,
    make_delivery_id,
    make_report_id,
    read_article_url,
    read_score,
    serialise_payload,
)
from newswatch.config import Webhook
from storage.db import utcnow

LOGGER = logging.getLogger(__name__)

STATES = ("pending", "delivered", "dead")
LIST_COLUMNS = (
    "id", "delivery_id", "state", "webhook", "event", "subject", "attempts",
    "next_attempt_at", "last_status", "last_error", "created_at", "delivered_at",
)


# -- time ------------------------------------------------------------------
def format_time(timestamp: float) -> str:
    """Return unix ``timestamp`` as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str) -> float:
    """Return the unix time of an ISO 8601 string written by newswatch."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def read_database(db: Any) -> Database:
    """Return the sqlite-utils Database of ``db`` (a Database, a Store or a connection)."""
    if isinstance(db, Database):
        return db
    if isinstance(getattr(db, "db", None), Database):
        return db.db
    if isinstance(db, sqlite3.Connection):
        return Database(db)
    raise TypeError(f"expected a sqlite_utils Database or a Store, got {type(db).__name__}")


# -- filters ---------------------------------------------------------------
def _normalise_name(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def match_webhook(hook: Webhook, detection: Mapping[str, Any]) -> bool:
    """Return True when ``detection`` passes the filters of ``hook``.

    * ``min_score``: the detection's score must be at least this.
    * ``governorates`` and ``attack_types``: at least one incident must match
      every filter that is set (one incident in a listed governorate *and* of
      a listed attack type). Governorates compare case-insensitively.
    A webhook without filters receives every report.
    """
    if read_score(detection) < hook.min_score:
        return False
    if not hook.governorates and not hook.attack_types:
        return True
    governorates = {_normalise_name(g) for g in hook.governorates}
    attack_types = set(hook.attack_types)
    for incident in detection.get("incidents") or []:
        if governorates and _normalise_name(incident.get("governorate")) not in governorates:
            continue
        if attack_types and incident.get("attack_type") not in attack_types:
            continue
        return True
    return False


def select_webhooks(webhooks: Iterable[Webhook], detection: Mapping[str, Any]) -> list[Webhook]:
    """Return those of ``webhooks`` whose filters ``detection`` passes."""
    return [hook for hook in webhooks if match_webhook(hook, detection)]


# -- queueing --------------------------------------------------------------
def insert_alert(db: Any, *, webhook: str, event: str, subject: str | None, payload: Mapping[str, Any]) -> int:
    """Insert one pending alert whose body is ``payload``; return its id.

    ``payload["delivery_id"]`` becomes the row's delivery id. Runs in the
    caller's transaction (it opens none).
    """
    database = read_database(db)
    created_at = str(payload.get("created_at") or utcnow())
    cursor = database.execute(
        "insert into alerts (delivery_id, webhook, event, subject, payload, state, attempts,"
        " next_attempt_at, created_at) values (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        [payload["delivery_id"], webhook, event, subject, serialise_payload(payload), created_at, created_at],
    )
    return int(cursor.lastrowid)


def enqueue_report_alerts(
    db: Any,
    article_row: dict,
    detection: dict,
    webhooks: Iterable[Webhook],
    event: str = "report.flagged",
) -> list[int]:
    """Queue one pending alert per webhook whose filters the report passes.

    Call it inside the transaction that stores the report (``with
    db.atomic():``): it opens and commits nothing, so the alerts are stored
    if and only if the report is. Each payload is serialised once; the stored
    text is what every attempt sends. Returns the new alert ids (empty when no
    webhook matches). Raises :class:`alerts.payload.PayloadError` before
    inserting anything when the article or detection is unusable.
    """
    if event not in REPORT_EVENTS:
        raise PayloadError(f"unknown report event {event!r} (one of {', '.join(REPORT_EVENTS)})")
    database = read_database(db)
    matching = select_webhooks(webhooks, detection)
    if not matching:
        return []
    subject = make_report_id(read_article_url(article_row))
    created_at = utcnow()
    payloads = [
        (hook, build_report_payload(
            article_row, detection, event=event, delivery_id=make_delivery_id(), created_at=created_at
        ))
        for hook in matching
    ]
    ids = [
        insert_alert(database, webhook=hook.name, event=event, subject=subject, payload=payload)
        for hook, payload in payloads
    ]
    LOGGER.info("queued %s %s for %s (%d alert(s))", event, subject, ", ".join(h.name for h in matching), len(ids))
    return ids


# -- reading ---------------------------------------------------------------
def list_alerts(
    db: Any,
    *,
    state: str | None = None,
    ids: Collection[int] | None = None,
    limit: int | None = None,
    with_payload: bool = False,
) -> list[dict[str, Any]]:
    """Return alerts (oldest first), optionally only those in ``state`` or with ``ids``."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown alert state {state!r} (one of {', '.join(STATES)})")
    columns = LIST_COLUMNS + (("payload",) if with_payload else ())
    where, params = _where(state=state, ids=ids)
    sql = f"select {', '.join(columns)} from alerts{where} order by id"
    if limit is not None:
        sql += f" limit {int(limit)}"
    return [dict(row) for row in _rows(read_database(db), sql, params)]


def fetch_due_alerts(
    db: Any, now: str, *, limit: int = 100, ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """Return pending alerts due at ``now`` (ISO time), oldest first, with payloads."""
    where, params = _where(state="pending", ids=ids)
    sql = (
        f"select * from alerts{where} and (next_attempt_at is null or next_attempt_at <= ?)"
        f" order by id limit {int(limit)}"
    )
    return [dict(row) for row in _rows(read_database(db), sql, params + [now])]


def read_next_due(db: Any) -> str | None:
    """Return the earliest ``next_attempt_at`` of the pending alerts, or None."""
    row = read_database(db).execute(
        "select min(coalesce(next_attempt_at, '')) from alerts where state = 'pending'"
    ).fetchone()
    return row[0] if row and row[0] is not None else None


def count_alerts(db: Any) -> dict[str, int]:
    """Return the number of alerts in each state (every state present)."""
    counts = dict.fromkeys(STATES, 0)
    for state, count in read_database(db).execute("select state, count(*) from alerts group by state"):
        counts[state] = count
    return counts


def _where(*, state: str | None, ids: Collection[int] | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if state is not None:
        clauses.append("state = ?")
        params.append(state)
    if ids is not None:
        id_list = [int(i) for i in ids]
        clauses.append(f"id in ({', '.join('?' * len(id_list))})" if id_list else "0")
        params.extend(id_list)
    return (" where " + " and ".join(clauses)) if clauses else " where 1", params


def _rows(database: Database, sql: str, params: Sequence[Any]) -> Iterable[Mapping[str, Any]]:
    cursor = database.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    for values in cursor.fetchall():
        yield dict(zip(names, values))


# -- state changes (one statement each) -------------------------------------
def claim_alert(db: Any, alert_id: int, attempts: int, lease_until: str) -> bool:
    """Count one more attempt of a pending alert before it is sent.

    Moves ``next_attempt_at`` to ``lease_until`` so that no other worker picks
    the alert while this one sends it, and so that an attempt cut short by a
    crash is retried after the lease instead of being forgotten. Returns False
    (and changes nothing) when the alert is no longer pending with
    ``attempts`` attempts, i.e. someone else claimed, delivered or revived it.
    """
    cursor = read_database(db).execute(
        "update alerts set attempts = attempts + 1, next_attempt_at = ?"
        " where id = ? and state = 'pending' and attempts = ?",
        [lease_until, alert_id, attempts],
    )
    return cursor.rowcount == 1


def mark_delivered(db: Any, alert_id: int, *, status: int, at: str) -> None:
    """Record that the receiver answered ``status`` (2xx) to the alert."""
    read_database(db).execute(
        "update alerts set state = 'delivered', last_status = ?, last_error = null,"
        " next_attempt_at = null, delivered_at = ? where id = ?",
        [status, at, alert_id],
    )


def record_failed_attempt(
    db: Any, alert_id: int, *, status: int | None, error: str, next_attempt_at: str | None, dead: bool
) -> None:
    """Record a failed attempt: schedule the next one, or make the alert dead."""
    read_database(db).execute(
        "update alerts set state = ?, last_status = ?, last_error = ?, next_attempt_at = ? where id = ?",
        ["dead" if dead else "pending", status, error, None if dead else next_attempt_at, alert_id],
    )


def revive_alerts(
    db: Any, ids: Collection[int] | None = None, *, all_dead: bool = False, now: str | None = None
) -> dict[int, str]:
    """Make alerts due again; return ``{id: what happened}`` for each one asked for.

    A dead alert goes back to pending with its attempts reset to 0 (it keeps
    its delivery id and body). A pending one is made due now. Outcomes are
    ``"revived"``, ``"due now"``, ``"already delivered"`` and ``"not found"``.
    Runs in its own transaction.
    """
    database = read_database(db)
    now = now or utcnow()
    outcomes: dict[int, str] = {}
    with database.atomic():
        if all_dead:
            wanted = [r["id"] for r in _rows(database, "select id from alerts where state = 'dead' order by id", [])]
        else:
            wanted = [int(i) for i in ids or ()]
        for alert_id in dict.fromkeys(wanted):
            row = database.execute("select state from alerts where id = ?", [alert_id]).fetchone()
            if row is None:
                outcomes[alert_id] = "not found"
            elif row[0] == "delivered":
                outcomes[alert_id] = "already delivered"
            elif row[0] == "dead":
                database.execute(
                    "update alerts set state = 'pending', attempts = 0, next_attempt_at = ? where id = ?",
                    [now, alert_id],
                )
                outcomes[alert_id] = "revived"
            else:
                database.execute("update alerts set next_attempt_at = ? where id = ?", [now, alert_id])
                outcomes[alert_id] = "due now"
    return outcomes
