"""Three outlets report one attack: a local news site and a webhook receiver for the incident tests.

The articles are short originals written for these tests: one rocket attack
on Ain al-Asad air base (Anbar) on Monday 13 May 2024, reported the same
morning by three outlets with different wording (one in Arabic), then a
follow-up from the first outlet in the afternoon adding a death toll.

* :class:`OutletsSite` serves each outlet's RSS feed (``/<outlet>/feed.xml``)
  listing the stories "published" so far, and the article pages, on
  127.0.0.1 (:class:`newswatch.localsite.LocalSite`).
* :class:`SigningReceiver` is a stdlib HTTP server on 127.0.0.1 that checks
  ``X-Newswatch-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` and
  records every payload per path (one path per webhook).
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from typing import Any

from alerts.receiver import Answer, Delivery, WebhookReceiver, default_responder
from newswatch.localsite import LocalSite

OUTLETS = {
    "euphrates": "Euphrates Wire",
    "rafidain": "Al-Rafidain Post",
    "tigris": "Tigris Times",
}


@dataclass(frozen=True)
class Story:
    key: str
    outlet: str  # OUTLETS key
    language: str
    published: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/{self.outlet}/2024/05/13/{self.key}.html"


STORIES = {
    "first": Story(
        "rockets-hit-ain-al-asad", "euphrates", "en", "2024-05-13T07:40:00+00:00",
        "Rockets strike Ain al-Asad air base in Anbar",
        ("Several rockets struck Ain al-Asad air base in western Anbar province early on Monday, "
         "Iraqi security officials said.",
         "The base hosts Iraqi forces and troops of the US-led coalition. Sirens sounded across the base "
         "shortly after dawn and air defences were activated.",
         "Officials said the rockets were fired from a truck parked near the town of al-Baghdadi.",
         "There was no immediate word on casualties, and no group has claimed the attack."),
    ),
    "arabic": Story(
        "ain-al-asad-rockets-ar", "rafidain", "ar", "2024-05-13T09:15:00+00:00",
        "صواريخ تستهدف قاعدة عين الأسد الجوية في الأنبار",
        ("أفادت مصادر أمنية عراقية بأن عدة صواريخ سقطت صباح يوم الاثنين على قاعدة عين الأسد الجوية "
         "في محافظة الأنبار غربي العراق.",
         "وتضم القاعدة قوات عراقية وقوات من التحالف الدولي.",
         "وقالت المصادر إن الصواريخ أطلقت من شاحنة متوقفة قرب ناحية البغدادي.",
         "ولم ترد معلومات فورية عن وقوع إصابات."),
    ),
    "third": Story(
        "base-targeted-morning-attack", "tigris", "en", "2024-05-13T10:05:00+00:00",
        "Ain al-Asad base targeted in morning rocket attack",
        ("A rocket attack targeted the Ain al-Asad air base in Anbar on Monday morning, according to two "
         "security sources.",
         "At least four rockets landed inside the perimeter of the base, which houses American and Iraqi "
         "personnel.",
         "A launcher with unused rockets was later found near al-Baghdadi. The sources said damage was "
         "being assessed."),
    ),
    "followup": Story(
        "contractors-killed-ain-al-asad", "euphrates", "en", "2024-05-13T15:30:00+00:00",
        "Two contractors killed in Ain al-Asad rocket attack",
        ("Two civilian contractors were killed in Monday's rocket attack on Ain al-Asad air base in Anbar, "
         "an Iraqi military spokesman said in the afternoon.",
         "The rockets struck a maintenance area of the base in the morning.",
         "Investigators are examining the launcher found near al-Baghdadi, the spokesman said. "
         "No group has claimed responsibility."),
    ),
}


def render_page(story: Story, url: str) -> str:
    direction = ' dir="rtl"' if story.language == "ar" else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    outlet = html.escape(OUTLETS[story.outlet])
    return f"""<!DOCTYPE html>
<html lang="{story.language}"{direction}>
<head>
<meta charset="utf-8">
<title>{html.escape(story.title)} | {outlet}</title>
<meta property="og:type" content="article">
<meta property="og:title" content="{html.escape(story.title)}">
<meta property="article:published_time" content="{story.published}">
<link rel="canonical" href="{html.escape(url)}">
</head>
<body>
<header><a href="/{story.outlet}/">{outlet}</a> <nav><a href="/{story.outlet}/security/">Security</a></nav></header>
<main><article>
<h1>{html.escape(story.title)}</h1>
<time datetime="{story.published}">{story.published[:10]}</time>
{body}
</article></main>
<footer>&copy; 2024 {outlet}</footer>
</body>
</html>
"""


class OutletsSite:
    """Three outlets' feeds and pages on one local server; stories appear when published."""

    def __init__(self) -> None:
        self.site = LocalSite(robots="User-agent: *\nAllow: /\n")
        self.published: list[Story] = []
        self.lock = threading.Lock()

    def start(self) -> "OutletsSite":
        self.site.start()
        for story in STORIES.values():
            self.site.add(story.path, render_page(story, self.url(story.path)))
        for outlet in OUTLETS:
            self.site.route(f"/{outlet}/feed.xml", lambda request, outlet=outlet: self._feed(outlet))
        return self

    def stop(self) -> None:
        self.site.stop()

    def url(self, path: str) -> str:
        return self.site.url(path)

    def feed_url(self, outlet: str) -> str:
        return self.url(f"/{outlet}/feed.xml")

    def sources_toml(self) -> str:
        """One ``[[sources]]`` table per outlet, reading its feed."""
        return "".join(
            f'\n[[sources]]\nname = "{name}"\nfeeds = ["{self.feed_url(key)}"]\n' for key, name in OUTLETS.items()
        )

    def publish(self, *keys: str) -> None:
        with self.lock:
            self.published.extend(STORIES[k] for k in keys)

    def _feed(self, outlet: str) -> tuple[int, dict[str, str], bytes]:
        from email.utils import format_datetime
        from datetime import datetime

        with self.lock:
            stories = [s for s in self.published if s.outlet == outlet]
        items = "".join(
            f"<item><title>{html.escape(s.title)}</title><link>{html.escape(self.url(s.path))}</link>"
            f"<guid>{html.escape(self.url(s.path))}</guid>"
            f"<pubDate>{format_datetime(datetime.fromisoformat(s.published))}</pubDate></item>"
            for s in reversed(stories)
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(OUTLETS[outlet])}</title><link>{self.url('/' + outlet + '/')}</link>"
            f"<description>news</description>{items}</channel></rss>"
        )
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, xml.encode("utf-8")


@dataclass
class Received:
    path: str
    event: str
    payload: dict[str, Any]
    signature_ok: bool


@dataclass
class SigningReceiver:
    """Records each POST per path; answers 200 to a good signature, 401 otherwise."""

    secret: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: WebhookReceiver | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return self.server.url_for(path)

    def _record(self, got: Delivery) -> Answer:
        payload = got.payload if isinstance(got.payload, dict) else {}
        with self.lock:
            self.received.append(Received(got.path, payload.get("event", ""), payload, got.signature_ok))
        return default_responder(got)

    def start(self) -> "SigningReceiver":
        """Listen on an ephemeral port; see :mod:`alerts.receiver`."""
        self.server = WebhookReceiver(self.secret, responder=self._record).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def at(self, path: str, event: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path and (event is None or r.event == event)]
