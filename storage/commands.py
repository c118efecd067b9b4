"""The ``newswatch import`` command: load article archives (JSON Lines) in bulk.

Loaded on demand by :mod:`newswatch.cli`.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from newswatch.cli import db_option, open_store
from storage.bulk import BULK_BATCH, ImportResult, InvalidRow, bulk_ingest


def read_jsonl(paths: tuple[str, ...], source: str | None) -> Iterator[Any]:
    """Each line of each file (``-`` is stdin, ``.gz`` is decompressed) as a dict, or why not."""
    for path in paths:
        if path == "-":
            handle = sys.stdin
        elif path.endswith(".gz"):
            handle = gzip.open(path, "rt", encoding="utf-8")
        else:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    yield InvalidRow(f"{path} line {number}: {exc}")
                    continue
                if source and isinstance(row, dict) and not row.get("source"):
                    row["source"] = source
                yield row
        finally:
            if handle is not sys.stdin:
                handle.close()


def summary(result: ImportResult) -> str:
    rate = result.read / result.seconds if result.seconds else 0.0
    return (f"{result.read:,} rows read, {result.stored:,} stored, {result.url_duplicates:,} URL duplicates, "
            f"{result.content_duplicates:,} content duplicates, {result.invalid:,} invalid "
            f"in {result.seconds:.1f} s ({rate:,.0f} rows/s)")


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True, exists=True))
@db_option
@click.option("--source", help="Source name for the rows that have none.")
@click.option("--batch", type=click.IntRange(min=1), default=BULK_BATCH, show_default=True,
              help="Rows per transaction.")
@click.option("--no-optimize", is_flag=True,
              help="Skip the final merge of the full-text index (faster import, slightly slower searches).")
@click.option("--quiet", is_flag=True, help="No progress display.")
def import_command(files: tuple[str, ...], db_path: str, source: str | None, batch: int, no_optimize: bool,
                   quiet: bool) -> None:
    """Load articles from JSON Lines files (archives, exports) in bulk.

    One JSON object per line, with the articles table's fields: url and
    source are required; title, text, published, canonical_url, language,
    author and the others are optional. Rows whose URL, canonical URL or
    text is already stored are skipped, as in a crawl. Rows go in in large
    transactions with the full-text index built per batch, then the index
    is merged; the database stays usable by a running newswatch, which
    writes between batches. FILE may be - (stdin) or end in .gz.
    Exits 1 when some lines were not valid rows (listed on stderr).

    Example:

    \b
        newswatch import archive-2024.jsonl --db news.db
        zcat rudaw.jsonl.gz | newswatch import - --source Rudaw --db news.db
    """
    store = open_store(db_path)

    def progress(result: ImportResult) -> None:
        if not quiet:
            click.echo(f"  {result.read:>12,} rows read, {result.stored:,} stored", err=True)

    try:
        result = bulk_ingest(store, read_jsonl(files, source), batch=batch, optimize=not no_optimize,
                             progress=progress)
    finally:
        store.close()
    click.echo(summary(result))
    for error in result.errors:
        click.echo(f"invalid: {error}", err=True)
    if result.invalid:
        sys.exit(1)
