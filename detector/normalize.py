"""Text normalisation for keyword matching.

English text is lower-cased and reduced to space-separated alphanumeric
tokens; Arabic text additionally has its orthographic variants folded
(alef/hamza forms, ta marbuta, alef maqsura, diacritics, tatweel) and its
digits mapped to ASCII. Both forms are padded with a leading and trailing
space so that keyword keys can carry word boundaries.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_ARABIC_FOLD = str.maketrans(
    {
        "\u0623": "\u0627",  # alef with hamza above
        "\u0625": "\u0627",  # alef with hamza below
        "\u0622": "\u0627",  # alef with madda
        "\u0671": "\u0627",  # alef wasla
        "\u0629": "\u0647",  # ta marbuta -> ha
        "\u0649": "\u064a",  # alef maqsura -> ya
        "\u0624": "\u0648",  # waw with hamza
        "\u0626": "\u064a",  # ya with hamza
        "\u0640": None,  # tatweel
        "\u06cc": "\u064a",  # Farsi yeh
        "\u06a9": "\u0643",  # keheh
        "\u06af": "\u0643",  # gaf
        "\u067e": "\u0628",  # peh
        "\u0686": "\u062c",  # tcheh
        "\u06a4": "\u0641",  # veh
        "\u0698": "\u0632",  # jeh
        "\u06d5": "\u0647",  # ae
    }
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_HTML_APOS = re.compile(r"#39;|&#39;|&apos;|[\u2018\u2019\u02bc`´]")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")
_LATIN_LETTER = re.compile("[A-Za-z]")


def normalize_arabic(text: str) -> str:
    """Fold Arabic orthographic variants and map Eastern Arabic digits to ASCII."""
    text = _ARABIC_DIACRITICS.sub("", text)
    text = text.translate(_ARABIC_FOLD)
    return text.translate(_DIGITS)


def compile_arabic(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a regular expression over normalised Arabic text, folding the
    pattern's own spelling the same way ("قتلى" matches the normalised "قتلي")."""
    return re.compile(normalize_arabic(pattern), flags)


def normalize_english(text: str) -> str:
    """Lower-case English text and unify apostrophe forms."""
    return _HTML_APOS.sub("'", text).lower()


def normalize_for_matching(text: str, language: str) -> str:
    """Return the padded token string used by the keyword automata.

    ``"Baghdad's Green-Zone"`` becomes ``" baghdad s green zone "``.
    """
    text = normalize_arabic(text) if language == "ar" else normalize_english(text)
    text = normalize_arabic(text) if language != "ar" and _ARABIC_LETTER.search(text) else text
    collapsed = _NON_WORD.sub(" ", text).strip()
    return f" {collapsed} " if collapsed else " "


def normalize_term(term: str, language: str) -> str:
    """Normalise a lexicon term the same way as text (without padding)."""
    return normalize_for_matching(term, language).strip()


def detect_language(title: str, text: str) -> str:
    """Guess ``"ar"`` or ``"en"`` from the share of Arabic letters."""
    sample = (title or "") + " " + (text or "")[:2000]
    arabic = len(_ARABIC_LETTER.findall(sample))
    latin = len(_LATIN_LETTER.findall(sample))
    return "ar" if arabic > latin else "en"


def clean_text(text: str) -> str:
    """Repair common feed artefacts (HTML apostrophes, backslash line breaks)."""
    text = _HTML_APOS.sub("'", text or "")
    text = text.replace("\\", " ").replace("\u00a0", " ")
    return text
