"""Shared fixtures for detector tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from detector import Detector


def shared_dir() -> Path:
    """The shared data directory beside the repository (or ``$NEWSWATCH_SHARED``)."""
    override = os.environ.get("NEWSWATCH_SHARED")
    return Path(override) if override else Path(__file__).resolve().parents[2].parent / "shared"


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector()


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "data" / "dev.jsonl").exists():
        pytest.skip(f"shared data not found at {path} (set NEWSWATCH_SHARED)")
    return path


@pytest.fixture(scope="session")
def seed_article(shared: Path) -> tuple[str, str]:
    path = shared / "seed" / "green-zone-rockets-2021-12-19.txt"
    if not path.exists():
        pytest.skip(f"seed article not found at {path}")
    title, _, text = path.read_text(encoding="utf-8").partition("\n")
    return title.strip(), text


@pytest.fixture(scope="session")
def dev_rows(shared: Path) -> list[dict]:
    with open(shared / "data" / "dev.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
