"""The end-to-end daemon tests' webhook receiver and configuration.

* :class:`WebhookReceiver` checks each request's ``X-Newswatch-Signature``
  (see :mod:`alerts.receiver`) and records what it accepted; it can answer
  503 + ``Retry-After`` for a while.
* :func:`write_config` points one source at a :class:`daemonkit.DemoFeedSite`
  feed and one webhook at the receiver.

The site and the daemon process come from :mod:`daemonkit`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from alerts.receiver import Answer, Delivery as Received, WebhookReceiver as ReferenceReceiver
import daemonkit
from daemonkit import DemoFeedSite

SECRET = "e2e-whsec-4b1d9c"


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


def write_config(path: Path, site: DemoFeedSite, receiver: WebhookReceiver, interval: str = "1s",
                 alert_on: str = "reports") -> Path:
    """One source ("Tigris"), one webhook; ``alert_on = "reports"``: these tests follow each report's alert."""
    return daemonkit.write_config(path, site, receiver, source="Tigris", interval=interval,
                                  webhook=f'alert_on = "{alert_on}"')
