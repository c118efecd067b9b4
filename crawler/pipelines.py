"""Item pipelines: extract each downloaded page, then store it.

Enabled and ordered in :data:`crawler.settings.ITEM_PIPELINES`:

1. :class:`ExtractPipeline` (300) sends the page to the process pool
   (trafilatura + detector, :func:`crawler.extract.extract_worker`) and
   awaits the result without blocking the event loop. A page with no article
   is recorded in ``failures`` with the reason and dropped.
2. :class:`StorePipeline` (800) hands the article to the single writer and
   awaits its batch; it counts stored / duplicate / flagged per source.

Both reach the crawl's shared state through ``crawler.spider.context``
(:class:`crawler.context.CrawlContext`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

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
    """Store the article through the single writer and count the outcome."""

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
            "run_id": ctx.run_ids.get(source),
        }
        detection = item.get("detection")
        outcome = await ctx.writer.add_article(row, detection)
        if outcome.status == "stored" and detection and detection.get("error"):
            # stored, but not checked: make the gap visible
            ctx.fail(source, item["url"], "detect", f"detection failed: {detection['error']}")
        if outcome.status == "stored":
            ctx.count(source, "stored", 1, "stored")
            if outcome.article_id is not None:
                ctx.results[source].article_ids.append(outcome.article_id)
            if outcome.flagged:
                ctx.count(source, "flagged", 1, "flagged")
        elif outcome.status in ("url_duplicate", "content_duplicate"):
            ctx.count(source, "duplicates", 1, "duplicate")
        else:
            ctx.fail(source, item["url"], "store", outcome.error or "could not be stored")
        return {"source": source, "url": item["url"], "status": outcome.status, "id": outcome.article_id}
