"""The test suite itself refuses any address but loopback, in every process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

import newswatch_netguard


def test_guard_is_installed_for_connect_and_connect_ex():
    assert socket.socket.connect_ex is newswatch_netguard.guarded_connect_ex
    assert socket.getaddrinfo is newswatch_netguard.guarded_getaddrinfo


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "192.0.2.1", "::ffff:8.8.8.8"])
def test_non_loopback_lookups_are_refused(host, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSWATCH_NETGUARD_LOG", str(tmp_path / "log"))
    with pytest.raises(OSError):
        socket.getaddrinfo(host, 80)


def test_connect_ex_to_a_documentation_address_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSWATCH_NETGUARD_LOG", str(tmp_path / "log"))
    with socket.socket() as sock, pytest.raises(OSError, match="loopback only"):
        sock.connect_ex(("192.0.2.1", 9))


def test_loopback_still_works():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_subprocesses_get_the_guard(tmp_path):
    env = {**os.environ, "NEWSWATCH_NETGUARD_LOG": str(tmp_path / "log")}
    code = "import socket\ntry:\n    socket.getaddrinfo('example.com', 80)\nexcept OSError as e:\n    print('refused', e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "refused" in out.stdout
    assert "example.com" in (tmp_path / "log").read_text()
