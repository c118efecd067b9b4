"""End-to-end crawls of the local news site into a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aeb_metrics import aeb_scores, token_f1
from newsfixtures import MAX_PAGE_BYTES, publish_feeds
from sqlite_utils import Database

from crawler.run import reactor_loop, run_crawl
from crawler.service import CrawlService
from newswatch.config import Config, CrawlSettings

pytestmark = pytest.mark.timeout(240)


def make_config(news, **crawl) -> Config:
    settings = CrawlSettings(
        allow_private_hosts=True, autothrottle=False, workers=2, concurrency=16, concurrency_per_domain=16,
        retries=0, timeout=15, max_page_bytes=MAX_PAGE_BYTES,
    )
    return Config(path="<test>", crawl=replace(settings, **crawl), sources=tuple(news.sources()))


def rows(db_path: Path, sql: str, params=()) -> list[dict]:
    db = Database(db_path)
    try:
        return [dict(r) for r in db.query(sql, params)]
    finally:
        db.close()


def path_hits(site, prefix: str) -> Counter:
    return Counter(r.bare_path for r in site.requests() if r.bare_path.startswith(prefix))


def test_crawl_news_site(news_site, tmp_path):
    db_path = tmp_path / "news.db"
    config = make_config(news_site)
    events: list[tuple[str, str, int]] = []
    started = time.monotonic()
    result = run_crawl(config, db_path, progress=lambda *event: events.append(event))
    seconds = time.monotonic() - started
    sources = result.sources

    # every AEB page stored exactly once, with text close to the ground truth
    articles = rows(db_path, "select * from articles")
    by_path = {urlsplit(a["fetched_url"]).path: a for a in articles}
    assert len(by_path) == len(articles)
    aeb = {page_id: by_path.get(path) for page_id, path in news_site.aeb_paths.items()}
    missing = [page_id for page_id, row in aeb.items() if row is None]
    assert not missing, f"AEB pages not stored: {missing[:5]}"
    pairs = [(aeb[i]["text"], news_site.truth[i]["articleBody"]) for i in sorted(aeb)]
    f1s = [token_f1(pred, true) for pred, true in pairs]
    mean_f1 = sum(f1s) / len(f1s)
    scores = aeb_scores(pairs)
    report = json.dumps({"token_f1": round(mean_f1, 4), "aeb": {k: round(v, 4) for k, v in scores.items()},
                      "pages": result.pages_fetched, "seconds": round(seconds, 2),
                      "pages_per_s": round(result.pages_fetched / seconds, 1)})
    print(report)
    if os.environ.get("NEWSWATCH_METRICS_OUT"):
        Path(os.environ["NEWSWATCH_METRICS_OUT"]).write_text(report + "\n", encoding="utf-8")
    assert mean_f1 >= 0.9
    assert scores["f1"] >= 0.9

    # counts per source
    assert sources["aeb-feeds"].stored == 120
    assert sources["aeb-sitemaps"].stored == 61
    assert sources["aeb-sitemaps"].stale == len(news_site.stale_paths)
    for name, paths in news_site.real_pages.items():
        assert sources[name].stored == len(set(paths)), name
        assert sources[name].errors == 0, sources[name].error_messages
    assert sources["aeb-feeds"].ttl_s == 900
    assert sources["iraqinews"].ttl_s == 3600

    # dates: every article has one, most from the page itself, cross-checked
    assert all(a["published"] for a in aeb.values())
    origins = Counter(a["published_from"] for a in aeb.values())
    assert origins["page"] >= 150, origins
    assert all(a["feed_published"] for a in aeb.values())
    assert any(a["date_disagreement"] == 1 for a in aeb.values())  # 2019 pages listed as new today
    real = [by_path[p] for p in news_site.real_pages["iraqinews"]]
    assert all(a["date_disagreement"] == 0 and a["published"].startswith("2025-04-2") for a in real)

    # nothing fetched twice, tracking variants never requested, robots and stale entries obeyed
    hits = path_hits(news_site.site, "/aeb/") + path_hits(news_site.site, "/real/")
    assert max(hits.values()) == 1
    assert not [r for r in news_site.site.requests() if "utm_" in r.path and r.bare_path.startswith("/aeb/")]
    assert news_site.site.hits(news_site.private_path) == 0
    assert sum(news_site.site.hits(p) for p in news_site.stale_paths) == 0

    failures = rows(db_path, "select * from failures")
    by_url = {f["url"]: f for f in failures}
    robots = by_url[news_site.url(news_site.private_path)]
    assert robots["stage"] == "robots" and robots["source"] == "aeb-feeds"

    # bad pages are recorded with a reason, never silently dropped
    for path, stage in news_site.bad_paths.items():
        failure = by_url.get(news_site.url(path))
        assert failure is not None, path
        assert failure["stage"] == stage and failure["reason"], failure
    assert "too short" in by_url[news_site.url("/bad/short.html")]["reason"]
    assert "too large" in by_url[news_site.url("/bad/huge.html")]["reason"]
    assert "404" in by_url[news_site.url("/bad/missing.html")]["reason"]
    assert any("javascript" in (f["reason"] or "") for f in failures if f["source"] == "bad-pages")

    # the broken feed fails its source; the others are complete
    broken = by_url[news_site.url("/feeds/broken.xml")]
    assert broken["stage"] == "feed" and "not a valid feed" in broken["reason"]
    assert sources["broken"].status == "failed"
    runs = {r["source"]: r for r in rows(db_path, "select * from crawl_runs")}
    assert runs["broken"]["status"] == "failed"
    assert runs["aeb-feeds"]["status"] == "ok" and runs["aeb-feeds"]["stored"] == 120
    state = {r["name"]: r for r in rows(db_path, "select * from sources")}
    assert state["broken"]["consecutive_failures"] == 1 and state["broken"]["last_error"]
    assert state["aeb-feeds"]["last_success"] and state["aeb-feeds"]["last_new_item"]
    feed_state = {r["url"]: r for r in rows(db_path, "select * from feed_state")}
    assert feed_state[news_site.url("/feeds/aeb-rss.xml")]["etag"]
    assert feed_state[news_site.url("/real-feeds/iraqinews.xml")]["ttl_s"] == 3600

    # progress events add up
    stored_events = sum(v for e, _, v in events if e == "stored")
    assert stored_events == result.stored == len(articles)
    assert {e for e, _, _ in events} >= {"start", "found", "new", "stored", "error", "done"}

    # second crawl: feeds unchanged answer 304, one new item is fetched, nothing twice
    publish_feeds(news_site, extra_rss=["/real/jpost/extra-story"])
    news_site.site.add("/real/jpost/extra-story", pairs_page("An extra story", "It arrived between two polls. " * 10))
    news_site.site.clear_log()
    again = run_crawl(config, db_path)
    assert again.stored == 1
    assert again.sources["aeb-feeds"].duplicates >= 60
    assert again.sources["aeb-sitemaps"].found == 0 and again.sources["aljazeera"].found == 0
    conditional = [r for r in news_site.site.requests("/feeds/aeb-atom.xml")]
    assert conditional and "If-None-Match" in conditional[0].headers
    assert not path_hits(news_site.site, "/aeb/")
    assert news_site.site.hits("/real/jpost/extra-story") == 1
    assert rows(db_path, "select count(*) as n from articles")[0]["n"] == len(articles) + 1


def pairs_page(title: str, text: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{text}</p></article></body></html>".encode()


def test_private_hosts_refused(news_site, tmp_path):
    config = make_config(news_site, allow_private_hosts=False)
    source = config.source("aeb-feeds")
    result = run_crawl(config, tmp_path / "news.db", sources=[source])
    assert result.sources["aeb-feeds"].status == "failed"
    assert result.stored == 0
    feed = news_site.url("/feeds/aeb-rss.xml")
    expected = (
        f"refused {feed}: resolves to loopback address 127.0.0.1; set crawl.allow_private_hosts = true to allow"
    )
    reasons = [f["reason"] for f in rows(tmp_path / "news.db", "select reason from failures")]
    assert expected in reasons
    assert news_site.site.requests() == []  # not even robots.txt was asked for


def test_service_runs_again_and_again(news_site, tmp_path):
    config = make_config(news_site, max_articles_per_source=10)
    loop = reactor_loop()

    async def scenario():
        service = CrawlService(config, tmp_path / "news.db")
        try:
            first = await service.crawl([config.source("aeb-feeds")])
            second = await service.crawl([config.source("aeb-feeds")])
            third = await service.crawl([config.source("iraqinews")])
        finally:
            await service.close()
        return first, second, third

    first, second, third = loop.run_until_complete(scenario())
    # the newest item is the robots-disallowed page: it takes a slot and fails
    assert first.stored == 9 and first.sources["aeb-feeds"].capped > 0
    assert first.sources["aeb-feeds"].errors == 1
    # the capped links are fetched by the next crawl, newest first, without refetching
    assert second.stored == 9
    assert third.stored == 10
    hits = path_hits(news_site.site, "/aeb/")
    assert max(hits.values()) == 1 and sum(hits.values()) == 18
    dates = rows(tmp_path / "news.db", "select feed_published from articles where run_id = ? order by feed_published",
                 [first.sources["aeb-feeds"].run_id])
    newest = sorted((r["feed_published"] for r in dates), reverse=True)
    all_dates = sorted((r["feed_published"] for r in rows(tmp_path / "news.db", "select feed_published from articles")),
                       reverse=True)
    assert newest == all_dates[: len(newest)]


def test_crawl_service_closed_refuses(tmp_path, news_site):
    config = make_config(news_site)
    loop = reactor_loop()
    service = CrawlService(config, tmp_path / "news.db")
    loop.run_until_complete(service.close())
    with pytest.raises(RuntimeError):
        loop.run_until_complete(service.crawl())
    assert asyncio.iscoroutinefunction(service.crawl)


def test_pages_that_keep_failing_are_given_up(news_site, tmp_path):
    config = make_config(news_site)
    source = config.source("bad-pages")
    for _ in range(3):
        news_site.site.clear_log()
        result = run_crawl(config, tmp_path / "news.db", sources=[source])
        assert result.sources["bad-pages"].errors == len(news_site.bad_paths) + 1  # + the javascript: link
    assert news_site.site.hits("/bad/missing.html") == 1
    news_site.site.clear_log()
    result = run_crawl(config, tmp_path / "news.db", sources=[source])
    assert result.sources["bad-pages"].given_up == len(news_site.bad_paths)
    assert news_site.site.hits("/bad/missing.html") == 0


def test_sigterm_stops_gracefully(news_site, tmp_path):
    import os
    import signal

    config = make_config(news_site, workers=1)
    sent = []

    def progress(event, source, value):
        if event == "stored" and not sent:
            handler = signal.getsignal(signal.SIGTERM)
            assert handler not in (signal.SIG_DFL, None), "run_crawl did not install its handler"
            sent.append(time.time())
            os.kill(os.getpid(), signal.SIGTERM)

    result = run_crawl(config, tmp_path / "news.db", sources=[config.source("aeb-feeds")], progress=progress)
    assert sent
    assert any("ended early" in e for e in result.errors)
    runs = rows(tmp_path / "news.db", "select status, stored from crawl_runs")
    assert runs == [{"status": "interrupted", "stored": result.stored}]
    assert 0 < result.stored <= 120
    # once the signal arrived, no new article was requested
    late = [r for r in news_site.site.requests() if r.at > sent[0] + 0.5 and r.bare_path.startswith("/aeb/")]
    assert late == []
    stored = rows(tmp_path / "news.db", "select count(*) as n from articles")[0]["n"]
    assert stored == result.stored
