"""Refuse every connection and name lookup that is not loopback, in any process.

``python bench/run.py`` puts this folder on ``PYTHONPATH`` of every process it
starts (the trafilatura floor, ``newswatch crawl``, news-please and all their
children), so ``sitecustomize.py`` installs the guard before any other code
runs. It wraps ``socket.connect``, ``socket.connect_ex`` (Twisted's),
``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex`` and
``gethostbyaddr``; a refused attempt raises and is appended to the file named
by ``BENCH_NETGUARD_LOG`` (and ``NEWSWATCH_NETGUARD_LOG`` when the test suite
set it). The benchmark fails when that file is not empty at the end.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}
_LOG_VARS = ("BENCH_NETGUARD_LOG", "NEWSWATCH_NETGUARD_LOG")


class NetworkRefused(OSError):
    "A benchmark process tried to reach an address other than loopback"


def is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def record(what: str) -> None:
    for var in _LOG_VARS:
        path = os.environ.get(var)
        if path:
            try:
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(f"{os.getpid()} {what}\n")
            except OSError:
                pass


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_local(host):
        record(f"connect {address!r}")
        raise NetworkRefused(f"the benchmark refuses connections to {address!r} (loopback only)")


def _check_name(call: str, host: object) -> None:
    if not is_local(host):
        record(f"{call} {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"the benchmark refuses to look up {host!r} (loopback only)")


def install() -> None:
    """Wrap the socket functions (idempotent)."""
    if getattr(socket, "_bench_netguard", False):
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname
    real_gethostbyname_ex, real_gethostbyaddr = socket.gethostbyname_ex, socket.gethostbyaddr

    def connect(self: socket.socket, address: object) -> None:
        _check_address(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        _check_address(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        _check_name("getaddrinfo", host)
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    def gethostbyname(host: str) -> str:
        _check_name("gethostbyname", host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str):  # type: ignore[no-untyped-def]
        _check_name("gethostbyname_ex", host)
        return real_gethostbyname_ex(host)

    def gethostbyaddr(host: str):  # type: ignore[no-untyped-def]
        _check_name("gethostbyaddr", host)
        return real_gethostbyaddr(host)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.gethostbyname = gethostbyname  # type: ignore[assignment]
    socket.gethostbyname_ex = gethostbyname_ex  # type: ignore[assignment]
    socket.gethostbyaddr = gethostbyaddr  # type: ignore[assignment]
    socket._bench_netguard = True  # type: ignore[attr-defined]
