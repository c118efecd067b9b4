"""The ``newswatch`` command line: a thin click layer over the packages.

Each command loads its package only when it runs, so ``newswatch --help`` is
quick and the Twisted reactor is installed by the commands that crawl, before
anything imports it.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from newswatch import __version__
from newswatch.config import Config, ConfigError, load_config

DEFAULT_DB = "newswatch.db"

# command name -> "module:attribute", loaded on first use
LAZY_COMMANDS = {
    "classify": "detector.commands:classify_command",
    "eval": "detector.commands:eval_command",
    "alerts": "alerts.commands:alerts",
    "group": "grouping.commands:group_command",
    "import": "storage.commands:import_command",
    "incidents": "grouping.commands:incidents_command",
    "run": "scheduler.commands:run_command",
    "status": "scheduler.commands:status_command",
}


class LazyGroup(click.Group):
    """A click group whose listed subcommands are imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attr = LAZY_COMMANDS[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


def config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--config`` (TOML file; the bundled default when absent)."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False),
        envvar="NEWSWATCH_CONFIG", help="TOML configuration file (default: the bundled source list).",
    )(fn)


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--db`` (the SQLite file; newswatch.db in the working directory)."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False), default=DEFAULT_DB,
        envvar="NEWSWATCH_DB", show_default=True, help="SQLite database file.",
    )(fn)


def read_config(config_path: str | None) -> Config:
    """Load the configuration or exit with its error."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def open_store(db_path: str) -> Any:
    """Open the database or exit with a readable error."""
    from storage import Store, StorageError

    try:
        return Store(db_path)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="newswatch")
def cli() -> None:
    """newswatch: watch regional news and flag reports of attacks in Iraq.

    Crawl feeds and news sitemaps, extract articles, flag the attack
    reports, keep everything in SQLite and send alerts by webhook.

    \b
    Quick start (no network needed):
        newswatch demo
    """


@cli.command()
@config_option
@db_option
@click.option("--source", "source_names", multiple=True, help="Crawl only this source (repeatable).")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option("--no-alerts", is_flag=True,
              help="Send no webhook alerts at the end (they stay queued for the next run).")
@click.option("--alert-wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="At most this many seconds sending alerts at the end; the rest stays pending.")
def crawl(config_path: str | None, db_path: str, source_names: tuple[str, ...], quiet: bool,
          no_alerts: bool, alert_wait: float) -> None:
    """Crawl the configured sources once, store new articles, send alerts.

    Fetches each source's feeds and news sitemaps, downloads the articles
    not stored yet, extracts them, flags attack reports, groups them into
    incidents and prints a summary per source. With [[webhooks]]
    configured, the alerts (per incident or per report, as each webhook's
    alert_on says) are queued and then sent once; those not delivered stay
    pending for the next run, `newswatch run` or `newswatch alerts retry`.
    Prints how many alerts were delivered, are pending and are dead.

    Example:

    \b
        newswatch crawl --config sources.toml --db news.db
        newswatch crawl --source "Iraqi News" --no-alerts
    """
    config = read_config(config_path)
    sources = select_sources(config, source_names)
    open_store(db_path).close()  # fail early on a bad database path
    from newswatch.progress import run_with_progress
    from storage import StorageError

    try:
        result = run_with_progress(config, db_path, sources, quiet=quiet, alerts=not no_alerts, alert_wait=alert_wait)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc
    if result.failed_sources == len(sources):
        sys.exit(1)


def select_sources(config: Config, names: tuple[str, ...]) -> list[Any]:
    if not names:
        return list(config.sources)
    known = {s.name: s for s in config.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise click.ClickException(
            f"unknown source {missing[0]!r}; configured: {', '.join(sorted(known))}"
        )
    return [known[n] for n in names]


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for a URL.")
def extract(inputs: tuple[str, ...], as_json: bool, timeout: float) -> None:
    """Show what newswatch would store for pages (URLs or HTML files).

    Prints the canonical URL, title, author, publication date and where
    it came from (page, feed, sitemap, url), language and text.

    Example:

    \b
        newswatch extract https://www.iraqinews.com/iraq/some-story/
        newswatch extract saved-page.html --json
    """
    from newswatch.pages import extract_inputs

    failed = 0
    for record in extract_inputs(inputs, timeout=timeout):
        if record.get("error"):
            failed += 1
            click.echo(f"{record['input']}: {record['error']}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(format_extraction(record))
    if failed:
        sys.exit(1)


def format_extraction(record: dict[str, Any]) -> str:
    lines = [f"== {record['input']}"]
    for key in ("url", "title", "author", "published", "published_from", "language"):
        lines.append(f"{key + ':':16}{record.get(key) or ''}")
    lines.append("")
    lines.append(record.get("text") or "")
    return "\n".join(lines) + "\n"


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default="newswatch-demo.db",
              show_default=True, help="Database to create (replaced if it exists).")
@click.option("--keep", is_flag=True, help="Keep the existing demo database instead of starting fresh.")
@click.option("--serve", is_flag=True, help="Keep the demo site running after the crawl (Ctrl-C to stop).")
def demo(db_path: str, keep: bool, serve: bool) -> None:
    """Crawl the bundled offline news site and show what was stored.

    Starts a small local news site on 127.0.0.1 (feeds, a news sitemap,
    robots.txt, English and Arabic pages), crawls it into a fresh SQLite
    database, flags the attack reports and prints them. Needs no network.

    Example:

    \b
        newswatch demo
        newswatch demo --db /tmp/demo.db --serve
    """
    from newswatch.demo.run import run_demo

    sys.exit(run_demo(db_path, keep=keep, serve=serve))


@cli.command()
@db_option
@click.option("--since", help="Only reports of articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only reports published on or before this date (YYYY-MM-DD).")
@click.option("--governorate", help="Only incidents in this governorate (e.g. Baghdad).")
@click.option("--attack-type", help="Only incidents of this type (e.g. drone, ied).")
@click.option("--limit", default=50, show_default=True, help="At most this many reports.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def reports(db_path: str, since: str | None, until: str | None, governorate: str | None,
            attack_type: str | None, limit: int, as_json: bool) -> None:
    """List flagged articles, newest first.

    Example:

    \b
        newswatch reports --governorate Anbar --attack-type drone
        newswatch reports --since 2024-01-01 --json
    """
    from newswatch.listing import print_reports, query_reports

    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no such database (run `newswatch crawl` first)")
    store = open_store(db_path)
    try:
        rows = query_reports(store.db, since=since, until=until, governorate=governorate,
                             attack_type=attack_type, limit=limit)
    finally:
        store.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        print_reports(rows)


if __name__ == "__main__":  # pragma: no cover
    cli()
