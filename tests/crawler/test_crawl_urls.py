"""canonicalize_url and resolve_link."""

from __future__ import annotations

import pytest

from crawler.urls import LinkRefused, canonicalize_url, resolve_link, same_site


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?utm_source=x&utm_medium=rss&utm_campaign=c", "https://example.com/a"),
        ("https://www.aljazeera.com/news/2026/8/13/x?traffic_source=rss", "https://www.aljazeera.com/news/2026/8/13/x"),
        ("https://example.com/a?fbclid=1&gclid=2&mc_cid=3", "https://example.com/a"),
        ("https://example.com/a?story=3&utm_source=x", "https://example.com/a?story=3"),
        ("https://www.iraqinews.com/?p=209323", "https://www.iraqinews.com/?p=209323"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("HTTPS://Example.COM:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://127.0.0.1:8000/a?utm_source=x", "http://127.0.0.1:8000/a"),
        ("https://example.com/news/story/amp/", "https://example.com/news/story/"),
        ("https://example.com/news/story/amp", "https://example.com/news/story"),
        ("https://amp.example.com/news/story", "https://example.com/news/story"),
        ("https://example.com/news/story.amp", "https://example.com/news/story"),
        ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
        ("https://example.com/news/story?amp", "https://example.com/news/story"),
        ("https://example.com/news/story?amp=1", "https://example.com/news/story"),
        ("https://example.com/news/story?outputType=amp", "https://example.com/news/story"),
        ("https://example.com/champion/ample", "https://example.com/champion/ample"),
    ],
)
def test_canonicalize_url(url, expected):
    assert canonicalize_url(url) == expected


def test_canonical_is_stable():
    for url in ("https://example.com/a?b=1&a=2", "https://example.com/x/amp/?utm_source=y#f"):
        once = canonicalize_url(url)
        assert canonicalize_url(once) == once


def test_query_order_does_not_matter():
    assert canonicalize_url("https://e.com/a?b=1&a=2") == canonicalize_url("https://e.com/a?a=2&b=1")


@pytest.mark.parametrize("url", ["ftp://example.com/a", "/relative/path", "mailto:x@example.com", "https://"])
def test_canonicalize_refuses_non_http(url):
    with pytest.raises(LinkRefused):
        canonicalize_url(url)


def test_resolve_link_makes_absolute():
    assert resolve_link("/a/b?utm_medium=rss", "http://127.0.0.1:5000/feed.xml") == "http://127.0.0.1:5000/a/b"
    assert resolve_link(" https://e.com/x \n", "http://b/") == "https://e.com/x"


@pytest.mark.parametrize(
    ("link", "word"),
    [("javascript:alert(1)", "javascript"), ("JavaScript:void(0)", "javascript"), ("data:text/html,hi", "data"),
     ("mailto:a@b.c", "mailto"), ("ftp://e.com/f", "ftp"), ("", "empty")],
)
def test_resolve_link_refuses(link, word):
    with pytest.raises(LinkRefused, match=word):
        resolve_link(link, "https://e.com/feed")


def test_same_site():
    assert same_site("https://www.e.com/a", "https://e.com/b")
    assert same_site("https://amp.e.com/a", "https://m.e.com/b")
    assert not same_site("https://e.com/a", "https://f.com/a")
