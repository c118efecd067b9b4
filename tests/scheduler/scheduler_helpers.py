"""Helpers for the scheduler tests: configurations and a stand-in crawl service.

The stand-in implements the ``CrawlService`` interface (``crawl`` and
``close``) so that the scheduling logic can be tested without Scrapy; the
end-to-end tests use the real crawler against a local site.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from crawler.results import CrawlResult, SourceResult
from newswatch.config import Config, CrawlSettings, ServiceSettings, Source, Webhook


Behaviour = Callable[[int], SourceResult | Exception]


def all_new(name: str, n: int = 5) -> Behaviour:
    return lambda i: SourceResult(name, found=n, new=n, stored=n, items_seen_ratio=0.0)


def all_seen(name: str, n: int = 5) -> Behaviour:
    return lambda i: SourceResult(name, found=n, new=0, stored=0, duplicates=n, items_seen_ratio=1.0)


def always_raises(message: str = "feed unreachable") -> Behaviour:
    return lambda i: RuntimeError(message)


class StubCrawlService:
    """Answers ``crawl([source])`` from a behaviour per source; records each call."""

    def __init__(self, behaviours: dict[str, Behaviour], delay: float = 0.0,
                 on_crawl: Callable[[str], Any] | None = None) -> None:
        self.behaviours = behaviours
        self.delay = delay
        self.on_crawl = on_crawl
        self.calls: list[tuple[str, float]] = []
        self.cancelled: list[str] = []
        self.closed = False

    def polls(self, name: str) -> list[float]:
        return [t for n, t in self.calls if n == name]

    async def crawl(self, sources=None, progress=None) -> CrawlResult:
        results = []
        for source in sources or []:
            index = len(self.polls(source.name))
            self.calls.append((source.name, time.monotonic()))
            if self.on_crawl:
                self.on_crawl(source.name)
            try:
                await asyncio.sleep(self.delay)
            except asyncio.CancelledError:
                self.cancelled.append(source.name)
                raise
            outcome = self.behaviours[source.name](index)
            if isinstance(outcome, Exception):
                raise outcome
            results.append(outcome)
        return CrawlResult({result.source: result for result in results})

    async def close(self) -> None:
        self.closed = True


class StubDeliveryWorker:
    def __init__(self) -> None:
        self.counters = {"delivered": 7, "failed": 2, "dead": 1, "pending": 3}
        self.notified = 0
        self.stopped = False

    def notify(self) -> None:
        self.notified += 1

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        await stop_event.wait()
        self.stopped = True


def make_source(name: str, interval: float = 0.2, min_interval: float = 0.1, max_interval: float = 2.0) -> Source:
    return Source(name=name, feeds=(f"http://127.0.0.1:9/{name}/feed.xml",), interval=interval,
                  min_interval=min_interval, max_interval=max_interval)


def make_config(*sources: Source, webhooks: tuple[Webhook, ...] = (), log_format: str = "json") -> Config:
    return Config(path="<test>", crawl=CrawlSettings(), sources=tuple(sources), webhooks=webhooks,
                  service=ServiceSettings(host="127.0.0.1", port=0, log_format=log_format))


def daemon_with(config: Config, db_path, service: StubCrawlService, worker: Any = None, **options: Any):
    from scheduler.daemon import Daemon

    options.setdefault("start_spread_s", 0.0)
    return Daemon(config, db_path, crawl_service_factory=lambda c, p: service,
                  delivery_worker_factory=lambda c, p: worker, **options)


async def run_for(daemon, seconds: float) -> int:
    """Run ``daemon`` for ``seconds`` and stop it; return its exit code."""
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await daemon.wait_ready()
    await asyncio.sleep(seconds)
    stop.set()
    return await asyncio.wait_for(task, 30)


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
