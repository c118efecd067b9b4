"""Fixtures of the scheduler tests (helpers live in scheduler_helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "newswatch.db"
