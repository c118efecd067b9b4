"""Refuse every network connection and name lookup that is not loopback.

Installed in the test process by the root ``conftest.py`` and, through
``sitecustomize.py`` on ``PYTHONPATH``, in every Python subprocess the tests
start (crawler worker processes, daemons under test). The benchmark
(``bench/run.py`` and, through ``bench/netguard/sitecustomize.py``, every
process it starts) installs it too. It guards ``socket.connect``,
``socket.connect_ex`` (which Twisted uses), ``getaddrinfo``, ``gethostbyname``,
``gethostbyname_ex`` and ``gethostbyaddr``; a refused attempt raises and is
appended to the file named by ``NEWSWATCH_NETGUARD_LOG`` (so the test session
fails loudly) and to the one named by ``BENCH_NETGUARD_LOG`` (the benchmark
fails when that file is not empty at the end).
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_real_gethostbyname = socket.gethostbyname
_real_gethostbyname_ex = socket.gethostbyname_ex
_real_gethostbyaddr = socket.gethostbyaddr


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
    path = os.environ.get("BENCH_NETGUARD_LOG")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()} {what}\n")
        except OSError:
            pass


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


def check_name(call: str, host: object) -> None:
    if not is_local(host):
        record(f"{call} {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"newswatch tests refuse to look up {host!r} (loopback only)")


def guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    check_name("getaddrinfo", host)
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


def guarded_gethostbyname(host: str) -> str:
    check_name("gethostbyname", host)
    return _real_gethostbyname(host)


def guarded_gethostbyname_ex(host: str):  # type: ignore[no-untyped-def]
    check_name("gethostbyname_ex", host)
    return _real_gethostbyname_ex(host)


def guarded_gethostbyaddr(host: str):  # type: ignore[no-untyped-def]
    check_name("gethostbyaddr", host)
    return _real_gethostbyaddr(host)


def install() -> None:
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo  # type: ignore[assignment]
    socket.gethostbyname = guarded_gethostbyname  # type: ignore[assignment]
    socket.gethostbyname_ex = guarded_gethostbyname_ex  # type: ignore[assignment]
    socket.gethostbyaddr = guarded_gethostbyaddr  # type: ignore[assignment]
