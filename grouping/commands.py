"""Command line for grouping: ``newswatch group`` and ``newswatch incidents``.

``group_command`` runs detection and grouping over a JSON-lines stream exactly
as the daemon does (one article at a time, in the order given, no
look-ahead); ``incidents_command`` lists and shows the grouped incidents
stored in the database.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

import click

from grouping.grouper import Grouper
from grouping.schema import decode_event_row, ensure_events_tables

LOGGER = logging.getLogger(__name__)

DEFAULT_DB = "newswatch.db"
ARTICLE_FIELDS = ("id", "source", "date", "url", "title", "text")


def make_detector() -> Any:
    """Return the detector the daemon uses (imported when a command needs it)."""
    from detector import Detector

    return Detector()


def open_events_database(db_path: str) -> Any:
    """Open (migrating) the newswatch database and make sure the events tables exist."""
    from storage.db import StorageError, open_database

    try:
        db = open_database(db_path)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc
    ensure_events_tables(db)
    return db


def check_grouping_article(record: Any) -> str | None:
    """Why ``record`` is not an article to group (an ``id``; ``title`` and ``text`` strings when given), or None."""
    if not isinstance(record, dict):
        return "expected a JSON object"
    if record.get("id") in (None, ""):
        return "no \"id\""
    if not isinstance(record.get("title") or "", str) or not isinstance(record.get("text") or "", str):
        return "\"title\" and \"text\" must be strings"
    return None


def read_articles(stream: TextIO) -> Any:
    """Yield (line number, article) for each valid line; report and skip the others."""
    from detector.commands import read_json_lines

    for number, article, error in read_json_lines(stream, check_grouping_article):
        if error:
            click.echo(f"line {number}: skipped, {error}", err=True)
            continue
        yield number, article


def detect_article(detector: Any, article: dict[str, Any]) -> dict[str, Any]:
    """Return the detector's result for one article as a dict."""
    found = detector.detect(article.get("title") or "", article.get("text") or "", date=article.get("date"),
                            language=article.get("language"))
    return found.to_dict() if hasattr(found, "to_dict") else dict(found)


@click.command(name="group")
@click.option("--input", "input_file", type=click.File("r", encoding="utf-8"), required=True,
              help="JSON lines {\"id\", \"source\", \"date\", \"url\", \"title\", \"text\"} in publication order; - is stdin.")
@click.option("--output", "output_file", type=click.File("w", encoding="utf-8"), default="-", show_default=True,
              help="JSON lines {\"id\", \"flagged\", \"incidents\"}; - is stdout.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Also store the incidents in this database (default: keep them in memory).")
def group_command(input_file: TextIO, output_file: TextIO, db_path: str | None) -> None:
    """Flag and group a stream of articles into incidents.

    Reads articles in publication order, runs the detector on each and
    groups the flagged ones into incidents as the running service does (only
    flagged articles reach the grouper, as in the service).
    Writes one line per article with the ids of the incidents it reports.
    Malformed lines are reported on stderr with their line number and skipped.

    Example:

    \b
        newswatch group --input stream.jsonl --output grouped.jsonl
        cat stream.jsonl | newswatch group --input - --db news.db
    """
    detector = make_detector()
    grouper = Grouper(open_events_database(db_path) if db_path else None)
    count = flagged = 0
    events: set[str] = set()
    for _number, article in read_articles(input_file):
        detection = detect_article(detector, article)
        # the daemon's writer hands the grouper flagged articles only: so does this command
        event_ids = grouper.add(article, detection).event_ids if detection.get("flagged") else []
        output_file.write(json.dumps(
            {"id": article["id"], "flagged": bool(detection.get("flagged")), "incidents": event_ids},
            ensure_ascii=False) + "\n")
        count += 1
        flagged += bool(detection.get("flagged"))
        events.update(event_ids)
    output_file.flush()
    click.echo(f"{count} articles, {flagged} flagged, {len(events)} incidents", err=True)


def query_events(
    db: Any, *, since: str | None = None, governorate: str | None = None, attack_type: str | None = None,
    state: str | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    """Return stored events, newest first, filtered."""
    where, params = ["1 = 1"], []
    if since:
        where.append("coalesce(date, substr(first_seen, 1, 10)) >= ?")
        params.append(since)
    if governorate:
        where.append("lower(governorate) = lower(?)")
        params.append(governorate)
    if attack_type:
        where.append("exists (select 1 from json_each(events.attack_types) where value = ?)")
        params.append(attack_type)
    if state:
        where.append("state = ?")
        params.append(state)
    rows = db["events"].rows_where(" and ".join(where), params, order_by="last_updated desc, id", limit=limit)
    return [decode_event_row(row) for row in rows]


def describe_event(row: dict[str, Any]) -> str:
    """Return a one-line description of an event row."""
    kinds = "+".join(row.get("attack_types") or []) or "attack"
    place, governorate = row.get("place"), row.get("governorate")
    where = f"{place}, {governorate}" if place and governorate and place != governorate else (governorate or place or "Iraq")
    tolls = []
    for name in ("killed", "wounded"):
        low, high = row.get(f"{name}_min"), row.get(f"{name}_max")
        if high is not None:
            tolls.append(f"{low}-{high} {name}" if low != high else f"{high} {name}")
    return f"{kinds} in {where}" + (f"; {', '.join(tolls)}" if tolls else "")


@click.group(name="incidents", invoke_without_command=True)
@click.option("--since", help="Only incidents on or after this date (YYYY-MM-DD).")
@click.option("--governorate", help="Only incidents in this governorate.")
@click.option("--attack-type", help="Only incidents with this attack type.")
@click.option("--state", type=click.Choice(["provisional", "confirmed"]), help="Only incidents in this state.")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many incidents.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=DEFAULT_DB, envvar="NEWSWATCH_DB",
              show_default=True, help="SQLite database file.")
@click.pass_context
def incidents_command(ctx: click.Context, since: str | None, governorate: str | None, attack_type: str | None,
                      state: str | None, limit: int, as_json: bool, db_path: str) -> None:
    """Grouped incidents (one per real-world attack), newest first.

    Each incident groups every article that reports the same attack: same
    day, same place, same kind of attack. It is provisional until two
    independent outlets report it.

    Example:

    \b
        newswatch incidents --since 2024-01-01 --governorate Anbar
        newswatch incidents --state confirmed --json
        newswatch incidents show EV-1a2b3c4d5e
    """
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path
    if ctx.invoked_subcommand is not None:
        return
    db = open_events_database(db_path)
    rows = query_events(db, since=since, governorate=governorate, attack_type=attack_type, state=state, limit=limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("date", "incident", "sources", "state", "first seen")
    table.add_column("id", no_wrap=True)
    for row in rows:
        table.add_row(row.get("date") or "?", describe_event(row), str(row.get("sources") or 0),
                      row.get("state") or "", (row.get("first_seen") or "")[:16], row["id"])
    Console().print(table)
    if not rows:
        click.echo("no incidents", err=True)


@incidents_command.command(name="show")
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None, help="SQLite database file.")
@click.pass_context
def show_command(ctx: click.Context, event_id: str, as_json: bool, db_path: str | None) -> None:
    """Show one incident with the articles that report it.

    Example:

    \b
        newswatch incidents show EV-1a2b3c4d5e
        newswatch incidents --db news.db show EV-1a2b3c4d5e --json
    """
    db = open_events_database(db_path or (ctx.obj or {}).get("db_path") or DEFAULT_DB)
    rows = list(db["events"].rows_where("id = ?", [event_id]))
    if not rows:
        raise click.ClickException(f"no incident {event_id}")
    event = decode_event_row(rows[0])
    links = [dict(r) for r in db["event_articles"].rows_where("event_id = ?", [event_id], order_by="published, seq",
                                                             select="article_key, source, url, title, published, origin")]
    if as_json:
        click.echo(json.dumps({**event, "articles": links}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{event['id']}  {event.get('date') or '?'} ({event.get('date_precision')})  {describe_event(event)}")
    click.echo(f"target: {event.get('target') or '-'}  claimed by: {event.get('claimed_by') or '-'}  "
               f"state: {event['state']}  sources: {event.get('sources')}")
    for link in links:
        copy = "  (copy)" if link.get("origin") and link["origin"] != link["article_key"] else ""
        click.echo(f"  {(link.get('published') or '')[:16]}  {link.get('source')}: {link.get('title')}{copy}")
        if link.get("url"):
            click.echo(f"      {link['url']}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(group_command())
