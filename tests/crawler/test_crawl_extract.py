"""Page extraction, decoding and the page/feed date cross-check."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crawler.dates import choose_published, date_from_url, dates_disagree, parse_date
from crawler.extract import decode_html, extract_page, extract_worker

BODY = " ".join(f"Sentence number {i} of a long enough news story about the city council." for i in range(30))


def page(date: str | None = None, canonical: str | None = None, charset: str = "utf-8", lang: str = "en",
         body: str = BODY, title: str = "Council approves budget") -> str:
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{title}</title>{meta}{link}</head>'
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>{title}</h1>"
        f"<p class='byline'>By Jane Doe</p><p>{body}</p></article><footer>Contact us</footer></body></html>"
    )


def test_extract_page_fields():
    article = extract_page(page("2024-05-01T10:00:00+00:00", "https://news.example.com/2024/05/01/budget"),
                           "https://news.example.com/budget?utm_source=rss", feed_date="2024-05-01T11:00:00+00:00")
    assert article is not None
    assert article["url"] == "https://news.example.com/2024/05/01/budget"
    assert article["title"] == "Council approves budget"
    assert article["published"].startswith("2024-05-01")
    assert article["published_from"] == "page"
    assert article["feed_published"] == "2024-05-01T11:00:00+00:00"
    assert article["date_disagreement"] == 0
    assert article["language"] == "en"
    assert "Sentence number 29" in article["text"]
    assert "Contact us" not in article["text"]


def test_date_disagreement_flagged():
    article = extract_page(page("2019-11-19T10:00:00+00:00"), "https://e.com/x", feed_date="2024-05-01T11:00:00Z")
    assert article["published"].startswith("2019-11-19")
    assert article["feed_published"].startswith("2024-05-01")
    assert article["date_disagreement"] == 1


def test_date_falls_back_to_feed_sitemap_url():
    no_date = page(None)
    assert extract_page(no_date, "https://e.com/x", feed_date="2024-05-01T11:00:00Z")["published_from"] == "feed"
    assert extract_page(no_date, "https://e.com/x", sitemap_date="2024-05-02")["published_from"] == "sitemap"
    from_url = extract_page(no_date, "https://e.com/2023/02/25/story")
    assert from_url["published_from"] in ("url", "page")  # htmldate may read the URL itself
    assert from_url["published"].startswith("2023-02-25")


def test_root_canonical_is_ignored():
    article = extract_page(page(canonical="https://e.com/"), "https://e.com/story-1")
    assert article["url"] == "https://e.com/story-1"
    assert article["canonical_url"] is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"%PDF-1.7 ...", "PDF"),
        (b'{"a": 1, "b": [1, 2, 3]}', "JSON"),
        (b"", "empty"),
        (page(body="Too short.").encode(), "too short"),
        (b"<html><body><script>var x = 1;</script></body></html>", "no article"),
    ],
)
def test_extraction_failures_have_reasons(body, reason):
    result = extract_worker(body, "https://e.com/x", None, {"detect": False})
    assert result["ok"] is False
    assert reason.lower() in result["reason"].lower()
    assert extract_page(body, "https://e.com/x") is None


def test_worker_success_is_picklable_dict():
    import pickle

    result = extract_worker(page().encode(), "https://e.com/x", None, {"detect": False, "language": "ar"})
    assert result["ok"] and result["detection"] is None
    pickle.dumps(result)


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        ("<meta charset='windows-1256'><p>بغداد</p>".encode("cp1256"), None, "بغداد"),
        ("<p>Erbil – Kurdistan</p>".encode("utf-8"), "text/html; charset=iso-8859-1", "Erbil – Kurdistan"),
        ("<p>café</p>".encode("latin-1"), "text/html; charset=latin-1", "café"),
        ("\ufeff<p>السليمانية</p>".encode("utf-8"), None, "السليمانية"),
        ("<p>no declaration: الموصل</p>".encode("utf-8"), None, "الموصل"),
    ],
)
def test_decode_html(raw, content_type, expected):
    assert expected in decode_html(raw, content_type)


def test_arabic_page_bytes_in_legacy_charset():
    arabic = "انفجار عبوة ناسفة في بغداد أسفر عن سقوط ضحايا بحسب مصادر أمنية. " * 10
    raw = page(body=arabic, charset="windows-1256", lang="ar", title="انفجار في بغداد").encode("cp1256")
    article = extract_page(raw, "https://e.com/ar/1")
    assert article is not None and "عبوة ناسفة" in article["text"]
    assert article["language"] == "ar"


def test_parse_date_forms():
    assert parse_date("2024-05-01").day_only
    assert parse_date("2024-05-01T10:00:00+0300").value == datetime(2024, 5, 1, 7, tzinfo=timezone.utc)
    assert parse_date("2024-05-01T00:00:00").day_only
    assert parse_date("nonsense") is None and parse_date(None) is None
    assert parse_date(datetime(2024, 5, 1, 10)).iso() == "2024-05-01T10:00:00+00:00"


def test_dates_disagree():
    day = parse_date("2024-05-01")
    assert not dates_disagree(day, parse_date("2024-05-02T23:00:00Z"))
    assert dates_disagree(day, parse_date("2024-05-03T01:00:00Z"))
    assert not dates_disagree(parse_date("2024-05-01T10:00Z"), parse_date("2024-05-02T09:00Z"))
    assert dates_disagree(parse_date("2024-05-01T10:00Z"), parse_date("2024-05-02T11:00Z"))
    assert not dates_disagree(None, day) and not dates_disagree(day, None)


def test_date_from_url_and_choice():
    assert date_from_url("https://e.com/2024/05/01/x").iso() == "2024-05-01"
    assert date_from_url("https://e.com/news/2024-5-1-story").iso() == "2024-05-01"
    assert date_from_url("https://e.com/article-732688") is None
    assert date_from_url("https://e.com/2099/01/01/future") is None
    value, origin = choose_published(None, None, None, "https://e.com/2024/05/01/x")
    assert origin == "url" and value.iso() == "2024-05-01"
    assert choose_published(None, None, None, "https://e.com/x") == (None, None)
