"""Helpers and fixtures for the alerts tests: a real webhook receiver on 127.0.0.1, sample reports.

The receiver is a stdlib ThreadingHTTPServer on an ephemeral port. It checks
every request's signature with the shared secret, records it, and answers
from a programmable plan (statuses, delays, garbage, dropped connections);
it can be stopped (the port then refuses connections) and started again on
the same port.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alerts.receiver import Answer, Delivery, WebhookReceiver
from newswatch.config import Webhook
from storage.db import open_database

SECRET = "whsec-T0p-S3cret-9f1c2a7e"


Received = Delivery  # one request the receiver got


@dataclass
class Receiver:
    """A webhook receiver that verifies signatures and counts deliveries (see :mod:`alerts.receiver`)."""

    secret: str = SECRET
    plan: collections.deque = field(default_factory=collections.deque)
    default: dict[str, Any] = field(default_factory=lambda: {"status": 200, "body": "thanks"})
    accepted: collections.Counter = field(default_factory=collections.Counter)
    port: int = 0
    hook: WebhookReceiver | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def requests(self) -> list[Received]:
        return self.hook.deliveries if self.hook is not None else []

    @property
    def lock(self) -> threading.Lock:
        assert self.hook is not None
        return self.hook.lock

    def then(self, *behaviours: dict[str, Any]) -> "Receiver":
        """Answer the next requests with ``behaviours``, in order, then the default."""
        self.plan.extend(behaviours)
        return self

    def _answer(self, record: Received) -> Answer:
        with self.lock:
            behaviour = self.plan.popleft() if self.plan else self.default
        if not record.signature_ok:
            behaviour = {"status": 401, "body": "bad signature"}
        status = behaviour.get("status", 200)

        def sent(delivery: Received) -> None:
            if behaviour.get("stall") or 200 <= status < 300:
                with self.lock:
                    self.accepted[delivery.delivery_id] += 1

        return Answer(
            status=status, body=behaviour.get("body", ""),
            headers={**behaviour.get("headers", {}), "Content-Type": "text/plain; charset=utf-8"},
            delay=behaviour.get("delay", 0), drop=bool(behaviour.get("drop")),
            garbage=b"\x00\x01 this is not HTTP \xff\r\n\r\n" if behaviour.get("garbage") else None,
            stall=behaviour.get("stall", 0), sent=None if behaviour.get("garbage") else sent,
        )

    def start(self) -> "Receiver":
        previous = self.hook.deliveries if self.hook is not None else []
        self.hook = WebhookReceiver(self.secret, port=self.port, responder=self._answer)
        self.hook.deliveries = previous
        self.hook.start()
        self.port = self.hook.port
        return self

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until :meth:`start`."""
        if self.hook is not None:
            self.hook.stop()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]


# -- fixtures (imported by the test modules that use them) --------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.db"
    open_database(path).close()
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[Any]:
    database = open_database(db_path)
    yield database
    database.close()


def make_hook(url: str, name: str = "ops", **kwargs: Any) -> Webhook:
    options: dict[str, Any] = {"secret": SECRET, "timeout": 2.0, "max_attempts": 5}
    options.update(kwargs)
    return Webhook(name=name, url=url, **options)


ARTICLE = {
    "id": 1,
    "url": "https://news.example.org/2024/05/13/rocket-attack-ain-al-asad?utm_source=feed",
    "canonical_url": "https://news.example.org/2024/05/13/rocket-attack-ain-al-asad",
    "source": "example-news",
    "title": "Rockets hit Ain al-Asad base in Anbar",
    "published": "2024-05-13T08:10:00+00:00",
}


def make_detection(**kwargs: Any) -> dict[str, Any]:
    detection: dict[str, Any] = {
        "score": 0.87,
        "why": "rocket attack on Ain al-Asad air base (Anbar)",
        "version": 1,
        "incidents": [
            {
                "date": "2024-05-13",
                "governorate": "Anbar",
                "place": "Ain al-Asad air base",
                "attack_type": "rocket_missile",
                "target": "military base",
                "killed": 0,
                "wounded": 2,
                "foiled": False,
                "claimed_by": None,
                "evidence": ["Two rockets struck Ain al-Asad air base in Anbar on Monday, wounding two."],
            }
        ],
    }
    detection.update(kwargs)
    return detection


def make_article(n: int) -> dict[str, Any]:
    url = f"https://news.example.org/2024/05/13/story-{n}"
    return {**ARTICLE, "id": n, "url": url, "canonical_url": url, "title": f"Story {n}"}


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


async def run_worker_until(worker: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run ``worker.run_forever`` until ``predicate()`` holds (or fail after ``timeout``)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    deadline = time.monotonic() + timeout
    try:
        while not predicate():
            if task.done():
                task.result()
                raise AssertionError("worker stopped early")
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def read_alerts(db_path: Path) -> list[dict[str, Any]]:
    database = open_database(db_path)
    try:
        return [dict(r) for r in database["alerts"].rows_where(order_by="id")]
    finally:
        database.close()
