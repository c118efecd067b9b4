"""Settings, the private-host middleware and the local site server."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import urllib.request

import pytest
from scrapy import Request
from scrapy.settings.default_settings import REMOTE_CONTROL_ENABLED  # noqa: F401 - the setting exists in 2.19

from crawler.middlewares import PrivateHostMiddleware, PrivateHostRefused, classify_address, refusal_message
from crawler.settings import ITEM_PIPELINES, build_scrapy_settings
from newswatch.config import CrawlSettings
from newswatch.localsite import LocalSite


def test_scrapy_settings_from_crawl_settings():
    crawl = CrawlSettings(obey_robots=False, timeout=12, max_page_bytes=1000, retries=0, concurrency=3,
                          concurrency_per_domain=2, autothrottle=False, user_agent="ua/1")
    settings = build_scrapy_settings(crawl)
    assert settings["ROBOTSTXT_OBEY"] is False
    assert settings["DOWNLOAD_TIMEOUT"] == 12 and settings["DOWNLOAD_MAXSIZE"] == 1000
    assert 0 < settings["DOWNLOAD_WARNSIZE"] <= 1000
    assert settings["RETRY_ENABLED"] is False and settings["RETRY_TIMES"] == 0
    assert settings["CONCURRENT_REQUESTS"] == 3 and settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 2
    assert settings["AUTOTHROTTLE_ENABLED"] is False and settings["USER_AGENT"] == "ua/1"
    assert settings["REMOTE_CONTROL_ENABLED"] is False and settings["TELNETCONSOLE_ENABLED"] is False
    assert settings["HTTPCACHE_ENABLED"] is False
    assert list(settings["ITEM_PIPELINES"]) == list(ITEM_PIPELINES)
    assert settings["ITEM_PIPELINES"]["crawler.pipelines.ExtractPipeline"] < settings["ITEM_PIPELINES"]["crawler.pipelines.StorePipeline"]


@pytest.mark.parametrize(
    ("address", "kind"),
    [("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.1", "private"),
     ("172.16.5.4", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
     ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("::ffff:127.0.0.1", "loopback"),
     ("100.64.0.1", "non-public"), ("93.184.216.34", None), ("2606:4700::1111", None)],
)
def test_classify_address(address, kind):
    assert classify_address(ipaddress.ip_address(address)) == kind


def test_refusal_message():
    assert refusal_message("http://127.0.0.1:8000/x", "loopback", "127.0.0.1") == (
        "refused http://127.0.0.1:8000/x: resolves to loopback address 127.0.0.1; "
        "set crawl.allow_private_hosts = true to allow"
    )


def test_middleware_refuses_private_hosts():
    middleware = PrivateHostMiddleware()

    async def check(url: str):
        return await middleware.process_request(Request(url))

    for url in ("http://127.0.0.1:8000/x", "http://localhost/x", "http://[::1]/x", "http://10.0.0.8/feed"):
        with pytest.raises(PrivateHostRefused, match="set crawl.allow_private_hosts = true"):
            asyncio.run(check(url))
    assert asyncio.run(check("http://93.184.216.34/a")) is None


def test_local_site_routes_conditional_get_and_log(tmp_path):
    (tmp_path / "file.txt").write_text("from a directory")
    calls = []

    def dynamic(request):
        calls.append(request.path)
        return 200, {"Content-Type": "text/plain"}, f"dynamic {len(calls)}".encode()

    def drip(request):
        return 200, {"Content-Type": "text/plain"}, iter([b"a", b"b", b"c"])

    with LocalSite({"/a": (200, {"Content-Type": "text/html"}, b"<p>a</p>"), "/dyn": dynamic, "/drip": drip},
                   directory=tmp_path, robots="User-agent: *\nDisallow: /x/\n") as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(site.url("/a")) as response:
            etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
            assert response.read() == b"<p>a</p>"
        for header, value in (("If-None-Match", etag), ("If-Modified-Since", modified)):
            request = urllib.request.Request(site.url("/a"), headers={header: value})
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(request)
            assert info.value.code == 304
        with urllib.request.urlopen(site.url("/dyn?x=1")) as response:
            assert response.read() == b"dynamic 1"
        with urllib.request.urlopen(site.url("/drip")) as response:
            assert response.read() == b"abc"
        with urllib.request.urlopen(site.url("/robots.txt")) as response:
            assert b"Disallow: /x/" in response.read()
        with urllib.request.urlopen(site.url("/file.txt")) as response:
            assert response.read() == b"from a directory"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(site.url("/../../etc/passwd"))
        assert info.value.code == 404
        site.gzip = True
        request = urllib.request.Request(site.url("/a"), headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(response.read()) == b"<p>a</p>"
        assert site.hits("/a") == 4 and site.hits("/dyn") == 1
        assert site.requests("/dyn?x=1")[0].path == "/dyn?x=1"
        site.clear_log()
        assert site.requests() == []


def test_pool_survives_slow_and_crashing_pages(monkeypatch):
    from crawler import pool as pool_module
    from crawler.pool import ExtractorPool

    extractor = ExtractorPool(workers=1, timeout=3)

    async def scenario():
        ok = await extractor.extract(b"<html><body><p>" + b"word " * 100 + b"</p></body></html>", "http://e.com/a",
                                     None, {"detect": False})
        slow = await extractor.extract(b"", "http://e.com/slow", None, {"detect": False, "_sleep": 30})
        crash = await extractor.extract(b"", "http://e.com/crash", None, {"detect": False, "_crash": True})
        after = await extractor.extract(b"<html><body><p>" + b"word " * 100 + b"</p></body></html>",
                                        "http://e.com/b", None, {"detect": False})
        return ok, slow, crash, after

    monkeypatch.setattr(pool_module, "extract_worker", _misbehaving_worker)
    try:
        ok, slow, crash, after = asyncio.run(scenario())
    finally:
        extractor.shutdown()
    assert ok["ok"] and after["ok"]
    assert slow == {"ok": False, "reason": "extraction took longer than 3 s"}
    assert crash == {"ok": False, "reason": "the extraction worker crashed on this page"}


def _misbehaving_worker(html, url, feed_date, hints):
    import os
    import time

    from crawler.extract import extract_worker

    if hints.get("_sleep"):
        time.sleep(hints["_sleep"])
    if hints.get("_crash"):
        os._exit(1)
    return extract_worker(html, url, feed_date, hints)
