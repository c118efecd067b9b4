"""Feed parsing: RSS 2.0, RSS 1.0, Atom and the real captures."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crawler.feeds import feed_ttl_seconds, parse_feed

RSS2 = b"""<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel><title>T</title><link>https://e.com/</link><description>d</description>
<sy:updatePeriod> daily </sy:updatePeriod><sy:updateFrequency> 4 </sy:updateFrequency>
<item><title>One</title><link>https://e.com/one</link><pubDate>Tue, 22 Apr 2025 21:13:39 +0300</pubDate></item>
<item><title>Two</title><link>/two</link></item>
<item><title>Guid only</title><guid isPermaLink="true">https://e.com/three</guid></item>
</channel></rss>"""

RSS1 = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://e.com/"><title>T</title><link>https://e.com/</link><description>d</description></channel>
<item rdf:about="https://e.com/a"><title>A</title><link>https://e.com/a</link><dc:date>2024-05-01T10:00:00+03:00</dc:date></item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<id>urn:x</id><updated>2024-05-01T10:00:00Z</updated>
<entry><title>A</title><link rel="alternate" href="https://e.com/a"/><link rel="enclosure" href="https://e.com/a.mp3"/>
<id>urn:a</id><published>2024-05-01T09:00:00Z</published><updated>2024-05-01T10:00:00Z</updated></entry>
<entry><title>B</title><link href="b.html"/><id>urn:b</id><updated>2024-05-02T10:00:00Z</updated></entry>
</feed>"""


def test_rss2():
    feed = parse_feed(RSS2, "https://e.com/feed")
    assert feed.error is None and feed.version == "rss20"
    assert [e.link for e in feed.entries] == ["https://e.com/one", "https://e.com/two", "https://e.com/three"]
    assert feed.entries[0].published == datetime(2025, 4, 22, 18, 13, 39, tzinfo=timezone.utc)
    assert feed.entries[1].published is None
    assert feed.ttl_s == 86400 / 4


def test_rss1():
    feed = parse_feed(RSS1, "https://e.com/rdf")
    assert feed.error is None and feed.version.startswith("rss1")
    assert feed.entries[0].link == "https://e.com/a"
    assert feed.entries[0].published == datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)


def test_atom():
    feed = parse_feed(ATOM, "https://e.com/atom/feed.xml")
    assert feed.error is None and feed.version.startswith("atom")
    assert [e.link for e in feed.entries] == ["https://e.com/a", "https://e.com/atom/b.html"]
    assert feed.entries[0].published == datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def test_ttl():
    assert feed_ttl_seconds({"ttl": "15"}) == 900
    assert feed_ttl_seconds({"sy_updateperiod": "\n\thourly\t", "sy_updatefrequency": "\n\t1\t"}) == 3600
    assert feed_ttl_seconds({"sy_updateperiod": "fortnightly"}) is None
    assert feed_ttl_seconds({}) is None


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"<?xml version='1.0'?><rss><channel><item><title>cut", b"this is not xml at all",
     b"<html><body><p>a page, not a feed</p></body></html>"],
)
def test_broken_feeds_have_an_error(body):
    feed = parse_feed(body, "https://e.com/feed")
    assert feed.error
    assert not feed.entries or not any(e.link for e in feed.entries)


def test_malformed_but_readable_feed_keeps_entries():
    body = RSS2.replace(b"</channel></rss>", b"<item><title>x &nbsp; y</title><link>https://e.com/4</link></item></channel></rss>")
    feed = parse_feed(body, "https://e.com/feed")
    assert feed.error is None
    assert "https://e.com/4" in [e.link for e in feed.entries]


def test_parse_feed_never_touches_the_network():
    feed = parse_feed(b"http://127.0.0.1:9/feed.xml", "https://e.com/feed")
    assert feed.error


@pytest.mark.parametrize(
    ("name", "count", "ttl", "first"),
    [
        ("iraqinews_feed_2025-04-22.xml", 10, 3600.0, "https://www.iraqinews.com/sports/iraq-league-update-zawraa-beat-shorta-murad-mohammed/"),
        ("aljazeera_all_2026-08-13.xml", 25, None, "https://www.aljazeera.com/sports/2026/8/13/bangladesh-stun-australia-with-worst-total-in-contest-as-hasan-takes-6-55?traffic_source=rss"),
        ("mehrnews_en_2026-08-13.xml", 30, None, "https://en.mehrnews.com/news/246933/The-getaway-truck-when-Trump-gets-stuck-in-Iran-s-quagmire"),
        ("jpost_homepage_2023-02-25.xml", 75, None, "https://www.jpost.com/middle-east/iran-news/article-732688"),
    ],
)
def test_real_feeds(shared_dir, name, count, ttl, first):
    body = (shared_dir / "data" / "feeds" / name).read_bytes()
    feed = parse_feed(body, "https://example.com/feed")
    assert feed.error is None
    assert len(feed.entries) == count
    assert feed.ttl_s == ttl
    assert feed.entries[0].link == first
    assert all(e.link.startswith("https://") for e in feed.entries)
    assert all(e.published is not None and e.published.tzinfo is not None for e in feed.entries)
