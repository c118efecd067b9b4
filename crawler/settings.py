"""Every default of the newswatch crawler, and the Scrapy settings built from them.

This is the one place where the crawler's knobs live. The user-facing ones come
from ``[crawl]`` in the configuration (:class:`newswatch.config.CrawlSettings`);
the others are module constants documented here:

======================  ========================================================
``MIN_TEXT_CHARS``      extracted text shorter than this is an extraction
                        failure ("too short"), not an article
``DATE_TOLERANCE_S``    page date and feed/sitemap date further apart than this
                        set ``date_disagreement = 1``
``SITEMAP_MAX_DEPTH``   how deep sitemap indexes are followed (index -> child)
``MAX_SITEMAP_BYTES``   a gzipped sitemap is not inflated beyond this size
``FLUSH_ITEMS``         the writer commits a batch at this many pending rows ...
``FLUSH_SECONDS``       ... or this long after the first pending row
``DNS_CACHE_SECONDS``   how long a private-host verdict for a host name is kept
``EXTRACT_TIMEOUT_S``   a page whose extraction takes longer is recorded as a
                        failure and its worker is replaced
``GIVE_UP_AFTER``       a link whose page failed this many times (robots, HTTP
                        error, not an article) is no longer requested
``AUTOTHROTTLE_*``      start/max delay of Scrapy's AutoThrottle when enabled
``CONCURRENT_ITEMS``    items of one response processed at once (Scrapy's
                        ``CONCURRENT_ITEMS``); an article page yields one item,
                        and Scrapy starts this many tasks for every response
======================  ========================================================

:func:`build_scrapy_settings` turns a :class:`CrawlSettings` into the settings
dictionary for one Scrapy crawl. :func:`configure_scrapy_logging` quiets
Scrapy's per-crawl boilerplate once per process.
"""

from __future__ import annotations

import logging
from typing import Any

from newswatch.config import CrawlSettings

LOGGER = logging.getLogger(__name__)

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

MIN_TEXT_CHARS = 100
DATE_TOLERANCE_S = 86400.0
SITEMAP_MAX_DEPTH = 3
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
FLUSH_ITEMS = 50
FLUSH_SECONDS = 0.5
DNS_CACHE_SECONDS = 300.0
GIVE_UP_AFTER = 3
EXTRACT_TIMEOUT_S = 120.0
GIVE_UP_STAGES = ("robots", "page", "extract")
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
CONCURRENT_ITEMS = 1

#: item pipelines, in the order items pass through them
ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 300,
    "crawler.pipelines.StorePipeline": 800,
}

#: the private-host check runs before robots.txt (100) so that a refused host
#: is never contacted; Scrapy's robots.txt and meta-refresh middlewares are
#: replaced by newswatch's (same places, see :mod:`crawler.middlewares`)
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.PrivateHostMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
}

#: loggers that print boilerplate on every crawl; kept at WARNING
QUIET_LOGGERS = (
    "scrapy",
    "scrapy.middleware",
    "scrapy.crawler",
    "scrapy.core.engine",
    "scrapy.extensions.logstats",
    "scrapy.extensions.telnet",
    "scrapy.statscollectors",
    "scrapy.addons",
    "scrapy.utils.log",
    "py.warnings",
    "twisted",
    "protego",
)

_LOGGING_CONFIGURED = False
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 64 * 1024 * 1024


def build_scrapy_settings(crawl: CrawlSettings) -> dict[str, Any]:
    """Return the Scrapy settings for one crawl configured by ``crawl``."""
    warnsize = max(1, crawl.max_page_bytes // 4)
    return {
        "BOT_NAME": "newswatch",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": crawl.user_agent,
        "TWISTED_REACTOR": REACTOR,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, AUTOTHROTTLE_START_DELAY),
        "AUTOTHROTTLE_MAX_DELAY": AUTOTHROTTLE_MAX_DELAY,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.concurrency_per_domain),
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DNS_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": warnsize,
        # Responses held while their items are extracted and stored: Scrapy's
        # 5 MB default (about 30 news pages) starves the extraction pool.
        "SCRAPER_SLOT_MAX_ACTIVE_SIZE": SCRAPER_SLOT_MAX_ACTIVE_SIZE,
        "CONCURRENT_ITEMS": CONCURRENT_ITEMS,
        "RETRY_ENABLED": crawl.retries > 0,
        "RETRY_TIMES": crawl.retries,
        # A remote-control HTTP server that runs code sent to it: never.
        "REMOTE_CONTROL_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "LOGSTATS_INTERVAL": 0,
        "STATS_DUMP": False,
        "LOG_ENABLED": True,
        "LOG_LEVEL": "WARNING",
        "LOG_INSTALL_ROOT_HANDLER": False,
        "DEFAULT_DROPITEM_LOG_LEVEL": "DEBUG",
        "REDIRECT_MAX_TIMES": 5,
        "ITEM_PIPELINES": dict(ITEM_PIPELINES),
        "DOWNLOADER_MIDDLEWARES": dict(DOWNLOADER_MIDDLEWARES),
        "NEWSWATCH_ALLOW_PRIVATE_HOSTS": crawl.allow_private_hosts,
    }


def configure_scrapy_logging() -> None:
    """Route Scrapy/Twisted logging into :mod:`logging`, once per process.

    No root handler is installed (the application owns logging); Scrapy's
    per-crawl chatter is held at WARNING.
    """
    global _LOGGING_CONFIGURED
    if _LOGGING_CONFIGURED:
        return
    from scrapy.utils.log import configure_logging

    configure_logging({"LOG_LEVEL": "WARNING", "LOG_STDOUT": False, "LOG_INSTALL_ROOT_HANDLER": False})
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    _LOGGING_CONFIGURED = True
