"""The benchmark's news site: the 181 real AEB pages on 127.0.0.1, with a feed and a news sitemap.

The pages are read at run time from ``<shared>/data/pages/aeb/html/`` (never
copied into the repository) and served from memory by
:class:`newswatch.localsite.LocalSite`:

- ``/`` a home page listing every article, with
  ``<link rel="alternate" type="application/rss+xml" href="/feed.xml">``
  (news-please's RSS crawler starts from it);
- ``/feed.xml`` an RSS 2.0 feed with one item per page, newest first;
- ``/sitemap-news.xml`` a Google News sitemap with the same pages;
- ``/robots.txt`` allowing everything and naming the sitemap;
- ``/articles/<id>.html`` each page, byte for byte, as ``text/html`` (no
  charset: each crawler finds the encoding as it would on the web).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newswatch.localsite import LocalSite

REPO = Path(__file__).resolve().parents[1]
ARTICLE_PREFIX = "/articles/"


def default_shared_dir() -> Path:
    """``$NEWSWATCH_SHARED`` or the ``shared`` folder beside the repository."""
    return Path(os.environ.get("NEWSWATCH_SHARED") or REPO.parent / "shared")


def aeb_dir(shared: Path | None = None) -> Path:
    return (shared or default_shared_dir()) / "data" / "pages" / "aeb"


@dataclass
class Page:
    page_id: str
    path: str
    body: bytes
    title: str
    published: datetime


@dataclass
class BenchSite:
    """The running site and its pages."""

    site: LocalSite
    pages: list[Page] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.site.base_url

    def url(self, path: str) -> str:
        return self.site.url(path)

    @property
    def feed_url(self) -> str:
        return self.url("/feed.xml")

    @property
    def sitemap_url(self) -> str:
        return self.url("/sitemap-news.xml")

    def article_hits(self, since: float = 0.0) -> list[float]:
        """Times of the article-page requests received at or after ``since``."""
        return [r.at for r in self.site.requests() if r.bare_path.startswith(ARTICLE_PREFIX) and r.at >= since]

    def first_request(self, since: float) -> float | None:
        times = [r.at for r in self.site.requests() if r.at >= since]
        return min(times) if times else None

    def stop(self) -> None:
        self.site.stop()


def _title(body: str, page_id: str) -> str:
    first = " ".join(body.split())[:90].rsplit(" ", 1)[0]
    return first or f"Article {page_id}"


def load_pages(limit: int | None = None, shared: Path | None = None) -> list[tuple[str, bytes, str]]:
    """Return ``(id, html bytes, title)`` for the AEB pages (sorted by id), at most ``limit``."""
    folder = aeb_dir(shared)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit] if limit else sorted(truth)
    return [(i, (folder / "html" / f"{i}.html").read_bytes(), _title(truth[i].get("articleBody") or "", i)) for i in ids]


def _rss(site: BenchSite) -> bytes:
    items = "".join(
        f"<item><title>{html.escape(p.title)}</title><link>{site.url(p.path)}</link>"
        f"<guid isPermaLink=\"true\">{site.url(p.path)}</guid>"
        f"<pubDate>{p.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for p in site.pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench News</title>'
        f"<link>{site.url('/')}</link><description>The article extraction benchmark pages</description>"
        f"{items}</channel></rss>"
    ).encode("utf-8")


def _news_sitemap(site: BenchSite) -> bytes:
    urls = "".join(
        f"<url><loc>{site.url(p.path)}</loc><news:news><news:publication><news:name>Bench News</news:name>"
        "<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{p.published.strftime('%Y-%m-%dT%H:%M:%S+00:00')}</news:publication_date>"
        f"<news:title>{html.escape(p.title)}</news:title></news:news></url>"
        for p in site.pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    ).encode("utf-8")


def _home(site: BenchSite) -> bytes:
    links = "".join(f'<li><a href="{p.path}">{html.escape(p.title)}</a></li>' for p in site.pages)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Bench News</title>'
        '<meta property="og:type" content="website">'
        '<link rel="alternate" type="application/rss+xml" title="Bench News" href="/feed.xml"></head>'
        f"<body><h1>Bench News</h1><ul>{links}</ul></body></html>"
    ).encode("utf-8")


def start_site(limit: int | None = None, port: int = 0, shared: Path | None = None) -> BenchSite:
    """Start the site on 127.0.0.1:``port`` (0: any free port) with ``limit`` pages (None: all)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    local = LocalSite(host="127.0.0.1", port=port)
    site = BenchSite(site=local)
    for n, (page_id, body, title) in enumerate(load_pages(limit, shared)):
        path = f"{ARTICLE_PREFIX}{page_id}.html"
        site.pages.append(Page(page_id, path, body, title, now - timedelta(minutes=5 * n)))
        local.add(path, body, content_type="text/html")
    local.start()  # the port is known from here on; the listings carry absolute URLs
    local.add("/", _home(site), content_type="text/html; charset=utf-8")
    local.add("/feed.xml", _rss(site), content_type="application/rss+xml")
    local.add("/sitemap-news.xml", _news_sitemap(site), content_type="application/xml")
    local.robots = f"User-agent: *\nAllow: /\nSitemap: {site.sitemap_url}\n"
    return site
