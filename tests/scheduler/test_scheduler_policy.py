"""The adaptive polling rules of scheduler.policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scheduler import policy
from scheduler.policy import Bounds

B = Bounds(interval=600, min_interval=120, max_interval=3600)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_mostly_seen_items_grow_the_interval():
    assert policy.adapt_interval(600, 0.9, B) == pytest.approx(900)
    assert policy.adapt_interval(600, policy.GROW_AT, B) == pytest.approx(900)


def test_mostly_new_items_shrink_the_interval():
    assert policy.adapt_interval(600, 0.1, B) == pytest.approx(300)
    assert policy.adapt_interval(600, 0.0, B) == pytest.approx(300)


def test_a_mixed_poll_keeps_the_interval():
    assert policy.adapt_interval(600, 0.5, B) == pytest.approx(600)


def test_nothing_found_counts_as_all_seen():
    assert policy.adapt_interval(600, None, B) == pytest.approx(900)


@pytest.mark.parametrize("current, ratio, expected", [
    (3000, 1.0, 3600),   # growth capped at max_interval
    (3600, 1.0, 3600),
    (150, 0.0, 120),     # shrink floored at min_interval
    (120, 0.0, 120),
])
def test_interval_stays_within_bounds(current, ratio, expected):
    assert policy.adapt_interval(current, ratio, B) == pytest.approx(expected)


def test_repeated_polls_converge_to_the_bounds():
    interval = 600.0
    for _ in range(20):
        interval = policy.adapt_interval(interval, 1.0, B)
    assert interval == 3600
    for _ in range(20):
        interval = policy.adapt_interval(interval, 0.0, B)
    assert interval == 120


def test_feed_ttl_is_a_floor():
    # the feed says it changes hourly: never poll it faster than that
    assert policy.adapt_interval(600, 0.0, B, ttl_hint=1800) == pytest.approx(1800)
    assert policy.clamp_interval(200, B, ttl_hint=900) == pytest.approx(900)


def test_feed_ttl_is_capped_by_max_interval():
    # a feed declaring "daily" is still polled every max_interval
    assert policy.adapt_interval(600, 1.0, B, ttl_hint=86400) == pytest.approx(3600)


def test_ttl_below_min_interval_changes_nothing():
    assert policy.adapt_interval(600, 0.0, B, ttl_hint=10) == pytest.approx(300)
    assert policy.adapt_interval(600, 0.0, B, ttl_hint=0) == pytest.approx(300)


def test_backoff_doubles_with_each_failure_and_is_capped():
    no_jitter = lambda: 0.5  # noqa: E731  (factor 1.0)
    delays = [policy.compute_backoff(200, n, B, rand=no_jitter) for n in range(1, 7)]
    assert delays == pytest.approx([400, 800, 1600, 3200, 3600, 3600])


def test_backoff_jitter_stays_within_twenty_percent_and_bounds():
    low = policy.compute_backoff(200, 1, B, rand=lambda: 0.0)
    high = policy.compute_backoff(200, 1, B, rand=lambda: 0.999999)
    assert low == pytest.approx(400 * (1 - policy.JITTER))
    assert high == pytest.approx(400 * (1 + policy.JITTER), rel=1e-5)
    capped = policy.compute_backoff(3000, 5, B, rand=lambda: 0.999999)
    assert capped == 3600
    floor = policy.compute_backoff(10, 1, Bounds(10, 10, 100), rand=lambda: 0.0)
    assert floor >= 10


def test_backoff_of_many_failures_does_not_overflow():
    assert policy.compute_backoff(200, 10_000, B, rand=lambda: 0.5) == 3600


def test_backoff_uses_real_randomness_by_default():
    delays = {policy.compute_backoff(200, 2, B) for _ in range(50)}
    assert len(delays) > 1
    assert all(800 * 0.8 <= d <= 800 * 1.2 for d in delays)


def test_resume_keeps_a_future_next_poll():
    assert policy.resume_delay(NOW + timedelta(seconds=300), NOW) == pytest.approx(300)


def test_resume_polls_soon_when_next_poll_is_past_or_unknown():
    assert policy.resume_delay(NOW - timedelta(hours=5), NOW, spread=5, rand=lambda: 0.5) == pytest.approx(2.5)
    assert policy.resume_delay(None, NOW, spread=5, rand=lambda: 0.0) == 0


def test_resume_interval_is_clamped_to_the_current_bounds():
    assert policy.resume_interval(900, B) == 900
    assert policy.resume_interval(99_999, B) == 3600  # max_interval lowered since
    assert policy.resume_interval(None, B) == 600
    assert policy.resume_interval(0, B) == 600


def test_silence_threshold_is_three_max_intervals_or_a_day():
    assert policy.silence_threshold(B) == 86400
    assert policy.silence_threshold(Bounds(3600, 600, 12 * 3600)) == 36 * 3600


def test_is_silent():
    day = timedelta(days=1)
    assert not policy.is_silent(NOW - timedelta(hours=23), None, NOW, B)
    assert policy.is_silent(NOW - day - timedelta(minutes=1), None, NOW, B)
    # never a new item: counted from the first poll
    assert policy.is_silent(None, NOW - 2 * day, NOW, B)
    assert not policy.is_silent(None, NOW - timedelta(hours=1), NOW, B)
    assert not policy.is_silent(None, None, NOW, B)


def test_failed_poll_means_errors_and_nothing_found():
    assert policy.is_failed_poll(found=0, stored=0, errors=1)
    assert policy.is_failed_poll(found=0, stored=0, errors=0, error_messages=["feed: 500"])
    assert not policy.is_failed_poll(found=10, stored=2, errors=3)  # partial
    assert not policy.is_failed_poll(found=0, stored=0, errors=0)  # quiet feed


def test_times_round_trip():
    text = policy.format_time(NOW)
    assert text == "2024-05-01T12:00:00+00:00"
    assert policy.parse_time(text) == NOW
    assert policy.parse_time("2024-05-01T12:00:00") == NOW
    assert policy.parse_time("garbage") is None
    assert policy.parse_time(None) is None
