"""Progress display and the per-source summary of ``newswatch crawl``.

A one-off crawl runs the same pipeline as the daemon: flagged articles are
grouped into incidents and their webhook alerts queued in the outbox, in the
transaction that stores them (:class:`grouping.pipeline.IncidentPipeline`).
At the end, unless alerts are turned off, the delivery worker makes passes
over the due alerts on the same event loop, for at most ``alert_wait``
seconds; what is not delivered stays pending for the next run, the daemon or
``newswatch alerts retry``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newswatch.config import Config, Source

LOGGER = logging.getLogger(__name__)
SUMMARY_COLUMNS = ("found", "new", "stored", "duplicates", "errors", "flagged")
DEFAULT_ALERT_WAIT_S = 60.0


@dataclass
class AlertSummary:
    """What happened to the alerts at the end of a crawl."""

    queued: int = 0  # queued by this crawl
    delivered: int = 0  # delivered by this crawl's delivery pass
    dead: int = 0  # made dead by this crawl's delivery pass
    pending: int = 0  # pending in the outbox afterwards (this crawl's and older ones)
    sent: bool = False  # False when the delivery pass was skipped (--no-alerts, no webhooks)
    timed_out: bool = False


@dataclass
class CrawlOutcome:
    """What the CLI needs after a crawl: the crawler's result and a verdict."""

    result: Any
    failed_sources: int
    incidents: dict[str, int] = field(default_factory=dict)
    alerts: AlertSummary = field(default_factory=AlertSummary)


class ProgressBars:
    """Draw one rich progress bar per source from the crawler's progress events."""

    def __init__(self, progress: Progress, sources: Sequence[Source]) -> None:
        self.progress = progress
        self.tasks = {
            s.name: progress.add_task(s.name, total=None, start=False, status="waiting") for s in sources
        }
        self.counts: dict[str, dict[str, int]] = {s.name: {} for s in sources}

    def __call__(self, event: str, source: str, value: int) -> None:
        task = self.tasks.get(source)
        if task is None:
            return
        counts = self.counts[source]
        counts[event] = counts.get(event, 0) + value
        if event == "start":
            self.progress.start_task(task)
        elif event == "new":
            self.progress.update(task, total=counts["new"])
        elif event in ("stored", "error") and counts.get("new"):
            done = counts.get("stored", 0) + counts.get("error", 0)
            self.progress.update(task, completed=min(done, counts["new"]))
        if event == "done":
            self.progress.update(task, total=counts.get("new", 0) or 1, completed=counts.get("new", 0) or 1)
        status = f"{counts.get('stored', 0)} stored, {counts.get('error', 0)} errors"
        self.progress.update(task, status="done: " + status if event == "done" else status)


def run_with_progress(
    config: Config, db_path: str | Path, sources: Sequence[Source], *, quiet: bool = False,
    console: Console | None = None, alerts: bool = True, alert_wait: float = DEFAULT_ALERT_WAIT_S,
) -> CrawlOutcome:
    """Crawl ``sources`` showing progress, group incidents, send alerts, then print the summary.

    With ``alerts=False`` the alerts are still queued, but none is sent: they
    wait in the outbox for the next crawl, the daemon or ``alerts retry``.
    """
    from crawler.run import run_crawl
    from grouping.pipeline import IncidentPipeline

    console = console or Console(stderr=True)
    show = not quiet and console.is_terminal
    hook = IncidentPipeline(config.webhooks)
    if show:
        columns = (
            TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            result = run_crawl(config, db_path, sources, ProgressBars(progress, sources), hook=hook)
    else:
        result = run_crawl(config, db_path, sources, hook=hook)
    counters = hook.read_counters()
    summary = AlertSummary(queued=counters["incident_alerts"] + counters["report_alerts"])
    if config.webhooks and alerts:
        summary = deliver_alerts(config, db_path, wait=alert_wait, queued=summary.queued)
    elif config.webhooks:
        summary.pending = count_pending(db_path)
    out = Console(file=sys.stdout)
    print_summary(result, out)
    print_pipeline(counters, summary, bool(config.webhooks), out)
    failed = sum(1 for r in result.sources.values() if r.status != "ok")
    return CrawlOutcome(result=result, failed_sources=failed, incidents=counters, alerts=summary)


def count_pending(db_path: str | Path) -> int:
    from alerts.outbox import count_alerts
    from storage.db import open_database

    db = open_database(db_path)
    try:
        return count_alerts(db)["pending"]
    finally:
        db.close()


def deliver_alerts(config: Config, db_path: str | Path, *, wait: float = DEFAULT_ALERT_WAIT_S,
                   queued: int = 0) -> AlertSummary:
    """Send the due alerts once each, on the crawler's event loop, for at most ``wait`` seconds.

    Passes of :meth:`alerts.delivery.DeliveryWorker.run_once` are repeated
    while they get alerts done (more than one batch queued). An alert whose
    attempt fails, or is cut short by the wait, stays pending: it is sent by
    the next run, the daemon or ``newswatch alerts retry``.
    """
    from alerts.delivery import DeliveryWorker
    from alerts.outbox import count_alerts
    from crawler.run import reactor_loop, release_reactor_threads

    worker = DeliveryWorker(db_path, config.webhooks)
    loop = reactor_loop()
    summary = AlertSummary(queued=queued, sent=True)

    async def deliver() -> None:
        deadline = loop.time() + wait
        while loop.time() < deadline:
            done = await asyncio.wait_for(worker.run_once(), max(0.0, deadline - loop.time()))
            if not done:
                return

    try:
        loop.run_until_complete(deliver())
    except asyncio.TimeoutError:
        summary.timed_out = True
        LOGGER.warning("alert delivery stopped after %gs; the rest stays pending", wait)
    finally:
        try:
            summary.pending = count_alerts(worker.db)["pending"]
        finally:
            worker.close()
            release_reactor_threads()
    summary.delivered, summary.dead = worker.counters.delivered, worker.counters.dead
    return summary


def print_pipeline(counters: dict[str, int], alerts: AlertSummary, webhooks: bool, console: Console) -> None:
    """Print the incidents created/updated and what became of the alerts."""
    console.print(f"incidents: {counters.get('incidents_created', 0)} created, "
                  f"{counters.get('incidents_updated', 0)} updated")
    if not webhooks:
        return
    line = f"alerts: {alerts.queued} queued, "
    if alerts.sent:
        line += f"{alerts.delivered} delivered, {alerts.pending} pending, {alerts.dead} dead"
        if alerts.timed_out:
            line += " (delivery time limit reached)"
    else:
        line += f"not sent (--no-alerts), {alerts.pending} pending"
    console.print(line)
    if alerts.pending:
        console.print("  pending alerts are sent by the next crawl, `newswatch run`, or `newswatch alerts retry`")
    if alerts.dead:
        console.print("  see them with `newswatch alerts list --state dead`")


def print_summary(result: Any, console: Console) -> None:
    """Print the per-source table: found, new, stored, duplicates, errors, flagged."""
    table = Table(title=f"crawl finished in {result.seconds:.1f}s, {result.pages_fetched} pages fetched")
    table.add_column("source")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="right")
    table.add_column("status")
    for name, res in result.sources.items():
        counts = res.counts()
        status = res.status if not res.error_messages else f"{res.status}: {res.error_messages[0][:60]}"
        table.add_row(name, *(str(counts[c]) for c in SUMMARY_COLUMNS), status)
    totals = result.totals()
    table.add_row("[b]total[/b]", *(f"[b]{totals[c]}[/b]" for c in SUMMARY_COLUMNS), "")
    console.print(table)
    for message in result.errors:
        console.print(f"[red]error:[/red] {message}")
