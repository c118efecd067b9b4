"""The shared data directory and a real local news site, for the tests.

The fixtures are registered by ``tests/conftest.py``; helpers are imported
from here by the tests that need them.

``shared_dir`` points at the ``shared`` directory beside the repository
(override with ``NEWSWATCH_SHARED``); tests that need it are skipped when it
is missing. ``news_site`` serves, on 127.0.0.1:

- ``/robots.txt`` disallowing ``/private/``;
- the 181 article-extraction-benchmark pages at ``/aeb/<id>.html``, listed by
  an RSS 2.0 feed, an Atom feed, an RSS 1.0 feed (same pages again, with
  ``?utm_source=x`` tracking parameters), a sitemap index with a Google News
  sitemap and a gzipped sitemap (plus stale entries and a loop back to the
  index);
- the four real feed captures with their item links rewritten (in memory) to
  local pages built from each item's title and description;
- a broken feed.

Feeds and pages are built at test time from the shared data and never
written into the repository.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newswatch.localsite import LocalSite

ROBOTS = "User-agent: *\nDisallow: /private/\n"
REAL_FEEDS = {
    "iraqinews": ("iraqinews_feed_2025-04-22.xml", "https://www.iraqinews.com"),
    "aljazeera": ("aljazeera_all_2026-08-13.xml", "https://www.aljazeera.com"),
    "mehrnews": ("mehrnews_en_2026-08-13.xml", "https://en.mehrnews.com"),
    "jpost": ("jpost_homepage_2023-02-25.xml", "https://www.jpost.com"),
}
STALE_PAGES = 5
MAX_PAGE_BYTES = 3 * 1024 * 1024  # the tests' crawl.max_page_bytes
BIG_PAGE = MAX_PAGE_BYTES + 100_000
TAG_RE = re.compile(r"<[^>]+>")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data directory beside the repository (``NEWSWATCH_SHARED`` overrides)."""
    path = Path(os.environ.get("NEWSWATCH_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
    if not (path / "data").is_dir():
        pytest.skip(f"shared data directory not found at {path} (set NEWSWATCH_SHARED)")
    return path


@dataclass
class NewsSite:
    """The running site and what a crawl of it should find."""

    site: LocalSite
    truth: dict[str, dict[str, str]]  # AEB id -> {"articleBody", "url"}
    aeb_paths: dict[str, str]  # AEB id -> path served
    real_pages: dict[str, list[str]] = field(default_factory=dict)  # feed name -> page paths
    stale_paths: list[str] = field(default_factory=list)
    bad_paths: dict[str, str] = field(default_factory=dict)  # path -> expected failure stage
    private_path: str = "/private/secret.html"
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))

    def url(self, path: str) -> str:
        return self.site.url(path)

    @property
    def feeds(self) -> dict[str, list[str]]:
        return {
            "aeb-feeds": [self.url("/feeds/aeb-rss.xml"), self.url("/feeds/aeb-atom.xml"), self.url("/feeds/aeb-rdf.xml")],
            "aeb-sitemaps": [self.url("/sitemaps/index.xml")],
            "bad-pages": [self.url("/feeds/bad.xml")],
            "broken": [self.url("/feeds/broken.xml")],
        }

    def sources(self) -> list:
        """One configured source per generated feed group and per real feed."""
        from newswatch.config import Source

        groups = self.feeds
        result = [
            Source("aeb-feeds", feeds=tuple(groups["aeb-feeds"]), language="en"),
            Source("aeb-sitemaps", sitemaps=tuple(groups["aeb-sitemaps"])),
            Source("bad-pages", feeds=tuple(groups["bad-pages"])),
            Source("broken", feeds=tuple(groups["broken"])),
        ]
        result += [Source(name, feeds=(self.url(f"/real-feeds/{name}.xml"),)) for name in self.real_pages]
        return result


def _rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _rss(items: list[tuple[str, str, datetime]], title: str) -> bytes:
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
        f"<pubDate>{_rfc822(d)}</pubDate><guid>{html.escape(link)}</guid></item>"
        for link, t, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.invalid/</link><description>test</description>"
        f"<ttl>15</ttl>{body}</channel></rss>"
    ).encode()


def _atom(items: list[tuple[str, str, datetime]], title: str) -> bytes:
    body = "".join(
        f'<entry><title>{html.escape(t)}</title><link rel="alternate" href="{html.escape(link)}"/>'
        f"<id>{html.escape(link)}</id><updated>{d.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated></entry>"
        for link, t, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:test:atom</id>"
        f"<updated>{max(d for _, _, d in items).strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>{body}</feed>"
    ).encode()


def _rdf(items: list[tuple[str, str, datetime]], title: str) -> bytes:
    seq = "".join(f'<rdf:li rdf:resource="{html.escape(link)}"/>' for link, _, _ in items)
    body = "".join(
        f'<item rdf:about="{html.escape(link)}"><title>{html.escape(t)}</title><link>{html.escape(link)}</link>'
        f"<dc:date>{d.strftime('%Y-%m-%dT%H:%M:%SZ')}</dc:date></item>"
        for link, t, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="urn:test:rdf"><title>{html.escape(title)}</title><link>http://example.invalid/</link>'
        f"<description>test</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>{body}</rdf:RDF>"
    ).encode()


def _news_sitemap(items: list[tuple[str, datetime]]) -> bytes:
    body = "".join(
        f"<url><loc>{html.escape(link)}</loc><news:news><news:publication><news:name>Test</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{d.strftime('%Y-%m-%dT%H:%M:%S+00:00')}</news:publication_date>"
        f"<news:title>t</news:title></news:news></url>"
        for link, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{body}</urlset>'
    ).encode()


def _sitemap(items: list[tuple[str, str | None]], index: bool = False) -> bytes:
    tag, root = ("sitemap", "sitemapindex") if index else ("url", "urlset")
    body = "".join(
        f"<{tag}><loc>{html.escape(link)}</loc>" + (f"<lastmod>{d}</lastmod>" if d else "") + f"</{tag}>"
        for link, d in items
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</{root}>'.encode()


def _item_page(title: str, text: str, published: datetime | None, outlet: str) -> bytes:
    date_meta = f'<meta property="article:published_time" content="{published.isoformat()}">' if published else ""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    filler = (
        f"<p>{html.escape(title)}. This page reproduces the item as {html.escape(outlet)} published it in its feed, "
        "so that the crawler has a complete article to extract and store.</p>"
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{date_meta}</head>'
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{html.escape(title)}</h1>{paragraphs}{filler}</article>"
        "<footer>Copyright</footer></body></html>"
    ).encode()


def _add_real_feeds(site: LocalSite, shared: Path, result: NewsSite) -> None:
    import feedparser

    from crawler.urls import canonicalize_url

    for name, (filename, origin) in REAL_FEEDS.items():
        raw = (shared / "data" / "feeds" / filename).read_text(encoding="utf-8")
        rewritten = raw.replace(origin, site.url(f"/real/{name}"))
        site.add(f"/real-feeds/{name}.xml", rewritten, content_type="application/rss+xml")
        parsed = feedparser.parse(rewritten.encode("utf-8"))
        paths = []
        for entry in parsed.entries:
            split = urlsplit(canonicalize_url(entry.link))
            path = split.path + (f"?{split.query}" if split.query else "")
            text = TAG_RE.sub(" ", html.unescape(entry.get("summary", "")))
            content = " ".join(TAG_RE.sub(" ", c.get("value", "")) for c in entry.get("content", []))
            body = "\n".join(part for part in (text, html.unescape(content)) if part.strip())
            published = datetime(*entry.published_parsed[:6], tzinfo=timezone.utc) if entry.get("published_parsed") else None
            site.add(path, _item_page(entry.title, body, published, name))
            paths.append(path)
        result.real_pages[name] = paths


def build_news_site(shared: Path) -> NewsSite:
    """Create (not start) the local news site from the shared data."""
    aeb = shared / "data" / "pages" / "aeb"
    truth = json.loads((aeb / "truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)
    site = LocalSite(robots=ROBOTS)
    result = NewsSite(site=site, truth=truth, aeb_paths={})
    for page_id in ids:
        path = f"/aeb/{page_id}.html"
        result.aeb_paths[page_id] = path
        site.add(path, (aeb / "html" / f"{page_id}.html").read_bytes())
    site.add(result.private_path, _item_page("Private", "Not for crawlers. " * 20, None, "test"))
    for n in range(STALE_PAGES):
        path = f"/stale/{n}.html"
        result.stale_paths.append(path)
        site.add(path, _item_page(f"Stale {n}", f"An old story number {n}. " * 20, None, "test"))
    site.add("/feeds/broken.xml", b"<?xml version='1.0'?><rss><channel><item><title>cut", content_type="application/rss+xml")
    site.add("/bad/short.html", "<html><body><p>Too short to be an article.</p></body></html>")
    result.bad_paths["/bad/short.html"] = "extract"
    site.add("/bad/image.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, content_type="image/png")
    result.bad_paths["/bad/image.png"] = "page"
    site.add("/bad/data.json", b'{"headline": "not a page"}' * 10, content_type="text/plain")
    result.bad_paths["/bad/data.json"] = "extract"
    site.add("/bad/huge.html", b"<html><body>" + b"<p>padding</p>" * (BIG_PAGE // 14) + b"</body></html>")
    result.bad_paths["/bad/huge.html"] = "page"
    result.bad_paths["/bad/missing.html"] = "page"
    return result


def publish_feeds(news: NewsSite, extra_rss: list[str] | None = None) -> None:
    """(Re)build the generated feeds and sitemaps against the running site's URL.

    Dates derive from ``news.now``, so publishing again changes only what
    ``extra_rss`` adds (the other documents keep their ETag).
    """
    site = news.site
    now = news.now
    ids = sorted(news.truth)
    dated = [(page_id, now - timedelta(minutes=5 * i)) for i, page_id in enumerate(ids)]

    def item(page_id: str, when: datetime, query: str = "") -> tuple[str, str, datetime]:
        return site.url(news.aeb_paths[page_id] + query), f"Article {page_id[:8]}", when

    rss_items = [item(i, d) for i, d in dated[:60]]
    rss_items.append((site.url(news.private_path), "Private", now))
    rss_items.extend((site.url(path), "Extra", now) for path in extra_rss or [])
    site.add("/feeds/aeb-rss.xml", _rss(rss_items, "AEB RSS"), content_type="application/rss+xml")
    site.add("/feeds/aeb-atom.xml", _atom([item(i, d) for i, d in dated[60:120]], "AEB Atom"),
             content_type="application/atom+xml")
    site.add("/feeds/aeb-rdf.xml", _rdf([item(i, d, "?utm_source=x&utm_medium=rss") for i, d in dated[:30]], "AEB RDF"),
             content_type="application/rdf+xml")
    news_items = [(site.url(news.aeb_paths[i]), d) for i, d in dated[120:]]
    news_items += [(site.url(p), now - timedelta(days=10 + n)) for n, p in enumerate(news.stale_paths)]
    site.add("/sitemaps/news.xml", _news_sitemap(news_items), content_type="application/xml")

    plain = [(site.url(news.aeb_paths[i]) + "?utm_source=x", None) for i, _ in dated[150:160]]
    site.add("/sitemaps/pages.xml.gz", gzip.compress(_sitemap(plain), mtime=0), content_type="application/x-gzip")
    index = [(site.url("/sitemaps/news.xml"), now.strftime("%Y-%m-%d")), (site.url("/sitemaps/pages.xml.gz"), None),
             (site.url("/sitemaps/index.xml"), None)]
    site.add("/sitemaps/index.xml", _sitemap(index, index=True), content_type="application/xml")
    bad = [(site.url(path), "Bad", now) for path in news.bad_paths]
    bad.append(("javascript:alert(1)", "Script", now))
    site.add("/feeds/bad.xml", _rss(bad, "Bad pages"), content_type="application/rss+xml")


@pytest.fixture
def news_site(shared_dir: Path):
    """A running local news site (see the module docstring)."""
    news = build_news_site(shared_dir)
    news.site.start()
    try:
        _add_real_feeds(news.site, shared_dir, news)
        publish_feeds(news)
        yield news
    finally:
        news.site.stop()
