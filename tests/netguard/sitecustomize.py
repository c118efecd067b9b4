"""Loopback-only network guard for Python subprocesses started by the tests."""

import newswatch_netguard

newswatch_netguard.install()
