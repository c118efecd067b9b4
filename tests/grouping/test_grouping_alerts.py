"""The alert policy: one ``incident.created``, then ``incident.updated`` only for what matters."""

from __future__ import annotations

import pytest

from grouping.grouper import ALL_REASONS, DEFAULT_ALERT_REASONS, AlertPolicy, Grouper
from grouping_helpers import flagged, incident, make_article

CAR_BOMB = incident(date="2024-04-02", governorate="Kirkuk", place="Kirkuk", attack_type="car_bomb",
                    target="civilians")


def report(key: str, source: str, when: str, text: str, **fields) -> tuple[dict, dict]:
    article = make_article(key, source, when, f"{source}: car bomb in Kirkuk", text)
    return article, flagged({**CAR_BOMB, **fields})


def test_material_rise_needs_half_again_and_three_more_by_default() -> None:
    policy = AlertPolicy()
    assert policy.is_material_rise(None, 1) and policy.is_material_rise(0, 2)
    assert not policy.is_material_rise(1, 3)  # early, conflicting counts stay quiet
    assert policy.is_material_rise(3, 8)
    assert not policy.is_material_rise(20, 24) and not policy.is_material_rise(8, 8)
    either = AlertPolicy(rise_needs_both=False)
    assert either.is_material_rise(1, 3) and either.is_material_rise(20, 24)
    with pytest.raises(ValueError):
        AlertPolicy(reasons=("casualties", "weather"))


def test_default_policy_alerts_on_toll_claim_and_new_attack_family_not_on_confirmation() -> None:
    grouper = Grouper()
    assert grouper.alert_reasons == DEFAULT_ALERT_REASONS
    first = grouper.add(*report("k1", "Outlet One", "2024-04-02T09:00:00+00:00",
                                "A car bomb exploded in a Kirkuk market on Tuesday morning, police said."))
    assert [c[0] for c in first.changes] == ["incident.created"]
    confirmed = grouper.add(*report("k2", "Outlet Two", "2024-04-02T10:00:00+00:00",
                                    "A car bomb went off in a crowded market in Kirkuk on Tuesday."))
    event = grouper.events[first.event_ids[0]]
    assert confirmed.event_ids == first.event_ids and event.state == "confirmed" and confirmed.changes == []
    toll = grouper.add(*report("k3", "Outlet Three", "2024-04-02T12:00:00+00:00",
                               "Four people were killed when a car bomb exploded in a Kirkuk market on Tuesday.",
                               killed=4))
    assert [c[0] for c in toll.changes] == ["incident.updated"]
    # the state change travels with the alert that a real change triggered
    assert toll.changes[0][2] == ["casualties", "confirmed"] and toll.changes[0][1]["state"] == "confirmed"
    small = grouper.add(*report("k4", "Outlet Four", "2024-04-02T13:00:00+00:00",
                                "Five people were killed by a car bomb in a Kirkuk market on Tuesday.", killed=5))
    assert small.event_ids == first.event_ids and small.changes == []
    claim = grouper.add(*report("k5", "Outlet Five", "2024-04-02T18:00:00+00:00",
                                "Islamic State claimed responsibility for Tuesday's car bomb in a Kirkuk market.",
                                claimed_by="Islamic State"))
    assert claim.changes and claim.changes[0][2] == ["claimed"]
    assert grouper.events[first.event_ids[0]].killed_max == 5


def test_all_reasons_opt_in_alerts_on_confirmation_and_wounded() -> None:
    grouper = Grouper(alert_reasons=ALL_REASONS)
    grouper.add(*report("m1", "Outlet One", "2024-04-02T09:00:00+00:00",
                        "A car bomb exploded in a Kirkuk market on Tuesday morning, police said."))
    second = grouper.add(*report("m2", "Outlet Two", "2024-04-02T10:00:00+00:00",
                                 "A car bomb wounded 12 people in a Kirkuk market on Tuesday.", wounded=12))
    assert [c[0] for c in second.changes] == ["incident.updated"]
    assert set(second.changes[0][2]) == {"confirmed", "wounded"}


def test_event_without_kind_or_place_is_announced_when_a_report_says_what_happened() -> None:
    grouper = Grouper()
    vague = grouper.add(make_article("v1", "Outlet One", "2024-04-02T09:00:00+00:00", "US troops targeted in Iraq",
                                     "Attacks on American troops in the Middle East continue."),
                        flagged(incident(target="us_coalition")))
    assert vague.created and vague.changes == []  # stored and listed, not yet alerted
    told = grouper.add(make_article("v2", "Outlet Two", "2024-04-02T11:00:00+00:00", "Drone attack on US troops in Iraq",
                                    "US troops in Iraq were targeted by a drone attack on Tuesday, officials said."),
                       flagged(incident(date="2024-04-02", attack_type="drone", target="us_coalition")))
    assert told.event_ids == vague.event_ids
    assert [c[0] for c in told.changes] == ["incident.created"]
