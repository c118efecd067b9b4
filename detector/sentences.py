"""Sentence splitting for English and Arabic news text.

The splitter is deliberately simple and fast: it breaks on line breaks and on
sentence-final punctuation followed by whitespace, and re-joins pieces that
were cut after common abbreviations ("U.S.", "Mr.", "Jan.").
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_EN_SPLIT = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_AR_SPLIT = re.compile(r"(?<=[.!?\u061f])\s+")
_LINES = re.compile(r"\s*\n\s*")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:U\.S|U\.N|U\.K|Mr|Mrs|Ms|Dr|Gen|Lt|Col|Sgt|Capt|Maj|Gov|Sen|Rep|St|No|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Inc|Co|Corp|vs|a\.m|p\.m)\.|\b[A-Z]\.)$"
)
_MAX_SENTENCE = 600


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split ``text`` into sentences; empty pieces are dropped."""
    out: list[str] = []
    for block in _LINES.split(text or ""):
        block = block.strip()
        if not block:
            continue
        pieces = (_AR_SPLIT if language == "ar" else _EN_SPLIT).split(block)
        merged: list[str] = []
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            if merged and _ABBREVIATIONS.search(merged[-1]):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        for sentence in merged:
            out.extend(_cut_long(sentence))
    return out


def _cut_long(sentence: str) -> list[str]:
    """Cut run-on sentences (lists, boilerplate) at semicolons or dashes."""
    if len(sentence) <= _MAX_SENTENCE:
        return [sentence]
    parts = [p.strip() for p in re.split(r"(?<=[;\u061b])\s+|\s+[-\u2013\u2014]{1,2}\s+", sentence) if p.strip()]
    return parts if len(parts) > 1 else [sentence]
