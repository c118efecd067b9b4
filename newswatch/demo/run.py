"""Serve the bundled demo site on 127.0.0.1 and crawl it: ``newswatch demo``.

The site's files carry ``{{BASE}}`` where an absolute URL belongs; it is
replaced with the server's address (``http://127.0.0.1:<port>``) when the
site is loaded, and in ``demo.toml`` before the configuration is parsed.
"""

from __future__ import annotations

import logging
import mimetypes
import sys
import time
from pathlib import Path

from rich.console import Console

from newswatch.config import Config, parse_config
from newswatch.localsite import LocalSite

LOGGER = logging.getLogger(__name__)
DEMO_DIR = Path(__file__).resolve().parent
SITE_DIR = DEMO_DIR / "site"
PLACEHOLDER = "{{BASE}}"
TEXT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml; charset=utf-8",
              ".txt": "text/plain; charset=utf-8", ".css": "text/css; charset=utf-8"}


def load_site(site: LocalSite, site_dir: Path = SITE_DIR) -> int:
    """Add every file under ``site_dir`` to ``site`` with ``{{BASE}}`` filled in."""
    count = 0
    for path in sorted(site_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = "/" + path.relative_to(site_dir).as_posix()
        body = path.read_bytes()
        kind = TEXT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix in TEXT_TYPES:
            body = body.replace(PLACEHOLDER.encode(), site.base_url.encode())
        site.add(rel, body, content_type=kind)
        if path.name == "index.html":
            site.add(rel[: -len("index.html")], body, content_type=kind)
        count += 1
    return count


def load_demo_config(base_url: str) -> Config:
    """Return the demo configuration pointing at ``base_url``."""
    text = (DEMO_DIR / "demo.toml").read_text(encoding="utf-8").replace(PLACEHOLDER, base_url)
    return parse_config(text, str(DEMO_DIR / "demo.toml"))


def start_demo_site() -> LocalSite:
    """Start the demo site on an ephemeral 127.0.0.1 port and load its files."""
    site = LocalSite().start()
    load_site(site)
    return site


def remove_database(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)


def run_demo(db_path: str | Path, keep: bool = False, serve: bool = False) -> int:
    """Crawl the demo site into ``db_path`` and print what was stored; return an exit code."""
    from newswatch.listing import print_reports, query_reports
    from newswatch.progress import run_with_progress
    from storage import Store

    db_path = Path(db_path)
    if not keep:
        remove_database(db_path)
    console = Console()
    site = start_demo_site()
    try:
        config = load_demo_config(site.base_url)
        console.print(f"[b]newswatch demo[/b]: serving the Tigris Daily Monitor on {site.base_url} "
                      f"and crawling it into {db_path}")
        outcome = run_with_progress(config, db_path, list(config.sources))
        store = Store(db_path)
        try:
            articles = store.db.execute(
                "select source, language, published, title from articles order by published desc"
            ).fetchall()
            console.print(f"\n[b]{len(articles)} articles stored[/b]")
            for source, language, published, title in articles:
                console.print(f"  {(published or '')[:10]}  [{language or '?'}]  {title}")
            console.print()
            print_reports(query_reports(store.db, limit=100), console)
        finally:
            store.close()
        console.print(
            f"\nExplore it: [b]newswatch reports --db {db_path}[/b], "
            f"or [b]sqlite-utils search {db_path} articles drone --table[/b]"
        )
        if serve:
            console.print(f"Serving {site.base_url} until Ctrl-C")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        site.stop()
    return 0 if outcome.result.stored or keep else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_demo("newswatch-demo.db"))
