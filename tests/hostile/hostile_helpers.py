"""Pieces of the hostile corpus: pages, feeds, raw socket servers, memory sampling.

Everything is served on 127.0.0.1 (the test network guard refuses anything
else). Each hostile case is one configured source whose feed or sitemap lives
under ``/h/<case id>/``; every crawl also holds one healthy source whose
articles must all be stored, whatever the hostile ones do.
"""

from __future__ import annotations

import html
import os
import socket
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from newswatch.localsite import rss_kb, tree_pids

ARABIC = (
    "قال مسؤولون أمنيون إن انفجاراً وقع في سوق مزدحم وسط بغداد صباح اليوم، "
    "مما أسفر عن مقتل ثلاثة أشخاص وإصابة عشرة آخرين بجروح."
)
ARABIC_2 = "وأضاف المتحدث أن قوات الأمن طوقت المكان وفتحت تحقيقاً في الحادث."
MIXED = "The spokesman said ‏«قوات الأمن طوقت المكان»‎ at 10:30 on 12 May, and NATO (حلف الناتو) confirmed it."

RSS_TYPE = "application/rss+xml"
XML_TYPE = "application/xml"
HTML_TYPE = "text/html; charset=utf-8"


def now_rfc822(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).strftime("%a, %d %b %Y %H:%M:%S +0000")


def article_html(title: str, sentences: Iterable[str], lang: str = "en", charset: str | None = "utf-8",
                 head_extra: str = "") -> str:
    """A plain, well-formed article page (text long enough to be an article)."""
    meta = f'<meta charset="{charset}">' if charset else ""
    paragraphs = "".join(f"<p>{html.escape(s)}</p>" for s in sentences)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{meta}<title>{html.escape(title)}</title>{head_extra}</head>'
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{html.escape(title)}</h1>{paragraphs}</article>"
        "<footer>Footer</footer></body></html>"
    )


def story(case: str, n: int = 0) -> list[str]:
    """Sentences unique to ``case`` (so that no two cases share a content hash)."""
    return [
        f"Story {n} of case {case}: officials in the province said the market reopened on Tuesday morning.",
        f"Traders from case {case} told reporters that prices had risen sharply after the floods of last spring.",
        "The local council promised to repair the damaged roads before the start of the school year.",
    ]


def rss(items: list[tuple[str, str | None]], title: str = "Feed", extra: str = "") -> bytes:
    """An RSS 2.0 feed of ``(link, pubDate)`` items; a ``None`` date leaves pubDate out."""
    body = "".join(
        f"<item><title>Item {i}</title><link>{html.escape(link)}</link>"
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + "</item>"
        for i, (link, date) in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{html.escape(title)}</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{extra}{body}</channel></rss>"
    ).encode("utf-8")


def urlset(locs: list[tuple[str, str | None]]) -> bytes:
    body = "".join(
        f"<url><loc>{html.escape(loc)}</loc>" + (f"<lastmod>{d}</lastmod>" if d else "") + "</url>" for loc, d in locs
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{body}</urlset>"
    ).encode("utf-8")


def sitemapindex(locs: list[str]) -> bytes:
    body = "".join(f"<sitemap><loc>{html.escape(loc)}</loc></sitemap>" for loc in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{body}</sitemapindex>"
    ).encode("utf-8")


def streamed(total: int, chunk: bytes) -> Callable[[Any], tuple[int, dict[str, str], Iterable[bytes]]]:
    """A route streaming ``total`` bytes made of ``chunk`` (never held in memory whole)."""

    def route(request: Any) -> tuple[int, dict[str, str], Iterable[bytes]]:
        def body() -> Iterable[bytes]:
            sent = 0
            while sent < total:
                piece = chunk[: total - sent]
                sent += len(piece)
                yield piece

        return 200, {"Content-Type": HTML_TYPE}, body()

    return route


def gzip_bomb(inflated: int, block: int = 1024 * 1024) -> bytes:
    """A valid gzip stream of ``inflated`` zero bytes (about 1000:1), built in under a second.

    One block of zeros is deflated after a full flush (so that every block
    compresses to the same bytes) and repeated; the trailer carries the real
    CRC-32 and length, so a reader that inflated it all would accept it.
    """
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zero = bytes(block)
    compressor.compress(zero)
    compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(zero) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    count = inflated // block
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zero, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + repeated * count + tail + struct.pack("<II", crc & 0xFFFFFFFF, (count * block) & 0xFFFFFFFF)


# -- raw socket servers ------------------------------------------------------------
class RawServer:
    """A TCP server on 127.0.0.1 that misbehaves below HTTP.

    Modes: ``hang`` (accept, never read or answer), ``silent`` (read the
    request, never answer), ``reset`` (read, then close with RST), ``close``
    (read, then close cleanly without a byte), ``garbage`` (answer bytes that
    are not HTTP), ``drip`` (a valid 200 head, then one body byte a second).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.connections = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True, name=f"raw-{mode}").start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                piece = conn.recv(4096)
                if not piece:
                    return
                data += piece
        except OSError:
            return

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.mode == "hang":
                self.held.append(conn)
                self.stopped.wait(60)
                return
            self._read_request(conn)
            if self.mode == "silent":
                self.held.append(conn)
                self.stopped.wait(60)
            elif self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.mode == "garbage":
                conn.sendall(b"\x00\x01\x02 SSH-2.0-OpenSSH_9.6 \xff\xfe not http at all\r\n\r\n")
            elif self.mode == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(60):
                    if self.stopped.wait(1.0):
                        break
                    conn.sendall(b"<")
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()
        for conn in self.held:
            try:
                conn.close()
            except OSError:
                pass


# -- memory --------------------------------------------------------------------------
@dataclass
class MemorySampler:
    """Samples the RSS of this process and of its descendants (the extraction pool) while running.

    ``peak_delta_mb`` is the largest increase, over the value when sampling
    started, of this process's RSS, and separately of the largest single
    child; both matter (a page held whole in the crawler vs. in a worker).
    """

    interval: float = 0.05
    base_self: int = 0
    peak_self: int = 0
    peak_child: int = 0
    base_child: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        pid = os.getpid()
        self.base_self = self.peak_self = rss_kb(pid)
        self.base_child = max([rss_kb(c) for c in tree_pids(pid)[1:]] or [0])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        pid = os.getpid()
        ticks = 0
        children: list[int] = []
        while not self._stop.wait(self.interval):
            self.peak_self = max(self.peak_self, rss_kb(pid))
            if ticks % 10 == 0:
                children = tree_pids(pid)[1:]
            ticks += 1
            for child in children:
                self.peak_child = max(self.peak_child, rss_kb(child))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def self_delta_mb(self) -> float:
        return (self.peak_self - self.base_self) / 1024

    @property
    def child_peak_mb(self) -> float:
        return self.peak_child / 1024


# -- database ------------------------------------------------------------------------
def query(db_path: str | Path, sql: str, *args: Any) -> list[tuple]:
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def dict_rows(db_path: str | Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = sqlite3.connect(str(db_path), timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def db_dump(db_path: str | Path) -> str:
    """Every value in the database as text (for 'never stored' checks)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
