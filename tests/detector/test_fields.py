"""Incident field extraction: numbers, casualties, dates, foiled, claims."""

import datetime as dt

from detector.casualties import extract_casualties, parse_number
from detector.context import describe_sentences, parse_article_date, resolve_date, strip_attribution_day
from detector.fields import extract_incidents
from detector.gazetteer import resolve_governorate
from detector.matcher import analyse_article, match_sentence


def test_parse_number_words():
    assert parse_number("two") == 2
    assert parse_number("twenty-five") == 25
    assert parse_number("1,400") == 1400
    assert parse_number("dozens") == 24
    assert parse_number("ثلاثة", "ar") == 3


def test_casualties_highest_figure():
    killed, wounded = extract_casualties(
        ["A car bomb killed at least 12 people and wounded 30.", "The death toll rose to 15, police said."], "en"
    )
    assert killed == 15 and wounded == 30


def test_casualties_number_words_and_none():
    assert extract_casualties(["Two soldiers were killed and three others injured."], "en") == (2, 3)
    assert extract_casualties(["Rockets hit the base; no casualties were reported."], "en") == (0, 0)
    assert extract_casualties(["Rockets hit the base."], "en") == (None, None)


def test_arabic_casualties():
    killed, wounded = extract_casualties(["مقتل 5 أشخاص وإصابة 12 آخرين بانفجار سيارة مفخخة"], "ar")
    assert killed == 5 and wounded == 12
    assert extract_casualties(["ارتفاع عدد ضحايا التفجير إلى 80 قتيلا"], "ar")[0] == 80
    assert extract_casualties(["مقتل شرطي في هجوم"], "ar")[0] == 1


def test_date_resolution_relative_days():
    article = dt.date(2021, 12, 19)  # a Sunday
    assert resolve_date([match_sentence("Rockets were fired early on Sunday", "en")], "en", article) == "2021-12-19"
    assert resolve_date([match_sentence("Gunmen attacked a checkpoint on Friday", "en")], "en", article) == "2021-12-17"
    assert resolve_date([match_sentence("A bomb exploded yesterday", "en")], "en", article) == "2021-12-18"
    assert resolve_date([match_sentence("انفجار عبوة ناسفة أمس في بغداد", "ar")], "ar", article) == "2021-12-18"
    assert resolve_date([match_sentence("The attack on December 15 killed two", "en")], "en", article) == "2021-12-15"
    assert resolve_date([match_sentence("A bomb exploded", "en")], "en", None) is None


def test_parse_article_date_formats():
    assert parse_article_date("2023-10-20T04:32:40+00:00") == dt.date(2023, 10, 20)
    assert parse_article_date(None) is None
    assert parse_article_date("garbage") is None


def _incidents(title: str, text: str, date: str | None = "2021-12-19", language: str = "en") -> list[dict]:
    analysis = analyse_article(title, text, language)
    article = parse_article_date(date)
    return extract_incidents(analysis, describe_sentences(analysis, article), article)


def test_foiled_and_claimed():
    incidents = _incidents(
        "Security forces foil bomb plot in Kirkuk",
        "Iraqi security forces on Saturday defused two roadside bombs in Kirkuk. Islamic State claimed responsibility for an earlier plot.",
    )
    assert incidents[0]["foiled"] is True
    assert incidents[0]["governorate"] == "Kirkuk"
    assert incidents[0]["attack_type"] == "ied"
    assert incidents[0]["date"] == "2021-12-18"


def test_claimed_by_actor():
    incidents = _incidents("", "Islamic State militants attacked an army checkpoint in Tarmiyah on Friday, killing three soldiers.")
    assert incidents[0]["claimed_by"] == "Islamic State"
    assert incidents[0]["governorate"] == "Baghdad"
    assert incidents[0]["killed"] == 3
    assert incidents[0]["target"] == "iraqi_security"


def test_background_month_is_not_an_incident():
    incidents = _incidents("", "In September, a drone attack hit Erbil's international airport.")
    assert incidents == []


def test_casualties_single_victim_tallies_and_ages():
    assert extract_casualties(["Gunmen shoot dead Iraqi activist in Basra"], "en")[0] == 1
    assert extract_casualties(["Ali, 46, was killed on the spot."], "en")[0] == 1
    assert extract_casualties(["Drone strike claims four lives"], "en")[0] == 4
    assert extract_casualties(["So far this year, 7,157 civilians have died."], "en")[0] is None


def test_dateline_and_reference_places_are_secondary():
    analysis = analyse_article("", "BAGHDAD, Iraq -- A car bomb exploded in Baiji, 150 miles north of Baghdad.", "en")
    lead = analysis.sentences[0]
    assert [p.name for p in lead.places] == ["Baiji"]
    assert lead.in_iraq


def test_claimed_by_only_from_attribution():
    # the coalition convoy is the target, not the attacker
    incidents = _incidents(
        "",
        "Iraqi security forces thwarted an attempt to attack a logistics convoy of the US-led coalition on Sunday. "
        "Two roadside bombs were found on the road south of Baghdad.",
    )
    assert incidents and incidents[0]["claimed_by"] == ""
    claimed = _incidents("", "A car bomb exploded in Kirkuk on Sunday. The Islamic State claimed responsibility for the attack.")
    assert claimed[0]["claimed_by"] == "Islamic State"


def test_generic_attack_types():
    assert _incidents("", "A bomb exploded near a shrine in Kadhimiya on Wednesday, killing seven.")[0]["attack_type"] == "ied"
    assert _incidents("", "A large explosion was heard in central Baghdad on Thursday.")[0]["attack_type"] == ""
    assert _incidents("", "Insurgents attacked police stations in Baghdad on Friday, killing 20.")[0]["attack_type"] == "armed_assault"
    assert _incidents("", "Masked gunmen shot dead an activist in Basra on Tuesday.")[0]["attack_type"] == "assassination"


def test_round_up_total_does_not_lead():
    incidents = _incidents(
        "",
        "At least 19 people were killed on Tuesday in bombings across Iraq, police said. "
        "A roadside bomb at a cattle market in Kirkuk killed six people.",
    )
    assert incidents[0]["governorate"] == "Kirkuk"
    assert incidents[0]["killed"] == 6


def test_killed_is_the_specific_incident_not_the_round_up():
    # labels: the first incident's own figure, not the lead's total over several places or days
    incidents = _incidents(
        "",
        "At least 17 people were killed Thursday in bomb attacks in a city near Baghdad and in Kirkuk, police said. "
        "Police said 10 people were killed when insurgents placed bombs around a house in Musayyeb.",
    )
    assert incidents[0]["killed"] == 10
    incidents = _incidents(
        "",
        "A roadside bomb and then a car bomb killed at least 10 people near a mosque north of Baghdad on Saturday. "
        "On Friday, at least 21 people were killed in shootings and explosions across the country, officials say.",
    )
    assert incidents[0]["killed"] == 10


def test_killed_adds_named_victim_and_others():
    incidents = _incidents(
        "",
        "The head of the Ramadi Awakening Council was killed Tuesday in a suicide bombing in Anbar province. "
        "At least four others were also killed in the blast, they said.",
    )
    assert incidents[0]["killed"] == 5


def test_no_casualties_in_title_wins_over_later_figures():
    incidents = _incidents(
        "Rockets hit Ain al-Asad air base, no casualties reported",
        "At least three rockets landed on Monday on the Ain al-Asad air base in Anbar. "
        "Two contractors were killed in a rocket attack on the same base last year.",
    )
    assert incidents[0]["killed"] == 0


def test_arabic_killed_forms():
    assert extract_casualties(["قال مسؤول إن 12 شخصا على الأقل قتلوا اليوم السبت عندما هاجم انتحاريان"], "ar")[0] == 12
    assert extract_casualties(["داعش يفجر حمام سباحة ويقتل 12 شخصاً"], "ar")[0] == 12
    assert extract_casualties(["العراق: مقتل «19» من عناصر داعش"], "ar")[0] == 19
    assert extract_casualties(["أسفرت الضربة عن مقتل جنديين"], "ar")[0] == 2


def test_nationwide_round_up_has_no_governorate():
    incidents = _incidents("Fierce fighting in Iraq", "BAGHDAD, Sept 12: At least 45 people died in a wave of bombings and battles on Sunday.")
    assert incidents and incidents[0]["governorate"] == ""


def test_turkish_raid_is_an_air_strike():
    incidents = _incidents("", "The Turkish military bombed PKK rebel targets Saturday in Duhok province in northern Iraq.")
    assert incidents[0]["attack_type"] == "air_strike"


def test_arabic_vague_toll_does_not_lead():
    incidents = _incidents(
        "مقتل العشرات من عناصر داعش غربي العراق",
        "لقي العشرات من عناصر داعش مصرعهم في المواجهات الجارية بمحافظة الانبار. "
        "وأعلن مصدر أمني عن مقتل سبعة من قادة داعش بقصف مدفعي في الفلوجة.",
        language="ar",
    )
    assert incidents[0]["killed"] == 7


def test_attribution_day_is_not_the_incident_day():
    article = dt.date(2024, 2, 9)  # a Friday
    assert strip_attribution_day("Two were killed on Tuesday, police said Thursday", "en").strip().endswith("police")
    sentence = match_sentence("A bomb killed two soldiers in Kirkuk on Tuesday, officials said Thursday.", "en")
    assert resolve_date([sentence], "en", article) == "2024-02-06"
    sentence = match_sentence("Gunmen attacked a checkpoint in Diyala, police told reporters on Wednesday.", "en")
    assert resolve_date([sentence], "en", article) == "2024-02-09"


def test_explicit_date_wins_over_weekday():
    article = dt.date(2024, 2, 9)  # a Friday
    sentence = match_sentence("Late on Friday, February 2, jets struck two sites near Qaim.", "en")
    assert resolve_date([sentence], "en", article) == "2024-02-02"


def test_reporting_day_does_not_split_an_incident():
    incidents = _incidents(
        "",
        "A car bomb went off in Baghdad's Green Zone, officials said Saturday. "
        "The car bomb attack Monday left three people dead and six others wounded in the Green Zone.",
        date=None,
    )
    assert len(incidents) == 1
    assert incidents[0]["killed"] == 3 and incidents[0]["wounded"] == 6


def test_second_figure_after_a_first_one():
    assert extract_casualties(["The blast left four people dead and eleven others injured."], "en") == (4, 11)
    assert extract_casualties(["Officials said 9 people, among them children, were killed."], "en")[0] == 9


def test_shooting_down_drones_kills_nobody():
    assert extract_casualties(["Air defences shot down three drones over the base."], "en") == (None, None)
    assert extract_casualties(["Police shot dead two attackers at the gate."], "en")[0] == 2


def test_hostages_held_in_iraq_form_an_incident():
    incidents = _incidents("Ministry seeks release of hostages", "Two Nepali engineers were taken hostage in Iraq, their ministry said.")
    assert incidents and incidents[0]["attack_type"] == "abduction"
    assert incidents[0]["governorate"] == ""


def test_title_naming_two_governorates_heads_the_body_incidents():
    title = "Attack on Baghdad base and storming of office in Basra"
    text = "Two mortar shells fell inside a base in Baghdad on Thursday. In Basra, protesters stormed a party office."
    first = _incidents(title, text)[0]
    assert (first["governorate"], first["attack_type"]) == ("Baghdad", "mortar_artillery")


def test_arabic_patterns_match_normalised_spellings():
    # "قتلى", "جرحى" and "خسائر" are folded to "قتلي", "جرحي" and "خساير" before matching
    assert extract_casualties(["سقوط 4 قتلى و7 جرحى في انفجار"], "ar") == (4, 7)
    assert extract_casualties(["سقطت قذيفة على مبنى دون وقوع خسائر"], "ar") == (0, 0)


def test_arabic_shells_falling_are_no_toll():
    assert extract_casualties(["أعلنت الشرطة سقوط 3 قذائف هاون قرب مطار بغداد"], "ar") == (None, None)


def test_arabic_assassination_of_one_person():
    assert extract_casualties(["اغتيال محام بارز في البصرة"], "ar")[0] == 1
    assert extract_casualties(["نجا مسؤول من محاولة اغتيال في البصرة"], "ar")[0] is None
    assert extract_casualties(["اغتيال ناشطين في البصرة"], "ar")[0] is None


def test_gazetteer_towns():
    assert resolve_governorate("Injana") == "Diyala"
    assert resolve_governorate("Musayyeb") == "Babil"
    assert resolve_governorate("Akre") == "Duhok"
    assert resolve_governorate("خان بني سعد") == "Diyala"
