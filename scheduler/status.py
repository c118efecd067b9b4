"""What ``newswatch status`` shows: the polling state of every source.

:func:`collect_status` reads the database (it never writes) and returns one
dict per configured source; :func:`format_status` renders them as a rich
table. Only source names, times, counts and error messages are shown:
webhook URLs and secrets are not read at all.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from scheduler.policy import Bounds, is_silent, parse_time, silence_threshold
from storage.db import StorageError

RECENT_WINDOW = timedelta(hours=24)
ERROR_WIDTH = 80


def _connect_readonly(db_path: str | Path) -> sqlite3.Connection | None:
    path = Path(db_path)
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("select 1 from sqlite_master where type = 'table' and name = ?", [name]).fetchone()
    return row is not None


def _read_rows(conn: sqlite3.Connection | None, since: str) -> tuple[dict[str, dict], dict[str, int], dict[str, str]]:
    """Return the sources rows, articles in the window and first run start, by source."""
    if conn is None or not _has_table(conn, "sources"):
        return {}, {}, {}
    rows = {r["name"]: dict(r) for r in conn.execute("select * from sources")}
    recent: dict[str, int] = {}
    if _has_table(conn, "articles"):
        sql = "select source, count(*) from articles where fetched_at >= ? group by source"
        recent = {r[0]: int(r[1]) for r in conn.execute(sql, [since])}
    first_run: dict[str, str] = {}
    if _has_table(conn, "crawl_runs"):
        sql = "select source, min(started) from crawl_runs group by source"
        first_run = {r[0]: r[1] for r in conn.execute(sql) if r[1]}
    return rows, recent, first_run


def collect_status(db_path: str | Path, config: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return the polling state of each configured source.

    Each dict has: ``source``, ``last_poll``, ``next_poll``, ``last_success``,
    ``last_new_item`` (ISO strings or None), ``interval_s`` (current adaptive
    interval), ``min_interval_s``, ``max_interval_s``, ``last_error``,
    ``last_error_at``, ``consecutive_failures``, ``articles_24h``, ``silent``
    (no new item for longer than ``silence_threshold_s``) and ``state``
    (``ok``, ``failing``, ``silent`` or ``never polled``).
    """
    now = now or datetime.now(timezone.utc)
    since = (now - RECENT_WINDOW).replace(microsecond=0).isoformat()
    conn = None
    try:
        conn = _connect_readonly(db_path)
        rows, recent, first_run = _read_rows(conn, since)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot open database {db_path}: {exc}") from exc
    finally:
        if conn is not None:
            conn.close()
    statuses: list[dict[str, Any]] = []
    for source in config.sources:
        bounds = Bounds.of(source)
        row = rows.get(source.name, {})
        failures = int(row.get("consecutive_failures") or 0)
        silent = is_silent(
            parse_time(row.get("last_new_item")), parse_time(first_run.get(source.name)), now, bounds
        )
        if not row.get("last_poll"):
            state = "never polled"
        elif failures:
            state = "failing"
        elif silent:
            state = "silent"
        else:
            state = "ok"
        statuses.append(
            {
                "source": source.name,
                "state": state,
                "last_poll": row.get("last_poll"),
                "next_poll": row.get("next_poll"),
                "last_success": row.get("last_success"),
                "last_new_item": row.get("last_new_item"),
                "interval_s": row.get("current_interval_s") or source.interval,
                "min_interval_s": source.min_interval,
                "max_interval_s": source.max_interval,
                "last_error": row.get("last_error"),
                "last_error_at": row.get("last_error_at"),
                "consecutive_failures": failures,
                "articles_24h": recent.get(source.name, 0),
                "silent": silent,
                "silence_threshold_s": silence_threshold(bounds),
            }
        )
    return statuses


def format_duration(seconds: float | None) -> str:
    """Return ``seconds`` as a short human duration ("90s", "12m", "3.5h", "2d")."""
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h".replace(".0h", "h")
    return f"{seconds / 86400:.1f}d".replace(".0d", "d")


def format_moment(value: str | None, now: datetime) -> str:
    """Return a stored time as "5m ago" / "in 2m"."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    delta = (moment - now).total_seconds()
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(-delta)} ago"


def _shorten(text: str | None, width: int = ERROR_WIDTH) -> str:
    if not text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


STATE_STYLES = {"ok": "green", "failing": "red", "silent": "yellow", "never polled": "dim"}


def build_status_table(statuses: list[dict[str, Any]], now: datetime | None = None) -> Table:
    """Return the rich table of :func:`collect_status` rows."""
    now = now or datetime.now(timezone.utc)
    table = Table(title="newswatch sources", header_style="bold")
    for column in ("source", "state", "last poll", "next poll", "interval", "24h", "failures", "last error"):
        wraps = column == "last error"
        table.add_column(column, overflow="fold", no_wrap=not wraps,
                         justify="right" if column in ("24h", "failures") else "left")
    for st in statuses:
        style = STATE_STYLES.get(st["state"], "")
        error = _shorten(st.get("last_error")) if st["consecutive_failures"] else ""
        table.add_row(
            st["source"],
            f"[{style}]{st['state']}[/{style}]" if style else st["state"],
            format_moment(st["last_poll"], now),
            format_moment(st["next_poll"], now),
            format_duration(st["interval_s"]),
            str(st["articles_24h"]),
            str(st["consecutive_failures"]),
            error,
        )
    return table


def format_status(statuses: list[dict[str, Any]], now: datetime | None = None, width: int = 120) -> str:
    """Return the status table as plain text (no colour codes)."""
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    with console.capture() as capture:
        console.print(build_status_table(statuses, now))
    return capture.get()


def print_status(statuses: list[dict[str, Any]], console: Console | None = None) -> None:
    """Print the status table to ``console`` (stdout), with colours when a terminal."""
    (console or Console()).print(build_status_table(statuses))
