"""Test-session guard: nothing run by the tests may reach beyond 127.0.0.1.

pytest-socket (configured in pyproject.toml) blocks ``socket.connect`` in the
test process; this adds ``connect_ex`` (used by Twisted, hence Scrapy) and
name lookups, and installs the same guard in every Python subprocess through
``tests/netguard/sitecustomize.py``. Any refused attempt, in any process,
fails the session.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

GUARD_DIR = Path(__file__).resolve().parent / "tests" / "netguard"
sys.path.insert(0, str(GUARD_DIR))

import newswatch_netguard  # noqa: E402

newswatch_netguard.install()
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(GUARD_DIR), os.environ.get("PYTHONPATH", "")) if p
)
_fd, _LOG = tempfile.mkstemp(prefix="newswatch-netguard-", suffix=".log")
os.close(_fd)
os.environ["NEWSWATCH_NETGUARD_LOG"] = _LOG


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    refused = Path(_LOG).read_text(encoding="utf-8").strip() if Path(_LOG).exists() else ""
    Path(_LOG).unlink(missing_ok=True)
    if refused:
        sys.stderr.write("\nnewswatch network guard refused non-loopback traffic:\n" + refused + "\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
