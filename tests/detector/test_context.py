"""Sentence context: Iraq named together with a foreign place."""

from detector.context import describe_sentences, is_foreign
from detector.features import is_candidate
from detector.matcher import analyse_article, match_sentence


def _foreign(text: str, language: str = "en") -> bool:
    return is_foreign(match_sentence(text, language), language)


def test_foreign_place_coordinated_with_iraq_is_not_foreign():
    assert not _foreign("Drone attacks on US forces in Iraq and Syria wounded two dozen troops.")
    assert not _foreign("Drone attacks at bases in Syria and Iraq injured 20 soldiers.")
    assert _foreign("Veterans of the wars in Iraq and Afghanistan were killed.")
    assert _foreign("Islamic State of Iraq and Syria fighters attacked the town.")
    assert not _foreign("Troops were targeted twice in Iraq and three times in Syria last week.")
    assert _foreign("Attacking ISIS will also help Bashar al-Assad in Syria and Iran in Iraq.")


def test_foreign_place_not_coordinated_with_iraq_stays_foreign():
    assert _foreign("The Islamic Resistance in Iraq claimed a drone attack on a US base in Syria.")
    assert _foreign("A drone launched from Iraq and Syria struck a post in Jordan.")
    assert _foreign("A drone attack hit a US base in Syria on Sunday.")


def test_running_counts_across_countries_stay_foreign():
    assert _foreign("US forces in Iraq and Syria have been attacked 57 times since mid-October.")
    assert _foreign("U.S. bases in Syria and Iraq were attacked 23 times in two weeks.")
    # with casualties the count reports an event
    assert not _foreign("Two dozen US troops were wounded in drone attacks in Iraq and Syria last week.")


def test_iraq_and_syria_attack_passes_keyword_stage():
    analysis = analyse_article(
        "Drone attacks on American bases injured two dozen U.S. military personnel",
        "Two dozen American military personnel were wounded last week in a series of drone attacks at American bases in Iraq and Syria.",
        "en",
    )
    assert is_candidate(analysis, describe_sentences(analysis, None))
