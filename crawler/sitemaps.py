"""Read article links out of XML sitemaps, sitemap indexes and Google News sitemaps.

:func:`parse_sitemap` takes the raw bytes (gzipped or not) and returns a
:class:`SitemapResult`: for a ``<urlset>`` the page URLs with their date
(``news:publication_date`` when present, else ``lastmod``), for a
``<sitemapindex>`` the child sitemaps. The XML parser never resolves
entities, never reaches the network and refuses huge trees, and gzip input
is inflated only up to :data:`crawler.settings.MAX_SITEMAP_BYTES`.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from crawler.settings import MAX_SITEMAP_BYTES

LOGGER = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class SitemapEntry:
    """One ``<url>`` or ``<sitemap>`` element: its location and date."""

    loc: str
    published: datetime | None = None


@dataclass
class SitemapResult:
    """A parsed sitemap: ``kind`` is "urlset" or "index", or ``error`` says why not."""

    kind: str = ""
    entries: list[SitemapEntry] = field(default_factory=list)
    error: str | None = None

    @property
    def is_index(self) -> bool:
        return self.kind == "index"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
        load_dtd=False,
    )


def parse_w3c_date(text: str | None) -> datetime | None:
    """Parse a sitemap date ("2024-05-01", "2024-05-01T10:00:00+03:00", "...Z").

    Dates without an offset are taken as UTC. Returns None when unreadable.
    """
    if not text:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            value = datetime.strptime(text[:10], "%Y-%m-%d")
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # "9999-12-31T23:59:59-05:00" is past datetime.max in UTC
        return None


def inflate(body: bytes, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """Return ``body`` gunzipped when it is gzip data, else unchanged.

    Raises ValueError when the inflated data would exceed ``limit`` bytes or
    the gzip stream is corrupt.
    """
    if not body.startswith(GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"corrupt gzip data: {exc}") from exc
    if len(data) > limit:
        raise ValueError(f"gzipped sitemap inflates beyond {limit} bytes")
    if not inflater.eof:
        raise ValueError("truncated or corrupt gzip data")
    return data


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element.iter():
        if child is not element and _local(child.tag) == name and child.text:
            return child.text.strip()
    return None


def parse_sitemap(body: bytes) -> SitemapResult:
    """Parse sitemap ``body`` (XML, optionally gzipped)."""
    try:
        data = inflate(body)
    except ValueError as exc:
        return SitemapResult(error=str(exc))
    if not data.strip():
        return SitemapResult(error="empty sitemap document")
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        return SitemapResult(error=f"not valid XML: {exc}")
    if root is None:
        return SitemapResult(error="not valid XML: no root element")
    root_name = _local(root.tag)
    if root_name == "sitemapindex":
        kind, item_name = "index", "sitemap"
    elif root_name == "urlset":
        kind, item_name = "urlset", "url"
    else:
        return SitemapResult(error=f"not a sitemap (root element <{root_name or '?'}>)")
    result = SitemapResult(kind=kind)
    for element in root:
        if _local(element.tag) != item_name:
            continue
        loc = _child_text(element, "loc")
        if not loc:
            continue
        date = parse_w3c_date(_child_text(element, "publication_date")) or parse_w3c_date(
            _child_text(element, "lastmod")
        )
        result.entries.append(SitemapEntry(loc=loc, published=date))
    return result


def gzip_bytes(data: bytes) -> bytes:
    """Return ``data`` gzipped (used to serve and test ``.xml.gz`` sitemaps)."""
    return gzip.compress(data, mtime=0)
