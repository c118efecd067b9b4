"""Per-source counts of a crawl, the crawl's result, and the progress callback protocol.

Progress events
---------------
A crawl accepts ``progress``, any callable ``progress(event, source, value)``
(see :class:`Progress`). It is called on the event loop thread, must return
quickly, and an exception it raises is logged and otherwise ignored. Events:

=============  ==============================================================
``start``      a source begins; ``value`` = feeds + sitemaps to read
``found``      article links listed by a feed or sitemap (``value`` links)
``new``        of those, not stored yet and scheduled for download
``duplicate``  links or articles already stored (``value`` of them)
``stored``     one article stored (``value`` = 1)
``flagged``    one stored article flagged by the detector
``error``      one failure recorded against the source
``done``       the source is finished; ``value`` = articles stored
=============  ==============================================================

Counts (:class:`SourceResult`)
------------------------------
``found`` distinct article links listed (after canonicalisation; stale
sitemap entries and refused links excluded), ``new`` those not stored before
this crawl, ``stored`` articles written, ``duplicates`` links already stored
or already taken by another source in this crawl plus downloaded articles
whose URL/canonical URL or text was already stored, ``errors`` failures
recorded, ``flagged`` stored articles the detector flagged.
``items_seen_ratio`` = (found - new) / found (1.0 when nothing was found):
near 1 means the source is polled more often than it publishes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

LOGGER = logging.getLogger(__name__)


class Progress(Protocol):
    """The progress callback: ``progress(event, source, value)``."""

    def __call__(self, event: str, source: str, value: int) -> None: ...


@dataclass
class SourceResult:
    """What one crawl did for one source."""

    source: str
    found: int = 0
    new: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: int = 0
    flagged: int = 0
    capped: int = 0  # new links left for the next crawl by max_articles_per_source
    stale: int = 0  # sitemap entries older than max_age, skipped
    given_up: int = 0  # new links not requested: their page failed GIVE_UP_AFTER times already
    items_seen_ratio: float = 1.0
    error_messages: list[str] = field(default_factory=list)
    ttl_s: float | None = None
    status: str = "ok"  # ok | failed
    run_id: int | None = None
    article_ids: list[int] = field(default_factory=list)
    fetches_ok: int = 0
    fetches_failed: int = 0

    def counts(self) -> dict[str, int]:
        """The counters stored in ``crawl_runs``."""
        return {
            "found": self.found,
            "new": self.new,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "flagged": self.flagged,
        }


@dataclass
class CrawlResult:
    """What one crawl did: per-source results and crawl-wide figures."""

    sources: dict[str, SourceResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    seconds: float = 0.0
    pages_fetched: int = 0

    @property
    def article_ids(self) -> list[int]:
        return [i for result in self.sources.values() for i in result.article_ids]

    @property
    def flagged(self) -> int:
        return sum(result.flagged for result in self.sources.values())

    @property
    def stored(self) -> int:
        return sum(result.stored for result in self.sources.values())

    @property
    def ok(self) -> bool:
        """True when the crawl ran and no source failed outright."""
        return not self.errors and all(r.status == "ok" for r in self.sources.values())

    def totals(self) -> dict[str, int]:
        keys = ("found", "new", "stored", "duplicates", "errors", "flagged")
        return {key: sum(getattr(r, key) for r in self.sources.values()) for key in keys}


class Reporter:
    """Calls the progress callback safely (errors logged once, then ignored)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self._warned = False

    def __call__(self, event: str, source: str, value: int = 1) -> None:
        if self.progress is None or value == 0 and event not in ("start", "done"):
            return
        try:
            self.progress(event, source, value)
        except Exception as exc:
            if not self._warned:
                LOGGER.warning("progress callback failed (%s: %s); ignoring it", type(exc).__name__, exc)
                self._warned = True
