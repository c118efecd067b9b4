"""Short synthetic articles (written for these tests) and helpers for the grouping tests."""

from __future__ import annotations

from typing import Any


def make_article(key: str, source: str, date: str, title: str, text: str, url: str | None = None) -> dict[str, Any]:
    return {"id": key, "source": source, "date": date, "url": url or f"https://{source.lower().replace(' ', '')}.example/{key}",
            "title": title, "text": text}


def flagged(*incidents: dict[str, Any], score: float = 0.9) -> dict[str, Any]:
    """A detection as the detector returns it (to_dict form)."""
    return {"flagged": True, "score": score, "why": "test", "incidents": list(incidents), "explanation": {}}


def incident(**fields: Any) -> dict[str, Any]:
    base = {"date": None, "governorate": None, "place": None, "attack_type": None, "target": None,
            "killed": None, "wounded": None, "foiled": False, "claimed_by": None, "evidence": []}
    base.update(fields)
    return base


NOT_FLAGGED = {"flagged": False, "score": 0.1, "why": "", "incidents": [], "explanation": {}}
