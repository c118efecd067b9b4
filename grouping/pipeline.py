"""Incidents in the crawl pipeline: the crawler's flagged-article hook.

:class:`IncidentPipeline` is the hook that ``newswatch crawl`` and ``newswatch
run`` give the crawler's single writer (:class:`crawler.writer.Writer`). For
every newly flagged article, inside the transaction that stores its report,
it

1. queues a ``report.flagged`` alert for each webhook with ``alert_on =
   "reports"`` or ``"both"`` whose filters the report passes;
2. groups the article into incidents (:class:`grouping.grouper.Grouper`),
   which writes the ``events`` rows and links the article to them
   (``event_articles``);
3. for each change the grouper's :class:`~grouping.grouper.AlertPolicy` finds
   worth an alert (``incident.created`` once per incident, ``incident.updated``
   when the toll rises materially, a claim appears or a new kind of attack is
   reported), queues one alert per webhook with ``alert_on = "incidents"``
   (the default) or ``"both"`` whose filters the incident passes.

So a report, its incidents and its alerts are stored together or not at all.

The writer binds the pipeline once, on its own thread and connection
(:meth:`IncidentPipeline.bind`): the :class:`BoundPipeline` keeps ONE grouper
for the life of the writer, created on the first flagged article (it then
loads the recent open incidents from the database, so grouping goes on across
restarts). After each batch commits, :meth:`BoundPipeline.committed` adds the
batch's counts to :attr:`IncidentPipeline.counters` and calls
:attr:`IncidentPipeline.on_alerts` (the daemon passes the delivery worker's
``notify``) when alerts were queued. After a rollback the grouper is dropped
and rebuilt from what the database holds.

A grouping error (a bug, not a database error) is logged and counted; the
article and its report are still stored, without incidents.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

LOGGER = logging.getLogger(__name__)


@dataclass
class PipelineCounters:
    """Running totals of what the pipeline did (committed batches only)."""

    incidents_created: int = 0
    incidents_updated: int = 0
    incident_alerts: int = 0
    report_alerts: int = 0
    grouped_articles: int = 0
    grouping_errors: int = 0

    def add(self, other: "PipelineCounters") -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @property
    def alerts(self) -> int:
        return self.incident_alerts + self.report_alerts


def article_for_grouping(article_row: dict[str, Any]) -> dict[str, Any]:
    """Return the article as the grouper reads it, from a stored ``articles`` row."""
    return {
        "id": article_row["id"],
        "source": article_row.get("source") or "",
        "date": article_row.get("published") or article_row.get("fetched_at"),
        "url": article_row.get("canonical_url") or article_row.get("url"),
        "title": article_row.get("title") or "",
        "text": article_row.get("text") or "",
        "language": article_row.get("language"),
    }


class IncidentPipeline:
    """The flagged-article hook: group into incidents and queue the webhook alerts.

    ``webhooks`` are the configured :class:`newswatch.config.Webhook` s (none:
    incidents are grouped and stored, nothing is queued). ``grouper_options``
    are passed to :class:`~grouping.grouper.Grouper` (e.g. ``alert_policy``).
    """

    def __init__(
        self,
        webhooks: Iterable[Any] = (),
        *,
        on_alerts: Callable[[], None] | None = None,
        **grouper_options: Any,
    ) -> None:
        self.webhooks = tuple(webhooks)
        self.report_hooks = tuple(h for h in self.webhooks if getattr(h, "wants_reports", False))
        self.incident_hooks = tuple(h for h in self.webhooks if getattr(h, "wants_incidents", True))
        self.on_alerts = on_alerts
        self.grouper_options = grouper_options
        self.counters = PipelineCounters()
        self._lock = threading.Lock()
        self._unbound: BoundPipeline | None = None

    def __repr__(self) -> str:
        return f"IncidentPipeline(webhooks={[h.name for h in self.webhooks]!r})"

    def bind(self, db: Any) -> BoundPipeline:
        """Return the hook of one writer, working on its connection ``db``."""
        return BoundPipeline(self, db)

    def __call__(self, db: Any, article_row: dict[str, Any], detection: dict[str, Any]) -> None:
        """Use the pipeline unbound (e.g. ``write_batch(..., hook=pipeline)``): one grouper per connection."""
        if self._unbound is None or self._unbound.db is not db:
            self._unbound = self.bind(db)
        self._unbound(db, article_row, detection)
        self._unbound.committed()  # counted as soon as queued: the caller owns the transaction

    def read_counters(self) -> dict[str, int]:
        """Return the committed totals as a plain dict (thread-safe)."""
        with self._lock:
            return self.counters.as_dict()

    def _commit(self, batch: PipelineCounters) -> None:
        with self._lock:
            self.counters.add(batch)
        if batch.alerts and self.on_alerts is not None:
            try:
                self.on_alerts()
            except Exception:
                LOGGER.exception("cannot signal the queued alerts")


class BoundPipeline:
    """The pipeline of one writer: one grouper on one connection, created when first needed."""

    def __init__(self, pipeline: IncidentPipeline, db: Any) -> None:
        self.pipeline = pipeline
        self.db = db
        self.grouper: Any = None
        self.batch = PipelineCounters()

    def get_grouper(self) -> Any:
        if self.grouper is None:
            from grouping.grouper import Grouper

            self.grouper = Grouper(self.db, **self.pipeline.grouper_options)
        return self.grouper

    def __call__(self, db: Any, article_row: dict[str, Any], detection: dict[str, Any]) -> None:
        if self.pipeline.report_hooks:
            self.queue_report_alerts(db, article_row, detection)
        before = PipelineCounters()
        before.add(self.batch)
        try:
            with db.atomic():  # a savepoint: a grouping bug undoes only the grouping
                self.group(db, article_row, detection)
        except sqlite3.Error:
            self.grouper = None
            raise
        except Exception:
            self.grouper = None  # its memory may be half-updated: rebuild it from the database
            self.batch = before  # what the savepoint undid is not counted
            self.batch.grouping_errors += 1
            LOGGER.exception("cannot group article %s (%s) into incidents; its report is stored",
                             article_row.get("id"), article_row.get("url"))

    def queue_report_alerts(self, db: Any, article_row: dict[str, Any], detection: dict[str, Any]) -> None:
        from alerts.outbox import enqueue_report_alerts
        from alerts.payload import PayloadError

        try:
            self.batch.report_alerts += len(enqueue_report_alerts(db, article_row, detection, self.pipeline.report_hooks))
        except PayloadError as exc:
            LOGGER.error("report alerts not queued for %s: %s", article_row.get("url"), exc)

    def group(self, db: Any, article_row: dict[str, Any], detection: dict[str, Any]) -> None:
        from grouping.alerts import enqueue_incident_alerts

        result = self.get_grouper().add(article_for_grouping(article_row), detection)
        self.batch.grouped_articles += 1
        for change in result.changes:
            if change[0] == "incident.created":
                self.batch.incidents_created += 1
            else:
                self.batch.incidents_updated += 1
            event = change[1]
            reasons = list(change[2]) if len(change) > 2 else []
            # "event"/"fields" make it one structured line in the daemon's logs (scheduler.logs)
            LOGGER.info("%s %s (%s sources%s) from %s", change[0], event.get("id"), event.get("sources"),
                        f"; {', '.join(reasons)}" if reasons else "", article_row.get("url"),
                        extra={"event": change[0], "fields": {
                            "incident_id": event.get("id"), "sources": event.get("sources"),
                            "state": event.get("state"), "reasons": reasons, "source": article_row.get("source"),
                            "url": article_row.get("url")}})
            if self.pipeline.incident_hooks:
                self.batch.incident_alerts += len(enqueue_incident_alerts(db, change, self.pipeline.incident_hooks))

    def committed(self) -> None:
        """The batch transaction committed: publish its counts, wake the delivery worker."""
        batch, self.batch = self.batch, PipelineCounters()
        self.pipeline._commit(batch)

    def rolled_back(self) -> None:
        """The batch transaction was rolled back: forget its counts and the grouper's memory of it."""
        self.batch = PipelineCounters()
        self.grouper = None

    def close(self) -> None:
        self.grouper = None
