"""Real pieces for the end-to-end daemon tests: a news site, a webhook receiver, a daemon process.

* :class:`TigrisSite` serves the bundled demo articles on 127.0.0.1 and an RSS
  feed (``/feed.xml``) listing only the articles "published" so far;
  :meth:`TigrisSite.publish` adds items between polls.
* :class:`WebhookReceiver` is a stdlib HTTP server that checks each request's
  ``X-Newswatch-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` and
  records what it accepted; it can answer 503 + ``Retry-After`` for a while.
* :class:`DaemonProcess` runs ``python -m newswatch.cli run`` and reads its
  JSON log lines.
"""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alerts.receiver import Answer, Delivery as Received, WebhookReceiver as ReferenceReceiver
from newswatch.localsite import LocalSite

REPO = Path(__file__).resolve().parents[2]
SITE_DIR = REPO / "newswatch" / "demo" / "site"
SECRET = "e2e-whsec-4b1d9c"
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


class TigrisSite:
    """The demo articles plus a feed of the items published so far."""

    def __init__(self) -> None:
        self.site = LocalSite(robots="User-agent: *\nDisallow: /private/\n")
        self.items: list[str] = []
        self.lock = threading.Lock()

    def start(self) -> "TigrisSite":
        self.site.start()
        base = self.site.base_url
        for path in SITE_DIR.rglob("*.html"):
            text = path.read_text(encoding="utf-8").replace("{{BASE}}", base)
            self.site.add("/" + str(path.relative_to(SITE_DIR)), text)
        self.site.route("/feed.xml", self._feed)
        return self

    def stop(self) -> None:
        self.site.stop()

    def url(self, path: str) -> str:
        return self.site.url(path)

    def publish(self, *paths: str) -> None:
        with self.lock:
            self.items.extend(paths)

    def add_page(self, path: str, handler: Any) -> None:
        self.site.route(path, handler)

    def _feed(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            items = list(self.items)
        now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        body = "".join(
            f"<item><title>Item {i}</title><link>{html.escape(self.url(p))}</link>"
            f"<guid>{html.escape(self.url(p))}</guid><pubDate>{now}</pubDate></item>"
            for i, p in enumerate(reversed(items))
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Tigris</title>'
            f"<link>{self.url('/')}</link><description>test</description>{body}</channel></rss>"
        )
        return 200, {"Content-Type": "application/rss+xml"}, xml.encode("utf-8")


@dataclass
class Delivery:
    delivery_id: str
    report_id: str
    url: str
    signature_ok: bool
    at: float


@dataclass
class WebhookReceiver:
    """Verifies signatures; answers 503 (Retry-After) while ``refusing``, else 200 (see :mod:`alerts.receiver`)."""

    secret: str = SECRET
    refusing: bool = False
    accepted: list[Delivery] = field(default_factory=list)
    refused: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ReferenceReceiver | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def _answer(self, got: Received) -> Answer:
        payload = got.payload if isinstance(got.payload, dict) else {}
        record = Delivery(payload.get("delivery_id", ""), payload.get("report_id", ""),
                          (payload.get("article") or {}).get("url", ""), got.signature_ok, time.monotonic())
        with self.lock:
            refusing = self.refusing
            (self.refused if refusing or not got.signature_ok else self.accepted).append(record)
        status = 401 if not got.signature_ok else 503 if refusing else 200
        return Answer(status, b"no" if status != 200 else b"ok", {"Retry-After": "1"} if status == 503 else {})

    def start(self) -> "WebhookReceiver":
        self.server = ReferenceReceiver(self.secret, responder=self._answer).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def urls(self) -> list[str]:
        with self.lock:
            return [d.url for d in self.accepted]


def write_config(path: Path, site: TigrisSite, receiver: WebhookReceiver, interval: str = "1s",
                 alert_on: str = "reports") -> Path:
    """One source, one webhook; ``alert_on = "reports"``: these tests follow each report's alert."""
    path.write_text(f"""
[crawl]
allow_private_hosts = true
obey_robots = true
max_age = "3650d"
timeout = "10s"
retries = 0
autothrottle = false
workers = 1
concurrency = 8
concurrency_per_domain = 8
interval = "{interval}"
min_interval = "{interval}"
max_interval = "2s"

[[sources]]
name = "Tigris"
feeds = ["{site.url('/feed.xml')}"]

[[webhooks]]
name = "ops"
url = "{receiver.url}"
secret = "{receiver.secret}"
timeout = "5s"
alert_on = "{alert_on}"

[service]
host = "127.0.0.1"
port = 0
log_format = "json"
""", encoding="utf-8")
    return path


class DaemonProcess:
    """``newswatch run`` in a subprocess, with its JSON log lines."""

    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.log_path = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch.cli", "run", "--config", str(config), "--db", str(db)],
            cwd=str(REPO), env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
        )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if name is None or record.get("event") == name:
                lines.append(record)
        return lines

    def wait_event(self, name: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.events(name)) >= count and self.events(name), timeout,
                        f"{count} {name} event(s)", self)

    @property
    def port(self) -> int:
        return int(self.wait_event("health.listening")[0]["port"])

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def terminate(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(predicate: Any, timeout: float, what: str, daemon: DaemonProcess | None = None) -> Any:
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
