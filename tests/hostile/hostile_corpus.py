"""The hostile corpus: one case = one source of a crawl, served on 127.0.0.1.

A case is a function registered with :func:`case` that lays out its routes
under ``/h/<id>/`` on the group's :class:`~newswatch.localsite.LocalSite` and
returns the source's feeds and sitemaps. Its :class:`Expect` says what must
come out: ``stored`` articles (exactly), a failure whose reason contains one
of ``reason`` (case-insensitive) at ``stage``, text that must be in a stored
article, text that must never be in the database.

Groups are crawled once each (see ``test_hostile_crawl.py``): ``main`` (most
cases, short timeouts), ``big`` (large and explosive inputs, memory sampled),
``private`` (private-host refusal of redirect targets).
"""

from __future__ import annotations

import codecs
import gzip
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from hostile_helpers import (
    ARABIC,
    ARABIC_2,
    HTML_TYPE,
    MIXED,
    RSS_TYPE,
    XML_TYPE,
    RawServer,
    article_html,
    gzip_bomb,
    now_rfc822,
    rss,
    sitemapindex,
    story,
    streamed,
    urlset,
)

from newswatch.config import Source
from newswatch.localsite import LocalSite

HEALTHY_ARTICLES = 5
BIG_FEED_ITEMS = 10_000
MAX_ARTICLES = 20  # crawl.max_articles_per_source in the big group
MAX_PAGE_BYTES = 2 * 1024 * 1024
HUGE_PAGE_BYTES = 50 * 1024 * 1024
BOMB_BYTES = 2 * 1024 * 1024 * 1024  # a gzip bomb inflating to 2 GiB
SECRET_FILE_TEXT = "TOP-SECRET-xxe-canary-7c41f0"


@dataclass
class Expect:
    stored: int | None = 0
    reason: tuple[str, ...] = ()  # one of these in a failure reason of the source
    stage: str | tuple[str, ...] | None = None
    text: tuple[str, ...] = ()  # each in the text of some stored article
    never: tuple[str, ...] = ()  # never anywhere in the database
    failed: bool | None = None  # crawl_runs status "failed" (None: not checked)
    max_hits: dict[str, int] = field(default_factory=dict)  # path -> most requests allowed
    check: Callable[[Any], None] | None = None  # extra check on the CaseOutcome


@dataclass
class Case:
    id: str
    group: str
    build: Callable[[Env], tuple[list[str], list[str]]]
    expect: Expect


CASES: dict[str, Case] = {}


def case(group: str, **expect: Any) -> Callable[[Callable[[Env], tuple[list[str], list[str]]]], Any]:
    def register(fn: Callable[[Env], tuple[list[str], list[str]]]) -> Any:
        name = fn.__name__.removeprefix("c_").replace("_", "-")
        for key in ("reason", "text", "never"):
            if isinstance(expect.get(key), str):
                expect[key] = (expect[key],)
        CASES[name] = Case(name, group, fn, Expect(**expect))
        return fn

    return register


@dataclass
class Env:
    """What a case builder gets: the site, its own path prefix and the raw servers."""

    site: LocalSite
    case_id: str
    raw: dict[str, RawServer]
    secret_file: str

    @property
    def prefix(self) -> str:
        return f"/h/{self.case_id}"

    def url(self, path: str) -> str:
        return self.site.url(self.prefix + path)

    def add(self, path: str, body: bytes | str, content_type: str = HTML_TYPE, status: int = 200,
            headers: dict[str, str] | None = None) -> str:
        self.site.add(self.prefix + path, body, status=status, content_type=content_type, headers=headers)
        return self.url(path)

    def route(self, path: str, handler: Any) -> str:
        self.site.route(self.prefix + path, handler)
        return self.url(path)

    def feed(self, links: list[str], dates: list[str | None] | None = None, path: str = "/feed.xml") -> str:
        dates = dates or [now_rfc822()] * len(links)
        return self.add(path, rss(list(zip(links, dates))), content_type=RSS_TYPE)

    def page_feed(self, body: bytes | str, content_type: str = HTML_TYPE, status: int = 200,
                  headers: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
        """One page, listed by one feed: the common shape of a page case."""
        page = self.add("/page.html", body, content_type=content_type, status=status, headers=headers)
        return [self.feed([page])], []

    def good_page(self, path: str, n: int = 0) -> str:
        return self.add(path, article_html(f"{self.case_id} {n}", story(self.case_id, n)))


def healthy(env: Env) -> tuple[list[str], list[str]]:
    """The healthy source of every crawl: a feed of articles that must all be stored."""
    links = [env.good_page(f"/a{n}.html", n) for n in range(HEALTHY_ARTICLES)]
    return [env.feed(links)], []


# ====================================================================================
# HTML pages (group main)
# ====================================================================================
OK_TEXT = "officials in the province said the market reopened"


@case("main", stored=1, text=OK_TEXT)
def c_html_unclosed_tags(env: Env):
    body = "<html><head><title>Unclosed</title><body><div><article><h1>Unclosed" + "".join(
        f"<p>{s}<b><i><span>" for s in story(env.case_id)
    ) + "<table><tr><td>cell"
    return env.page_feed(body)


@case("main", stored=0, stage="extract", reason=("no article text",), failed=False)
def c_html_unclosed_title_swallows_the_page(env: Env):
    # an unclosed <title> holds the rest of the document as its text, in browsers too
    body = "<html><head><title>Unclosed<body><article>" + "".join(f"<p>{s}</p>" for s in story(env.case_id))
    return env.page_feed(body)


@case("main", stored=1, text=OK_TEXT)
def c_html_no_body(env: Env):
    body = "<html><head><title>No body</title></head>" + "".join(f"<p>{s}</p>" for s in story(env.case_id))
    return env.page_feed(body)


@case("main", stored=1, text=OK_TEXT)
def c_html_no_html_element(env: Env):
    return env.page_feed("<title>Bare</title>" + "".join(f"<p>{s}</p>" for s in story(env.case_id)))


@case("main", stored=1, text=OK_TEXT)
def c_html_mismatched_nesting(env: Env):
    body = "<html><body><article><p><div></p></div></span></article></b>" + "".join(
        f"<p>{s}</i></em></p>" for s in story(env.case_id)
    ) + "</html></html></body>"
    return env.page_feed(body)


@case("main", stored=0, stage="extract", reason=("binary content",), failed=False)
def c_html_binary_served_as_html(env: Env):
    rng = random.Random(7)
    return env.page_feed(bytes(rng.randrange(256) for _ in range(20000)))


@case("main", stored=0, stage="extract", reason=("pdf",), failed=False)
def c_html_pdf_served_as_html(env: Env):
    return env.page_feed(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 50)


@case("main", stored=0, stage="extract", reason=("empty page",), failed=False)
def c_html_empty_200(env: Env):
    return env.page_feed(b"")


@case("main", stored=0, stage="extract", reason=("empty page",), failed=False)
def c_html_whitespace_only(env: Env):
    return env.page_feed(b" \r\n\t " * 1000)


@case("main", stored=0, stage="extract", reason=("no article text", "too short"), failed=False)
def c_html_script_only(env: Env):
    return env.page_feed("<html><head><script>" + "var a = 1;" * 500 + "</script></head><body></body></html>")


@case("main", stored=0, stage=("page", "extract"), reason=("not an html page", "binary content"), failed=False)
def c_html_served_as_octet_stream(env: Env):
    return env.page_feed(bytes(range(256)) * 40, content_type="application/octet-stream")


@case("main", stored=1, text=OK_TEXT)
def c_html_nul_bytes_late(env: Env):
    body = article_html("Late NULs", story(env.case_id)).encode() + b"\x00\x00garbage\x00" * 10
    return env.page_feed(body)


@case("main", stored=1, text=OK_TEXT)
def c_html_invalid_utf8_sequences(env: Env):
    body = article_html("Bad UTF-8", story(env.case_id)).encode().replace(b"Footer", b"Foot\xff\xfe\xc3er")
    return env.page_feed(body)


# -- charsets: the Arabic must come out as written --------------------------------------
def arabic_page(case_id: str, charset: str | None) -> str:
    return article_html(f"خبر {case_id}", [ARABIC, ARABIC_2, f"رقم الحالة {case_id}."] , lang="ar",
                        charset=charset)


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_windows_1256_header(env: Env):
    return env.page_feed(arabic_page(env.case_id, None).encode("cp1256"),
                         content_type="text/html; charset=windows-1256")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_windows_1256_meta(env: Env):
    return env.page_feed(arabic_page(env.case_id, "windows-1256").encode("cp1256"), content_type="text/html")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_windows_1256_undeclared(env: Env):
    return env.page_feed(arabic_page(env.case_id, None).encode("cp1256"), content_type="text/html")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_iso_8859_6_header(env: Env):
    return env.page_feed(arabic_page(env.case_id, None).encode("iso-8859-6"),
                         content_type="text/html; charset=ISO-8859-6")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_iso_8859_6_meta(env: Env):
    return env.page_feed(arabic_page(env.case_id, "iso-8859-6").encode("iso-8859-6"), content_type="text/html")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_utf16le_bom_undeclared(env: Env):
    return env.page_feed(codecs.BOM_UTF16_LE + arabic_page(env.case_id, None).encode("utf-16-le"),
                         content_type="text/html")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_utf16be_bom_declared(env: Env):
    return env.page_feed(codecs.BOM_UTF16_BE + arabic_page(env.case_id, None).encode("utf-16-be"),
                         content_type="text/html; charset=utf-16")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_utf16le_no_bom_declared(env: Env):
    return env.page_feed(arabic_page(env.case_id, None).encode("utf-16-le"),
                         content_type="text/html; charset=utf-16le")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_utf8_declared_latin1(env: Env):
    return env.page_feed(arabic_page(env.case_id, "iso-8859-1").encode("utf-8"),
                         content_type="text/html; charset=iso-8859-1")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_utf8_declared_windows_1256(env: Env):
    # a wrong declaration that still "decodes": cp1256 maps nearly every byte
    return env.page_feed(arabic_page(env.case_id, None).encode("utf-8"),
                         content_type="text/html; charset=windows-1256")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_1256_declared_utf8(env: Env):
    return env.page_feed(arabic_page(env.case_id, "utf-8").encode("cp1256"),
                         content_type="text/html; charset=utf-8")


@case("main", stored=1, text=(ARABIC, ARABIC_2))
def c_charset_unknown_name(env: Env):
    return env.page_feed(arabic_page(env.case_id, "x-klingon").encode("utf-8"),
                         content_type="text/html; charset=x-klingon")


# trafilatura drops the invisible bidi marks (U+200E/U+200F); the visible text must be intact
@case("main", stored=1, text=(MIXED.replace("\u200f", "").replace("\u200e", ""), ARABIC))
def c_mixed_rtl_ltr_text(env: Env):
    body = article_html("Mixed", [MIXED, ARABIC, f"English sentence for case {env.case_id} follows the Arabic."],
                        lang="ar")
    return env.page_feed(body.replace("<html", '<html dir="rtl"'))


# ====================================================================================
# Feeds and sitemaps (group main)
# ====================================================================================
@case("main", stored=0, stage="feed", reason=("not a valid feed",), failed=True)
def c_feed_invalid_xml(env: Env):
    return [env.add("/feed.xml", b"<?xml version='1.0'?><rss><channel><item><title>cut<<>>&&", RSS_TYPE)], []


@case("main", stored=0, stage="feed", reason=("the server sent an HTML page",), failed=True)
def c_feed_html_instead_of_xml(env: Env):
    return [env.add("/feed.xml", article_html("A web page", story(env.case_id)), "text/html")], []


@case("main", stored=0, stage="feed", reason=("empty feed",), failed=True)
def c_feed_empty_200(env: Env):
    return [env.add("/feed.xml", b"", RSS_TYPE)], []


@case("main", stored=0, stage="feed", reason=("the server sent JSON",), failed=True)
def c_feed_json(env: Env):
    return [env.add("/feed.json", b'{"version": "https://jsonfeed.org/version/1", "items": []}',
                    "application/json")], []


@case("main", stored=0, stage="sitemap", reason=("not a sitemap",), failed=True)
def c_sitemap_html_instead_of_xml(env: Env):
    return [], [env.add("/sitemap.xml", article_html("Not a sitemap", story(env.case_id)), "text/html")]


@case("main", stored=0, stage="sitemap", reason=("not valid xml", "not a sitemap", "empty sitemap"), failed=True)
def c_sitemap_invalid_xml(env: Env):
    return [], [env.add("/sitemap.xml", b"\x00\x01<urlset><url><loc>", XML_TYPE)]


@case("main", stored=0, stage="sitemap", reason=("empty sitemap",), failed=True)
def c_sitemap_empty_200(env: Env):
    return [], [env.add("/sitemap.xml", b"", XML_TYPE)]


@case("main", stored=0, stage="sitemap", reason=("corrupt gzip", "truncated"), failed=True)
def c_sitemap_corrupt_gzip(env: Env):
    data = gzip.compress(urlset([(env.good_page("/a.html"), None)]))
    return [], [env.add("/sitemap.xml.gz", data[:40] + b"\x00garbage" * 20, "application/x-gzip")]


XXE_DTD = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{path}">]>'
LAUGHS_DTD = (
    '<!DOCTYPE r [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)


def _laughs_check(outcome: Any) -> None:
    dump = outcome.dump
    assert "lollollollollollollollollollol" not in dump, "the entity expansion reached the database"


@case("main", stored=1, text=OK_TEXT, never=(SECRET_FILE_TEXT,))
def c_feed_xxe_external_entity(env: Env):
    page = env.good_page("/a.html")
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?>' + XXE_DTD.format(path=env.secret_file)
        + f"<rss version='2.0'><channel><title>&xxe;</title><link>{page}</link><description>&xxe;</description>"
        f"<item><title>&xxe;</title><link>{page}</link><description>&xxe;</description></item>"
        "<item><title>t</title><link>&xxe;</link></item></channel></rss>"
    )
    return [env.add("/feed.xml", feed.replace("<!DOCTYPE r", "<!DOCTYPE rss"), RSS_TYPE)], []


@case("main", stored=1, text=OK_TEXT, never=(SECRET_FILE_TEXT,))
def c_sitemap_xxe_external_entity(env: Env):
    page = env.good_page("/a.html")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>' + XXE_DTD.format(path=env.secret_file).replace("<!DOCTYPE r", "<!DOCTYPE urlset")
        + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{page}</loc></url><url><loc>{env.url('/x/')}&xxe;</loc></url></urlset>"
    )
    return [], [env.add("/sitemap.xml", body, XML_TYPE)]


@case("main", check=_laughs_check, stored=None)
def c_feed_billion_laughs(env: Env):
    page = env.good_page("/a.html")
    feed = (
        '<?xml version="1.0"?>' + LAUGHS_DTD.replace("<!DOCTYPE r", "<!DOCTYPE rss")
        + f"<rss version='2.0'><channel><title>&lol9;</title><item><title>&lol9;</title><link>{page}</link>"
        "<description>&lol9;</description></item></channel></rss>"
    )
    return [env.add("/feed.xml", feed, RSS_TYPE)], []


@case("main", check=_laughs_check, stored=None)
def c_sitemap_billion_laughs(env: Env):
    page = env.good_page("/a.html")
    body = (
        '<?xml version="1.0"?>' + LAUGHS_DTD.replace("<!DOCTYPE r", "<!DOCTYPE urlset")
        + f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{page}</loc>'
        "<lastmod>&lol9;</lastmod></url></urlset>"
    )
    return [], [env.add("/sitemap.xml", body, XML_TYPE)]


@case("main", stored=1, text=OK_TEXT, max_hits={"/index.xml": 1})
def c_sitemap_index_points_to_itself(env: Env):
    page = env.good_page("/a.html")
    child = env.add("/child.xml", urlset([(page, None)]), XML_TYPE)
    index = env.url("/index.xml")
    env.add("/index.xml", sitemapindex([index, child, index + "#again"]), XML_TYPE)
    return [], [index]


@case("main", stored=1, text=OK_TEXT, max_hits={"/a.xml": 1, "/b.xml": 1})
def c_sitemap_index_cycle(env: Env):
    page = env.good_page("/a.html")
    a, b = env.url("/a.xml"), env.url("/b.xml")
    child = env.add("/child.xml", urlset([(page, None)]), XML_TYPE)
    env.add("/a.xml", sitemapindex([b]), XML_TYPE)
    env.add("/b.xml", sitemapindex([a, child]), XML_TYPE)
    return [], [a]


@case("main", stored=0, stage="sitemap", reason=("nested deeper",))
def c_sitemap_index_too_deep(env: Env):
    urls = [env.url(f"/i{n}.xml") for n in range(8)]
    for n in range(7):
        env.add(f"/i{n}.xml", sitemapindex([urls[n + 1]]), XML_TYPE)
    env.add("/i7.xml", urlset([(env.good_page("/a.html"), None)]), XML_TYPE)
    return [], [urls[0]]


@case("main", stored=0, stage="feed", reason=("empty link",))
def c_feed_items_without_links(env: Env):
    body = rss([]).replace(b"</channel>", b"<item><title>No link</title><description>x</description></item>" * 3
                           + b"</channel>")
    return [env.add("/feed.xml", body, RSS_TYPE)], []


@case("main", stored=1, stage="feed", reason=("javascript",), text=OK_TEXT)
def c_feed_javascript_links(env: Env):
    good = env.good_page("/a.html")
    return [env.feed(["javascript:alert(document.cookie)", " JaVaScRiPt:fetch('//x')", good])], []


@case("main", stored=1, stage="feed", reason=("malformed url",), text=OK_TEXT)
def c_feed_malformed_url_links(env: Env):
    # urllib raises ValueError on these; one of them once dropped the whole feed as an internal error
    good = env.good_page("/a.html")
    return [env.feed(["http://[", "http://[::1][::1]/x", "http://127.0.0.1:99999/x", good])], []


@case("main", stored=0, stage="feed", reason=("data:",))
def c_feed_data_links(env: Env):
    return [env.feed(["data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "data:,hello"])], []


@case("main", stored=0, stage="feed", reason=("file:", "mailto:", "ftp"))
def c_feed_file_and_mailto_links(env: Env):
    return [env.feed([f"file://{env.secret_file}", "mailto:editor@example.org", "ftp://127.0.0.1/x",
                      "gopher://127.0.0.1/1"])], []


@case("main", stored=3, text=OK_TEXT)
def c_feed_relative_links(env: Env):
    env.good_page("/a.html", 0)
    env.good_page("/sub/b.html", 1)
    env.good_page("/c.html", 2)
    host = env.site.base_url.split("://", 1)[1]
    return [env.feed(["a.html", "./sub/../sub/b.html", f"//{host}{env.prefix}/c.html"])], []


@case("main", stored=2, text=OK_TEXT)
def c_feed_future_and_distant_past_dates(env: Env):
    a, b = env.good_page("/a.html", 0), env.good_page("/b.html", 1)
    return [env.feed([a, b], ["Fri, 31 Dec 9999 23:59:59 +0000", "Mon, 01 Jan 0001 00:00:00 +0000"])], []


@case("main", stored=2, text=OK_TEXT)
def c_feed_unparseable_dates(env: Env):
    a, b = env.good_page("/a.html", 0), env.good_page("/b.html", 1)
    return [env.feed([a, b], ["yesterday-ish", "Tue, 99 Foo 2024 99:99:99 +9999"])], []


@case("main", stored=2, text=OK_TEXT)
def c_sitemap_extreme_dates(env: Env):
    fresh = env.good_page("/a.html", 0)
    old = env.good_page("/old.html", 1)
    edge = env.good_page("/edge.html", 2)
    body = urlset([(fresh, "9999-12-31T23:59:59+14:00"), (old, "0001-01-01"), (edge, "9999-12-31T23:59:59-05:00")])
    return [], [env.add("/sitemap.xml", body, XML_TYPE)]


@case("main", stored=1, text=OK_TEXT, max_hits={"/a.html": 1})
def c_feed_duplicate_items(env: Env):
    page = env.good_page("/a.html")
    variants = [page] * 40 + [page + "?utm_source=x", page + "#top", page.replace("http://", "HTTP://", 1)]
    return [env.feed(variants)], []


# ====================================================================================
# HTTP (group main)
# ====================================================================================
@case("main", stored=0, stage="feed", reason=("HTTP 403 Forbidden",), failed=True)
def c_http_403(env: Env):
    return [env.add("/feed.xml", b"forbidden", "text/plain", status=403)], []


@case("main", stored=0, stage="feed", reason=("HTTP 404 Not Found",), failed=True)
def c_http_404(env: Env):
    return [env.url("/missing.xml")], []


@case("main", stored=0, stage="feed", reason=("HTTP 410 Gone",), failed=True)
def c_http_410(env: Env):
    return [env.add("/feed.xml", b"gone", "text/plain", status=410)], []


@case("main", stored=0, stage="feed", reason=("HTTP 429 Too Many Requests",), failed=True)
def c_http_429_retry_after(env: Env):
    return [env.add("/feed.xml", b"slow down", "text/plain", status=429, headers={"Retry-After": "3600"})], []


@case("main", stored=0, stage="feed", reason=("HTTP 500 Internal Server Error",), failed=True)
def c_http_500(env: Env):
    return [env.add("/feed.xml", b"boom", "text/plain", status=500)], []


@case("main", stored=0, stage="feed", reason=("HTTP 503 Service Unavailable",), failed=True)
def c_http_503_retry_after(env: Env):
    return [env.add("/feed.xml", b"later", "text/plain", status=503, headers={"Retry-After": "120"})], []


@case("main", stored=1, stage="page", reason=("HTTP 404 Not Found",), failed=False)
def c_http_article_404_others_stored(env: Env):
    return [env.feed([env.url("/gone.html"), env.good_page("/a.html")])], []


@case("main", stored=0, stage="feed", reason=("redirect",), failed=True)
def c_http_redirect_loop(env: Env):
    env.add("/a.xml", b"", status=302, headers={"Location": env.url("/b.xml")})
    env.add("/b.xml", b"", status=302, headers={"Location": env.url("/a.xml")})
    return [env.url("/a.xml")], []


@case("main", stored=0, stage="feed", reason=("redirect",), failed=True)
def c_http_redirect_to_itself(env: Env):
    env.add("/feed.xml", b"", status=301, headers={"Location": env.url("/feed.xml")})
    return [env.url("/feed.xml")], []


@case("main", stored=0, stage="page", never=(SECRET_FILE_TEXT,), reason=("redirect", "scheme", "not an http"))
def c_http_redirect_to_file_url(env: Env):
    env.add("/page.html", b"", status=302, headers={"Location": f"file://{env.secret_file}"})
    return [env.feed([env.url("/page.html")])], []


@case("main", stored=0, stage="feed", reason=("HTTP 302",), failed=True)
def c_http_redirect_without_location(env: Env):
    return [env.add("/feed.xml", b"", status=302)], []


@case("main", stored=0, stage="feed", reason=("timed out",), failed=True)
def c_http_accepts_never_reads(env: Env):
    return [env.raw["hang"].url(f"{env.prefix}/feed.xml")], []


@case("main", stored=0, stage="feed", reason=("timed out",), failed=True)
def c_http_reads_never_answers(env: Env):
    return [env.raw["silent"].url(f"{env.prefix}/feed.xml")], []


@case("main", stored=0, stage="feed", reason=("timed out",), failed=True)
def c_http_drips_one_byte_a_second(env: Env):
    return [env.raw["drip"].url(f"{env.prefix}/feed.xml")], []


@case("main", stored=0, stage="feed", reason=("connection",), failed=True)
def c_http_connection_reset(env: Env):
    return [env.raw["reset"].url(f"{env.prefix}/feed.xml")], []


@case("main", stored=0, stage="feed", reason=("connection",), failed=True)
def c_http_closed_without_answer(env: Env):
    return [env.raw["close"].url(f"{env.prefix}/feed.xml")], []


@case("main", stored=0, stage="feed", reason=("not http", "invalid http", "bad http", "malformed"), failed=True)
def c_http_garbage_answer(env: Env):
    return [env.raw["garbage"].url(f"{env.prefix}/feed.xml")], []


@case("main", stored=0, stage="feed", reason=("connection closed before the response was complete",), failed=True)
def c_http_truncated_body(env: Env):
    def route(request: Any):
        return 200, {"Content-Type": RSS_TYPE, "Content-Length": "100000"}, iter([rss([])[:80]])

    return [env.route("/feed.xml", route)], []


@case("main", stored=0, stage="feed", reason=("connection refused",), failed=True)
def c_http_connection_refused(env: Env):
    return [f"http://127.0.0.1:{env.raw['closed_port']}/feed.xml"], []


@case("main", stored=0, stage="feed", reason=("tls", "ssl"), failed=True)
def c_https_to_plain_http_port(env: Env):
    feed = env.feed([env.good_page("/a.html")])
    return [feed.replace("http://", "https://", 1)], []


# ====================================================================================
# Large and explosive inputs (group big, memory sampled)
# ====================================================================================
@case("big", stored=0, stage="page", reason=("too large",), failed=False)
def c_big_page_50mb_streamed(env: Env):
    page = env.route("/page.html", streamed(HUGE_PAGE_BYTES, b"<p>" + b"padding " * 8190 + b"</p>"))
    return [env.feed([page])], []


@case("big", stored=0, stage="page", reason=("too large",), failed=False)
def c_big_page_50mb_declared_length(env: Env):
    def route(request: Any):
        chunk = b"<p>" + b"padding " * 8190 + b"</p>"
        body = (chunk for _ in range(HUGE_PAGE_BYTES // len(chunk)))
        return 200, {"Content-Type": HTML_TYPE, "Content-Length": str(HUGE_PAGE_BYTES // len(chunk) * len(chunk))}, body

    return [env.feed([env.route("/page.html", route)])], []


@case("big", stored=0, stage="feed", reason=("too large once decompressed",), failed=True)
def c_big_feed_gzip_bomb_content_encoding(env: Env):
    env.add("/feed.xml", BOMB.get(), RSS_TYPE, headers={"Content-Encoding": "gzip"})
    return [env.url("/feed.xml")], []


@case("big", stored=0, stage="sitemap", reason=("inflates beyond",), failed=True)
def c_big_sitemap_gzip_bomb(env: Env):
    return [], [env.add("/sitemap.xml.gz", BOMB.get(), "application/x-gzip")]


@case("big", stored=0, stage="page", reason=("too large once decompressed",))
def c_big_page_gzip_bomb_content_encoding(env: Env):
    page = env.add("/page.html", BOMB.get(), HTML_TYPE, headers={"Content-Encoding": "gzip"})
    return [env.feed([page])], []


def _nested(depth: int, case_id: str) -> bytes:
    inner = "".join(f"<p>{s}</p>" for s in story(case_id))
    return (f"<html><head><title>Deep</title></head><body>" + "<div>" * depth + inner + "</div>" * depth
            + "</body></html>").encode()


@case("big", stored=None, stage="extract", check=lambda o: o.finished_or_recorded())
def c_big_nested_divs_100k(env: Env):
    return env.page_feed(_nested(100_000, env.case_id))


@case("big", stored=None, stage="extract", check=lambda o: o.finished_or_recorded())
def c_big_nested_unclosed_tags_100k(env: Env):
    return env.page_feed(("<html><body>" + "<span><b><i>" * 33_000 + " ".join(story(env.case_id))).encode())


def _big_feed_check(outcome: Any) -> None:
    result = outcome.result
    assert result.found == BIG_FEED_ITEMS, result
    assert result.capped == BIG_FEED_ITEMS - MAX_ARTICLES
    assert outcome.page_hits <= MAX_ARTICLES


@case("big", stored=MAX_ARTICLES, check=_big_feed_check)
def c_big_feed_10000_items(env: Env):
    pages = []
    start = datetime.now(timezone.utc)
    dates = []
    for n in range(BIG_FEED_ITEMS):
        pages.append(env.route(f"/p/{n}.html", _numbered_page(env.case_id, n)))
        dates.append(now_rfc822(start - timedelta(minutes=n)))
    return [env.add("/feed.xml", rss(list(zip(pages, dates))), RSS_TYPE)], []


@case("big", stored=MAX_ARTICLES, check=_big_feed_check)
def c_big_sitemap_10000_urls(env: Env):
    start = datetime.now(timezone.utc)
    locs = []
    for n in range(BIG_FEED_ITEMS):
        page = env.route(f"/p/{n}.html", _numbered_page(env.case_id, n))
        locs.append((page, (start - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S+00:00")))
    return [], [env.add("/sitemap.xml", urlset(locs), XML_TYPE)]


def _numbered_page(case_id: str, n: int) -> Callable[[Any], tuple[int, dict[str, str], bytes]]:
    def route(request: Any):
        return 200, {"Content-Type": HTML_TYPE}, article_html(f"{case_id} {n}", story(case_id, n)).encode()

    return route


class _Bomb:
    """The 2 GiB gzip bomb, built once per test session (a few seconds)."""

    data: bytes | None = None

    def get(self) -> bytes:
        if self.data is None:
            self.data = gzip_bomb(BOMB_BYTES)
        return self.data


BOMB = _Bomb()


# ====================================================================================
# Private-host refusal of redirect targets (group private)
# ====================================================================================
# allow_private_hosts = false. The site itself is on 127.0.0.1, so the test
# declares that one host name public (the first hop); every redirect target is
# checked by the real middleware, and must be refused before any connection.
def _redirect_to(target: Callable[[Env], str]) -> Callable[[Env], tuple[list[str], list[str]]]:
    def build(env: Env) -> tuple[list[str], list[str]]:
        env.good_page("/target.html")
        env.add("/page.html", b"", status=302, headers={"Location": target(env)})
        return [env.feed([env.url("/page.html")])], []

    return build


PRIVATE_TARGETS = {
    "redirect-to-localhost-name": lambda env: env.url("/target.html").replace("127.0.0.1", "localhost"),
    "redirect-to-ipv6-loopback": lambda env: env.url("/target.html").replace("127.0.0.1", "[::1]"),
    "redirect-to-ipv4-mapped-loopback": lambda env: env.url("/target.html").replace("127.0.0.1", "[::ffff:127.0.0.1]"),
    "redirect-to-127-0-0-2": lambda env: env.url("/target.html").replace("127.0.0.1", "127.0.0.2"),
    "redirect-to-unspecified-0-0-0-0": lambda env: env.url("/target.html").replace("127.0.0.1", "0.0.0.0"),
}
for _name, _target in PRIVATE_TARGETS.items():
    CASES[_name] = Case(_name, "private", _redirect_to(_target),
                        Expect(stored=0, stage="page", reason=("refused", "allow_private_hosts"),
                               max_hits={"/target.html": 0}))


def build_group(group: str, site: LocalSite, raw: dict[str, RawServer], secret_file: str) -> list[Source]:
    """Lay out the group's cases (plus the healthy source) on ``site``; return the sources."""
    sources = []
    for case_id, item in [("healthy", Case("healthy", group, healthy, Expect(stored=HEALTHY_ARTICLES)))] + [
        (c.id, c) for c in CASES.values() if c.group == group
    ]:
        feeds, sitemaps = item.build(Env(site, case_id, raw, secret_file))
        sources.append(Source(case_id, feeds=tuple(feeds), sitemaps=tuple(sitemaps)))
    return sources
