"""A small real HTTP site on 127.0.0.1 for tests, the demo and benchmarks.

:class:`LocalSite` runs the standard library's ``ThreadingHTTPServer`` in a
background thread on an ephemeral port and serves

- routes: ``{path: (status, headers, body)}``, where ``body`` is bytes or an
  iterable of byte chunks (streamed, then the connection is closed: useful
  for slow or truncated responses), or ``{path: callable}`` where
  ``callable(request) -> (status, headers, body)`` builds the answer per
  request. A path with a query string (``/a?x=1``) matches before the bare
  path;
- files from ``directory`` for paths with no route;
- ``/robots.txt`` from the ``robots`` text;
- conditional GET: 200 answers get an ``ETag`` (a hash of the body) and a
  ``Last-Modified`` unless the route sets them, and a request whose
  ``If-None-Match`` / ``If-Modified-Since`` matches gets ``304``;
- gzip: with ``gzip=True`` (or a route header ``X-Gzip: 1``) bodies are sent
  ``Content-Encoding: gzip`` to clients that accept it.

:func:`rss_kb` and :func:`tree_pids` read, from ``/proc``, the memory of the
processes that crawl such a site (benchmarks and the hostile-input tests
sample them).

Every request is logged (:attr:`LocalSite.log`: method, path, headers) so a
test can check what was fetched and how often::

    with LocalSite({"/a.html": (200, {"Content-Type": "text/html"}, b"<p>hi</p>")}) as site:
        fetch(site.url("/a.html"))
        assert site.hits("/a.html") == 1
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import logging
import mimetypes
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Union
from urllib.parse import urlsplit

LOGGER = logging.getLogger(__name__)

# The ``[crawl]`` settings a config needs to crawl a LocalSite on 127.0.0.1
# (tests and benchmarks put them under ``[crawl]`` and add their own).
LOCAL_CRAWL_SETTINGS = """allow_private_hosts = true
max_age = "3650d"
timeout = "10s"
retries = 0
autothrottle = false
workers = 1"""

Body = Union[bytes, Iterable[bytes]]
Answer = tuple[int, Mapping[str, str], Body]


@dataclass(frozen=True)
class LoggedRequest:
    """One request the site received."""

    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0

    @property
    def bare_path(self) -> str:
        return urlsplit(self.path).path


Route = Union[Answer, Callable[[LoggedRequest], Answer]]


def _http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "newswatch-localsite/1"
    protocol_version = "HTTP/1.1"
    site: LocalSite  # set on the subclass made per site

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        LOGGER.debug("localsite: " + format, *args)

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        request = LoggedRequest(self.command, self.path, {k: v for k, v in self.headers.items()}, time.time())
        self.site._record(request)
        try:
            status, headers, body = self.site._resolve(request)
        except Exception as exc:  # a broken dynamic route must not kill the server
            LOGGER.exception("localsite route %s failed", request.path)
            status, headers, body = 500, {"Content-Type": "text/plain"}, f"route failed: {exc}".encode()
        headers = dict(headers)
        wants_gzip = headers.pop("X-Gzip", None) == "1" or self.site.gzip
        if isinstance(body, (bytes, bytearray)):
            body = bytes(body)
            if status == 200:
                status, headers, body = self.site._conditional(request, headers, body)
            if wants_gzip and body and "gzip" in request.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body, mtime=0)
                headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(body))
            self._send_head(status, headers)
            if not head and status not in (204, 304):
                self.wfile.write(body)
            return
        headers["Connection"] = "close"
        self.close_connection = True
        self._send_head(status, headers)
        if head:
            return
        try:
            for chunk in body:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections under a crawler's
    # concurrency; a dropped SYN is retried after 1 s, then 3 s: spurious timeouts
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients that hang up early (a size limit, a timeout) are normal here
        LOGGER.debug("localsite: connection from %s ended with an error", client_address, exc_info=True)


class LocalSite:
    """A real HTTP server on 127.0.0.1 serving routes and/or a directory."""

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        directory: str | Path | None = None,
        robots: str | None = None,
        gzip: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.directory = Path(directory).resolve() if directory else None
        self.robots = robots
        self.gzip = gzip
        self.host = host
        self.port = port
        self.started_at = time.time() - 3600
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content -------------------------------------------------------------
    def add(self, path: str, body: bytes | str, status: int = 200, content_type: str = "text/html; charset=utf-8",
            headers: Mapping[str, str] | None = None) -> None:
        """Serve ``body`` at ``path``."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, data)

    def route(self, path: str, handler: Route) -> None:
        """Serve ``path`` with a fixed answer or a ``handler(request)`` callable."""
        self.routes[path] = handler

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> LocalSite:
        handler = type("LocalSiteHandler", (_Handler,), {"site": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="localsite", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- request log -------------------------------------------------------------
    def _record(self, request: LoggedRequest) -> None:
        with self._lock:
            self.log.append(request)

    def requests(self, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests, all or those for ``path`` (bare path or with query)."""
        with self._lock:
            log = list(self.log)
        if path is None:
            return log
        return [r for r in log if r.path == path or r.bare_path == path]

    def hits(self, path: str) -> int:
        return len(self.requests(path))

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- answering -------------------------------------------------------------
    def _resolve(self, request: LoggedRequest) -> Answer:
        route = self.routes.get(request.path)
        if route is None:
            route = self.routes.get(request.bare_path)
        if route is not None:
            return route(request) if callable(route) else route
        if request.bare_path == "/robots.txt" and self.robots is not None:
            return 200, {"Content-Type": "text/plain"}, self.robots.encode("utf-8")
        if self.directory is not None:
            candidate = (self.directory / request.bare_path.lstrip("/")).resolve()
            if candidate.is_file() and self.directory in candidate.parents:
                kind = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
                return 200, {"Content-Type": kind}, candidate.read_bytes()
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _conditional(self, request: LoggedRequest, headers: dict[str, str], body: bytes) -> Answer:
        etag = headers.setdefault("ETag", '"' + hashlib.sha1(body).hexdigest()[:20] + '"')
        modified = headers.setdefault("Last-Modified", _http_date(self.started_at))
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            if etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*":
                return 304, {"ETag": etag, "Last-Modified": modified}, b""
            return 200, headers, body
        since = request.headers.get("If-Modified-Since")
        if since:
            try:
                since_ts = email.utils.parsedate_to_datetime(since).timestamp()
                modified_ts = email.utils.parsedate_to_datetime(modified).timestamp()
            except (TypeError, ValueError):
                return 200, headers, body
            if modified_ts <= since_ts:
                return 304, {"ETag": etag, "Last-Modified": modified}, b""
        return 200, headers, body


# -- the processes that crawl a site: memory ------------------------------------------
def rss_kb(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (``VmRSS``); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                found.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return found


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (every thread's ``children`` list, so forkservers' workers too)."""
    seen, stack = [], [pid]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(_children(current))
    return seen
