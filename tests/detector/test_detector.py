"""End-to-end detector behaviour, the seed article and the bundled model."""

import json
import pickle

import numpy as np

from detector import Detection, Detector
from detector.model import MODEL_PATH, load_models


def test_green_zone_rocket_flagged(detector):
    d = detector.detect("Rocket hits Baghdad's Green Zone", "A rocket hit the Green Zone in Baghdad on Sunday, police said.", "2021-12-19")
    assert isinstance(d, Detection)
    assert d.flagged
    assert d.incidents[0]["governorate"] == "Baghdad"
    assert d.incidents[0]["attack_type"] == "rocket_missile"


def test_syria_attack_with_iraq_elsewhere_not_flagged(detector):
    d = detector.detect(
        "Drone strike hits US base in Syria",
        "A drone strike hit a US base in eastern Syria on Sunday, wounding two soldiers. "
        "In other news, Iraq's parliament met to discuss the budget.",
        "2023-10-22",
    )
    assert not d.flagged
    assert d.incidents == []


def test_launched_from_iraq_not_flagged(detector):
    d = detector.detect(
        "Drone from Iraq hits Jordan",
        "A drone launched from Iraq struck a military post in Jordan on Sunday, the Jordanian army said.",
        "2024-01-28",
    )
    assert not d.flagged


def test_arabic_attack_flagged(detector):
    d = detector.detect("مقتل خمسة بانفجار سيارة مفخخة في بغداد", "قتل خمسة اشخاص واصيب عشرة اخرون اليوم الاحد بانفجار سيارة مفخخة في حي الكرادة وسط بغداد.", "2016-07-03")
    assert d.flagged
    assert d.incidents[0]["governorate"] == "Baghdad"
    assert d.incidents[0]["attack_type"] == "car_bomb"
    assert d.incidents[0]["killed"] == 5


def test_footballer_named_baghdad_not_flagged(detector):
    d = detector.detect("بغداد بونجاح أفضل لاعب في السد", "تحصل المهاجم الجزائري بغداد بونجاح على جائزة أفضل لاعب في الفريق.", "2017-10-05")
    assert not d.flagged


def test_explanation_is_json_serialisable(detector):
    d = detector.detect("Rocket hits Baghdad's Green Zone", "A rocket hit the Green Zone in Baghdad on Sunday.", "2021-12-19")
    data = d.to_dict()
    assert set(data) == {"flagged", "score", "why", "incidents", "explanation"}
    json.dumps(data)
    for key in ("terms", "places", "sentences", "score", "threshold"):
        assert key in d.explanation
    assert "rocket" in d.why and "Green Zone" in d.why


def test_keyword_stage(detector):
    k = detector.keyword_stage("Rocket hits Baghdad", "A rocket hit Baghdad.")
    assert k.candidate and "Baghdad" in k.places
    assert not detector.keyword_stage("Markets rally", "Stocks rose in London.").candidate


def test_model_file_loads_without_pickle_and_scores_deterministically(detector):
    with np.load(MODEL_PATH, allow_pickle=False) as data:
        assert "meta" in data
    assert MODEL_PATH.stat().st_size < 1_000_000
    models = load_models()
    assert {"en", "ar"} <= set(models)
    for model in models.values():
        assert 0.0 < model.threshold < 1.0
    a = Detector().detect("Bomb kills 5 in Kirkuk", "A bomb killed five people in Kirkuk on Monday.", "2015-03-02")
    b = detector.detect("Bomb kills 5 in Kirkuk", "A bomb killed five people in Kirkuk on Monday.", "2015-03-02")
    assert a.score == b.score and a.to_dict() == b.to_dict()


def test_detector_is_picklable(detector):
    clone = pickle.loads(pickle.dumps(detector))
    assert clone.detect("x", "A rocket hit the Green Zone on Sunday.").score == detector.detect("x", "A rocket hit the Green Zone on Sunday.").score


def test_seed_article(detector, seed_article):
    title, text = seed_article
    d = detector.detect(title, text, "2021-12-19")
    assert d.flagged
    assert len(d.incidents) == 2
    rocket, bombs = d.incidents
    assert rocket["attack_type"] == "rocket_missile"
    assert rocket["governorate"] == "Baghdad"
    assert rocket["place"] == "Green Zone"
    assert rocket["target"] in {"diplomatic", "us_coalition"}
    assert rocket["date"] == "2021-12-19"
    assert rocket["foiled"] is False  # one rocket shot down, the other landed
    assert rocket["claimed_by"] == ""
    assert bombs["attack_type"] == "ied"
    assert bombs["foiled"] is True
    assert bombs["governorate"] == "Baghdad"
    assert bombs["target"] == "us_coalition"
    assert all(i["evidence"] for i in d.incidents)


def test_attack_abroad_title_needs_an_iraqi_place(detector):
    d = detector.detect(
        "Drone attack kills three US soldiers at outpost in Jordan",
        "Three US soldiers were killed when a drone struck an outpost in Jordan on Sunday. "
        "The Islamic Resistance in Iraq said it had launched drones at US positions.",
        "2024-01-29",
    )
    assert not d.flagged


def test_seed_bombs_not_claimed_by_their_target(detector, seed_article):
    title, text = seed_article
    d = detector.detect(title, text, "2021-12-19")
    assert [i["claimed_by"] for i in d.incidents] == ["", ""]


def test_models_stack_rule_and_text_log_odds():
    for model in load_models().values():
        assert model.text_coef is not None and 0.0 < model.stack_weight < 1.0
        rules, hashed, text = {}, {}, {1: 0.5}
        z = model.decision(rules, hashed, text)
        expected = model.stack_weight * model.rule_decision(rules, hashed) + (1 - model.stack_weight) * model.text_decision(text)
        assert abs(z - expected) < 1e-9


def test_articles_outside_the_keyword_stage_score_zero(detector):
    d = detector.detect("Iraq's parliament passes the budget", "Lawmakers in Baghdad approved the 2024 budget on Monday.", "2024-03-04")
    assert d.score == 0.0 and not d.flagged
