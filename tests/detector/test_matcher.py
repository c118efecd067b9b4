"""Lexicon matching, gazetteer resolution and sentence-level logic."""

from detector.gazetteer import GOVERNORATES, choose_place, load_gazetteer, resolve_governorate
from detector.matcher import analyse_article, match_sentence


def test_english_attack_terms_and_stems():
    s = match_sentence("Two roadside bombs exploded near a police checkpoint", "en")
    assert "ied" in s.attack_types
    assert s.has("attack:other")


def test_word_boundaries_respected():
    s = match_sentence("The guidance was dismissive of the report", "en")
    assert not s.has_attack


def test_english_places_resolve_to_governorates():
    s = match_sentence("A rocket hit the Green Zone", "en")
    assert [p.name for p in s.places] == ["Green Zone"]
    assert s.places[0].governorate == "Baghdad"
    assert match_sentence("Drone attack on Ain al-Asad air base", "en").places[0].governorate == "Anbar"


def test_arabic_terms_with_prefixes_and_variants():
    s = match_sentence("انفجار سيارة مفخّخة وعبوة ناسفة بالموصل", "ar")
    assert "car_bomb" in s.attack_types and "ied" in s.attack_types
    assert s.places[0].name == "Mosul"
    assert s.places[0].governorate == "Nineveh"


def test_arabic_place_with_conjunction_prefix():
    assert match_sentence("هجوم في ديالى وبغداد", "ar").iraq_places[1].governorate == "Baghdad"


def test_blocked_lookalikes_are_not_places():
    assert match_sentence("المهاجم بغداد بونجاح يسجل هدفا", "ar").places == []
    assert match_sentence("Baghdad Bounedjah scored twice", "en").places == []
    assert match_sentence("انفجار في حي السليمانية بالرياض", "ar").places == []


def test_resolve_governorate_names():
    assert resolve_governorate("Irbil") == "Erbil"
    assert resolve_governorate("Fallujah") == "Anbar"
    assert resolve_governorate("كركوك") == "Kirkuk"
    assert resolve_governorate("Damascus") == ""


def test_gazetteer_covers_all_governorates():
    covered = {v.place.governorate for v in load_gazetteer("en") if v.place and v.place.governorate}
    assert covered == set(GOVERNORATES)


def test_choose_place_prefers_specific():
    s = match_sentence("Rockets hit Baghdad's Green Zone", "en")
    assert choose_place(s.places).name == "Green Zone"


def test_sentence_level_cooccurrence():
    a = analyse_article("", "A drone strike hit a base in Syria on Sunday. Iraq's parliament met to discuss the budget.", "en")
    assert not any(s.has_attack and s.in_iraq for s in a.sentences)
    b = analyse_article("", "Parliament met on Sunday. A rocket hit the Green Zone in Baghdad.", "en")
    assert any(s.has_attack and s.in_iraq for s in b.sentences)


def test_foreign_cue_recorded():
    s = match_sentence("A drone launched from Iraq struck a base in Jordan", "en")
    assert s.has("foreign") and s.has("launched_from")
