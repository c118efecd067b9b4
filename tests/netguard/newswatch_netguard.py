"""Refuse every network connection and name lookup that is not loopback.

Installed in the test process by the root ``conftest.py`` and, through
``sitecustomize.py`` on ``PYTHONPATH``, in every Python subprocess the tests
start (crawler worker processes, daemons under test). It guards
``socket.connect``, ``socket.connect_ex`` (which Twisted uses) and
``getaddrinfo``; a refused attempt raises and is appended to the file named by
``NEWSWATCH_NETGUARD_LOG`` so the test session fails loudly.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkRefused(OSError):
    "A test tried to reach an address other than loopback"


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
    path = os.environ.get("NEWSWATCH_NETGUARD_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {what}\n")


def check(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_local(host):
        record(f"connect {address!r}")
        raise NetworkRefused(f"newswatch tests refuse connections to {address!r} (loopback only)")


def guarded_connect(self: socket.socket, address: object) -> None:
    check(self, address)
    return _real_connect(self, address)


def guarded_connect_ex(self: socket.socket, address: object) -> int:
    check(self, address)
    return _real_connect_ex(self, address)


def guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    if not is_local(host):
        record(f"getaddrinfo {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"newswatch tests refuse to look up {host!r} (loopback only)")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


def install() -> None:
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo  # type: ignore[assignment]
