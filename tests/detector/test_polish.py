"""The Polish keyword-rule path: language check, folding, stem matching,
sentence-level rule, exclusions, number words and incident fields.

Sentences here are written for the tests; the real stream is read from the
shared data directory at run time.
"""

import json

import pytest

from detector import Detection
from detector.lexicon_pl import normalize_polish, repair_mojibake
from detector.polish import (
    THRESHOLD,
    analyse_polish,
    detect_polish,
    extract_casualties,
    is_polish,
    match_polish_sentence,
    parse_polish_number,
    split_polish_sentences,
)


def flagged(title: str, text: str, date: str = "2023-12-05") -> bool:
    return detect_polish(title, text, date)["flagged"]


# --- language -----------------------------------------------------------


@pytest.mark.parametrize(
    "title, text",
    [
        ("Drony zaatakowały bazę w Iraku", "Dwa drony uderzyły w bazę, w której stacjonują żołnierze."),
        ("Dron zaatakowal baze w Iraku", "Nie bylo rannych, jak podaje agencja, a zolnierze sa juz bezpieczni i to jest dla nich dobra wiadomosc."),
    ],
)
def test_polish_text_is_polish(title, text):
    assert is_polish(title, text)


@pytest.mark.parametrize(
    "title, text",
    [
        ("Łukasz Błaszczykowski scores twice", "The Polish winger Łukasz Błaszczykowski scored twice in Kraków on Sunday."),
        ("Rocket hits Baghdad's Green Zone", "A rocket hit the Green Zone in Baghdad on Sunday, police said."),
        ("Útok dronu na základnu v Iráku", "Dva drony zaútočily na základnu, kde jsou američtí vojáci, že ano."),
        ("مقتل خمسة بانفجار في بغداد", "قتل خمسة اشخاص اليوم الاحد بانفجار سيارة مفخخة."),
        ("", ""),
    ],
)
def test_other_languages_are_not_polish(title, text):
    assert not is_polish(title, text)


# --- normalisation and matching ------------------------------------------


def test_normalize_folds_case_diacritics_and_hyphens():
    assert normalize_polish("Żołnierze zestrzelili drona nad Ain Al-Asad!") == " zolnierze zestrzelili drona nad ain al asad "


def test_mojibake_is_repaired():
    assert repair_mojibake("Prezydent odniĂłsł się do atakĂłw") == "Prezydent odniósł się do ataków"
    assert repair_mojibake("Ärger über Bagdad") == "Ärger über Bagdad"


@pytest.mark.parametrize(
    "sentence, governorate",
    [
        ("Rakiety spadły w Bagdadzie.", "Baghdad"),
        ("Bomba wybuchła pod Mosulem.", "Nineveh"),
        ("Doszło do ataku w Kirkuku.", "Kirkuk"),
        ("Dron uderzył w lotnisko w Erbilu.", "Erbil"),
        ("Drony zaatakowały bazę Ain al-Asad.", "Anbar"),
        ("Zamach w Falludży.", "Anbar"),
        ("Wybuch w Basrze.", "Basra"),
        ("Atak na posterunek w Tikricie.", "Salah al-Din"),
        ("Ostrzał bazy Harir.", "Erbil"),
    ],
)
def test_inflected_places_resolve_to_codebook_governorates(sentence, governorate):
    match = match_polish_sentence(sentence)
    assert match.has_attack
    assert governorate in {p.governorate for p in match.places}


def test_inflected_attack_words_match_by_stem():
    for sentence in ("Atakami na bazy.", "Zaatakowali patrol.", "Ostrzelano konwój.", "Po nalotach.", "W eksplozji."):
        assert match_polish_sentence(sentence).has_attack, sentence


def test_weapon_needs_an_action_word():
    assert not match_polish_sentence("Irak kupił drony i rakiety od Turcji.").has_attack
    assert match_polish_sentence("Drony uderzyły w koszary.").has_attack


def test_look_alikes_are_blocked():
    assert not match_polish_sentence("Minister przeszedł atak serca w Bagdadzie.").has_attack
    assert not match_polish_sentence("Baszar al-Asad przyjął gości.").places
    assert not match_polish_sentence("Irakijczyk zaatakował nożem przechodnia.").in_iraq


def test_reporting_tail_is_not_matched():
    match = match_polish_sentence("Naloty zniszczyły kryjówki w północnym Iraku - przekazało ministerstwo w Ankarze.")
    assert not match.foreign and match.in_iraq


def test_sentences_split_before_polish_capitals_and_not_after_abbreviations():
    pieces = split_polish_sentences("Drony spadły na bazę. Żołnierze są cali. Rzecznik gen. Kowalski to potwierdził.")
    assert pieces == ["Drony spadły na bazę.", "Żołnierze są cali.", "Rzecznik gen. Kowalski to potwierdził."]


# --- sentence-level rule ---------------------------------------------------


def test_attack_in_iraq_is_flagged():
    d = detect_polish("Rakiety spadły na bazę w Iraku", "W nocy kilka rakiet uderzyło w bazę wojsk koalicji w Iraku.", "2023-12-05")
    assert d["flagged"] and d["score"] == 0.9
    assert "Iraq" in d["explanation"]["places"]


def test_syria_only_sentence_with_iraq_elsewhere_is_not_flagged():
    d = detect_polish(
        "Drony zaatakowały bazę USA w Syrii",
        "Dwa drony uderzyły w bazę we wschodniej Syrii. Irak prowadzi rozmowy o budżecie.",
        "2023-12-05",
    )
    assert not d["flagged"]
    assert d["incidents"] == []


def test_militia_in_iraq_attacking_syria_is_not_flagged():
    assert not flagged("Nowe ataki na bazy", "Bojówki w Iraku oświadczyły, że zaatakowały dwie bazy w Syrii.")


def test_iraq_and_syria_need_a_concrete_detail():
    assert not flagged("Ataki na bazy w Iraku i Syrii", "Doradca mówi, że bazy w Iraku i Syrii były celem ataków.")
    assert flagged("Ataki na bazy w Iraku i Syrii", "W atakach na bazy w Iraku i Syrii rannych zostało trzech żołnierzy.")


def test_launched_from_iraq_is_not_flagged():
    d = detect_polish("Dron z Iraku", "Dron wystrzelony z Iraku spadł na posterunek w Jordanii.", "2023-12-05")
    assert not d["flagged"]


def test_title_attack_placed_by_lead():
    d = detect_polish("Nieudany atak na koszary", "Wadliwy dron w Iraku nie wyrządził szkód.", "2023-12-05")
    assert d["flagged"] and d["score"] == 0.8


def test_attacker_nationality_does_not_place_the_attack():
    assert not flagged("Atak nożownika w Monachium", "Sprawcą jest obywatel Iraku mieszkający w mieście od lat.")
    assert not flagged("Nożownik zaatakował przechodniów", "Napastnik pochodzi z Iraku.")


def test_explosion_called_an_accident_is_not_flagged():
    assert not flagged("Wybuch w rafinerii w Basrze", "Przyczyną była awaria instalacji.")
    assert flagged("Eksplozja w Bagdadzie", "W eksplozji na targu zginęło pięć osób.")


def test_later_sentence_with_only_iraq_is_below_threshold():
    d = detect_polish("Wybory lokalne", "Głosowanie trwało do wieczora. Potem doszło do strzelaniny w Iraku.", "2023-12-05")
    assert d["score"] < THRESHOLD and not d["flagged"]


def test_later_sentence_with_a_city_is_flagged():
    d = detect_polish("Wybory lokalne", "Głosowanie trwało do wieczora. Potem doszło do strzelaniny w Kirkuku.", "2023-12-05")
    assert d["flagged"] and d["score"] == 0.7


@pytest.mark.parametrize(
    "title, text",
    [
        ("Prezydent ostrzega", "Jeśli bojówki zaatakują bazy w Iraku, odpowiemy zdecydowanie."),
        ("Premier potępia", "Premier potępił atak na posterunek w Bagdadzie."),
        ("MSZ odradza podróże", "Resort odradza wyjazdy do Iraku z powodu ryzyka zamachów."),
        ("Ćwiczenia wojsk", "Żołnierze prowadzą w Iraku ćwiczenia z ostrzałem artyleryjskim."),
        ("Rocznica zamachu", "W rocznicę zamachu w Bagdadzie złożono kwiaty."),
        ("Wspomnienie", "W 2016 roku w zamachu w Bagdadzie zginęło wielu ludzi."),
        ("Raport Pentagonu", "Bazy w Iraku są celem ciągłych ataków."),
        ("Raport Pentagonu", "Od 17 października bazy w Iraku zaatakowano ponad 60 razy."),
        ("Mecz", "Irak zaatakował w drugiej połowie meczu i strzelił gola."),
        ("Książka reportera", "Autor opisuje historie zamachów w Bagdadzie."),
        ("Premiera w kinach", "Film opowiada o snajperze, który walczył w Falludży."),
        ("Wybuch pandemii", "Wybuch pandemii w Iraku zaskoczył lekarzy."),
        ("Spokojnie w Iraku", "W Iraku nie doszło do żadnych ataków."),
    ],
)
def test_exclusions_are_not_flagged(title, text):
    assert not flagged(title, text)


def test_arrest_of_bombers_counts_as_foiled_attack():
    d = detect_polish(
        "Udaremniony zamach",
        "Policja w Kirkuku zatrzymała dwóch mężczyzn podkładających ładunek wybuchowy przy drodze.",
        "2023-12-05",
    )
    assert d["flagged"]
    assert d["incidents"][0]["foiled"] is True
    assert d["incidents"][0]["attack_type"] == "ied"


# --- numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Rannych zostało dwudziestu czterech żołnierzy.", (None, 24)),
        ("Ponad 20 rannych.", (None, 20)),
        ("Zginęło dwóch żołnierzy, a trzech zostało rannych.", (2, 3)),
        ("W ataku zginęło co najmniej pięć osób.", (5, None)),
        ("Zginął jeden policjant.", (1, None)),
        ("Nikt nie zginął ani nie został ranny.", (0, 0)),
        ("Dwa drony spadły w 2023 roku, 37-letni mężczyzna patrzył.", (None, None)),
        ("Kilkunastu żołnierzy odniosło obrażenia.", (None, 12)),
        ("Zginęło w stolicy wielu ludzi, a piecyk wybuchł.", (None, None)),
    ],
)
def test_casualty_figures_with_polish_number_words(text, expected):
    assert extract_casualties([text]) == expected


def test_number_words_parse():
    assert parse_polish_number("dwudziestu") == 20
    assert parse_polish_number("dwudziestu", "czterech") == 24
    assert parse_polish_number("dwoch") == 2
    assert parse_polish_number("2023") is None


# --- incident fields and the Detection shape --------------------------------


def test_incident_fields():
    d = detect_polish(
        "Drony zaatakowały bazę Ain al-Asad",
        "Dwa drony zaatakowały we wtorek bazę Ain al-Asad, gdzie stacjonują żołnierze USA. "
        "Dwóch żołnierzy zostało rannych. Do ataku przyznała się proirańska bojówka Kataib Hezbollah.",
        "2023-12-07",
    )
    incident = d["incidents"][0]
    assert incident["governorate"] == "Anbar"
    assert incident["place"] == "Ain al-Asad air base"
    assert incident["attack_type"] == "drone"
    assert incident["target"] == "us_coalition"
    assert incident["wounded"] == 2
    assert incident["killed"] is None
    assert incident["date"] == "2023-12-05"
    assert incident["claimed_by"] == "Kataib Hezbollah"
    assert incident["foiled"] is False
    assert len(incident["evidence"]) == 4


def test_intercepted_drones_are_foiled():
    d = detect_polish("Drony nad Erbilem", "Obrona powietrzna zestrzeliła dwa drony nad bazą Harir w pobliżu Erbilu.", "2023-12-05")
    incident = d["incidents"][0]
    assert incident["foiled"] is True
    assert incident["place"] == "Harir base" and incident["governorate"] == "Erbil"


def test_turkish_raid_is_an_air_strike_by_turkey():
    d = detect_polish("Turcja zbombardowała pozycje PKK", "Tureckie lotnictwo zniszczyło 12 kryjówek bojowników w północnym Iraku.", "2023-12-05")
    incident = d["incidents"][0]
    assert incident["attack_type"] == "air_strike"
    assert incident["claimed_by"] == "Turkey"
    assert incident["governorate"] == ""


def test_result_builds_a_detection():
    d = detect_polish("Rakiety spadły w Bagdadzie", "Dwie rakiety spadły w Zielonej Strefie w Bagdadzie.", "2023-12-05")
    detection = Detection(**d)
    data = detection.to_dict()
    json.dumps(data)
    for key in ("language", "terms", "places", "sentences", "score", "threshold", "rule", "excluded"):
        assert key in detection.explanation
    assert detection.explanation["language"] == "pl"
    assert "Green Zone" in detection.why and "rakiet" in detection.why
    assert detection.incidents[0]["place"] == "Green Zone"


def test_analysis_marks_the_title():
    sentences = analyse_polish("Tytuł", "Pierwsze zdanie. Drugie zdanie.")
    assert [s.is_title for s in sentences] == [True, False, False]


# --- the real stream (read at run time) ---------------------------------------


def test_polish_entries_of_the_stream(shared):
    path = shared / "data" / "incidents-dev.jsonl"
    if not path.exists():
        pytest.skip("incidents-dev.jsonl not found")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    polish = [r for r in rows if is_polish(r["title"], r["text"])]
    assert len(polish) == 21
    decisions = [(r["label"], detect_polish(r["title"], r["text"], r["date"])["flagged"]) for r in polish]
    assert sum(1 for label, flag in decisions if flag and not label) == 0
    assert sum(1 for label, flag in decisions if flag and label) >= 6
