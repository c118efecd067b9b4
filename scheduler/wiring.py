"""How the daemon meets the crawler and the alert delivery worker.

* :func:`create_crawl_service` builds the real
  :class:`crawler.service.CrawlService`; its flagged-article hook
  (:func:`make_alert_hook`, a :class:`grouping.pipeline.IncidentPipeline`)
  groups each flagged article into incidents and queues the webhook alerts
  (per incident or per report, as each webhook's ``alert_on`` asks) in the
  outbox, inside the transaction that stores the report.
* :func:`connect_alerts` makes the hook wake the delivery worker once a
  transaction that queued alerts has committed.
* :func:`create_delivery_worker` builds the :class:`alerts.delivery.DeliveryWorker`.
* :func:`read_outcome` reads one source's :class:`~scheduler.state.PollOutcome`
  out of a ``CrawlResult``.
* :func:`read_delivery_counters` reads the worker's counters for ``/metrics``.

Imports of Scrapy and of the alerts package happen inside the functions, so
that importing :mod:`scheduler` never imports ``twisted.internet.reactor``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scheduler.state import PollOutcome

LOGGER = logging.getLogger(__name__)


def _first(obj: Any, names: tuple[str, ...], default: Any = None) -> Any:
    """Return the first attribute (or mapping key) of ``obj`` that is set."""
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return default


def read_outcome(result: Any, source_name: str) -> PollOutcome:
    """Return the :class:`PollOutcome` of ``source_name`` in a crawl result.

    Accepts a ``CrawlResult`` (per-source results in ``sources``, a dict by
    name or a list) or a single ``SourceResult``. A result that does not
    mention the source counts as a failed poll; so does a source that got
    nothing while the crawl as a whole reported errors (``CrawlResult.errors``).
    """
    per_source = _first(result, ("sources", "results", "per_source"))
    item: Any = None
    if isinstance(per_source, dict):
        item = per_source.get(source_name)
    elif per_source is not None:
        for candidate in per_source:
            if _first(candidate, ("source", "name", "source_name")) == source_name:
                item = candidate
                break
    elif _first(result, ("source", "name", "source_name")) == source_name:
        item = result
    crawl_errors = _first(result, ("errors",), []) if per_source is not None else []
    crawl_errors = [str(e) for e in crawl_errors] if isinstance(crawl_errors, (list, tuple)) else []
    if item is None:
        return PollOutcome(errors=1, error_messages=crawl_errors or [f"crawl returned no result for {source_name}"],
                           status="failed")
    messages = [str(m) for m in (_first(item, ("error_messages", "messages"), []) or [])]
    errors = _first(item, ("errors",), 0)
    if isinstance(errors, (list, tuple)):
        messages = messages or [str(e) for e in errors]
        errors = len(errors)
    found = int(_first(item, ("found",), 0) or 0)
    new = int(_first(item, ("new",), 0) or 0)
    stored = int(_first(item, ("stored",), 0) or 0)
    status = str(_first(item, ("status",), "ok"))
    if crawl_errors and found == 0 and stored == 0:
        messages = messages + crawl_errors
        status = "failed"
    ratio = _first(item, ("items_seen_ratio", "seen_ratio"))
    if ratio is None and found:
        ratio = max(found - new, 0) / found
    if not found:
        ratio = None  # nothing listed: "nothing new", whatever the ratio says
    return PollOutcome(
        found=found,
        new=new,
        stored=stored,
        duplicates=int(_first(item, ("duplicates",), 0) or 0),
        errors=int(errors or 0),
        flagged=int(_first(item, ("flagged",), 0) or 0),
        seen_ratio=float(ratio) if ratio is not None else None,
        ttl_hint=_first(item, ("ttl_s", "ttl_hint", "ttl_hint_s", "ttl")),
        error_messages=messages,
        status=status,
    )


def make_alert_hook(webhooks: Any, **grouper_options: Any) -> Any:
    """Return the crawler's flagged-article hook: incidents, then the webhook alerts.

    It is a :class:`grouping.pipeline.IncidentPipeline`: bound once per
    crawler writer (one grouper per writer), it runs inside the transaction
    that stores each flagged report, so a report is stored with its incidents
    and alerts or not at all. Webhooks get ``incident.*`` alerts
    (``alert_on = "incidents"``, the default), ``report.flagged`` alerts
    (``"reports"``) or both. A detection a report payload cannot be built
    from is logged; the report is still stored.
    """
    from grouping.pipeline import IncidentPipeline

    return IncidentPipeline(tuple(webhooks or ()), **grouper_options)


def create_crawl_service(config: Any, db_path: str | Path) -> Any:
    """Return the real :class:`crawler.service.CrawlService` (imports Scrapy).

    Flagged articles are grouped into incidents and, with webhooks
    configured, queue their alerts in the outbox from inside the crawler's
    write transaction.
    """
    from crawler.service import CrawlService

    return CrawlService(config, db_path, hook=make_alert_hook(config.webhooks))


def connect_alerts(crawl_service: Any, worker: Any) -> None:
    """Make the crawl service's hook call ``worker.notify()`` after a commit that queued alerts."""
    hook = getattr(crawl_service, "hook", None)
    notify = getattr(worker, "notify", None)
    if hook is not None and hasattr(hook, "on_alerts") and notify is not None:
        hook.on_alerts = notify


def read_pipeline_counters(crawl_service: Any) -> dict[str, Any]:
    """Return the incident pipeline's counters (incidents created/updated, alerts queued)."""
    hook = getattr(crawl_service, "hook", None)
    read = getattr(hook, "read_counters", None)
    if not callable(read):
        return {}
    return dict(read())


def create_delivery_worker(config: Any, db_path: str | Path) -> Any:
    """Return the alert :class:`alerts.delivery.DeliveryWorker`, or None without webhooks."""
    if not config.webhooks:
        return None
    from alerts.delivery import DeliveryWorker

    return DeliveryWorker(db_path, config.webhooks)


def read_delivery_counters(worker: Any) -> dict[str, Any]:
    """Return the delivery worker's counters as a plain dict."""
    if worker is None:
        return {}
    counters = getattr(worker, "counters", None)
    if callable(counters):
        counters = counters()
    if counters is None:
        counters = getattr(worker, "stats", None)
    if hasattr(counters, "__dataclass_fields__"):
        counters = {k: getattr(counters, k) for k in counters.__dataclass_fields__}
    counters = dict(counters or {})
    if "failed" not in counters and "failed_attempts" in counters:
        counters["failed"] = counters["failed_attempts"]
    return counters
