"""Fuzzing the parsers the open web feeds into: no input may raise.

Bounded (``max_examples``, no deadline flakiness): about 20 s in all. A
failure prints the smallest input hypothesis found.
"""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import decode_html, extract_page
from crawler.feeds import parse_feed
from crawler.sitemaps import parse_sitemap, parse_w3c_date
from crawler.urls import LinkRefused, canonicalize_url, resolve_link

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

XML_BITS = [
    "<?xml version='1.0'?>", "<?xml version='1.0' encoding='utf-16'?>", "<rss version='2.0'>", "</rss>",
    "<channel>", "</channel>", "<item>", "</item>", "<link>", "</link>", "<title>", "</title>",
    "<pubDate>", "</pubDate>", "<guid isPermaLink='true'>", "</guid>", "<feed xmlns='http://www.w3.org/2005/Atom'>",
    "</feed>", "<entry>", "</entry>", "<link rel='alternate' href='", "'/>", "<updated>", "</updated>",
    "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>", "</urlset>", "<sitemapindex>",
    "</sitemapindex>", "<url>", "</url>", "<sitemap>", "</sitemap>", "<loc>", "</loc>", "<lastmod>", "</lastmod>",
    "<news:publication_date>", "</news:publication_date>", "<![CDATA[", "]]>", "&amp;", "&lol;", "&#0;",
    "&#x110000;", "<!DOCTYPE r [<!ENTITY lol 'lol'>]>", "<!ENTITY x SYSTEM 'file:///etc/passwd'>",
    "http://127.0.0.1/a", "//127.0.0.1/b", "javascript:alert(1)", "data:,x", "../../c", "?q=1#f", "%zz",
    "http://[::1", "http://a:99999/", "Fri, 31 Dec 9999 23:59:59 -1400", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-05:00", "2024-02-30", "ttl", "<ttl>-5</ttl>", "<ttl>1e309</ttl>",
    "<sy:updatePeriod>hourly</sy:updatePeriod>", "<sy:updateFrequency>0</sy:updateFrequency>",
    "قال مسؤولون", "\u202e", "\x00", "\ufeff", "\ud7ff",
]
xmlish = st.lists(st.one_of(st.sampled_from(XML_BITS), st.text(max_size=20)), max_size=40).map("".join)
raw_bytes = st.one_of(
    st.binary(max_size=2000),
    xmlish.map(lambda s: s.encode("utf-8", "surrogatepass")),
    xmlish.map(lambda s: s.encode("utf-16", "surrogatepass")),
    xmlish.map(lambda s: gzip.compress(s.encode("utf-8", "surrogatepass"))),
)


@FUZZ
@given(body=raw_bytes, content_type=st.sampled_from([None, "application/rss+xml", "text/html; charset=utf-16",
                                                    "text/xml; charset=x-nonsense", "application/atom+xml"]))
def test_parse_feed_never_raises(body: bytes, content_type: str | None) -> None:
    result = parse_feed(body, "http://127.0.0.1/feed.xml", content_type)
    assert result.error is None or isinstance(result.error, str)
    for entry in result.entries:
        assert isinstance(entry.link, str)


@FUZZ
@given(body=raw_bytes)
def test_parse_sitemap_never_raises(body: bytes) -> None:
    result = parse_sitemap(body)
    assert result.error is None or isinstance(result.error, str)


@FUZZ
@given(text=st.one_of(st.text(max_size=40), st.sampled_from(XML_BITS)))
def test_sitemap_dates_never_raise(text: str) -> None:
    value = parse_w3c_date(text)
    assert value is None or value.tzinfo is not None


HTML_BITS = [
    "<html>", "</html>", "<head>", "<body>", "</body>", "<title>", "</title>", "<meta charset='", "'>",
    "<meta http-equiv='content-type' content='text/html; charset=", "<article>", "</article>", "<p>", "</p>",
    "<div>" * 50, "</div>" * 50, "<script>", "</script>", "<style>", "<!--", "-->", "<![CDATA[", "<table><tr><td>",
    "<time datetime='9999-12-31T23:59:59-05:00'>", "<meta property='article:published_time' content='0001-01-01'>",
    "<link rel='canonical' href='", "javascript:x", "http://127.0.0.1/", "windows-1256", "utf-16", "x-klingon",
    "The market reopened on Tuesday after the floods. " * 4, "قال مسؤولون أمنيون إن انفجاراً وقع. " * 3, "\x00",
    "\ufeff", "\u202e", "&nbsp;", "&#0;", "&#x110000;", "&bogus;",
]
htmlish = st.lists(st.one_of(st.sampled_from(HTML_BITS), st.text(max_size=20)), max_size=40).map("".join)
page_bytes = st.one_of(
    st.binary(max_size=3000),
    htmlish.map(lambda s: s.encode("utf-8", "surrogatepass")),
    htmlish.map(lambda s: s.encode("cp1256", "replace")),
    htmlish.map(lambda s: s.encode("utf-16-le", "surrogatepass")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(body=page_bytes, url=st.sampled_from(["http://127.0.0.1/2024/05/01/a.html", "http://127.0.0.1/", None]),
       feed_date=st.sampled_from([None, "2024-05-01", "9999-12-31T23:59:59-05:00", "garbage"]))
def test_extract_page_never_raises(body: bytes, url: str | None, feed_date: str | None) -> None:
    article = extract_page(body, url, feed_date)
    assert article is None or (article["text"] and "\x00" not in article["text"])


@FUZZ
@given(body=page_bytes, content_type=st.sampled_from([None, "text/html", "text/html; charset=windows-1256",
                                                    "text/html; charset=utf-16", "text/html; charset=bogus"]))
def test_decode_html_never_raises(body: bytes, content_type: str | None) -> None:
    assert isinstance(decode_html(body, content_type), str)


URL_BITS = [
    "http://", "https://", "HTTP://", "//", "127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1%25eth0]", ":80",
    ":443", ":0", ":99999", ":-1", ":abc", "/", "/amp/", ".amp.html", "?", "&", "=", "utm_source=x", "amp=1",
    "#frag", "%", "%zz", "%00", "..", "./", "@", "user:pass@", "\\", " ", "\t", "\n", "javascript:", "data:",
    "mailto:", "file:", "xn--", "ü", "قال", "\u202e", "\x00", "a" * 300,
]
urlish = st.lists(st.one_of(st.sampled_from(URL_BITS), st.text(max_size=8)), max_size=16).map("".join)


@settings(max_examples=400, deadline=None, database=None)
@given(url=urlish)
def test_canonicalize_url_raises_only_link_refused(url: str) -> None:
    try:
        canonical = canonicalize_url(url)
    except LinkRefused:
        return
    assert canonical.startswith(("http://", "https://"))


@settings(max_examples=400, deadline=None, database=None)
@given(link=st.one_of(st.none(), urlish), base=st.sampled_from(["http://127.0.0.1/feeds/a.xml", "https://127.0.0.1:8443/"]))
def test_resolve_link_raises_only_link_refused(link: str | None, base: str) -> None:
    try:
        resolved = resolve_link(link, base)
    except LinkRefused:
        return
    assert resolved.startswith(("http://", "https://"))
