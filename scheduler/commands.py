"""The ``newswatch run`` and ``newswatch status`` commands.

Loaded on demand by :mod:`newswatch.cli`; nothing here imports Scrapy or
Twisted until ``run`` starts, so that the daemon installs the asyncio reactor
first.
"""

from __future__ import annotations

import json
import sys

import click

from newswatch.cli import config_option, db_option, open_store, read_config


@click.command("run")
@config_option
@db_option
def run_command(config_path: str | None, db_path: str) -> None:
    """Run the newswatch service: poll every source, flag, alert.

    One long-lived process. Each source is polled on its own schedule,
    which adapts to how often it publishes (within its min_interval and
    max_interval); a failing source backs off. Flagged reports are
    grouped into incidents, and alerts sent to the configured webhooks
    (per incident by default, or per report: alert_on). Serves /healthz and Prometheus /metrics
    on [service] host:port. Logs one JSON line per event on stderr
    ([service] log_format = "text" for key=value lines).

    Stop with SIGTERM or Ctrl-C: the in-flight crawl gets a grace period,
    a second signal stops at once.

    Example:

    \b
        newswatch run --config sources.toml --db news.db
        curl -s http://127.0.0.1:9464/healthz
    """
    config = read_config(config_path)
    open_store(db_path).close()  # fail early on a bad database path
    from scheduler.daemon import run_daemon

    sys.exit(run_daemon(config, db_path))


@click.command("status")
@config_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
def status_command(config_path: str | None, db_path: str, as_json: bool) -> None:
    """Show each source's polling state.

    Last and next poll, current interval, articles stored in the last
    24 hours, failures in a row with the last error, and whether the
    source has been silent (no new item) for longer than expected.

    Example:

    \b
        newswatch status --config sources.toml --db news.db
        newswatch status --json
    """
    from scheduler.status import collect_status, print_status

    from storage import StorageError

    config = read_config(config_path)
    try:
        statuses = collect_status(db_path, config)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        for row in statuses:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        print_status(statuses)
