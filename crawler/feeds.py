"""Read article links out of RSS 2.0, RSS 1.0 and Atom feeds (feedparser).

:func:`parse_feed` takes the raw bytes of a feed and returns a
:class:`FeedResult`: the entries (link, date, title), the feed's own polling
hint (``<ttl>`` or ``sy:updatePeriod``/``sy:updateFrequency``) in seconds, and
an error when the document is not a usable feed. feedparser is given bytes
only (never a string, which it would take for a URL or a file name), so
parsing never touches the network or the disk.
"""

from __future__ import annotations

import calendar
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import feedparser

LOGGER = logging.getLogger(__name__)

UPDATE_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}


@dataclass
class FeedEntry:
    """One item of a feed: its link as written, its date and its title."""

    link: str
    published: datetime | None = None
    title: str = ""


@dataclass
class FeedResult:
    """What a feed document holds, or why it could not be read."""

    entries: list[FeedEntry] = field(default_factory=list)
    ttl_s: float | None = None
    version: str = ""
    error: str | None = None
    warning: str | None = None


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = _struct_to_datetime(entry.get(key))
        if parsed is not None:
            return parsed
    return None


def _entry_link(entry: Any) -> str:
    link = entry.get("link") or ""
    if link:
        return link
    for candidate in entry.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return candidate["href"]
    guid = entry.get("id") or ""
    if entry.get("guidislink") or guid.startswith(("http://", "https://")):
        return guid
    return ""


def feed_ttl_seconds(feed: Any) -> float | None:
    """Return the polling hint a feed declares, in seconds, or None.

    RSS ``<ttl>`` is in minutes; ``sy:updatePeriod`` (hourly, daily, ...) is
    divided by ``sy:updateFrequency`` (default 1).
    """
    ttl = str(feed.get("ttl") or "").strip()
    if ttl:
        try:
            minutes = float(ttl)
            if minutes > 0:
                return minutes * 60.0
        except ValueError:
            LOGGER.debug("ignoring feed ttl %r", ttl)
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in UPDATE_PERIODS:
        frequency_text = str(feed.get("sy_updatefrequency") or "1").strip() or "1"
        try:
            frequency = max(1.0, float(frequency_text))
        except ValueError:
            frequency = 1.0
        return UPDATE_PERIODS[period] / frequency
    return None


def _not_a_feed(body: bytes) -> str | None:
    """Name what ``body`` is when it is plainly not XML (an HTML page, JSON), else None."""
    head = body[:1024].lstrip().lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head[:1] in (b"{", b"["):
        return "JSON"
    return None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> FeedResult:
    """Parse feed ``body`` fetched from ``url``.

    Relative links are resolved against ``url``. A document that is not a
    feed (invalid XML with no entries, an HTML page, an empty body) comes
    back with ``error`` set to a readable reason; a feed that is malformed
    but still yields entries comes back with them and a ``warning``.
    """
    if not body or not body.strip():
        return FeedResult(error="empty feed document")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    except Exception as exc:  # feedparser is defensive, but a bug must not stop a crawl
        LOGGER.warning("feedparser failed on %s: %s", url, exc)
        return FeedResult(error=f"feed could not be parsed: {exc}")
    version = parsed.get("version") or ""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = [
        FeedEntry(link=_entry_link(entry), published=_entry_date(entry), title=entry.get("title", "") or "")
        for entry in parsed.entries
    ]
    if problem is not None and not any(entry.link for entry in entries):
        # invalid XML that yielded nothing usable: the feed is broken
        kind = _not_a_feed(body)
        if kind:
            return FeedResult(version=version, error=f"not an RSS or Atom feed: the server sent {kind}")
        return FeedResult(version=version, error=f"not a valid feed: {problem}")
    if not entries and not version:
        return FeedResult(error="not an RSS or Atom feed (no feed element found)")
    result = FeedResult(entries=entries, ttl_s=feed_ttl_seconds(parsed.feed), version=version)
    if problem is not None:
        result.warning = f"feed is malformed but readable: {problem}"
        LOGGER.info("%s: %s", url, result.warning)
    return result
