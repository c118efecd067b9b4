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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.payload import verify_signature
from newswatch.config import Webhook
from storage.db import open_database

SECRET = "whsec-T0p-S3cret-9f1c2a7e"


@dataclass
class Received:
    """One request the receiver got."""

    delivery_id: str
    event: str
    attempt: str
    timestamp: str
    signature_ok: bool
    body: bytes
    headers: dict[str, str]
    answered: int | None = None  # status sent back, None if no HTTP answer


@dataclass
class Receiver:
    """A webhook receiver that verifies signatures and counts deliveries."""

    secret: str = SECRET
    plan: collections.deque = field(default_factory=collections.deque)
    default: dict[str, Any] = field(default_factory=lambda: {"status": 200, "body": "thanks"})
    requests: list[Received] = field(default_factory=list)
    accepted: collections.Counter = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def then(self, *behaviours: dict[str, Any]) -> "Receiver":
        """Answer the next requests with ``behaviours``, in order, then the default."""
        self.plan.extend(behaviours)
        return self

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                record = Received(
                    delivery_id=self.headers.get("X-Newswatch-Delivery", ""),
                    event=self.headers.get("X-Newswatch-Event", ""),
                    attempt=self.headers.get("X-Newswatch-Attempt", ""),
                    timestamp=self.headers.get("X-Newswatch-Timestamp", ""),
                    signature_ok=verify_signature(receiver.secret, body, self.headers.get("X-Newswatch-Signature")),
                    body=body,
                    headers=dict(self.headers.items()),
                )
                with receiver.lock:
                    receiver.requests.append(record)
                    behaviour = receiver.plan.popleft() if receiver.plan else receiver.default
                if not record.signature_ok:
                    behaviour = {"status": 401, "body": "bad signature"}
                if behaviour.get("delay"):
                    time.sleep(behaviour["delay"])
                if behaviour.get("drop"):
                    self.close_connection = True
                    return
                if behaviour.get("garbage"):
                    self.wfile.write(b"\x00\x01 this is not HTTP \xff\r\n\r\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                status = behaviour.get("status", 200)
                answer = behaviour.get("body", "").encode("utf-8")
                self.send_response(status)
                for name, value in behaviour.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                stall = behaviour.get("stall", 0)  # promise more body than is sent, then wait
                self.send_header("Content-Length", str(len(answer) + (100 if stall else 0)))
                self.end_headers()
                self.wfile.write(answer)
                self.wfile.flush()
                record.answered = status
                if stall:
                    with receiver.lock:
                        receiver.accepted[record.delivery_id] += 1
                    time.sleep(stall)
                    self.close_connection = True
                    return
                if 200 <= status < 300:
                    with receiver.lock:
                        receiver.accepted[record.delivery_id] += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until :meth:`start`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

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
