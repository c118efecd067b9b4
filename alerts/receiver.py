"""A small reference webhook receiver: verifies, records and answers newswatch deliveries.

It is the reference implementation of the verification described in
``docs/webhooks.md``: each POST's ``X-Newswatch-Signature`` header must be
``sha256=<hex HMAC-SHA256 of the raw body>`` under the webhook's secret, and
the ``X-Newswatch-Delivery`` id is the key a receiver de-duplicates by
(a delivery may arrive more than once).

    with WebhookReceiver("whsec-...") as receiver:
        ...  # point a [[webhooks]] entry at receiver.url
        receiver.deliveries  # what arrived, in order

``secret`` is one secret or ``{name: secret}`` (a request is accepted when any
of them verifies it; :attr:`Delivery.secret_name` says which). The receiver is
a stdlib :class:`~http.server.ThreadingHTTPServer` on ``host``/``port``
(``port=0``: an ephemeral port, kept across :meth:`stop`/:meth:`start`).

What it answers is decided by ``responder(delivery) -> Answer`` (default: 200
to a good signature, 401 otherwise); an :class:`Answer` can also delay, stall,
drop the connection or send bytes that are not HTTP, to test a sender.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Answer", "Delivery", "WebhookReceiver", "default_responder", "signature_for"]


def signature_for(secret: str, body: bytes) -> str:
    """The ``X-Newswatch-Signature`` value for ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One request the receiver got."""

    path: str
    event: str  # X-Newswatch-Event, else the payload's "event"
    delivery_id: str  # X-Newswatch-Delivery
    attempt: str
    timestamp: str
    body: bytes
    payload: Any  # the parsed JSON body ({} when empty, None when not JSON)
    headers: dict[str, str]
    signature_ok: bool
    secret_name: str | None  # which secret verified it (None: none did)
    at: float  # time.time() when it arrived
    duplicate: bool  # this delivery id had arrived before
    answered: int | None = None  # status sent back, None if no HTTP answer


@dataclass
class Answer:
    """What to send back for one delivery."""

    status: int = 200
    body: bytes | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # wait this long before answering
    drop: bool = False  # close the connection without answering
    garbage: bytes | None = None  # send these bytes (not HTTP) instead of an answer
    stall: float = 0.0  # promise 100 more body bytes than sent, wait this long, then close
    sent: Callable[[Delivery], None] | None = None  # called once the answer is flushed


def default_responder(delivery: Delivery) -> Answer:
    return Answer(200, b"ok") if delivery.signature_ok else Answer(401, b"bad signature")


class WebhookReceiver:
    """Verifies each delivery's signature, records it, counts duplicates, answers via ``responder``."""

    def __init__(self, secret: str | Mapping[str, str], host: str = "127.0.0.1", port: int = 0,
                 responder: Callable[[Delivery], Answer] | None = None, path: str = "/hook") -> None:
        self.secrets: dict[str, str] = {"": secret} if isinstance(secret, str) else dict(secret)
        self.host = host
        self.port = port
        self.path = path
        self.responder = responder or default_responder
        self.deliveries: list[Delivery] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return self.url_for(self.path)

    def url_for(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def duplicates(self) -> int:
        """How many requests repeated a delivery id already received."""
        with self.lock:
            return sum(n - 1 for n in self.counts.values() if n > 1)

    def verify(self, body: bytes, header: str | None) -> str | None:
        """The name of the secret that signed ``body`` (``""`` for a single secret), else None."""
        for name, secret in self.secrets.items():
            if hmac.compare_digest(signature_for(secret, body), header or ""):
                return name
        return None

    def record(self, path: str, headers: Mapping[str, str], body: bytes) -> Delivery:
        name = self.verify(body, headers.get("X-Newswatch-Signature"))
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        delivery_id = headers.get("X-Newswatch-Delivery", "")
        event = headers.get("X-Newswatch-Event") or (payload.get("event", "") if isinstance(payload, dict) else "")
        with self.lock:
            duplicate = bool(delivery_id) and self.counts[delivery_id] > 0
            if delivery_id:
                self.counts[delivery_id] += 1
            delivery = Delivery(path, event, delivery_id, headers.get("X-Newswatch-Attempt", ""),
                                headers.get("X-Newswatch-Timestamp", ""), body, payload, dict(headers.items()),
                                name is not None, name, time.time(), duplicate)
            self.deliveries.append(delivery)
        return delivery

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                delivery = receiver.record(self.path, self.headers, body)
                answer = receiver.responder(delivery)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                if answer.garbage is not None:
                    self.wfile.write(answer.garbage)
                    self.wfile.flush()
                    self.close_connection = True
                    if answer.sent:
                        answer.sent(delivery)
                    return
                data = answer.body.encode("utf-8") if isinstance(answer.body, str) else answer.body
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data) + (100 if answer.stall else 0)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                delivery.answered = answer.status
                if answer.sent:
                    answer.sent(delivery)
                if answer.stall:
                    time.sleep(answer.stall)
                    self.close_connection = True

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until :meth:`start`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
