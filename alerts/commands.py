"""The ``newswatch alerts`` commands: list, retry and test webhook alerts.

``alerts_group`` (also exported as ``alerts``) is a click group; the main
command line adds it as ``newswatch alerts``. Without a subcommand it lists
alerts like ``alerts list``. ``--config`` and ``--db`` given to the group
(or ``NEWSWATCH_CONFIG`` and ``NEWSWATCH_DB``) are the defaults of its
subcommands, so ``newswatch alerts --db x.db retry --all-dead`` works too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

import click

from alerts.delivery import DeliveryWorker, send_test_alerts
from alerts.outbox import STATES, list_alerts, revive_alerts
from newswatch.config import Config, ConfigError, load_config
from storage.db import StorageError, open_database

LOGGER = logging.getLogger(__name__)

DEFAULT_DB = "newswatch.db"
ERROR_CHARS = 80

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="TOML configuration file (default: $NEWSWATCH_CONFIG, else the bundled one).",
)
db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=None,
    help=f"SQLite database file (default: $NEWSWATCH_DB, else {DEFAULT_DB}).",
)
META_KEY = "alerts.options"


def resolve_option(ctx: click.Context, name: str, value: str | None, default: str | None) -> str | None:
    """Return ``value``, else the group's value of option ``name``, else ``default``."""
    if value is not None:
        return value
    group_value = ctx.meta.get(META_KEY, {}).get(name)
    return group_value if group_value is not None else default


def open_config(ctx: click.Context, config_path: str | None) -> Config:
    path = resolve_option(ctx, "config_path", config_path, None)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def resolve_db(ctx: click.Context, db_path: str | None) -> str:
    path = resolve_option(ctx, "db_path", db_path, DEFAULT_DB)
    assert path is not None
    if not Path(path).is_file():
        raise click.ClickException(f"database {path} does not exist (use --db PATH)")
    return path


def describe_host(url: str) -> str:
    """Return scheme://host[:port] of ``url`` (never its path or query)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def shorten(text: str | None, size: int = ERROR_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def format_columns(rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    """Return ``rows`` as lines of aligned columns (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


@click.group(name="alerts", invoke_without_command=True)
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None, envvar="NEWSWATCH_CONFIG",
    help="TOML configuration file for the subcommands (default: the bundled one).",
)
@click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=None, envvar="NEWSWATCH_DB",
    help=f"SQLite database file for the subcommands (default: {DEFAULT_DB}).",
)
@click.option("--state", type=click.Choice(STATES), default=None, help="Only alerts in this state.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.pass_context
def alerts_group(
    ctx: click.Context, config_path: str | None, db_path: str | None, state: str | None, as_json: bool
) -> None:
    """Webhook alerts: list them, retry dead ones, test the webhooks.

    Without a subcommand, lists alerts (same as "alerts list").

    Example:

    \b
        newswatch alerts --state pending
    """
    ctx.meta[META_KEY] = {"config_path": config_path, "db_path": db_path}
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command, db_path=db_path, state=state, as_json=as_json)


@alerts_group.command(name="list")
@db_option
@click.option("--state", type=click.Choice(STATES), default=None, help="Only alerts in this state.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON (all columns).")
@click.pass_context
def list_command(ctx: click.Context, db_path: str | None, state: str | None, as_json: bool) -> None:
    """List webhook alerts, oldest first.

    Shows each alert's id, state, webhook, event, subject (report id),
    attempts, last error and creation time.

    Example:

    \b
        newswatch alerts list --state dead
        newswatch alerts list --json --db /var/lib/newswatch/newswatch.db
    """
    path = resolve_db(ctx, db_path)
    try:
        db = open_database(path)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        rows = list_alerts(db, state=state)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"No {state + ' ' if state else ''}alerts.")
        return
    header = ("id", "state", "webhook", "event", "subject", "attempts", "last error", "created")
    lines = [header]
    for row in rows:
        error = row["last_error"] or ""
        if row["last_status"] and not error.startswith("HTTP"):
            error = f"HTTP {row['last_status']} {error}".strip()
        lines.append((
            str(row["id"]), row["state"], row["webhook"], row["event"], row["subject"] or "",
            str(row["attempts"]), shorten(error), row["created_at"] or "",
        ))
    for line in format_columns(lines, right=(0, 5)):
        click.echo(line)


@alerts_group.command(name="retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Retry every dead alert.")
@config_option
@db_option
@click.pass_context
def retry_command(
    ctx: click.Context, ids: tuple[int, ...], all_dead: bool, config_path: str | None, db_path: str | None
) -> None:
    """Send dead (or pending) alerts again, now.

    Dead alerts go back to pending with their attempts reset; each alert is
    then attempted once, with its original delivery id and body, and the
    result printed. One that fails again stays pending and the daemon keeps
    retrying it. Exits with status 1 when any alert is not delivered.

    Example:

    \b
        newswatch alerts retry 12 13
        newswatch alerts retry --all-dead
    """
    if not ids and not all_dead:
        raise click.UsageError("give alert IDS or --all-dead")
    if ids and all_dead:
        raise click.UsageError("give alert IDS or --all-dead, not both")
    config = open_config(ctx, config_path)
    path = resolve_db(ctx, db_path)
    worker = DeliveryWorker(path, config.webhooks)
    try:
        outcomes = revive_alerts(worker.db, ids, all_dead=all_dead)
        if not outcomes:
            click.echo("No dead alerts.")
            return
        wanted = [i for i, outcome in outcomes.items() if outcome in ("revived", "due now")]
        if wanted:
            asyncio.run(worker.run_once(ids=wanted))
        rows = {row["id"]: row for row in list_alerts(worker.db, ids=list(outcomes))}
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        worker.close()
    failed = 0
    for alert_id, outcome in outcomes.items():
        row = rows.get(alert_id)
        if row is None:
            click.echo(f"alert {alert_id}: not found")
            failed += 1
        elif outcome == "already delivered":
            click.echo(f"alert {alert_id}: already delivered at {row['delivered_at']}")
        elif row["state"] == "delivered":
            click.echo(f"alert {alert_id}: delivered to {row['webhook']} (HTTP {row['last_status']})")
        else:
            failed += 1
            if row["webhook"] not in worker.webhooks:
                reason = f"webhook {row['webhook']!r} is not in the configuration"
            else:
                reason = shorten(row["last_error"], 200) or "not attempted"
            then = "dead" if row["state"] == "dead" else f"pending, next attempt at {row['next_attempt_at']}"
            click.echo(f"alert {alert_id}: {reason} ({then})")
    if failed:
        ctx.exit(1)


@alerts_group.command(name="test")
@config_option
@click.option("--webhook", "names", multiple=True, help="Only this webhook (repeatable).")
@click.pass_context
def test_command(ctx: click.Context, config_path: str | None, names: tuple[str, ...]) -> None:
    """Send a signed sample payload (event "test") to each webhook.

    Prints each receiver's answer: the HTTP status and the first 200
    characters of its body. Nothing is stored. Exits with status 1 when any
    webhook does not answer 2xx.

    Example:

    \b
        newswatch alerts test --config newswatch.toml
        newswatch alerts test --webhook ops
    """
    config = open_config(ctx, config_path)
    hooks = list(config.webhooks)
    if names:
        unknown = sorted(set(names) - {hook.name for hook in hooks})
        if unknown:
            raise click.ClickException(f"no webhook named {unknown[0]!r} in {config.path}")
        hooks = [hook for hook in hooks if hook.name in names]
    if not hooks:
        raise click.ClickException(f"no [[webhooks]] configured in {config.path}")
    results = asyncio.run(send_test_alerts(hooks))
    failed = 0
    for hook, delivery_id, result in results:
        where = f"{hook.name} ({describe_host(hook.url)})"
        if result.status is not None:
            click.echo(f"{where}: HTTP {result.status} [{delivery_id}]")
            click.echo(f"  {shorten(result.preview, 200)}" if result.preview.strip() else "  (empty body)")
        else:
            click.echo(f"{where}: failed: {result.error} [{delivery_id}]")
        failed += not result.ok
    if failed:
        ctx.exit(1)


alerts = alerts_group
