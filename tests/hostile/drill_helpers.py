"""Real pieces for the fault drills: a news site with new items appearing, a webhook receiver, daemons.

* :class:`DrillSite` serves the bundled demo articles and a feed listing the
  items published so far; :meth:`DrillSite.publish_variant` publishes a new
  article made from a demo one (same story, one unique paragraph, so that
  its text is new).
* :class:`AckReceiver` checks signatures and records every delivery with
  the time it acknowledged it (2xx), so that a re-sent delivery can be
  matched against the kills around it.
* :class:`Daemon` is ``python -m newswatch.cli run`` in a subprocess.
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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alerts.receiver import Answer, Delivery as Received, WebhookReceiver
from newswatch.localsite import LOCAL_CRAWL_SETTINGS, LocalSite

REPO = Path(__file__).resolve().parents[2]
SITE_DIR = REPO / "newswatch" / "demo" / "site"
SECRET = "drill-whsec-5e0f7d21c9aa4b"
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


class DrillSite:
    def __init__(self) -> None:
        self.site = LocalSite(robots="User-agent: *\nDisallow: /private/\n")
        self.items: list[str] = []
        self.lock = threading.Lock()

    def start(self) -> DrillSite:
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

    def publish_variant(self, n: int, original: str) -> str:
        """Publish item ``n``: ``original`` with one more paragraph of its own."""
        body = self.site.routes[original][2]
        assert isinstance(body, bytes)
        extra = (f"<p>Update {n}: correspondents in the city reported later in the day that the roads "
                 f"near the scene had reopened, according to bulletin number {n * 7919}.</p>")
        path = f"/drill/{n}/" + original.rsplit("/", 1)[1]
        # its own canonical URL (the page's <link rel=canonical> names the original otherwise)
        text = body.decode("utf-8").replace(original, path).replace("</article>", extra + "</article>", 1)
        self.site.add(path, text)
        with self.lock:
            self.items.append(path)
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
        xml = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Drill</title>'
               f"<link>{self.url('/')}</link><description>d</description>{body}</channel></rss>")
        return 200, {"Content-Type": "application/rss+xml"}, xml.encode("utf-8")


@dataclass
class AckReceiver:
    """Verifies signatures; records each request and, for a 2xx, when it was acknowledged."""

    secret: str = SECRET
    plan: list[dict[str, Any]] = field(default_factory=list)  # next behaviours, then 200
    acks: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: list[tuple[str, float, int, bool]] = field(default_factory=list)  # id, at, status, signature ok
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: WebhookReceiver | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _answer(self, got: Received) -> Answer:
        delivery, ok = got.delivery_id, got.signature_ok
        with self.lock:
            behaviour = self.plan.pop(0) if self.plan else {"status": 200}
            self.bodies.append(got.body)
            self.headers.append(got.headers)
        if not ok:
            behaviour = {"status": 401}
        status = 0 if behaviour.get("garbage") else behaviour.get("status", 200)

        def sent(_: Received) -> None:
            with self.lock:
                now = time.time()
                self.requests.append((delivery, now, status, ok))
                if 200 <= status < 300:
                    self.acks[delivery].append(now)

        return Answer(status, b"ok" if 200 <= status < 300 else b"no", behaviour.get("headers", {}),
                      delay=behaviour.get("delay", 0), sent=sent,
                      garbage=b"\x00\x01 garbage, not HTTP\r\n\r\n" if behaviour.get("garbage") else None)

    def start(self) -> AckReceiver:
        """Listen (again) on ``port``; see :mod:`alerts.receiver`."""
        self.server = WebhookReceiver(self.secret, port=self.port, responder=self._answer).start()
        self.port = self.server.port
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def acked(self) -> dict[str, list[float]]:
        with self.lock:
            return {k: list(v) for k, v in self.acks.items()}


def write_config(path: Path, site: DrillSite, receiver: AckReceiver, interval: str = "1s",
                 extra_webhook: str = "", service: str = 'host = "127.0.0.1"\nport = 0') -> Path:
    path.write_text(f"""
[crawl]
{LOCAL_CRAWL_SETTINGS}
concurrency = 8
concurrency_per_domain = 8
interval = "{interval}"
min_interval = "{interval}"
max_interval = "2s"

[[sources]]
name = "Drill"
feeds = ["{site.url('/feed.xml')}"]

[[webhooks]]
name = "ops"
url = "{receiver.url}"
secret = "{receiver.secret}"
timeout = "3s"
{extra_webhook}

[service]
{service}
log_format = "json"
""", encoding="utf-8")
    return path


class Daemon:
    """``newswatch run`` in a subprocess, its stderr (JSON log lines) in a file."""

    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115 - closed in wait()/kill()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch.cli", "run", "--config", str(config), "--db", str(db)],
            cwd=str(REPO), env=env, stdout=subprocess.DEVNULL, stderr=self._log,
        )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and (name is None or record.get("event") == name):
                out.append(record)
        return out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._log.close()

    def terminate(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
