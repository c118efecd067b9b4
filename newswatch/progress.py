"""Progress display and the per-source summary of ``newswatch crawl``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newswatch.config import Config, Source

LOGGER = logging.getLogger(__name__)
SUMMARY_COLUMNS = ("found", "new", "stored", "duplicates", "errors", "flagged")


@dataclass
class CrawlOutcome:
    """What the CLI needs after a crawl: the crawler's result and a verdict."""

    result: Any
    failed_sources: int


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
    console: Console | None = None,
) -> CrawlOutcome:
    """Crawl ``sources`` showing progress, then print the summary table."""
    from crawler.run import run_crawl

    console = console or Console(stderr=True)
    show = not quiet and console.is_terminal
    if show:
        columns = (
            TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            result = run_crawl(config, db_path, sources, ProgressBars(progress, sources))
    else:
        result = run_crawl(config, db_path, sources)
    print_summary(result, Console(file=sys.stdout))
    failed = sum(1 for r in result.sources.values() if r.status != "ok")
    return CrawlOutcome(result=result, failed_sources=failed)


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
