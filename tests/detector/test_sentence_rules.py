"""Sentence logic: negated attack terms and the classifier's gate on current events."""

from detector.context import describe_sentences, parse_article_date
from detector.features import is_candidate
from detector.matcher import analyse_article, match_sentence
from detector.normalize import compile_arabic, normalize_arabic


def test_negated_attack_terms_are_dropped():
    assert not match_sentence("The search ended without clashes in Ramadi.", "en").has_attack
    assert not match_sentence("انتهت العملية من دون اشتباكات في الرمادي", "ar").has_attack
    assert not match_sentence("ولم تسجل أي اشتباكات خلال التفتيش", "ar").has_attack


def test_attack_terms_without_negator_still_match():
    assert match_sentence("Clashes broke out in Ramadi.", "en").has_attack
    assert match_sentence("اندلعت اشتباكات في الرمادي", "ar").has_attack
    # a negated term elsewhere in the sentence leaves the others
    assert match_sentence("Gunmen fled without clashes after the bombing in Kirkuk.", "en").has_attack


def test_compile_arabic_folds_the_pattern():
    pattern = compile_arabic(r"قتلى|جرحى|مسؤولية")
    assert pattern.search(normalize_arabic("سقوط قتلى"))
    assert pattern.search(normalize_arabic("أعلن مسؤولية الهجوم"))


def _gate(title: str, text: str, date: str | None, current_only: bool) -> bool:
    analysis = analyse_article(title, text, "en")
    return is_candidate(analysis, describe_sentences(analysis, parse_article_date(date)), current_only=current_only)


def test_gate_ignores_old_attacks_in_the_article():
    title, text = "Families mark ten years since the massacre", "In 2014 gunmen killed hundreds of recruits near Tikrit."
    assert _gate(title, text, "2024-06-12", current_only=False)
    assert not _gate(title, text, "2024-06-12", current_only=True)


def test_gate_keeps_current_attacks():
    assert _gate("Rocket hits Baghdad", "A rocket hit a house in Baghdad on Tuesday.", "2024-06-12", current_only=True)


def test_arabic_terror_charges_are_no_attack():
    assert not match_sentence("القبض على ثلاثة مطلوبين بتهم إرهابية في الموصل", "ar").has_attack
    assert match_sentence("هجوم إرهابي على سوق في الموصل", "ar").has_attack


def test_place_of_a_background_sentence_does_not_carry_on():
    title = ""
    text = (
        "Talks opened in Geneva on Monday. "
        "In 2014 militants attacked a prison in Mosul. "
        "Gunmen stormed a jail in the north of the country on Tuesday."
    )
    analysis = analyse_article(title, text, "en")
    contexts = describe_sentences(analysis, parse_article_date("2024-06-12"))
    assert contexts[1].background and contexts[1].located
    assert not contexts[2].context_located


def test_place_of_a_current_sentence_carries_on():
    analysis = analyse_article("", "Rockets hit a base in Anbar on Monday. Two soldiers were wounded.", "en")
    contexts = describe_sentences(analysis, parse_article_date("2024-06-12"))
    assert contexts[1].context_located
