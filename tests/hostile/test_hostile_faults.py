"""Fault drills around the database: locked by another process, disk full.

* A reader holding a long transaction, or a writer holding ``BEGIN
  IMMEDIATE`` for a few seconds, in another process: the crawl's writes wait
  (busy_timeout) and nothing is lost.
* The disk fills while the crawl writes: a tmpfs of 600 KiB (mounted when
  the tests run as root and may mount; skipped otherwise), and SQLite's
  ``max_page_count`` (always): the error says the disk is full, the
  database is not corrupted, and once there is room again a crawl stores
  everything that was missed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hostile_corpus import article_html, story
from hostile_helpers import RSS_TYPE, query, rss

from crawler.run import run_crawl
from newswatch.config import Config, CrawlSettings, Source
from newswatch.localsite import LocalSite
from storage.db import open_database

pytestmark = pytest.mark.timeout(180)

ARTICLES = 30
REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db, mode, delay, hold = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    time.sleep(delay)
    if mode == "write":
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("insert into failures (source, stage, reason, at) values ('holder', 'test', 'lock holder', 'now')")
    else:
        conn.execute("BEGIN")
        conn.execute("select count(*) from articles").fetchall()
    print("locked", time.time(), flush=True)
    time.sleep(hold)
    conn.execute("COMMIT")
    print("released", time.time(), flush=True)
    """
)


@pytest.fixture
def slow_site():
    """A feed of ARTICLES pages, each answered after 0.3 s (so the crawl lasts a few seconds)."""
    site = LocalSite().start()
    links = []

    def page(n: int):
        body = article_html(f"Locked {n}", story(f"locked-{n}", n)).encode()

        def route(request):
            time.sleep(0.3)
            return 200, {"Content-Type": "text/html; charset=utf-8"}, body

        return route

    for n in range(ARTICLES):
        site.route(f"/a/{n}.html", page(n))
        links.append((site.url(f"/a/{n}.html"), None))
    site.add("/feed.xml", rss(links), content_type=RSS_TYPE)
    yield site
    site.stop()


def config_for(site: LocalSite, **crawl) -> Config:
    settings = CrawlSettings(allow_private_hosts=True, autothrottle=False, retries=0, workers=1, concurrency=4,
                             concurrency_per_domain=4, max_age=10 * 365 * 86400, timeout=20)
    return Config(path="<faults>", crawl=replace(settings, **crawl),
                  sources=(Source("Locked", feeds=(site.url("/feed.xml"),)),))


@pytest.mark.parametrize("mode, delay, hold", [("write", 0.0, 4.0), ("write", 1.0, 3.0), ("read", 0.0, 5.0)])
def test_database_locked_by_another_process_waits_and_loses_nothing(slow_site, tmp_path, mode, delay, hold):
    db = tmp_path / "locked.db"
    open_database(db).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), mode, str(delay), str(hold)],
                              stdout=subprocess.PIPE, text=True)
    try:
        if delay == 0:
            assert holder.stdout.readline().startswith("locked")
        result = run_crawl(config_for(slow_site), db, detect=False)
        finished = time.time()
        assert holder.wait(30) == 0
        lines = dict(line.split() for line in holder.stdout.read().splitlines())
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    source = result.sources["Locked"]
    assert result.ok, (result.errors, source.error_messages)
    assert source.stored == ARTICLES and source.errors == 0, source
    assert query(db, "select count(*) from articles") == [(ARTICLES,)]
    assert query(db, "select count(*) from failures where source = 'Locked'") == [(0,)]
    assert query(db, "pragma integrity_check") == [("ok",)]
    if mode == "write":  # the lock was taken during the crawl, and the crawl's last writes waited for it
        assert finished >= float(lines["released"]), (finished, lines)


# -- disk full ----------------------------------------------------------------------
def _articles_site() -> LocalSite:
    site = LocalSite().start()
    links = []
    for n in range(40):
        site.add(f"/a{n}.html", article_html(f"Full {n}", story(f"full-{n}", n) * 8))
        links.append((site.url(f"/a{n}.html"), None))
    site.add("/feed.xml", rss(links), content_type=RSS_TYPE)
    return site


@pytest.fixture
def tiny_disk(tmp_path):
    """A 600 KiB tmpfs, or a skip where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the max_page_count drill still runs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(mount: Path, leave: int) -> Path:
    filler = mount / "filler"
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def _crawl_expecting_full(config: Config, db: Path) -> str:
    """Run a crawl on a full disk; return the error text it produced (raised or reported)."""
    try:
        result = run_crawl(config, db, detect=False)
    except Exception as exc:  # today the error propagates out of run_crawl
        return f"{type(exc).__name__}: {exc}"
    messages = list(result.errors) + [m for r in result.sources.values() for m in r.error_messages]
    return " | ".join(messages)


@pytest.mark.parametrize("how", ["tmpfs", "max_page_count"])
def test_disk_full_is_a_clear_error_and_nothing_is_corrupted(how, tmp_path, request, monkeypatch):
    site = _articles_site()
    try:
        config = Config(path="<full>", crawl=CrawlSettings(allow_private_hosts=True, autothrottle=False, retries=0,
                                                           workers=1, max_age=10 * 365 * 86400),
                        sources=(Source("Full", feeds=(site.url("/feed.xml"),)),))
        if how == "tmpfs":
            mount = request.getfixturevalue("tiny_disk")
            db = mount / "full.db"
            open_database(db).close()
            filler = _fill(mount, 60 * 1024)
        else:
            db = tmp_path / "full.db"
            open_database(db).close()
            pages = query(db, "pragma page_count")[0][0]
            import storage.db as storage_db

            real_open = storage_db.open_database

            def capped_open(path):
                database = real_open(path)
                database.execute(f"PRAGMA max_page_count = {pages + 6}")
                return database

            monkeypatch.setattr(storage_db, "open_database", capped_open)
        error = _crawl_expecting_full(config, db)
        assert "full" in error.lower(), error
        assert query(db, "pragma integrity_check") == [("ok",)]
        stored_while_full = query(db, "select count(*) from articles")[0][0]
        assert stored_while_full < 40

        # room again: the next crawl stores everything that was missed, nothing twice
        if how == "tmpfs":
            filler.unlink()
        else:
            monkeypatch.undo()
        again = run_crawl(config, db, detect=False)
        assert again.sources["Full"].stored == 40 - stored_while_full, again.sources["Full"]
        assert query(db, "select count(*), count(distinct url) from articles") == [(40, 40)]
        assert query(db, "pragma integrity_check") == [("ok",)]
    finally:
        site.stop()


def test_disk_full_crawl_command_prints_one_clear_line(tiny_disk, tmp_path):
    site = _articles_site()
    try:
        config = tmp_path / "full.toml"
        config.write_text(
            "[crawl]\nallow_private_hosts = true\nautothrottle = false\nretries = 0\nworkers = 1\n"
            f'max_age = "3650d"\n[[sources]]\nname = "Full"\nfeeds = ["{site.url("/feed.xml")}"]\n',
            encoding="utf-8",
        )
        db = tiny_disk / "cli.db"
        open_database(db).close()
        _fill(tiny_disk, 60 * 1024)
        done = subprocess.run([sys.executable, "-m", "newswatch.cli", "crawl", "--config", str(config), "--db", str(db)],
                              capture_output=True, text=True, timeout=120, cwd=str(REPO))
    finally:
        site.stop()
    output = done.stdout + done.stderr
    assert query(db, "pragma integrity_check") == [("ok",)]
    assert done.returncode != 0
    assert "disk is full" in output
    assert "Traceback" not in output, output[-2000:]
