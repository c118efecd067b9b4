"""CrawlService: run newswatch crawls again and again in one long-lived process.

The service keeps, for the life of the process, one Scrapy
``AsyncCrawlerRunner``, one :class:`~crawler.writer.Writer` thread and one
:class:`~crawler.pool.ExtractorPool`. Each :meth:`CrawlService.crawl` creates a
fresh Scrapy crawler for the selected sources, records a ``crawl_runs`` row
per source, and returns a :class:`~crawler.results.CrawlResult`.

It needs Twisted's asyncio reactor installed before anything imports
``twisted.internet.reactor`` (see :func:`crawler.run.install_asyncio_reactor`)
and must be used from the event loop that reactor runs on::

    service = CrawlService(config, "newswatch.db")
    result = await service.crawl()          # all sources
    result = await service.crawl([source])  # later, again
    await service.close()

Crawls do not overlap: a second call waits for the first to finish.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.utils.reactor import is_asyncio_reactor_installed

from crawler.context import CrawlContext
from crawler.pool import ExtractorPool
from crawler.results import CrawlResult, Progress, Reporter
from crawler.settings import build_scrapy_settings, configure_scrapy_logging
from crawler.spider import NewsSpider
from crawler.writer import FlaggedHook, Writer, on_flagged
from newswatch.config import Config, Source
from storage import StorageError, Store, utcnow

LOGGER = logging.getLogger(__name__)


def _start_runs(store: Store, names: Sequence[str]) -> dict[str, int]:
    return {name: store.start_run(name) for name in names}


def _load_feed_states(store: Store, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
    states = {}
    for url in urls:
        state = store.get_feed_state(url)
        if state:
            states[url] = state
    return states


def _finish_sources(store: Store, outcomes: list[dict[str, Any]], feed_states: list[dict[str, Any]]) -> None:
    """Close the runs, update the ``sources`` rows and the feed validators, in one transaction."""
    now = utcnow()
    with store.db.atomic():
        for state in feed_states:
            url = state.pop("url")
            store.set_feed_state(url, **state)
        for outcome in outcomes:
            name = outcome["source"]
            store.finish_run(outcome["run_id"], outcome["status"], outcome["counts"], outcome["error"])
            current = store.get_source(name) or {}
            fields: dict[str, Any] = {"last_poll": now}
            if outcome["status"] == "failed":
                fields["consecutive_failures"] = int(current.get("consecutive_failures") or 0) + 1
            elif outcome["status"] == "ok":
                fields["last_success"] = now
                fields["consecutive_failures"] = 0
            if outcome["last_error"]:
                fields["last_error"] = outcome["last_error"]
                fields["last_error_at"] = now
            if outcome["counts"]["stored"]:
                fields["last_new_item"] = now
            store.update_source(name, **fields)


class CrawlService:
    """Crawls the configured sources into the database at ``db_path``.

    ``pool`` is the extraction pool to use (default: a new one with
    ``crawl.workers`` workers); :func:`crawler.run.run_crawl` passes one it
    started before importing Scrapy. :meth:`close` shuts it down either way.
    """

    def __init__(
        self,
        config: Config,
        db_path: str | Path,
        *,
        detect: bool = True,
        hook: FlaggedHook | None = on_flagged,
        pool: ExtractorPool | None = None,
    ) -> None:
        self.config = config
        self.db_path = Path(db_path)
        self.detect = detect
        self.hook = hook
        self._runner: AsyncCrawlerRunner | None = None
        self._writer: Writer | None = None
        self._pool = pool if pool is not None else ExtractorPool(config.crawl.workers)  # shut down by close()
        self._lock: asyncio.Lock | None = None
        self._closed = False
        self._stopping = False

    def _ensure_runner(self) -> AsyncCrawlerRunner:
        if self._runner is None:
            if not is_asyncio_reactor_installed():
                raise RuntimeError(
                    "CrawlService needs the asyncio reactor: call crawler.run.install_asyncio_reactor() "
                    "before anything imports twisted.internet.reactor"
                )
            configure_scrapy_logging()
            self._runner = AsyncCrawlerRunner(build_scrapy_settings(self.config.crawl))
        return self._runner

    def _ensure_writer(self) -> Writer:
        if self._writer is None:
            self._writer = Writer(self.db_path, hook=self.hook)
        return self._writer

    async def crawl(self, sources: Sequence[Source] | None = None, progress: Progress | None = None) -> CrawlResult:
        """Crawl ``sources`` (default: all configured) once and return the counts."""
        if self._closed:
            raise RuntimeError("the crawl service is closed")
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self._stopping = False
            chosen = list(self.config.sources if sources is None else sources)
            try:
                return await self._crawl(chosen, Reporter(progress))
            except sqlite3.Error as exc:
                raise StorageError(f"cannot write to the database {self.db_path}: {exc}") from exc

    async def _crawl(self, sources: list[Source], report: Reporter) -> CrawlResult:
        result = CrawlResult(started=utcnow())
        started = time.monotonic()
        if not sources:
            result.finished = utcnow()
            return result
        # the workers start (forkserver, imports, warm-up) while Scrapy and the database get ready
        self._pool.start(self.detect)
        runner = self._ensure_runner()
        writer = self._ensure_writer()
        await writer.call(Store.sync_sources, sources)
        run_ids = await writer.call(_start_runs, [s.name for s in sources])
        listing_urls = [url for s in sources for url in (*s.feeds, *s.sitemaps)]
        feed_states = await writer.call(_load_feed_states, listing_urls)
        ctx = CrawlContext(
            crawl=self.config.crawl, sources=sources, writer=writer, pool=self._pool, report=report,
            run_ids=run_ids, feed_states=feed_states, detect=self.detect,
        )
        result.sources = ctx.results
        crawler = runner.create_crawler(NewsSpider)
        unexpected: list[str] = []
        crawler.signals.connect(partial(self._on_spider_error, ctx, unexpected), signal=signals.spider_error, weak=False)
        crawler.signals.connect(partial(self._on_item_error, ctx, unexpected), signal=signals.item_error, weak=False)
        interrupted = False
        try:
            await runner.crawl(crawler, context=ctx)
        except asyncio.CancelledError:
            interrupted = True
            await asyncio.shield(self._finish(ctx, result, started, interrupted=True))
            raise
        except Exception as exc:
            LOGGER.exception("the crawl failed")
            result.errors.append(f"the crawl failed: {type(exc).__name__}: {exc}")
        stats = crawler.stats.get_stats() if crawler.stats else {}
        if stats.get("finish_reason") not in (None, "finished"):
            interrupted = True
            result.errors.append(f"the crawl ended early: {stats.get('finish_reason')}")
        if unexpected:
            result.errors.append(f"{len(unexpected)} unexpected errors in the crawler, first: {unexpected[0]}")
        await self._finish(ctx, result, started, interrupted=interrupted)
        return result

    async def _finish(self, ctx: CrawlContext, result: CrawlResult, started: float, interrupted: bool) -> None:
        writer = ctx.writer
        await writer.drain()
        outcomes = []
        for name, source_result in ctx.results.items():
            r = source_result
            r.items_seen_ratio = (r.found - r.new) / r.found if r.found else 1.0
            r.status = "failed" if r.fetches_failed and not r.fetches_ok else "ok"
            status = "interrupted" if interrupted else r.status
            error = "; ".join(r.error_messages[:3]) if r.status == "failed" else None
            outcomes.append({
                "source": name, "run_id": r.run_id, "status": status, "counts": r.counts(),
                "error": error, "last_error": r.error_messages[-1] if r.error_messages else None,
            })
            ctx.report("done", name, r.stored)
        states = []
        for state in ctx.feed_states.values():
            if not state.get("_dirty"):
                continue
            state = {k: v for k, v in state.items() if not k.startswith("_")}
            if state.get("source") in ctx.reread:
                # links were left over (cap) or failed: read the listing in full next time
                state["etag"] = state["last_modified"] = None
            states.append(state)
        await writer.call(_finish_sources, outcomes, states)
        result.pages_fetched = ctx.pages_fetched
        result.seconds = time.monotonic() - started
        result.finished = utcnow()

    @staticmethod
    def _on_spider_error(ctx: CrawlContext, unexpected: list[str], failure: Any, response: Any, spider: Any) -> None:
        source = response.meta.get("source") if response is not None else None
        message = f"internal error: {failure.type.__name__}: {failure.value}"
        unexpected.append(message)
        if source in ctx.results:
            ctx.fail(source, getattr(response, "url", None), "internal", message)

    @staticmethod
    def _on_item_error(ctx: CrawlContext, unexpected: list[str], item: Any, response: Any, spider: Any, failure: Any) -> None:
        source = item.get("source") if isinstance(item, dict) else None
        message = f"internal error: {failure.type.__name__}: {failure.value}"
        unexpected.append(message)
        if source in ctx.results:
            ctx.fail(source, item.get("url"), "internal", message)

    async def stop(self) -> None:
        """Stop the crawl in progress gracefully (pages in flight are finished)."""
        self._stopping = True
        if self._runner is not None:
            await self._runner.stop()

    async def close(self) -> None:
        """Stop any crawl, flush and close the writer, shut down the process pool."""
        if self._closed:
            return
        self._closed = True
        if self._runner is not None and self._runner.crawlers:
            await self._runner.stop()
            await self._runner.join()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        await asyncio.to_thread(self._pool.shutdown)
