"""Downloader middleware that keeps the crawler off loopback and private networks.

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

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.settings import DNS_CACHE_SECONDS

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

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
