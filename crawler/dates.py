"""Publication dates: parse them, find one in a URL, and cross-check page against feed.

An article's date can come from four places, in this order of trust:
the page itself (htmldate, through trafilatura), the feed item, the sitemap
entry, and a date written in the URL. :func:`choose_published` picks one and
says where it came from; :func:`dates_disagree` tells whether the page and the
feed/sitemap differ by more than :data:`crawler.settings.DATE_TOLERANCE_S`.

Dates are written as ISO 8601: ``YYYY-MM-DD`` when only the day is known,
else a full UTC timestamp ``YYYY-MM-DDTHH:MM:SS+00:00``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from crawler.settings import DATE_TOLERANCE_S

LOGGER = logging.getLogger(__name__)

URL_DATE_RE = re.compile(
    r"(?<!\d)(20\d{2}|19\d{2})[/_.-]?(0?[1-9]|1[0-2])[/_.-]?(0?[1-9]|[12]\d|3[01])(?!\d)"
)
URL_DATE_SEPARATED_RE = re.compile(r"/(20\d{2}|19\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:[/-]|$)")


@dataclass(frozen=True)
class PubDate:
    """A publication date; ``day_only`` when the time of day is unknown."""

    value: datetime
    day_only: bool = False

    def iso(self) -> str:
        if self.day_only:
            return self.value.date().isoformat()
        return self.value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def parse_date(value: object) -> PubDate | None:
    """Read a date from a datetime, a date or an ISO 8601 / htmldate string."""
    if value is None or value == "":
        return None
    if isinstance(value, PubDate):
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        try:
            return PubDate(moment.astimezone(timezone.utc))
        except (OverflowError, ValueError):  # beyond datetime's range once in UTC
            return None
    if isinstance(value, date):
        return PubDate(datetime(value.year, value.month, value.day, tzinfo=timezone.utc), day_only=True)
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return PubDate(datetime(day.year, day.month, day.day, tzinfo=timezone.utc), day_only=True)
    # htmldate writes "+0000"; fromisoformat wants "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        LOGGER.debug("unreadable date %r", value)
        return None
    naive_midnight = moment.tzinfo is None and (moment.hour, moment.minute, moment.second) == (0, 0, 0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return PubDate(moment.astimezone(timezone.utc), day_only=naive_midnight)
    except (OverflowError, ValueError):  # "9999-12-31T23:59:59-05:00" is past datetime.max in UTC
        LOGGER.debug("date out of range %r", value)
        return None


def date_from_url(url: str | None) -> PubDate | None:
    """Return a date written in ``url`` (``/2024/05/01/``, ``2024-05-01``, ``20240501``)."""
    if not url:
        return None
    path = url.split("?", 1)[0]
    for pattern in (URL_DATE_SEPARATED_RE, URL_DATE_RE):
        match = pattern.search(path)
        if match:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            if day > datetime.now(timezone.utc).date():
                continue
            return PubDate(datetime(day.year, day.month, day.day, tzinfo=timezone.utc), day_only=True)
    return None


def dates_disagree(page: PubDate | None, other: PubDate | None, tolerance_s: float = DATE_TOLERANCE_S) -> bool:
    """Return True when both dates are known and lie more than ``tolerance_s`` apart.

    When either side knows only the day, whole days are compared.
    """
    if page is None or other is None:
        return False
    if page.day_only or other.day_only:
        days = abs((page.value.date() - other.value.date()).days)
        return days * 86400.0 > tolerance_s
    return abs((page.value - other.value).total_seconds()) > tolerance_s


def choose_published(
    page: PubDate | None, feed: PubDate | None, sitemap: PubDate | None, url: str | None
) -> tuple[PubDate | None, str | None]:
    """Pick the article date and where it came from (page | feed | sitemap | url)."""
    for value, origin in ((page, "page"), (feed, "feed"), (sitemap, "sitemap")):
        if value is not None:
            return value, origin
    from_url = date_from_url(url)
    if from_url is not None:
        return from_url, "url"
    return None, None
