"""Downloader middlewares: private hosts, robots.txt, meta refresh.

- :class:`PrivateHostMiddleware` keeps the crawler off loopback and private
  networks (below);
- :class:`RobotsTxtMiddleware` is Scrapy's, except that a robots.txt that
  cannot be fetched (timeout, reset, refused, oversized) is one WARNING line
  per source and a ``robots`` failure recorded against that source, instead
  of an ERROR with a traceback; the source is then crawled as if its
  robots.txt allowed everything (Scrapy's behaviour);
- :class:`MetaRefreshMiddleware` is Scrapy's, except that a page whose first
  bytes hold no ``refresh`` at all is passed on without being decoded: Scrapy
  decodes every HTML response to look for ``<meta http-equiv="refresh">``,
  a cost paid in the crawling process for every article.

A configured feed, a link in it or a redirect could point the crawler at
``127.0.0.1``, the LAN, or a cloud metadata address. Unless
``crawl.allow_private_hosts`` is true, :class:`PrivateHostMiddleware` resolves
each request's host (``getaddrinfo`` in a thread, results cached for
:data:`~crawler.settings.DNS_CACHE_SECONDS`) and refuses the request when any
address is loopback, private, link-local, reserved, multicast or
unspecified. Redirect targets pass through it again, since Scrapy schedules a
redirect as a new request.

The check happens before the connection is made; a host whose DNS answer
changes between the check and the connection (DNS rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.settings import DNS_CACHE_SECONDS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

LOGGER = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateHostRefused(IgnoreRequest):
    """A request to a loopback/private/reserved address was refused."""


def classify_address(address: IPAddress) -> str | None:
    """Return why ``address`` may not be crawled ("loopback", "private", ...), or None."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "non-public"
    return None


def refusal_message(url: str, kind: str, address: str) -> str:
    return (
        f"refused {url}: resolves to {kind} address {address}; "
        "set crawl.allow_private_hosts = true to allow"
    )


class PrivateHostMiddleware:
    """Refuse requests whose host resolves to a non-public address."""

    def __init__(self, cache_seconds: float = DNS_CACHE_SECONDS) -> None:
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, tuple[str, str] | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateHostMiddleware:
        if crawler.settings.getbool("NEWSWATCH_ALLOW_PRIVATE_HOSTS"):
            raise NotConfigured  # crawl.allow_private_hosts is true
        return cls()

    async def _resolve(self, host: str) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            LOGGER.debug("cannot resolve %s (%s); leaving it to the downloader", host, exc)
            return []
        addresses = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
        return addresses

    async def verdict(self, host: str) -> tuple[str, str] | None:
        """Return (kind, address) when ``host`` may not be crawled, else None."""
        host = host.lower()
        now = time.monotonic()
        cached = self._cache.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        result: tuple[str, str] | None = None
        for address in await self._resolve(host):
            kind = classify_address(address)
            if kind is not None:
                result = (kind, str(address))
                break
        self._cache[host] = (now + self.cache_seconds, result)
        return result

    async def process_request(self, request: Request) -> Any:
        host = urlparse_cached(request).hostname
        if not host:
            return None
        refused = await self.verdict(host)
        if refused is not None:
            raise PrivateHostRefused(refusal_message(request.url, *refused))
        return None


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware; a robots.txt that cannot be fetched is a
    WARNING line and a ``robots`` failure of each source that meets it."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._unreadable: dict[str, tuple[str, str, int | None]] = {}  # netloc -> (robots URL, reason, status)
        self._told: set[tuple[str, str]] = set()  # (netloc, source) already warned and recorded

    async def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt"):
            return
        if request.url.startswith(("data:", "file:")):
            return
        parser = await self.robot_parser(request)
        if parser is None:
            self._tell(request)
        self.process_request_2(parser, request)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            url = urlparse_cached(request)
            robots_url = f"{url.scheme}://{netloc}/robots.txt"
            robots_request = Request(robots_url, priority=self.DOWNLOAD_PRIORITY,
                                     meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
            try:
                response = await self.crawler.engine.download_async(robots_request)  # type: ignore[union-attr]
                await self._parse_robots(response, netloc, request)
            except Exception as exc:
                if not isinstance(exc, IgnoreRequest):
                    self._unreadable[netloc] = self._describe(robots_url, exc)
                self._robots_error(exc, netloc)
            self._stats.inc_value("robotstxt/request_count")
        return await super().robot_parser(request)

    def _describe(self, robots_url: str, exc: Exception) -> tuple[str, str, int | None]:
        from crawler.context import describe_failure

        settings = self.crawler.settings
        _, reason, status = describe_failure(Failure(exc), settings.getfloat("DOWNLOAD_TIMEOUT"),
                                             settings.getint("DOWNLOAD_MAXSIZE") or None)
        return robots_url, reason, status

    def _tell(self, request: Request) -> None:
        """Warn once per (host, source) about an unreadable robots.txt and record it."""
        netloc = urlparse_cached(request).netloc
        unreadable = self._unreadable.get(netloc)
        source = request.meta.get("source") or ""
        if unreadable is None or (netloc, source) in self._told:
            return
        self._told.add((netloc, source))
        robots_url, reason, status = unreadable
        LOGGER.warning("%s: cannot read %s (%s); crawling as if it allowed everything",
                       source or netloc, robots_url, reason)
        context = getattr(self.crawler.spider, "context", None)
        if source and context is not None and source in context.results:
            context.fail(source, robots_url, "robots", f"robots.txt not read ({reason}); crawled as if allowed", status)


#: Scrapy reads the first 4,096 characters for a meta refresh: at most 4 bytes each
META_REFRESH_SCAN_BYTES = 4 * 4096
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def may_hold_meta_refresh(body: bytes) -> bool:
    """False when the start of ``body`` surely holds no meta refresh.

    In every ASCII-compatible encoding the word ``refresh`` is the same
    bytes; pages that may be UTF-16/32 (a BOM, NUL bytes) are left to the
    full check.
    """
    head = body[:META_REFRESH_SCAN_BYTES]
    if head.startswith(_WIDE_BOMS) or b"\x00" in head:
        return True
    return b"refresh" in head.lower()


class MetaRefreshMiddleware(ScrapyMetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, without decoding pages that cannot hold one."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if isinstance(response, HtmlResponse) and not may_hold_meta_refresh(response.body):
            return response
        return super().process_response(request, response)
