"""Prometheus metrics and the health endpoint of the newswatch daemon.

:class:`Metrics` holds every metric in its own
:class:`prometheus_client.CollectorRegistry` (never the process-global one,
so that several daemons, or tests, can live in one process).

:class:`HealthServer` is a small HTTP/1.1 server on the daemon's own asyncio
loop (``asyncio.start_server``), bound to ``service.host`` (127.0.0.1 by
default) and ``service.port`` (0 picks a free port; the bound port is in
:attr:`HealthServer.port`). It answers two GET paths and closes each
connection after the answer:

``/healthz``
    JSON ``{"ok", "status", "uptime_s", "sources": {...}}``: 200 while the
    scheduler loop is running, 503 while it is starting or stopping. Because
    the server runs on the same loop as the scheduler, a blocked loop does not
    answer at all, which a probe reads as unhealthy too.
``/metrics``
    The Prometheus text format of :attr:`Metrics.registry`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scheduler.logs import log_event

LOGGER = logging.getLogger(__name__)

POLL_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
MAX_REQUEST_BYTES = 8192
READ_TIMEOUT_S = 5.0

#: Delivery-worker counter names read at scrape time, with the metric each feeds.
DELIVERY_COUNTERS = {
    "delivered": ("newswatch_alert_deliveries", "Alert webhook deliveries that succeeded."),
    "failed": ("newswatch_alert_delivery_failures", "Alert webhook delivery attempts that failed."),
    "dead": ("newswatch_alert_dead", "Alerts given up after their last attempt."),
}


class CountersCollector:
    """Expose plain integer counters, read at each scrape, as Prometheus counters.

    ``read_counters`` returns a mapping such as ``{"delivered": 3, "failed":
    1, "dead": 0}``; ``names`` maps each key to its metric name and help.
    The component keeping the counters knows nothing of Prometheus, and a
    failure to read them must not break ``/metrics``.
    """

    def __init__(self, read_counters: Callable[[], dict[str, Any]], names: dict[str, tuple[str, str]],
                 what: str) -> None:
        self.read_counters = read_counters
        self.names = names
        self.what = what

    def describe(self) -> Iterable[Any]:
        return []

    def read(self) -> dict[str, Any]:
        try:
            return dict(self.read_counters() or {})
        except Exception:  # a broken component must not break /metrics
            LOGGER.exception("cannot read %s counters", self.what)
            return {}

    def collect(self) -> Iterable[Any]:
        yield from self.collect_counters(self.read())

    def collect_counters(self, counters: dict[str, Any]) -> Iterable[Any]:
        for key, (name, doc) in self.names.items():
            family = CounterMetricFamily(name, doc)
            family.add_metric([], float(counters.get(key, 0) or 0))
            yield family


class DeliveryCollector(CountersCollector):
    """The delivery worker's counters, and the outbox's pending gauge when it reports one."""

    def __init__(self, read_counters: Callable[[], dict[str, Any]]) -> None:
        super().__init__(read_counters, DELIVERY_COUNTERS, "delivery")

    def collect(self) -> Iterable[Any]:
        counters = self.read()
        yield from self.collect_counters(counters)
        pending = counters.get("pending")
        if pending is not None:
            gauge = GaugeMetricFamily("newswatch_alerts_pending", "Alerts waiting in the outbox.")
            gauge.add_metric([], float(pending))
            yield gauge


#: Incident-pipeline counter names read at scrape time, with the metric each feeds.
PIPELINE_COUNTERS = {
    "incidents_created": ("newswatch_incidents_created", "Incidents created (incident.created, one per incident)."),
    "incidents_updated": (
        "newswatch_incidents_updated", "Incident updates worth an alert (incident.updated, per the alert policy)."
    ),
    "incident_alerts": ("newswatch_incident_alerts_queued", "incident.* alerts queued in the outbox (all webhooks)."),
    "report_alerts": ("newswatch_report_alerts_queued", "report.* alerts queued in the outbox (all webhooks)."),
    "grouping_errors": ("newswatch_grouping_errors", "Flagged articles that could not be grouped into incidents."),
}


class PipelineCollector(CountersCollector):
    """The incident pipeline's counters (kept by the crawler's hook)."""

    def __init__(self, read_counters: Callable[[], dict[str, Any]]) -> None:
        super().__init__(read_counters, PIPELINE_COUNTERS, "incident")


class Metrics:
    """Every metric of the daemon, in one private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("newswatch_polls", "Polls of a source, by outcome (ok, failed).", ["source", "outcome"], registry=r)
        self.articles_found = Counter("newswatch_articles_found", "Items found in feeds and sitemaps.", ["source"], registry=r)
        self.articles_fetched = Counter("newswatch_articles_fetched", "New articles fetched.", ["source"], registry=r)
        self.articles_stored = Counter("newswatch_articles_stored", "Articles stored.", ["source"], registry=r)
        self.articles_flagged = Counter("newswatch_articles_flagged", "Articles flagged as attack reports.", ["source"], registry=r)
        self.source_errors = Counter("newswatch_source_errors", "Errors met while polling a source.", ["source"], registry=r)
        self.poll_seconds = Histogram(
            "newswatch_poll_duration_seconds", "Time taken by one poll of a source.", ["source"],
            buckets=POLL_BUCKETS, registry=r,
        )
        self.interval = Gauge("newswatch_source_interval_seconds", "Current adaptive polling interval.", ["source"], registry=r)
        self.next_delay = Gauge("newswatch_source_next_poll_seconds", "Delay scheduled until the next poll.", ["source"], registry=r)
        self.failures = Gauge("newswatch_source_consecutive_failures", "Failed polls in a row.", ["source"], registry=r)
        self.silent = Gauge("newswatch_source_silent", "1 when the source has had no new item for too long.", ["source"], registry=r)
        self.silent_sources = Gauge("newswatch_silent_sources", "Number of silent sources.", registry=r)
        self.crash_count = Counter("newswatch_poll_crashes", "Polls that raised instead of returning a result.", ["source"], registry=r)
        self.uptime = Gauge("newswatch_uptime_seconds", "Seconds since the daemon started.", registry=r)
        self.up = Gauge("newswatch_scheduler_running", "1 while the scheduler loop is running.", registry=r)

    def watch_deliveries(self, read_counters: Callable[[], dict[str, Any]]) -> None:
        """Read the alert delivery counters through ``read_counters`` at each scrape."""
        self.registry.register(DeliveryCollector(read_counters))

    def watch_pipeline(self, read_counters: Callable[[], dict[str, Any]]) -> None:
        """Read the incidents created/updated and alerts queued through ``read_counters`` at each scrape."""
        self.registry.register(PipelineCollector(read_counters))

    def prepare_source(self, source: str) -> None:
        """Create the per-source series at 0, so that they show before the first poll."""
        for outcome in ("ok", "failed"):
            self.polls.labels(source, outcome)
        for counter in (self.articles_found, self.articles_fetched, self.articles_stored,
                        self.articles_flagged, self.source_errors, self.crash_count):
            counter.labels(source)
        self.silent.labels(source).set(0)
        self.failures.labels(source).set(0)

    def set_silent(self, flags: dict[str, bool]) -> None:
        """Record which sources are silent."""
        for source, flag in flags.items():
            self.silent.labels(source).set(1 if flag else 0)
        self.silent_sources.set(sum(1 for flag in flags.values() if flag))

    def render(self) -> bytes:
        """Return the registry in the Prometheus text format."""
        return generate_latest(self.registry)


def _response(status: int, reason: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HealthServer:
    """Serve ``/healthz`` and ``/metrics`` on the running asyncio loop."""

    def __init__(
        self,
        metrics: Metrics,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        """Bind and start serving; return the bound port."""
        self._server = await asyncio.start_server(self._handle, self.host, self.requested_port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log_event(LOGGER, logging.INFO, "health.listening", host=self.host, port=self.port,
                  url=f"http://{self.host}:{self.port}/healthz")
        return self.port

    async def stop(self) -> None:
        """Stop accepting connections and close the listening socket."""
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            writer.write(self.answer(head))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass
        except Exception:
            LOGGER.exception("health endpoint failed")
            try:
                writer.write(_response(500, "Internal Server Error", b"error\n", "text/plain"))
            except Exception:
                pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass

    def answer(self, head: bytes) -> bytes:
        """Return the full HTTP response to a request whose head is ``head``."""
        if len(head) > MAX_REQUEST_BYTES:
            return _response(431, "Request Header Fields Too Large", b"", "text/plain")
        try:
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        except ValueError:
            return _response(400, "Bad Request", b"bad request\n", "text/plain")
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return _response(405, "Method Not Allowed", b"", "text/plain")
        if path == "/metrics":
            body = self.metrics.render()
            return _response(200, "OK", b"" if method == "HEAD" else body, CONTENT_TYPE_LATEST)
        if path in ("/healthz", "/health", "/"):
            ok, payload = self.health()
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            status, reason = (200, "OK") if ok else (503, "Service Unavailable")
            return _response(status, reason, b"" if method == "HEAD" else body, "application/json")
        return _response(404, "Not Found", b"not found\n", "text/plain")
