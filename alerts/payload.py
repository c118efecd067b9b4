"""Build, serialise and sign the JSON bodies newswatch sends to webhooks.

A payload is built once, when the alert is queued, serialised to one string
and stored in the ``alerts`` table; every attempt sends exactly those bytes
(UTF-8) and signs them at send time::

    X-Newswatch-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>

The signature covers the raw body only. The body carries ``delivery_id`` and
``created_at``, so both are signed; the ``X-Newswatch-Timestamp`` header (the
time of the attempt) is not. The format is described by the JSON Schema in
``alerts/schema/webhook-payload.schema.json`` (see :func:`load_payload_schema`)
and in ``docs/webhooks.md``.

Exceptions::

    AlertsError                 anything the alerts package refuses to do
     └── PayloadError           an article or detection cannot become a payload
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import metadata, resources
from typing import Any

from newswatch.config import ATTACK_TYPES

LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA_FILE = "webhook-payload.schema.json"
REPORT_EVENTS = ("report.flagged", "report.updated")
INCIDENT_EVENTS = ("incident.created", "incident.updated")
TEST_EVENT = "test"
EVENTS = REPORT_EVENTS + INCIDENT_EVENTS + (TEST_EVENT,)
SIGNATURE_HEADER = "X-Newswatch-Signature"
TIMESTAMP_HEADER = "X-Newswatch-Timestamp"
DELIVERY_HEADER = "X-Newswatch-Delivery"
EVENT_HEADER = "X-Newswatch-Event"
ATTEMPT_HEADER = "X-Newswatch-Attempt"
FALLBACK_VERSION = "0.1.0"


class AlertsError(Exception):
    "The alerts package could not do what was asked"


class PayloadError(AlertsError, ValueError):
    "An article or detection cannot be turned into a webhook payload"


# -- ids -------------------------------------------------------------------
def make_report_id(url: str) -> str:
    """Return the stable report id of the article at canonical ``url``.

    ``"rep_"`` + the first 16 hex digits of SHA-256 of the URL: the same
    article gets the same id in every event and on every newswatch install.
    """
    if not url:
        raise PayloadError("cannot derive a report id from an empty URL")
    return "rep_" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def make_delivery_id() -> str:
    """Return a new, globally unique delivery id (``dlv_`` + 32 hex digits)."""
    return "dlv_" + uuid.uuid4().hex


# -- payloads --------------------------------------------------------------
def _optional_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _optional_count(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise PayloadError(f"incident {field} must be a whole number, got {value!r}") from None
    if count < 0:
        raise PayloadError(f"incident {field} must not be negative, got {value!r}")
    return count


def _evidence_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return [value]
        value = decoded if isinstance(decoded, list) else [value]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return [str(item) for item in value if item is not None]
    return [str(value)]


def normalise_incident(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return one incident in payload form (every field present, typed).

    Accepts the detector's dicts and ``incidents`` table rows alike: evidence
    may be a list or its JSON text, ``foiled`` a bool or 0/1. An attack type
    outside :data:`newswatch.config.ATTACK_TYPES` is sent as ``"other"``.
    """
    attack_type = _optional_str(raw.get("attack_type"))
    if attack_type is not None and attack_type not in ATTACK_TYPES:
        LOGGER.debug("unknown attack type %r sent as 'other'", attack_type)
        attack_type = "other"
    return {
        "date": _optional_str(raw.get("date")),
        "governorate": _optional_str(raw.get("governorate")),
        "place": _optional_str(raw.get("place")),
        "attack_type": attack_type,
        "target": _optional_str(raw.get("target")),
        "killed": _optional_count(raw.get("killed"), "killed"),
        "wounded": _optional_count(raw.get("wounded"), "wounded"),
        "foiled": bool(raw.get("foiled") or False),
        "claimed_by": _optional_str(raw.get("claimed_by")),
        "evidence": _evidence_list(raw.get("evidence")),
    }


def read_article_url(article_row: Mapping[str, Any]) -> str:
    """Return the canonical URL of an ``articles`` row (``canonical_url`` or ``url``)."""
    url = article_row.get("canonical_url") or article_row.get("url")
    if not url:
        raise PayloadError("the article has neither canonical_url nor url")
    return str(url)


def read_score(detection: Mapping[str, Any]) -> float:
    """Return the detection's score as a float, refusing a missing one."""
    try:
        return float(detection["score"])
    except (KeyError, TypeError, ValueError):
        raise PayloadError(f"the detection needs a numeric score, got {detection.get('score')!r}") from None


def build_report_payload(
    article_row: Mapping[str, Any],
    detection: Mapping[str, Any],
    *,
    event: str,
    delivery_id: str,
    created_at: str,
) -> dict[str, Any]:
    """Return the payload of a ``report.*`` (or ``test``) event as a dict.

    ``article_row`` is an ``articles`` row (url, canonical_url, title, source,
    published); ``detection`` has ``score``, ``why``, ``incidents`` and
    optionally ``version`` (the report's version).
    """
    if event not in REPORT_EVENTS + (TEST_EVENT,):
        raise PayloadError(f"unknown report event {event!r} (one of {', '.join(REPORT_EVENTS)})")
    url = read_article_url(article_row)
    version = detection.get("version")
    incidents = detection.get("incidents") or []
    if not isinstance(incidents, (list, tuple)):
        raise PayloadError(f"detection incidents must be a list, got {type(incidents).__name__}")
    return {
        "schema_version": SCHEMA_VERSION,
        "event": event,
        "delivery_id": delivery_id,
        "created_at": created_at,
        "report_id": make_report_id(url),
        "report_version": int(version) if version is not None else None,
        "article": {
            "url": url,
            "title": _optional_str(article_row.get("title")),
            "source": str(article_row.get("source") or ""),
            "published": _optional_str(article_row.get("published")),
        },
        "score": read_score(detection),
        "why": str(detection.get("why") or ""),
        "incidents": [normalise_incident(i) for i in incidents],
    }


SAMPLE_ARTICLE = {
    "url": "https://example.com/news/2024/05/drone-attack-erbil-airport",
    "title": "Drone attack targets Erbil airport, no casualties reported",
    "source": "example-news",
    "published": "2024-05-12T21:40:00+00:00",
}
SAMPLE_DETECTION = {
    "score": 0.93,
    "why": "drone attack in Erbil (Erbil governorate), foiled",
    "version": 1,
    "incidents": [
        {
            "date": "2024-05-12",
            "governorate": "Erbil",
            "place": "Erbil International Airport",
            "attack_type": "drone",
            "target": "airport",
            "killed": 0,
            "wounded": 0,
            "foiled": True,
            "claimed_by": None,
            "evidence": ["Air defences shot down an explosive-laden drone near Erbil airport on Sunday night."],
        }
    ],
}


def build_test_payload(*, delivery_id: str, created_at: str) -> dict[str, Any]:
    """Return a sample report payload with event ``test`` (for ``alerts test``)."""
    return build_report_payload(
        SAMPLE_ARTICLE, SAMPLE_DETECTION, event=TEST_EVENT, delivery_id=delivery_id, created_at=created_at
    )


def serialise_payload(payload: Mapping[str, Any]) -> str:
    """Return the payload as the compact JSON text that is stored and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# -- signing ---------------------------------------------------------------
def sign_body(secret: str, body: bytes) -> str:
    """Return the ``X-Newswatch-Signature`` value for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Return True when ``header`` is the valid signature of ``body`` (constant time)."""
    if not header:
        return False
    return hmac.compare_digest(sign_body(secret, body).encode("ascii"), header.strip().encode("ascii", "replace"))


@lru_cache(maxsize=1)
def read_user_agent() -> str:
    """Return ``newswatch/<version>`` for the User-Agent header."""
    try:
        version = metadata.version("newswatch")
    except metadata.PackageNotFoundError:
        import newswatch

        version = getattr(newswatch, "__version__", FALLBACK_VERSION)
    return f"newswatch/{version}"


def build_headers(
    *, body: bytes, secret: str, event: str, delivery_id: str, timestamp: int, attempt: int | None = None
) -> dict[str, str]:
    """Return the HTTP headers of one delivery attempt of ``body``."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": read_user_agent(),
        SIGNATURE_HEADER: sign_body(secret, body),
        TIMESTAMP_HEADER: str(int(timestamp)),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
    if attempt is not None:
        headers[ATTEMPT_HEADER] = str(attempt)
    return headers


def load_payload_schema() -> dict[str, Any]:
    """Return the payload's JSON Schema (draft 2020-12) as a dict."""
    text = resources.files("alerts.schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)
