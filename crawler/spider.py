"""The newswatch spider: feeds and sitemaps in, article pages out.

One spider run covers every source of a crawl. For each source it fetches
the feeds and sitemaps with conditional GET (``If-None-Match`` /
``If-Modified-Since`` from ``feed_state``; a 304 means nothing new) and
collects their links, canonicalised. When the last listing of the source
has answered, it drops the links already stored or already scheduled in
this crawl, keeps the newest ``crawl.max_articles_per_source`` and requests
them. Sitemap indexes are followed up to
:data:`~crawler.settings.SITEMAP_MAX_DEPTH` levels, each sitemap once per
crawl; sitemap entries older than ``crawl.max_age`` are skipped (entries with
no date are kept). Every failure goes to :meth:`CrawlContext.fail`; a broken
source never stops the others.

Article responses become items for the pipelines
(:mod:`crawler.pipelines`): extraction, then storage.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.context import CrawlContext, describe_failure
from crawler.feeds import parse_feed
from crawler.settings import SITEMAP_MAX_DEPTH
from crawler.sitemaps import parse_sitemap
from crawler.urls import LinkRefused, canonicalize_url, resolve_link

LOGGER = logging.getLogger(__name__)

LISTING_PRIORITY = 10
Candidate = tuple[str, datetime | None, str]  # link as written, date, origin (feed | sitemap)


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class NewsSpider(Spider):
    """Reads the sources' feeds and sitemaps and downloads their new articles."""

    name = "newswatch"

    def __init__(self, context: CrawlContext, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context

    # -- feeds and sitemaps ------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        ctx = self.context
        # workers start (and load trafilatura's state and the detector) while the listings download;
        # the crawl service has usually started them already
        ctx.pool.start(ctx.detect)
        for source in ctx.sources:
            ctx.report("start", source.name, len(source.feeds) + len(source.sitemaps))
            for url in source.feeds:
                yield self.listing_request(url, source.name, "feed", 0)
            for url in source.sitemaps:
                ctx.sitemaps_seen.add(url)
                yield self.listing_request(url, source.name, "sitemap", 0)

    def listing_request(self, url: str, source: str, kind: str, depth: int) -> Request:
        """A feed/sitemap request, conditional when validators are known."""
        headers = {}
        state = self.context.feed_states.get(url) or {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        self.context.pending[source] += 1
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.listing_failed,
            headers=headers,
            priority=LISTING_PRIORITY,
            dont_filter=True,
            meta={"source": source, "kind": kind, "depth": depth, "handle_httpstatus_list": [304]},
        )

    async def parse_listing(self, response: Response) -> AsyncIterator[Request]:
        source = response.meta["source"]
        try:
            requests = self.read_listing(response)
        except Exception as exc:  # a bug must not leave the source's articles unscheduled
            LOGGER.exception("cannot read %s", response.url)
            self.context.listing_fetched(source, ok=False)
            self.context.fail(source, response.url, "internal", f"internal error: {type(exc).__name__}: {exc}")
            requests = []
        for request in requests:
            yield request
        async for request in self.listing_done(source):
            yield request

    def read_listing(self, response: Response) -> list[Request]:
        """Collect the article links of one feed/sitemap; return child sitemap requests."""
        ctx = self.context
        source, kind = response.meta["source"], response.meta["kind"]
        listing_url = response.request.url if response.request else response.url
        if response.status == 304:
            ctx.listing_fetched(source, ok=True)
            ctx.update_feed_state(listing_url, source=source, kind=kind, last_status=304, last_error=None)
            return []
        validators = {"etag": _header(response, "ETag"), "last_modified": _header(response, "Last-Modified")}
        if kind == "feed":
            feed = parse_feed(response.body, response.url, _header(response, "Content-Type"))
            if feed.error:
                self.listing_broken(source, listing_url, kind, feed.error, response.status)
                return []
            if feed.ttl_s:
                ctx.results[source].ttl_s = feed.ttl_s
            ctx.update_feed_state(listing_url, source=source, kind=kind, last_status=response.status,
                                  last_error=None, ttl_s=feed.ttl_s, **validators)
            ctx.listing_fetched(source, ok=True)
            self.collect(source, [(e.link, e.published, "feed") for e in feed.entries], response.url)
            return []
        sitemap = parse_sitemap(response.body)
        if sitemap.error:
            self.listing_broken(source, listing_url, kind, sitemap.error, response.status)
            return []
        ctx.update_feed_state(listing_url, source=source, kind=kind, last_status=response.status,
                              last_error=None, **validators)
        ctx.listing_fetched(source, ok=True)
        if sitemap.is_index:
            return self.follow_index(source, response, sitemap.entries)
        cutoff = ctx.cutoff
        fresh: list[Candidate] = []
        for entry in sitemap.entries:
            if entry.published is not None and entry.published < cutoff:
                ctx.count(source, "stale")
            else:
                fresh.append((entry.loc, entry.published, "sitemap"))
        self.collect(source, fresh, response.url)
        return []

    def listing_broken(self, source: str, url: str, kind: str, reason: str, status: int | None) -> None:
        ctx = self.context
        ctx.listing_fetched(source, ok=False)
        ctx.fail(source, url, kind, reason, status)
        ctx.update_feed_state(url, source=source, kind=kind, last_status=status, last_error=reason,
                              etag=None, last_modified=None)

    def follow_index(self, source: str, response: Response, entries: list[Any]) -> list[Request]:
        ctx = self.context
        depth = response.meta["depth"] + 1
        cutoff = ctx.cutoff
        requests = []
        for entry in entries:
            try:
                url = resolve_link(entry.loc, response.url)
            except LinkRefused as exc:
                ctx.fail(source, entry.loc, "sitemap", f"sitemap link refused: {exc}")
                continue
            if url in ctx.sitemaps_seen:
                LOGGER.debug("%s: sitemap %s already read in this crawl", source, url)
                continue
            if entry.published is not None and entry.published < cutoff:
                continue
            if depth > SITEMAP_MAX_DEPTH:
                ctx.fail(source, url, "sitemap", f"sitemap index nested deeper than {SITEMAP_MAX_DEPTH} levels; not followed")
                continue
            ctx.sitemaps_seen.add(url)
            requests.append(self.listing_request(url, source, "sitemap", depth))
        return requests

    def collect(self, source: str, entries: list[Candidate], base_url: str) -> None:
        """Canonicalise links and keep them until every listing of ``source`` is read."""
        ctx = self.context
        links = ctx.candidates[source]
        for link, published, origin in entries:
            try:
                url = resolve_link(link, base_url)
            except LinkRefused as exc:
                ctx.fail(source, link or None, origin, f"link dropped: {exc}")
                continue
            if url not in links or (links[url][0] is None and published is not None):
                links[url] = (published, origin)

    async def listing_done(self, source: str) -> AsyncIterator[Request]:
        """Count one listing of ``source`` as answered; after the last, schedule its articles."""
        ctx = self.context
        ctx.pending[source] -= 1
        if ctx.pending[source] > 0:
            return
        links = ctx.candidates.pop(source, {})
        ctx.candidates[source] = {}
        async for request in self.schedule_articles(source, links):
            yield request

    async def schedule_articles(
        self, source: str, links: dict[str, tuple[datetime | None, str]]
    ) -> AsyncIterator[Request]:
        """Request the newest links not stored and not scheduled, up to the per-source cap."""
        ctx = self.context
        seen = ctx.seen_by_source[source]
        links = {url: value for url, value in links.items() if url not in seen}
        if not links:
            return
        seen.update(links)
        ctx.count(source, "found", len(links), "found")
        known = await ctx.writer.known_urls(list(links))
        fresh: list[tuple[str, datetime | None, str]] = []
        duplicates = 0
        for url, (published, origin) in links.items():
            if url in known or url in ctx.scheduled:
                duplicates += 1
            else:
                fresh.append((url, published, origin))
        ctx.count(source, "duplicates", duplicates, "duplicate")
        ctx.count(source, "new", len(fresh), "new")
        hopeless = await ctx.writer.failed_urls([url for url, _, _ in fresh])
        if hopeless:
            ctx.count(source, "given_up", len(hopeless))
            fresh = [item for item in fresh if item[0] not in hopeless]
        oldest = datetime.min.replace(tzinfo=timezone.utc)
        fresh.sort(key=lambda item: item[1] or oldest, reverse=True)
        limit = ctx.crawl.max_articles_per_source
        if limit and len(fresh) > limit:
            ctx.count(source, "capped", len(fresh) - limit)
            ctx.reread.add(source)
            fresh = fresh[:limit]
        for url, published, origin in fresh:
            ctx.scheduled[url] = source
            yield Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                dont_filter=True,
                meta={
                    "source": source,
                    "canonical": url,
                    "feed_date": published.isoformat() if published and origin == "feed" else None,
                    "sitemap_date": published.isoformat() if published and origin == "sitemap" else None,
                },
            )

    async def listing_failed(self, failure: Failure) -> AsyncIterator[Request]:
        ctx = self.context
        request = failure.request  # type: ignore[attr-defined]
        source, kind = request.meta["source"], request.meta["kind"]
        stage, reason, status = describe_failure(failure, ctx.crawl.timeout, ctx.crawl.max_page_bytes)
        ctx.listing_fetched(source, ok=False)
        ctx.fail(source, request.url, stage or kind, reason, status)
        ctx.update_feed_state(request.url, source=source, kind=kind, last_status=status, last_error=reason)
        async for article in self.listing_done(source):
            yield article

    # -- articles -------------------------------------------------------------
    def parse_article(self, response: Response) -> Any:
        ctx = self.context
        meta = response.meta
        source = meta["source"]
        ctx.pages_fetched += 1
        content_type = _header(response, "Content-Type")
        if not isinstance(response, TextResponse):
            kind = (content_type or "unknown").split(";", 1)[0]
            ctx.fail(source, meta["canonical"], "page", f"not an HTML page (Content-Type {kind})", response.status)
            return None
        fetched = response.url
        try:
            final = canonicalize_url(fetched)
        except LinkRefused:
            final = meta["canonical"]
        return {
            "source": source,
            "url": meta["canonical"],
            "fetched_url": fetched,
            "final_url": final,
            "body": response.body,
            "content_type": content_type,
            "feed_date": meta.get("feed_date"),
            "sitemap_date": meta.get("sitemap_date"),
        }

    def article_failed(self, failure: Failure) -> None:
        ctx = self.context
        request = failure.request  # type: ignore[attr-defined]
        stage, reason, status = describe_failure(failure, ctx.crawl.timeout, ctx.crawl.max_page_bytes)
        ctx.fail(request.meta["source"], request.meta.get("canonical", request.url), stage or "page", reason, status)
