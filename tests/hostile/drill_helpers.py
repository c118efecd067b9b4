"""The fault drills' webhook receiver and daemon configuration.

* :class:`AckReceiver` checks signatures and records every delivery with
  the time it acknowledged it (2xx), so that a re-sent delivery can be
  matched against the kills around it; a plan makes it refuse, stall or
  answer garbage first.
* :func:`write_config` points one source at a :class:`daemonkit.DemoFeedSite`
  feed and one webhook at the receiver.

The site and the daemon process come from :mod:`daemonkit`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.receiver import Answer, Delivery as Received, WebhookReceiver
import daemonkit
from daemonkit import DemoFeedSite

SECRET = "drill-whsec-5e0f7d21c9aa4b"


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


def write_config(path: Path, site: DemoFeedSite, receiver: AckReceiver, interval: str = "1s",
                 extra_webhook: str = "", service: str = 'host = "127.0.0.1"\nport = 0') -> Path:
    """The drills' configuration (:func:`daemonkit.write_config`): source "Drill", a 3 s webhook timeout."""
    return daemonkit.write_config(path, site, receiver, source="Drill", interval=interval, timeout="3s",
                                  webhook=extra_webhook, service=service)
