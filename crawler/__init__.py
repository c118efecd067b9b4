"""The newswatch crawler: feeds and sitemaps in, extracted articles in SQLite out.

- :func:`crawler.run.run_crawl` runs one crawl synchronously (``newswatch crawl``);
- :class:`crawler.service.CrawlService` runs crawls again and again in one
  long-lived process (the daemon);
- :func:`crawler.extract.extract_page` extracts one page (``newswatch extract``);
- :func:`crawler.urls.canonicalize_url` gives the one spelling of an article URL.

Modules: ``settings`` (every default), ``urls``, ``feeds``, ``sitemaps``,
``dates``, ``extract`` (pool worker), ``pool``, ``writer`` (single database
writer, detections), ``middlewares`` (private hosts, robots.txt, meta
refresh), ``spider``, ``pipelines``, ``context``, ``results`` (counts,
progress protocol), ``service``, ``run``. Importing this package does not import Twisted's reactor.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CrawlResult", "CrawlService", "SourceResult", "canonicalize_url", "extract_page", "run_crawl"]


def __getattr__(name: str) -> Any:
    # lazy, so that ``import crawler`` never pulls in Scrapy/Twisted before the reactor is chosen
    if name == "run_crawl":
        from crawler.run import run_crawl

        return run_crawl
    if name == "CrawlService":
        from crawler.service import CrawlService

        return CrawlService
    if name in ("CrawlResult", "SourceResult"):
        from crawler import results

        return getattr(results, name)
    if name == "canonicalize_url":
        from crawler.urls import canonicalize_url

        return canonicalize_url
    if name == "extract_page":
        from crawler.extract import extract_page

        return extract_page
    raise AttributeError(f"module 'crawler' has no attribute {name!r}")
