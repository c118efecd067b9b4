"""robots.txt that cannot be fetched, and the meta-refresh shortcut."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from scrapy.http import HtmlResponse, Request
from sqlite_utils import Database

from crawler.middlewares import MetaRefreshMiddleware, may_hold_meta_refresh
from crawler.run import run_crawl
from newswatch.config import Config, CrawlSettings, Source
from newswatch.localsite import LocalSite

pytestmark = pytest.mark.timeout(120)

SENTENCES = (
    "Officials in the province said the market reopened on Tuesday morning after weeks of repairs.",
    "Traders told reporters that prices had risen sharply after the floods of last spring.",
    "The local council promised to repair the damaged roads before the start of the school year.",
)


def article(title: str) -> bytes:
    paragraphs = "".join(f"<p>{title}: {sentence}</p>" for sentence in SENTENCES)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>").encode()


def feed(site: LocalSite, paths: list[str]) -> bytes:
    items = "".join(f"<item><title>{p}</title><link>{site.url(p)}</link></item>" for p in paths)
    return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>F</title>"
            f"<link>{site.url('/')}</link><description>d</description>{items}</channel></rss>").encode()


def cut_short(request):
    """robots.txt that promises 1,000 bytes and closes the connection after 9."""
    return 200, {"Content-Type": "text/plain", "Content-Length": "1000"}, iter([b"User-agen"])


def test_unreadable_robots_is_one_warning_per_source(tmp_path, caplog):
    site = LocalSite({"/robots.txt": cut_short}).start()
    try:
        sources = []
        for name in ("alpha", "beta"):
            paths = [f"/{name}/story-{n}.html" for n in range(2)]
            for path in paths:
                site.add(path, article(f"{name} story {path[-6]}"))
            site.add(f"/{name}/feed.xml", feed(site, paths), content_type="application/rss+xml")
            sources.append(Source(name=name, feeds=(site.url(f"/{name}/feed.xml"),)))
        settings = replace(CrawlSettings(), allow_private_hosts=True, autothrottle=False, workers=1,
                           retries=0, timeout=10, max_age=3650 * 86400.0)
        config = Config(path="<test>", crawl=settings, sources=tuple(sources))
        db_path = tmp_path / "robots.db"
        with caplog.at_level(logging.INFO):
            result = run_crawl(config, db_path, detect=False)
    finally:
        site.stop()

    # crawled as if robots.txt allowed everything (Scrapy's rule), every article stored
    assert site.hits("/robots.txt") == 1
    assert {name: r.stored for name, r in result.sources.items()} == {"alpha": 2, "beta": 2}
    # one WARNING line per source, no ERROR and no traceback
    warnings = [r for r in caplog.records if r.name == "crawler.middlewares" and r.levelno == logging.WARNING]
    assert sorted(r.getMessage().split(":", 1)[0] for r in warnings) == ["alpha", "beta"], warnings
    assert all("connection closed" in r.getMessage() and r.exc_info is None for r in warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text
    # recorded against each source
    db = Database(db_path)
    try:
        failures = [dict(r) for r in db.query("select source, url, stage, reason from failures")]
    finally:
        db.close()
    assert sorted(f["source"] for f in failures) == ["alpha", "beta"]
    assert all(f["stage"] == "robots" and f["url"] == site.url("/robots.txt") for f in failures)
    assert all("robots.txt not read (connection closed" in f["reason"] for f in failures)


@pytest.mark.parametrize(
    ("body", "possible"),
    [(b"<html><head><title>x</title></head><body>plain</body></html>", False),
     (b"<html><head><META HTTP-EQUIV='Refresh' content='0; url=/b'></head></html>", True),
     ("<html><head><meta http-equiv='refresh' content='0;url=/b'></head></html>".encode("utf-16"), True),
     (b"<html>" + b"x" * 20000 + b"<meta http-equiv='refresh' content='0;url=/b'></html>", False)],
)
def test_meta_refresh_byte_check(body, possible):
    assert may_hold_meta_refresh(body) is possible


def test_meta_refresh_still_followed():
    from scrapy.utils.test import get_crawler

    middleware = MetaRefreshMiddleware.from_crawler(get_crawler())
    request = Request("http://127.0.0.1:1/a")
    refresh = HtmlResponse("http://127.0.0.1:1/a", request=request,
                           body=b"<html><head><meta http-equiv='refresh' content='0; url=/b'></head></html>")
    redirected = middleware.process_response(request, refresh)
    assert isinstance(redirected, Request) and redirected.url == "http://127.0.0.1:1/b"
    plain = HtmlResponse("http://127.0.0.1:1/a", request=request, body=b"<html><body>nothing to see</body></html>")
    assert middleware.process_response(request, plain) is plain
    assert getattr(plain, "_cached_ubody", None) is None  # never decoded
