"""Query and print flagged reports for ``newswatch reports``."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlite_utils import Database


def query_reports(
    db: Database,
    *,
    since: str | None = None,
    until: str | None = None,
    governorate: str | None = None,
    attack_type: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Return flagged articles with their incidents, newest first.

    ``since``/``until`` compare with the article's publication date (or the
    time it was fetched when it has none); the governorate and attack type
    filters keep reports with at least one matching incident.
    """
    where = ["1 = 1"]
    params: list[Any] = []
    when = "coalesce(articles.published, articles.fetched_at)"
    if since:
        where.append(f"{when} >= ?")
        params.append(since)
    if until:
        where.append(f"substr({when}, 1, 10) <= ?")
        params.append(until[:10])
    if governorate:
        where.append("exists (select 1 from incidents i where i.article_id = reports.article_id"
                     " and lower(i.governorate) = lower(?))")
        params.append(governorate)
    if attack_type:
        where.append("exists (select 1 from incidents i where i.article_id = reports.article_id"
                     " and i.attack_type = ?)")
        params.append(attack_type)
    sql = f"""
        select reports.article_id, reports.score, reports.why, reports.detected_at,
               articles.url, articles.title, articles.source, articles.published, articles.language
        from reports join articles on articles.id = reports.article_id
        where {' and '.join(where)}
        order by {when} desc, reports.article_id desc
        limit ?
    """
    rows = [dict(zip([c[0] for c in cur.description], r)) for cur in [db.execute(sql, params + [limit])] for r in cur.fetchall()]
    for row in rows:
        row["incidents"] = [
            {**inc, "foiled": bool(inc["foiled"]), "evidence": json.loads(inc["evidence"] or "[]")}
            for inc in db["incidents"].rows_where(
                "article_id = ?", [row["article_id"]], order_by="seq",
                select="date, governorate, place, attack_type, target, killed, wounded, foiled, claimed_by, evidence",
            )
        ]
    return rows


def describe_incident(inc: dict[str, Any]) -> str:
    parts = [inc.get("attack_type") or "attack"]
    where = ", ".join(p for p in (inc.get("place"), inc.get("governorate")) if p)
    if where:
        parts.append(f"in {where}")
    if inc.get("date"):
        parts.append(f"on {inc['date']}")
    if inc.get("foiled"):
        parts.append("(foiled)")
    tolls = [f"{inc[k]} {k}" for k in ("killed", "wounded") if inc.get(k) is not None]
    if tolls:
        parts.append("; " + ", ".join(tolls))
    return " ".join(parts)


def print_reports(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not rows:
        console.print("No flagged reports.")
        return
    table = Table(title=f"{len(rows)} flagged report(s), newest first", show_lines=True)
    table.add_column("published")
    table.add_column("source")
    table.add_column("title / url")
    table.add_column("score", justify="right")
    table.add_column("incidents")
    for row in rows:
        table.add_row(
            (row.get("published") or "")[:16],
            row.get("source") or "",
            f"{row.get('title') or ''}\n[dim]{row.get('url')}[/dim]",
            f"{row['score']:.2f}",
            "\n".join(describe_incident(i) for i in row["incidents"]) or "-",
        )
    console.print(table)
