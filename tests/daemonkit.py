"""Real pieces the daemon tests share: a news site whose feed grows, ``newswatch run`` in a subprocess, waits.

* :class:`DemoFeedSite` serves the bundled demo articles on 127.0.0.1 and an
  RSS feed (``/feed.xml``) listing only the items "published" so far:
  :meth:`~DemoFeedSite.publish` lists demo pages, and
  :meth:`~DemoFeedSite.publish_variant` publishes a new article made from a
  demo one (same story, one paragraph of its own, so that its text is new).
* :class:`DaemonProcess` is ``python -m newswatch.cli run`` with its stderr
  (JSON log lines) in a file: its events, its health port, SIGTERM and SIGKILL.
* :func:`write_config` points one source at the site's feed and one webhook
  at a receiver.
* :func:`wait_for` polls a predicate and fails with the daemon's last log
  lines when the daemon exits or the time runs out; :func:`query` reads the
  database with a connection of its own.
"""

from __future__ import annotations

import html
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from newswatch.localsite import LOCAL_CRAWL_SETTINGS, LocalSite

REPO = Path(__file__).resolve().parents[1]
SITE_DIR = REPO / "newswatch" / "demo" / "site"
ATTACKS = (
    "/news/2024/01/16/iranian-missiles-strike-erbil.html",
    "/news/2024/01/20/ain-al-asad-missile-attack.html",
    "/news/2023/04/08/sulaymaniyah-airport-drone-strike.html",
    "/news/2022/01/03/baghdad-airport-drones-shot-down.html",
)
QUIET = (
    "/news/2024/03/08/mutanabbi-street-booksellers.html",
    "/news/2023/12/19/provincial-elections-turnout.html",
    "/news/2024/03/25/kurdistan-oil-pipeline-year-halted.html",
)


class DemoFeedSite:
    """The demo articles plus a feed of the items published so far."""

    def __init__(self, title: str = "Tigris") -> None:
        self.title = title
        self.site = LocalSite(robots="User-agent: *\nDisallow: /private/\n")
        self.items: list[str] = []
        self.lock = threading.Lock()

    def start(self) -> DemoFeedSite:
        self.site.start()
        for path in SITE_DIR.rglob("*.html"):
            text = path.read_text(encoding="utf-8").replace("{{BASE}}", self.site.base_url)
            self.site.add("/" + str(path.relative_to(SITE_DIR)), text)
        self.site.route("/feed.xml", self._feed)
        return self

    def stop(self) -> None:
        self.site.stop()

    def url(self, path: str) -> str:
        return self.site.url(path)

    def add_page(self, path: str, handler: Any) -> None:
        self.site.route(path, handler)

    def publish(self, *paths: str) -> None:
        with self.lock:
            self.items.extend(paths)

    def publish_variant(self, n: int, original: str) -> str:
        """Publish item ``n``: ``original`` with one more paragraph of its own; return its path."""
        body = self.site.routes[original][2]
        assert isinstance(body, bytes)
        extra = (f"<p>Update {n}: correspondents in the city reported later in the day that the roads "
                 f"near the scene had reopened, according to bulletin number {n * 7919}.</p>")
        path = f"/drill/{n}/" + original.rsplit("/", 1)[1]
        # its own canonical URL (the page's <link rel=canonical> names the original otherwise)
        text = body.decode("utf-8").replace(original, path).replace("</article>", extra + "</article>", 1)
        self.site.add(path, text)
        self.publish(path)
        return path

    def _feed(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            items = list(self.items)
        now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        body = "".join(
            f"<item><title>Item {i}</title><link>{html.escape(self.url(p))}</link>"
            f"<guid>{html.escape(self.url(p))}</guid><pubDate>{now}</pubDate></item>"
            for i, p in enumerate(reversed(items))
        )
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{self.title}</title>'
               f"<link>{self.url('/')}</link><description>test</description>{body}</channel></rss>")
        return 200, {"Content-Type": "application/rss+xml"}, xml.encode("utf-8")


def write_config(path: Path, site: DemoFeedSite, receiver: Any, *, source: str, interval: str = "1s",
                 timeout: str = "5s", webhook: str = "", service: str = 'host = "127.0.0.1"\nport = 0') -> Path:
    """Write a daemon configuration: ``source`` polls the site's feed, one webhook ("ops") posts to
    ``receiver`` (its ``url`` and ``secret``); ``webhook`` adds lines to that webhook's table."""
    path.write_text(f"""
[crawl]
{LOCAL_CRAWL_SETTINGS}
concurrency = 8
concurrency_per_domain = 8
interval = "{interval}"
min_interval = "{interval}"
max_interval = "2s"

[[sources]]
name = "{source}"
feeds = ["{site.url('/feed.xml')}"]

[[webhooks]]
name = "ops"
url = "{receiver.url}"
secret = "{receiver.secret}"
timeout = "{timeout}"
{webhook}

[service]
{service}
log_format = "json"
""", encoding="utf-8")
    return path


class DaemonProcess:
    """``newswatch run`` in a subprocess, its stderr (JSON log lines) in a file."""

    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115 - closed by terminate() and kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch.cli", "run", "--config", str(config), "--db", str(db)],
            cwd=str(REPO), env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL, stderr=self._log,
        )

    def lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.lines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and (name is None or record.get("event") == name):
                found.append(record)
        return found

    def wait_event(self, name: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.events(name)) >= count and self.events(name), timeout,
                        f"{count} {name} event(s)", self)

    @property
    def port(self) -> int:
        """The port of the health endpoint, once the daemon has logged it."""
        return int(self.wait_event("health.listening")[0]["port"])

    def get(self, path: str) -> tuple[int, str]:
        """GET ``path`` on the health endpoint; return the status and the body."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def terminate(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._log.close()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines()[-lines:])


def wait_for(predicate: Any, timeout: float, what: str, daemon: DaemonProcess | None = None) -> Any:
    """Return the first true value of ``predicate()``; fail if the daemon exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited ({daemon.proc.returncode}) waiting for {what}:\n{daemon.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f":\n{daemon.tail()}" if daemon else ""))
        time.sleep(0.05)


def query(db: Path, sql: str, *args: Any, before_schema: list[tuple] | None = None) -> list[tuple]:
    """Run ``sql`` on a connection of its own; ``before_schema`` is returned while the database is not made yet."""
    if before_schema is not None and not Path(db).exists():
        return before_schema
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        if before_schema is None:
            raise
        return before_schema  # tables not created yet
    finally:
        conn.close()
