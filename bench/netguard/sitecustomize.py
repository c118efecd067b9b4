"""Loopback-only network guard for every Python process the benchmark starts (tests/netguard/newswatch_netguard.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "netguard"))

import newswatch_netguard  # noqa: E402

newswatch_netguard.install()
