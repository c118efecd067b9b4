"""Grouping rules: same attack, different attacks, follow-ups, reprisals, languages, sources."""

from __future__ import annotations

from grouping.grouper import Grouper
from grouping_helpers import NOT_FLAGGED, flagged, incident, make_article

DRONE_ERBIL = incident(date="2024-03-05", governorate="Erbil", place="Erbil airport", attack_type="drone",
                       target="us_coalition")


def test_same_attack_from_different_outlets_is_one_event() -> None:
    grouper = Grouper()
    first = grouper.add(make_article(
        "a1", "Outlet One", "2024-03-05T09:00:00+00:00", "Drone attack targets Erbil airport",
        "An explosive-laden drone targeted the base housing US forces at Erbil airport early on Tuesday, "
        "security officials said. Air defences shot it down."), flagged(DRONE_ERBIL))
    second = grouper.add(make_article(
        "a2", "Outlet Two", "2024-03-05T13:30:00+00:00", "Air defences down drone over Erbil air base",
        "Coalition air defences intercepted a drone near Erbil International Airport on Tuesday morning, "
        "the Kurdistan Region's counter-terrorism service said."), flagged(DRONE_ERBIL))
    assert first.created and second.event_ids == first.event_ids
    event = grouper.events[first.event_ids[0]]
    assert event.sources == 2 and event.state == "confirmed"
    assert event.governorate == "Erbil" and event.place == "Erbil airport" and event.attack_types == ["drone"]


def test_two_attacks_same_day_on_different_bases_are_two_events() -> None:
    grouper = Grouper()
    one = grouper.add(make_article(
        "b1", "Outlet One", "2024-03-05T09:00:00+00:00", "Drone attack targets Erbil airport",
        "A drone targeted the base at Erbil airport on Tuesday."), flagged(DRONE_ERBIL))
    two = grouper.add(make_article(
        "b2", "Outlet Two", "2024-03-05T11:00:00+00:00", "Drone attack targets Harir base",
        "A drone targeted Harir base north of Erbil on Tuesday, where US troops are stationed."),
        flagged(incident(date="2024-03-05", governorate="Erbil", place="Harir base", attack_type="drone",
                         target="us_coalition")))
    assert one.event_ids and two.event_ids and one.event_ids != two.event_ids
    assert two.created == two.event_ids


def test_follow_up_with_new_casualty_figures_joins_and_alerts_once() -> None:
    grouper = Grouper(alert_reasons=("casualties", "wounded", "claimed", "attack_type"))
    first = grouper.add(make_article(
        "c1", "Outlet One", "2024-03-05T20:00:00+00:00", "Drone attack on Erbil airport wounds two US soldiers",
        "A drone attack on the base at Erbil airport on Tuesday wounded two US soldiers, officials said."),
        flagged({**DRONE_ERBIL, "wounded": 2}))
    follow = grouper.add(make_article(
        "c2", "Outlet Two", "2024-03-06T15:00:00+00:00", "Pentagon: five troops hurt in Erbil drone attack",
        "Five US service members were wounded in Tuesday's drone attack on Erbil airport, the Pentagon said "
        "on Wednesday, raising the toll."), flagged({**DRONE_ERBIL, "wounded": 5}))
    assert follow.event_ids == first.event_ids and not follow.created
    assert len(follow.changes) == 1
    kind, event, reasons = follow.changes[0]
    assert kind == "incident.updated" and "wounded" in reasons
    assert event["wounded"] == {"min": 2, "max": 5}
    repeat = grouper.add(make_article(
        "c3", "Outlet Three", "2024-03-06T18:00:00+00:00", "Five US troops wounded in Erbil",
        "Five American soldiers were wounded when a drone struck Erbil airport on Tuesday."),
        flagged({**DRONE_ERBIL, "wounded": 5}))
    assert repeat.event_ids == first.event_ids and repeat.changes == []


def test_reprisal_strike_is_a_new_event() -> None:
    grouper = Grouper()
    attack = grouper.add(make_article(
        "d1", "Outlet One", "2024-03-05T06:00:00+00:00", "Rockets hit Ain al-Asad air base",
        "Several rockets struck Ain al-Asad air base in Anbar on Tuesday, wounding three US troops."),
        flagged(incident(date="2024-03-05", governorate="Anbar", place="Ain al-Asad air base",
                         attack_type="rocket_missile", target="us_coalition", wounded=3)))
    strike = grouper.add(make_article(
        "d2", "Outlet Two", "2024-03-05T22:00:00+00:00", "US strikes militia after Ain al-Asad rocket attack",
        "US warplanes struck a Kataib Hezbollah site near Qaim on Tuesday in retaliation for the rocket attack "
        "on Ain al-Asad air base, killing four militants."),
        flagged(incident(date="2024-03-05", governorate="Anbar", place="Qaim", attack_type="air_strike",
                         target="pmf", killed=4)))
    strike_events = [e for e in strike.event_ids if "air_strike" in grouper.events[e].attack_types]
    assert len(strike_events) == 1 and strike_events[0] not in attack.event_ids
    assert strike_events[0] in strike.created


def test_english_and_arabic_reports_of_one_attack_are_one_event() -> None:
    grouper = Grouper()
    english = grouper.add(make_article(
        "e1", "English Outlet", "2024-03-05T08:00:00+00:00", "Drone targets Ain al-Asad base",
        "A drone attack targeted Ain al-Asad air base in Anbar province early on Tuesday, with no casualties."),
        flagged())
    arabic = grouper.add(make_article(
        "e2", "Arabic Outlet", "2024-03-05T09:15:00+00:00", "هجوم بطائرة مسيرة على قاعدة عين الأسد",
        "استهدف هجوم بطائرة مسيرة قاعدة عين الأسد الجوية في محافظة الأنبار فجر اليوم الثلاثاء من دون وقوع إصابات."),
        flagged())
    assert english.event_ids and arabic.event_ids == english.event_ids
    event = grouper.events[english.event_ids[0]]
    assert event.governorate == "Anbar" and event.place == "Ain al-Asad air base" and "drone" in event.attack_types
    assert event.state == "confirmed"


SYNDICATED = ("Two rockets struck near the US embassy in Baghdad's Green Zone on Tuesday night, security sources "
              "said. No casualties were reported and no group claimed responsibility for the attack.")


def test_syndicated_copies_count_as_one_source_then_provisional_to_confirmed() -> None:
    grouper = Grouper()
    rockets = incident(date="2024-03-05", governorate="Baghdad", place="Green Zone", attack_type="rocket_missile",
                       target="diplomatic")
    first = grouper.add(make_article("f1", "Wire Service", "2024-03-05T21:00:00+00:00",
                                     "Rockets strike near US embassy in Baghdad", SYNDICATED), flagged(rockets))
    copy = grouper.add(make_article("f2", "Reprint Daily", "2024-03-05T21:40:00+00:00",
                                    "Rockets strike near US embassy in Baghdad", SYNDICATED + " (Wire Service)"),
                       flagged(rockets))
    event_id = first.event_ids[0]
    assert copy.event_ids == [event_id] and copy.duplicate_of == "f1"
    assert grouper.events[event_id].sources == 1 and grouper.events[event_id].state == "provisional"
    assert copy.changes == []
    independent = grouper.add(make_article(
        "f3", "Other Paper", "2024-03-06T07:00:00+00:00", "Green Zone targeted again",
        "Rockets landed in the Green Zone late on Tuesday near the American embassy, Iraqi police said."),
        flagged(rockets))
    assert independent.event_ids == [event_id]
    assert grouper.events[event_id].sources == 2 and grouper.events[event_id].state == "confirmed"
    assert independent.changes == []  # confirmation alone is no alert by default: the state is in every payload


def test_unflagged_articles_are_not_grouped_and_created_alerts_once() -> None:
    grouper = Grouper()
    result = grouper.add(make_article("g1", "Outlet", "2024-03-05T09:00:00+00:00", "Iraq budget passes",
                                      "Parliament passed the budget."), NOT_FLAGGED)
    assert result.event_ids == [] and result.changes == []
    made = grouper.add(make_article("g2", "Outlet", "2024-03-05T10:00:00+00:00", "Drone attack on Erbil airport",
                                    "A drone targeted Erbil airport on Tuesday."), flagged(DRONE_ERBIL))
    assert [c[0] for c in made.changes] == ["incident.created"]
    again = grouper.add(make_article("g2", "Outlet", "2024-03-05T10:00:00+00:00", "Drone attack on Erbil airport",
                                     "A drone targeted Erbil airport on Tuesday."), flagged(DRONE_ERBIL))
    assert again.event_ids == made.event_ids and again.changes == []


def test_articles_older_than_the_open_window_are_forgotten() -> None:
    grouper = Grouper(open_days=14)
    text = ("A car bomb exploded near a checkpoint in Tuz Khurmatu on Monday, killing three policemen, "
            "security officials said.")
    old = make_article("old", "Desk A", "2024-03-04T08:00:00Z", "Car bomb kills three policemen in Tuz Khurmatu", text)
    old_incident = incident(date="2024-03-04", governorate="Salah al-Din", place="Tuz Khurmatu", attack_type="vbied",
                            killed=3)
    first = grouper.add(old, flagged(old_incident))
    assert grouper.duplicates.add("probe", text) == "old"  # a copy published the same week is recognised
    grouper.duplicates.forget("probe")

    later = make_article("later", "Desk B", "2024-04-01T08:00:00Z", "Rocket hits Ain al-Asad air base",
                         "Two rockets struck Ain al-Asad air base in Anbar on Monday, causing no casualties.")
    grouper.add(later, flagged(incident(date="2024-04-01", governorate="Anbar", place="Ain al-Asad",
                                        attack_type="rocket_missile", killed=0)))
    assert "old" not in grouper.links and "old" not in grouper.seen and "old" not in grouper.added
    assert "old" not in grouper.duplicates and first.event_ids[0] not in grouper.events
    assert grouper.duplicates.add("copy", text) is None  # four weeks on, the old text is no longer indexed
    assert "later" in grouper.links and "later" in grouper.duplicates
