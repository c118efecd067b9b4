"""Adaptive polling policy: how long to wait before polling a source again.

Pure functions, no I/O, so that every rule is unit-tested on its own.

Rules (modelled on Media Cloud's rss-fetcher auto-adjust):

* **Grow / shrink.** After a successful poll, ``seen_ratio`` is the share of
  the items found that were already stored. At or above
  :data:`GROW_AT` (most items already seen) the interval is multiplied by
  :data:`GROW_FACTOR`; at or below :data:`SHRINK_AT` (most items new) it is
  multiplied by :data:`SHRINK_FACTOR`; in between it stays. A poll that found
  nothing (feed unchanged, answered 304) counts as "all seen".
* **Bounds.** The interval always stays within the source's
  ``min_interval .. max_interval``.
* **Feed hints.** A feed's own ``sy:updatePeriod`` / ``<ttl>`` hint is a floor:
  newswatch never polls faster than the feed says it changes, but the hint is
  itself capped by ``max_interval`` (a feed declaring "daily" is still polled
  at least every ``max_interval``).
* **Failures.** A failing source backs off exponentially from its current
  interval (``interval × 2^failures``) with ±:data:`JITTER` random jitter,
  capped at ``max_interval``. Its adaptive interval is kept unchanged, so the
  first success returns to the normal rhythm.
* **Silence.** A source is "silent" when it has had no new item for
  ``max(3 × max_interval, 24 h)`` (:func:`silence_threshold`): a day covers
  sources that publish daily; three maximal intervals cover slow schedules.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

GROW_AT = 0.67
SHRINK_AT = 0.33
GROW_FACTOR = 1.5
SHRINK_FACTOR = 0.5
JITTER = 0.2
MAX_BACKOFF_EXPONENT = 16
SILENCE_MIN_S = 24 * 3600.0
SILENCE_INTERVALS = 3
RESUME_SPREAD_S = 5.0


@dataclass(frozen=True)
class Bounds:
    """The polling bounds of one source, in seconds."""

    interval: float
    min_interval: float
    max_interval: float

    @classmethod
    def of(cls, source: object) -> "Bounds":
        """Return the bounds of a :class:`newswatch.config.Source`."""
        return cls(
            interval=float(getattr(source, "interval")),
            min_interval=float(getattr(source, "min_interval")),
            max_interval=float(getattr(source, "max_interval")),
        )


def clamp_interval(seconds: float, bounds: Bounds, ttl_hint: float | None = None) -> float:
    """Return ``seconds`` kept within the bounds, and not below the feed's hint.

    The hint raises the floor to ``min(ttl_hint, max_interval)``; the result
    never exceeds ``max_interval``.
    """
    floor = bounds.min_interval
    if ttl_hint is not None and ttl_hint > 0:
        floor = max(floor, min(float(ttl_hint), bounds.max_interval))
    return min(max(float(seconds), floor), bounds.max_interval)


def adapt_interval(
    current: float,
    seen_ratio: float | None,
    bounds: Bounds,
    ttl_hint: float | None = None,
) -> float:
    """Return the next interval after a successful poll.

    ``seen_ratio`` is the fraction of found items already stored (``None``
    when nothing was found, treated as 1.0: nothing new).
    """
    ratio = 1.0 if seen_ratio is None else min(max(float(seen_ratio), 0.0), 1.0)
    if ratio >= GROW_AT:
        proposed = current * GROW_FACTOR
    elif ratio <= SHRINK_AT:
        proposed = current * SHRINK_FACTOR
    else:
        proposed = current
    return clamp_interval(proposed, bounds, ttl_hint)


def compute_backoff(
    current: float,
    failures: int,
    bounds: Bounds,
    rand: Callable[[], float] = random.random,
) -> float:
    """Return the delay before retrying a source after ``failures`` failures in a row.

    ``current × 2^failures``, jittered by ±:data:`JITTER`, then kept within
    ``min_interval .. max_interval``. ``rand`` returns a float in [0, 1).
    """
    failures = max(int(failures), 1)
    base = max(float(current), bounds.min_interval)
    delay = base * (2 ** min(failures, MAX_BACKOFF_EXPONENT))
    delay = min(delay, bounds.max_interval)
    delay *= 1.0 + JITTER * (2.0 * rand() - 1.0)
    return min(max(delay, bounds.min_interval), bounds.max_interval)


def resume_interval(stored: float | None, bounds: Bounds) -> float:
    """Return the interval to resume with, from the value stored by a previous run."""
    if stored is None or stored <= 0:
        return clamp_interval(bounds.interval, bounds)
    return clamp_interval(stored, bounds)


def resume_delay(
    next_poll: datetime | None,
    now: datetime,
    spread: float = RESUME_SPREAD_S,
    rand: Callable[[], float] = random.random,
) -> float:
    """Return the seconds to wait before the first poll after a (re)start.

    A stored ``next_poll`` in the future is kept; otherwise the source is due
    "soon": within ``spread`` seconds, spread at random so that many sources
    do not all start at once.
    """
    if next_poll is not None:
        ahead = (next_poll - now).total_seconds()
        if ahead > 0:
            return ahead
    return max(spread, 0.0) * rand()


def silence_threshold(bounds: Bounds) -> float:
    """Return after how many seconds without a new item a source counts as silent."""
    return max(SILENCE_INTERVALS * bounds.max_interval, SILENCE_MIN_S)


def is_silent(
    last_new_item: datetime | None,
    watching_since: datetime | None,
    now: datetime,
    bounds: Bounds,
) -> bool:
    """Return True when the source has had no new item for too long.

    With no new item ever, the time is counted from ``watching_since`` (its
    first poll); a source never polled is not silent.
    """
    reference = last_new_item or watching_since
    if reference is None:
        return False
    return (now - reference).total_seconds() > silence_threshold(bounds)


def is_failed_poll(found: int, stored: int, errors: int, error_messages: list[str] | tuple[str, ...] = ()) -> bool:
    """Return True when a poll that returned still counts as a failure.

    A poll fails when it reported errors and got nothing at all (no item
    found, none stored): the feed or sitemap could not be read. Errors on
    some pages of an otherwise working poll are partial, not a failure.
    """
    had_errors = errors > 0 or bool(error_messages)
    return had_errors and found == 0 and stored == 0


def parse_time(value: str | None) -> datetime | None:
    """Parse an ISO 8601 time stored in the database (UTC when naive)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def format_time(moment: datetime) -> str:
    """Return ``moment`` as the ISO 8601 UTC string stored in the database."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def after(now: datetime, seconds: float) -> datetime:
    """Return ``now`` plus ``seconds``."""
    return now + timedelta(seconds=seconds)
