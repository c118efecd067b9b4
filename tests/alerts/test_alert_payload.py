"""Payloads: report ids, the JSON Schema, serialisation and signatures."""

from __future__ import annotations

import hashlib
import hmac
import json

import jsonschema
import pytest
from alert_helpers import ARTICLE, SECRET, make_detection
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.payload import (
    EVENTS,
    PayloadError,
    build_headers,
    build_report_payload,
    build_test_payload,
    load_payload_schema,
    make_delivery_id,
    make_report_id,
    normalise_incident,
    serialise_payload,
    sign_body,
    verify_signature,
)
from newswatch.config import ATTACK_TYPES


def validator() -> jsonschema.Draft202012Validator:
    schema = load_payload_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def report_payload(event: str = "report.flagged", **detection: object) -> dict:
    return build_report_payload(
        ARTICLE, make_detection(**detection), event=event,
        delivery_id=make_delivery_id(), created_at="2024-05-13T08:20:00+00:00",
    )


def test_report_id_is_derived_from_the_canonical_url() -> None:
    url = ARTICLE["canonical_url"]
    payload = report_payload()
    assert payload["report_id"] == "rep_" + hashlib.sha256(url.encode()).hexdigest()[:16]
    assert payload["report_id"] == make_report_id(url)
    assert payload["article"]["url"] == url
    assert report_payload(event="report.updated")["report_id"] == payload["report_id"]


def test_delivery_ids_are_unique() -> None:
    ids = {make_delivery_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(i.startswith("dlv_") for i in ids)


@pytest.mark.parametrize("event", ["report.flagged", "report.updated"])
def test_report_payloads_validate_against_the_schema(event: str) -> None:
    payload = json.loads(serialise_payload(report_payload(event)))
    validator().validate(payload)
    assert payload["event"] == event
    assert set(payload["article"]) == {"url", "title", "source", "published"}
    assert set(payload["incidents"][0]) == {
        "date", "governorate", "place", "attack_type", "target", "killed", "wounded", "foiled", "claimed_by", "evidence",
    }


def test_test_payload_validates_against_the_schema() -> None:
    payload = build_test_payload(delivery_id=make_delivery_id(), created_at="2024-05-13T08:20:00.000+00:00")
    validator().validate(json.loads(serialise_payload(payload)))
    assert payload["event"] == "test"


def test_schema_rejects_incomplete_payloads() -> None:
    payload = report_payload()
    broken = {k: v for k, v in payload.items() if k != "article"}
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(broken)
    with pytest.raises(jsonschema.ValidationError):
        validator().validate({**payload, "event": "report.deleted"})
    with pytest.raises(jsonschema.ValidationError):
        validator().validate({**payload, "incidents": [{**payload["incidents"][0], "killed": -1}]})


def test_schema_lists_the_configured_attack_types_and_events() -> None:
    schema = load_payload_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]["incident"]["properties"]["attack_type"]["enum"] == [*ATTACK_TYPES, None]
    assert tuple(schema["properties"]["event"]["enum"]) == EVENTS


def test_incident_rows_from_the_database_are_normalised() -> None:
    row = {"id": 4, "article_id": 1, "seq": 0, "governorate": " Nineveh ", "attack_type": "ied", "killed": "3",
           "wounded": None, "foiled": 1, "evidence": json.dumps(["An IED exploded in Mosul."]), "date": ""}
    incident = normalise_incident(row)
    assert incident == {
        "date": None, "governorate": "Nineveh", "place": None, "attack_type": "ied", "target": None,
        "killed": 3, "wounded": None, "foiled": True, "claimed_by": None, "evidence": ["An IED exploded in Mosul."],
    }
    assert normalise_incident({"attack_type": "laser"})["attack_type"] == "other"
    with pytest.raises(PayloadError):
        normalise_incident({"killed": "many"})


def test_unusable_detections_are_refused() -> None:
    with pytest.raises(PayloadError):
        report_payload(score=None)
    with pytest.raises(PayloadError):
        build_report_payload({"source": "x"}, make_detection(), event="report.flagged",
                             delivery_id="d", created_at="2024-01-01T00:00:00+00:00")
    with pytest.raises(PayloadError):
        report_payload(event="report.deleted")


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = serialise_payload(report_payload()).encode()
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign_body(SECRET, body) == expected
    assert verify_signature(SECRET, body, expected)
    assert not verify_signature(SECRET, body + b" ", expected)
    assert not verify_signature("other-secret", body, expected)
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, "sha256=ü")


def test_headers_name_the_delivery_and_event() -> None:
    body = b'{"event":"report.flagged"}'
    headers = build_headers(body=body, secret=SECRET, event="report.flagged", delivery_id="dlv_1",
                            timestamp=1715588400, attempt=2)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("newswatch/")
    assert headers["X-Newswatch-Signature"] == sign_body(SECRET, body)
    assert headers["X-Newswatch-Timestamp"] == "1715588400"
    assert headers["X-Newswatch-Delivery"] == "dlv_1"
    assert headers["X-Newswatch-Event"] == "report.flagged"
    assert headers["X-Newswatch-Attempt"] == "2"
    assert SECRET not in json.dumps(headers)


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=80),
    why=st.text(max_size=80),
    place=st.one_of(st.none(), st.text(max_size=40)),
    killed=st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),
    score=st.floats(min_value=0, max_value=1),
)
def test_any_text_round_trips_and_stays_valid(
    title: str, why: str, place: str | None, killed: int | None, score: float
) -> None:
    detection = make_detection(score=score, why=why)
    detection["incidents"][0].update(place=place, killed=killed)
    payload = build_report_payload({**ARTICLE, "title": title}, detection, event="report.flagged",
                                   delivery_id="dlv_x", created_at="2024-05-13T08:20:00+00:00")
    text = serialise_payload(payload)
    body = text.encode("utf-8")
    decoded = json.loads(body)
    assert decoded == payload
    validator().validate(decoded)
    assert verify_signature(SECRET, body, sign_body(SECRET, body))
