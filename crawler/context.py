"""The state one crawl shares between its spider and its pipelines.

A :class:`CrawlContext` is built by :class:`crawler.service.CrawlService` for
each crawl and handed to the spider; pipelines reach it through
``crawler.spider.context``. It holds the long-lived parts (writer, process
pool) and the per-crawl bookkeeping: per-source counters, the links already
scheduled in this crawl, the sitemaps already read, the feed validators.

:func:`describe_failure` turns a failed request into a reason a person can
act on ("HTTP 404 Not Found", "timed out after 30 s", "disallowed by
robots.txt", ...).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.middlewares import PrivateHostRefused
from crawler.pool import ExtractorPool
from crawler.results import Reporter, SourceResult
from crawler.writer import Writer
from newswatch.config import CrawlSettings, Source
from storage import utcnow

LOGGER = logging.getLogger(__name__)

MAX_MESSAGES = 20


@dataclass
class CrawlContext:
    """Everything one crawl's spider and pipelines share."""

    crawl: CrawlSettings
    sources: Sequence[Source]
    writer: Writer
    pool: ExtractorPool
    report: Reporter
    run_ids: dict[str, int]
    feed_states: dict[str, dict[str, Any]]
    detect: bool = True
    results: dict[str, SourceResult] = field(default_factory=dict)
    scheduled: dict[str, str] = field(default_factory=dict)  # canonical URL -> source
    seen_by_source: dict[str, set[str]] = field(default_factory=dict)
    sitemaps_seen: set[str] = field(default_factory=set)
    pending: dict[str, int] = field(default_factory=dict)  # source -> listings not yet answered
    candidates: dict[str, dict[str, tuple[datetime | None, str]]] = field(default_factory=dict)
    reread: set[str] = field(default_factory=set)  # sources whose listings must not answer 304 next time
    pages_fetched: int = 0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        for source in self.sources:
            result = SourceResult(source=source.name, run_id=self.run_ids.get(source.name))
            self.results[source.name] = result
            self.seen_by_source[source.name] = set()
            self.pending[source.name] = 0
            self.candidates[source.name] = {}

    @property
    def cutoff(self) -> datetime:
        """Sitemap entries dated before this are too old to fetch."""
        return datetime.now(timezone.utc) - timedelta(seconds=self.crawl.max_age)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def count(self, source: str, key: str, value: int = 1, event: str | None = None) -> None:
        """Add ``value`` to a counter of ``source`` and tell the progress callback."""
        result = self.results[source]
        setattr(result, key, getattr(result, key) + value)
        if event:
            self.report(event, source, value)

    def fail(
        self, source: str, url: str | None, stage: str, reason: str, status: int | None = None
    ) -> None:
        """Record a failure against ``source`` (a ``failures`` row) and count it."""
        result = self.results[source]
        result.errors += 1
        if stage in ("page", "extract", "store", "internal"):  # perhaps transient: retry next time
            self.reread.add(source)
        if len(result.error_messages) < MAX_MESSAGES:
            result.error_messages.append(f"{url}: {reason}" if url else reason)
        LOGGER.info("%s: %s %s: %s", source, stage, url or "", reason)
        self.writer.add_failure(
            {
                "source": source,
                "url": url,
                "stage": stage,
                "reason": reason,
                "status": status,
                "run_id": self.run_ids.get(source),
            }
        )
        self.report("error", source, 1)

    def listing_fetched(self, source: str, ok: bool) -> None:
        """Count a feed/sitemap fetch of ``source`` as usable or failed."""
        key = "fetches_ok" if ok else "fetches_failed"
        self.count(source, key)

    def update_feed_state(self, url: str, **fields: Any) -> None:
        """Remember validators and health of a feed/sitemap (written after the crawl)."""
        state = self.feed_states.setdefault(url, {"url": url})
        state.update(fields)
        state["last_fetched"] = utcnow()
        state["_dirty"] = True


def _inner_errors(exc: BaseException) -> list[BaseException]:
    """The low-level errors behind a Scrapy download error (Twisted's ResponseFailed & co)."""
    found: list[BaseException] = []
    for candidate in (exc, exc.__cause__):
        reasons = getattr(candidate, "reasons", None)
        if reasons:
            for reason in reasons:
                found.append(getattr(reason, "value", reason))
    if not found and exc.__cause__ is not None:
        found.append(exc.__cause__)
    return found or [exc]


def _connection_reason(exc: BaseException) -> str | None:
    """Put a failed connection in words ("connection reset", "TLS handshake failed: ...")."""
    for inner in _inner_errors(exc):
        name = type(inner).__name__
        module = type(inner).__module__
        text = str(inner)
        if module.startswith("OpenSSL") or "SSL" in name or "TLS" in name:
            detail = ""
            args = getattr(inner, "args", ())
            if args and isinstance(args[0], list) and args[0] and isinstance(args[0][0], tuple):
                detail = ", ".join(str(part[-1]) for part in args[0] if part)
            detail = detail or text or name
            return f"TLS handshake failed ({detail[:200]}); is the server really speaking https?"
        if name == "ConnectionDone":
            return "connection closed by the server before any response"
        if name == "ConnectionLost":
            return "connection reset by the server before the response was complete"
        if name == "ParseError" or name == "BadHeaders" or "_WrapperException" in name:
            detail = inner.args[0] if inner.args else text
            return f"invalid HTTP response ({str(detail)[:200]})"
        if name == "ConnectionRefusedError":
            return "connection refused"
        if name in ("TimeoutError", "TCPTimedOutError", "UserTimeoutError"):
            return None
    return None


def _redirect_reason(exc: HttpError) -> str | None:
    response = exc.response
    if not 300 <= response.status < 400:
        return None
    location = response.headers.get("Location")
    if not location:
        return "redirect without a Location header"
    target = location.decode("latin-1", "replace")
    return f"redirect to {target[:200]!r} not followed (only http(s) redirects are followed)"


_INFLATED_RE = re.compile(r"\((\d+) B compressed, (\d+) B decompressed so far\) exceeded DOWNLOAD_MAXSIZE \((\d+) B\)")
_SIZE_RE = re.compile(r"(\d+) bytes which is larger than download max size \((\d+)\)")


def describe_failure(
    failure: Failure, timeout: float, max_bytes: int | None = None
) -> tuple[str | None, str, int | None]:
    """Return (stage override, reason, HTTP status) for a failed request.

    The stage override is "robots" for a robots.txt refusal, else None.
    """
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        redirect = _redirect_reason(exc)
        if redirect:
            return None, f"HTTP {status} {phrase}: {redirect}", status
        return None, f"HTTP {status} {phrase}", status
    if isinstance(exc, PrivateHostRefused):
        return None, str(exc), None
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots.txt" in text:
            return "robots", "disallowed by robots.txt", None
        if "redirect" in text.lower():
            return None, f"too many redirects (a redirect loop?): {text}", None
        inflated = _INFLATED_RE.search(text)
        if inflated:
            return None, (f"response too large once decompressed: {inflated.group(1)} bytes compressed, "
                          f"more than {inflated.group(3)} bytes (crawl.max_page_bytes) after decompression"), None
        return None, f"request ignored: {text or type(exc).__name__}", None
    if isinstance(exc, DownloadTimeoutError) or failure.check("twisted.internet.error.TimeoutError"):
        return None, f"timed out after {timeout:g} s", None
    if isinstance(exc, CannotResolveHostError) or failure.check("twisted.internet.error.DNSLookupError"):
        return None, f"DNS lookup failed: {exc}", None
    if isinstance(exc, DownloadConnectionRefusedError) or failure.check("twisted.internet.error.ConnectionRefusedError"):
        return None, "connection refused", None
    if isinstance(exc, DownloadCancelledError):
        text = str(exc)
        sizes = _SIZE_RE.search(text)
        if sizes:
            what = "declared" if text.startswith("Expected") else "received"
            return None, (f"response too large: {sizes.group(1)} bytes {what}, "
                          f"limit {sizes.group(2)} (crawl.max_page_bytes)"), None
        if not text and max_bytes:
            # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE without a message
            return None, f"response too large: more than {max_bytes} bytes received (crawl.max_page_bytes)", None
        if "max" in text.lower() or "size" in text.lower():
            return None, f"response too large ({text})", None
        return None, f"download cancelled: {text or 'stopped before the response was complete'}", None
    if isinstance(exc, ResponseDataLossError):
        return None, "connection closed before the response was complete", None
    connection = _connection_reason(exc)
    if connection:
        return None, connection, None
    text = str(exc) or repr(exc)
    return None, f"{type(exc).__name__}: {text[:300]}", None
