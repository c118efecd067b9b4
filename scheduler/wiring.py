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
  out of a :class:`~crawler.results.CrawlResult`.
* :func:`read_delivery_counters` reads the worker's counters for ``/metrics``.

Imports of Scrapy and of the alerts package happen inside the functions, so
that importing :mod:`scheduler` never imports ``twisted.internet.reactor``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from crawler.results import CrawlResult
from scheduler.state import PollOutcome

LOGGER = logging.getLogger(__name__)


def read_outcome(result: CrawlResult, source_name: str) -> PollOutcome:
    """Return the :class:`PollOutcome` of ``source_name`` in a :class:`CrawlResult`.

    A result that does not mention the source counts as a failed poll; so
    does a source that got nothing while the crawl as a whole reported
    errors (``CrawlResult.errors``).
    """
    item = result.sources.get(source_name)
    if item is None:
        return PollOutcome.failure(source_name, "; ".join(map(str, result.errors))
                                   or f"crawl returned no result for {source_name}")
    return PollOutcome.from_result(item, result.errors)


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
