"""Sitemap parsing: urlsets, indexes, Google News dates, gzip, hostile input."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from crawler.sitemaps import inflate, parse_sitemap, parse_w3c_date

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://e.com/a</loc><lastmod>2020-01-01</lastmod><news:news><news:publication><news:name>E</news:name>
<news:language>ar</news:language></news:publication><news:publication_date>2024-05-01T10:00:00+03:00</news:publication_date>
<news:title>A</news:title></news:news></url>
<url><loc> https://e.com/b </loc><lastmod>2024-05-02</lastmod></url>
<url><loc>https://e.com/c</loc></url>
<url><lastmod>2024-05-02</lastmod></url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://e.com/s1.xml</loc><lastmod>2024-05-01T00:00:00Z</lastmod></sitemap>
<sitemap><loc>https://e.com/s2.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_news_sitemap_dates():
    result = parse_sitemap(NEWS)
    assert result.kind == "urlset" and result.error is None
    assert [e.loc for e in result.entries] == ["https://e.com/a", "https://e.com/b", "https://e.com/c"]
    a, b, c = result.entries
    assert a.published == datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)  # publication_date wins over lastmod
    assert b.published == datetime(2024, 5, 2, tzinfo=timezone.utc)
    assert c.published is None


def test_index():
    result = parse_sitemap(INDEX)
    assert result.is_index
    assert [e.loc for e in result.entries] == ["https://e.com/s1.xml", "https://e.com/s2.xml.gz"]
    assert result.entries[0].published == datetime(2024, 5, 1, tzinfo=timezone.utc)


def test_gzip():
    result = parse_sitemap(gzip.compress(NEWS))
    assert len(result.entries) == 3


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"<urlset>" + b" " * (4 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(ValueError, match="beyond"):
        inflate(bomb, limit=1024 * 1024)


def test_corrupt_gzip():
    assert "gzip" in parse_sitemap(b"\x1f\x8b\x08\x00garbage").error


@pytest.mark.parametrize(
    "body", [b"", b"not xml", b"<html><body>hi</body></html>", b"<?xml version='1.0'?><rss></rss>"]
)
def test_not_a_sitemap(body):
    assert parse_sitemap(body).error


def test_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://e.com/&x;</loc></url></urlset>'
    ).encode()
    result = parse_sitemap(xxe)
    assert all("TOP-SECRET" not in e.loc for e in result.entries)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<urlset><url><loc>https://e.com/&d;</loc></url></urlset>'
    )
    result = parse_sitemap(laughs)
    assert all(len(e.loc) < 1000 for e in result.entries)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        ("2024-05-01T10:00Z", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("2024-05-01T10:00:00+03:00", datetime(2024, 5, 1, 7, tzinfo=timezone.utc)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_w3c_date(text, expected):
    assert parse_w3c_date(text) == expected
