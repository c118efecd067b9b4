"""Over-splitting and wrong merges: the root causes found on a real stream, each on short texts written here."""

from __future__ import annotations

import io

import pytest

from grouping.commands import check_grouping_article, read_articles
from grouping.events import MatchWeights
from grouping.extract import read_incidents
from grouping.grouper import Grouper, GroupingResult
from grouping_helpers import flagged, incident, make_article

DRONE_ERBIL_14 = incident(date="2024-05-14", governorate="Erbil", place="Erbil airport", attack_type="drone",
                          target="us_coalition")


def created_alerts(*results) -> int:
    return sum(1 for result in results for change in result.changes if change[0] == "incident.created")


def test_late_reports_in_two_languages_of_an_undated_attack_are_one_event() -> None:
    grouper = Grouper()
    reports = [
        ("e1", "2024-04-08T16:00:00+00:00", "Militia drones pose growing threat to US troops",
         "A drone that slammed into the barracks of American soldiers in Iraq shows how exposed the bases are."),
        ("e2", "2024-04-12T09:00:00+00:00", "Dron uderzył w amerykańskie koszary",
         "Wadliwy dron przebił się przez obronę powietrzną i trafił w piętro koszar, gdzie spali amerykańscy "
         "żołnierze. Ładunek nie wybuchł."),
        ("e3", "2024-04-13T07:00:00+00:00", "Faulty drone spared US troops in Erbil",
         "The drone launched at Erbil air base before dawn on March 28 slipped past air defenses and hit an upper "
         "floor of the barracks, but it was defective and did not explode."),
    ]
    first, polish, dated = [grouper.add(make_article(key, f"Outlet {key}", when, title, text), flagged())
                            for key, when, title, text in reports]
    assert first.created and polish.event_ids == first.event_ids and dated.event_ids == first.event_ids
    event = grouper.events[first.event_ids[0]]
    assert event.governorate == "Erbil" and event.days and event.days[-1].isoformat() == "2024-03-28"
    assert created_alerts(first, polish, dated) == 1


@pytest.mark.parametrize("reports", [
    pytest.param([("2024-04-08T16:00:00+00:00", "Drone attacks on US troops in Iraq continue",
                   "A drone targeted US troops in Iraq, officials said."),
                  ("2024-04-12T09:00:00+00:00", "Drone targets US troops in Iraq",
                   "A drone targeted American troops in Iraq, a US official said.")], id="undated-no-shared-detail"),
    pytest.param([("2024-04-02T10:00:00+00:00", "Drone hits barracks at Harir base",
                   "A drone hit the barracks at Harir base on Tuesday."),
                  ("2024-04-06T10:00:00+00:00", "Drone hits barracks at Harir base again",
                   "A drone hit the barracks at Harir base on Saturday.")], id="shared-detail-other-day"),
])
def test_reports_days_apart_stay_apart_without_a_detail_or_with_another_stated_day(
    reports: list[tuple[str, str, str]],
) -> None:
    grouper = Grouper()
    first, later = [grouper.add(make_article(f"f{n}", f"Outlet {n}", when, title, text), flagged())
                    for n, (when, title, text) in enumerate(reports)]
    assert first.event_ids and later.created and later.event_ids != first.event_ids


def test_a_bare_attacked_is_not_an_armed_assault_that_splits_the_attack() -> None:
    grouper = Grouper()
    bare = grouper.add(make_article(
        "g1", "Outlet One", "2024-05-07T16:00:00+00:00", "US forces attacked at Iraq air base", ""),
        flagged(incident(date="2024-05-07", attack_type="armed_assault", target="us_coalition")))
    missiles = grouper.add(make_article(
        "g2", "Outlet Two", "2024-05-07T19:00:00+00:00", "Missiles fired at Ain al-Asad air base",
        "Militants fired short-range missiles at Ain al-Asad air base in western Iraq on Tuesday."),
        flagged(incident(date="2024-05-07", governorate="Anbar", place="Ain al-Asad air base",
                         attack_type="rocket_missile", target="us_coalition")))
    assert missiles.event_ids == bare.event_ids
    assert grouper.events[bare.event_ids[0]].attack_types == ["rocket_missile"]
    gunmen = read_incidents(make_article(
        "g3", "Outlet Three", "2024-05-07T19:00:00+00:00", "Gunmen attack checkpoint",
        "Gunmen opened fire on an army checkpoint in Diyala."),
        [incident(attack_type="armed_assault", target="iraqi_security")])
    assert gunmen[0].attack_types == ("armed_assault",)


def test_the_toll_of_a_strike_is_not_the_toll_of_the_attack_it_answers() -> None:
    article = make_article(
        "h1", "Outlet One", "2024-05-08T02:00:00+00:00", "US gunship kills 3 militants after missile attack",
        "A US gunship fired on the militants after they launched missiles at Ain al-Asad air base, killing 3.")
    sigs = read_incidents(article, [incident(date="2024-05-08", governorate="Anbar", place="Ain al-Asad air base",
                                             attack_type="rocket_missile", target="other", killed=3)])
    strike = [s for s in sigs if s.side == "state"]
    attack = [s for s in sigs if s.side == "armed_group"]
    assert strike and strike[0].killed == 3
    assert attack and attack[0].killed is None and attack[0].place == "Ain al-Asad air base"


def test_a_place_the_text_gives_another_incident_is_not_copied_from_the_detector() -> None:
    article = make_article(
        "i1", "Outlet One", "2024-05-09T10:00:00+00:00", "Attacks in Iraq",
        "In separate incidents, drones targeted US positions in Iraq, and two rockets were aimed at the Baghdad "
        "Diplomatic Support Center.")
    sigs = read_incidents(article, [incident(governorate="Baghdad", place="Baghdad airport", attack_type="drone",
                                             target="diplomatic")])
    drones = [s for s in sigs if "drone" in s.attack_types]
    rockets = [s for s in sigs if "rocket_missile" in s.attack_types]
    assert drones and drones[0].place is None and drones[0].governorate is None
    assert rockets and rockets[0].governorate == "Baghdad"


def test_a_report_saying_neither_what_nor_where_is_completed_by_the_next_one() -> None:
    def run(weights: MatchWeights | None = None) -> tuple[GroupingResult, GroupingResult]:
        grouper = Grouper(weights=weights)
        stub = grouper.add(make_article(
            "j1", "Outlet One", "2024-05-10T14:00:00+00:00", "US troops targeted again in Iraq",
            "Attacks on American troops continue."), flagged())
        detail = grouper.add(make_article(
            "j2", "Outlet Two", "2024-05-10T20:00:00+00:00", "Pentagon reports drone launched at base",
            "Iran-backed militias sent a drone toward a base housing US troops in Iraq on Friday, the Pentagon "
            "said."), flagged())
        return stub, detail

    stub, detail = run()
    assert stub.changes == [] and detail.event_ids == stub.event_ids
    assert created_alerts(stub, detail) == 1
    stub, detail = run(MatchWeights(pending=0.0))  # without waiting for what and where: two incidents
    assert detail.event_ids != stub.event_ids


def test_a_feature_summary_starts_no_incident() -> None:
    grouper = Grouper()
    feature = grouper.add(make_article(
        "k1", "Outlet One", "2024-05-12T12:00:00+00:00", "Tensions rise in Iraq",
        "Clashes at positions across Iraq have picked up in the past week, residents say."), flagged())
    assert feature.event_ids == [] and feature.changes == []
    tolled = grouper.add(make_article(
        "k2", "Outlet Two", "2024-05-12T13:00:00+00:00", "Troops hurt in attacks on bases",
        "Drone attacks on bases in Iraq last week wounded 12 US troops."), flagged())
    assert tolled.created


def test_a_report_on_attacks_in_iraq_and_syria_joins_each_attack_of_its_days() -> None:
    grouper = Grouper()
    asad = grouper.add(make_article(
        "l1", "Outlet One", "2024-05-14T08:00:00+00:00", "Drone attack on Ain al-Asad",
        "A drone targeted Ain al-Asad air base in Anbar on Tuesday."),
        flagged(incident(date="2024-05-14", governorate="Anbar", place="Ain al-Asad air base", attack_type="drone",
                         target="us_coalition")))
    erbil = grouper.add(make_article(
        "l2", "Outlet Two", "2024-05-14T09:00:00+00:00", "Drone attack on Erbil airport",
        "A drone targeted the base at Erbil airport on Tuesday."), flagged(DRONE_ERBIL_14))
    summary = grouper.add(make_article(
        "l3", "Outlet Three", "2024-05-14T20:00:00+00:00", "US forces in Iraq and Syria come under attack",
        "US troops were targeted by drones on Tuesday, officials said."), flagged())
    assert set(summary.event_ids) == set(asad.event_ids) | set(erbil.event_ids)


def test_read_articles_checks_each_record_and_reports_bad_lines(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ['{"id": "a", "title": "t", "text": "x"}', "", "not json", "[1]", '{"id": ""}', '{"id": "b", "text": 3}']
    stream = io.StringIO("\n".join(lines) + "\n")
    assert [(n, a["id"]) for n, a in read_articles(stream)] == [(1, "a")]
    errors = capsys.readouterr().err
    assert "line 3: skipped, invalid JSON" in errors and "line 4: skipped, expected a JSON object" in errors
    assert "line 5: skipped, no \"id\"" in errors and "line 6: skipped" in errors
    assert check_grouping_article({"id": 7}) is None
