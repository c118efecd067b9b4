"""Arabic and English normalisation."""

from detector.normalize import detect_language, normalize_arabic, normalize_for_matching
from detector.sentences import split_sentences


def test_alef_forms_fold_to_bare_alef():
    assert normalize_arabic("أإآٱ") == "اااا"


def test_ta_marbuta_and_alef_maqsura():
    assert normalize_arabic("مفخخة") == "مفخخه"
    assert normalize_arabic("ديالى") == "ديالي"


def test_diacritics_and_tatweel_removed():
    assert normalize_arabic("بَغْدَاد") == "بغداد"
    assert normalize_arabic("بغـــداد") == "بغداد"


def test_hamza_carriers_and_digits():
    assert normalize_arabic("مؤتمر") == "موتمر"
    assert normalize_arabic("٢٥ قتيلا") == "25 قتيلا"


def test_english_padding_and_punctuation():
    assert normalize_for_matching("Baghdad's Green-Zone!", "en") == " baghdad s green zone "
    assert normalize_for_matching("U.S. troops", "en") == " u s troops "


def test_language_detection():
    assert detect_language("مقتل جنديين في هجوم", "") == "ar"
    assert detect_language("Rocket hits base", "Two rockets hit a base.") == "en"


def test_sentence_split_keeps_abbreviations():
    parts = split_sentences("The U.S. Embassy was hit. Nobody was hurt! Was it claimed? No.")
    assert parts[0] == "The U.S. Embassy was hit."
    assert len(parts) == 4


def test_arabic_sentence_split():
    assert len(split_sentences("قتل خمسة في بغداد. واصيب عشرة اخرون؟ نعم", "ar")) == 3
