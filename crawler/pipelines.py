"""Item pipelines: extract each downloaded page, then store it.

Enabled and ordered in :data:`crawler.settings.ITEM_PIPELINES`:

1. :class:`ExtractPipeline` (300) sends the page to the process pool
   (trafilatura + detector, :func:`crawler.extract.extract_worker`) and
   awaits the result without blocking the event loop. A page with no article
   is recorded in ``failures`` with the reason and dropped.
2. :class:`StorePipeline` (800) queues the article to the single writer and
   returns at once: the writer owns durability (it commits in batches), and
   the pipeline counts stored / duplicate / flagged per source when the
   writer reports the batch back. Scrapy frees the response as soon as the
   row is queued, so downloads never wait for a commit. ``close_spider``
   waits for every queued article's outcome, so the crawl's counts are
   complete when the spider closes.

Both reach the crawl's shared state through ``crawler.spider.context``
(:class:`crawler.context.CrawlContext`).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from crawler.writer import ArticleOutcome

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.context import CrawlContext

LOGGER = logging.getLogger(__name__)


class _ContextPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> _ContextPipeline:
        return cls(crawler)

    @property
    def context(self) -> CrawlContext:
        return self.crawler.spider.context  # type: ignore[union-attr]


class ExtractPipeline(_ContextPipeline):
    """Extract the article (and run detection) in the process pool."""

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        ctx = self.context
        source = item["source"]
        hints = {
            "sitemap_date": item.get("sitemap_date"),
            "content_type": item.get("content_type"),
            "language": ctx.source(source).language or None,
            "detect": ctx.detect,
        }
        result = await ctx.pool.extract(item["body"], item["fetched_url"], item.get("feed_date"), hints)
        if not result.get("ok"):
            reason = result.get("reason") or "extraction failed"
            ctx.fail(source, item["url"], "extract", reason)
            raise DropItem(f"{item['url']}: {reason}")
        slim = {key: value for key, value in item.items() if key != "body"}
        slim["article"] = result["article"]
        slim["detection"] = result.get("detection")
        return slim


class StorePipeline(_ContextPipeline):
    """Queue the article to the single writer; count the outcome when its batch commits."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pending: set[asyncio.Future[ArticleOutcome]] = set()

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        ctx = self.context
        source = item["source"]
        article = item["article"]
        row = {
            "url": item["url"],
            "canonical_url": article.get("canonical_url") or item.get("final_url") or item["url"],
            "fetched_url": item["fetched_url"],
            "source": source,
            "title": article.get("title"),
            "author": article.get("author"),
            "published": article.get("published"),
            "published_from": article.get("published_from"),
            "feed_published": article.get("feed_published"),
            "date_disagreement": article.get("date_disagreement", 0),
            "language": article.get("language"),
            "text": article["text"],
            "content_hash": article.get("content_hash"),
            "run_id": ctx.run_ids.get(source),
        }
        detection = item.get("detection")
        future = ctx.writer.add_article(row, detection)
        self._pending.add(future)
        future.add_done_callback(partial(self._count, ctx, source, item["url"], detection))
        return {"source": source, "url": item["url"], "status": "queued"}

    def _count(
        self, ctx: CrawlContext, source: str, url: str, detection: dict[str, Any] | None,
        future: asyncio.Future[ArticleOutcome],
    ) -> None:
        self._pending.discard(future)
        if future.cancelled():
            ctx.fail(source, url, "store", "not written (the writer stopped)")
            return
        exc = future.exception()
        outcome = ArticleOutcome("error", error=f"{type(exc).__name__}: {exc}") if exc else future.result()
        if outcome.status == "stored" and detection and detection.get("error"):
            # stored, but not checked: make the gap visible
            ctx.fail(source, url, "detect", f"detection failed: {detection['error']}")
        if outcome.status == "stored":
            ctx.count(source, "stored", 1, "stored")
            if outcome.article_id is not None:
                ctx.results[source].article_ids.append(outcome.article_id)
            if outcome.flagged:
                ctx.count(source, "flagged", 1, "flagged")
        elif outcome.status in ("url_duplicate", "content_duplicate"):
            ctx.count(source, "duplicates", 1, "duplicate")
        else:
            ctx.fail(source, url, "store", outcome.error or "could not be stored")

    async def close_spider(self) -> None:
        """Wait until every queued article is committed (or refused) and counted."""
        if not self._pending:
            return
        await self.context.writer.flush()
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
