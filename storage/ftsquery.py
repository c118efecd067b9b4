"""Search a prefix (``milit*``) as the index's terms it matches: a small FTS5 query parser.

:func:`expand_prefixes` rewrites ``milit* Diyala`` as
``("military" OR "militia" OR ...) AND Diyala`` with the terms of the
``fts5vocab`` view (schema m004), so that FTS5 does not merge the match
lists of all the prefix's terms (which bm25 then reads whole, twice).
:func:`tokenize_fts_query` and :func:`prefix_runs` read just enough of
FTS5's query syntax (phrases, ``NEAR``, column filters, ``+``, ``^``,
parentheses, ``AND``/``OR``/``NOT``) to know which prefix tokens stand on
their own; any query they cannot read is left unchanged.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from sqlite_utils import Database

from storage.schema import ARTICLES_VOCAB

#: a prefix token (``milit*``) is searched as its terms when it has at most this many (see expand_prefixes)
PREFIX_TERMS_CAP = 32
#: the index's terms from the first ``?`` (a prefix) up to the second (excluded), at most ``?`` of them
PREFIX_TERMS_SQL = f'select term from "{ARTICLES_VOCAB}" where term >= ? and term < ? limit ?'
#: the prefixes looked up: the default tokenizer (unicode61) keeps them as one token, lowercased
EXPANDABLE_PREFIX_RE = re.compile(r"[A-Za-z0-9]+")
#: the index and its vocabulary (m004), read before a prefix is looked up
FTS_TABLES_SQL = "select name, sql from sqlite_master where name in ('articles_fts', ?)"

#: FTS5 query syntax: its one-character tokens, the spaces it skips and its operators
FTS_PUNCTUATION = {"(": "LP", ")": "RP", "{": "LCP", "}": "RCP", ":": "COLON", ",": "COMMA",
                   "+": "PLUS", "*": "STAR", "-": "MINUS", "^": "CARET"}
FTS_SPACES = " \t\n\r"
FTS_OPERATORS = ("AND", "OR", "NOT")


class FtsToken(NamedTuple):
    """One token of an FTS5 query: ``kind`` is WORD (a bareword), QUOTED (a quoted string),
    AND, OR, NOT or one of :data:`FTS_PUNCTUATION`'s names; ``query[start:end] == text``."""

    kind: str
    text: str
    start: int
    end: int


def is_bareword_char(ch: str) -> bool:
    """FTS5's bareword characters: ASCII letters, digits, ``_``, 0x1A and every non-ASCII character."""
    return ch >= "\x80" or ch.isalnum() or ch in "_\x1a"


def tokenize_fts_query(query: str) -> list[FtsToken] | None:
    """The tokens of the FTS5 ``query``, split as FTS5 splits them; None for a query FTS5 refuses
    to tokenize (an unclosed quote, a character that is neither a bareword's nor syntax)."""
    tokens: list[FtsToken] = []
    pos = 0
    while pos < len(query):
        ch = query[pos]
        if ch in FTS_SPACES:
            pos += 1
            continue
        end = pos + 1
        if ch in FTS_PUNCTUATION:
            kind = FTS_PUNCTUATION[ch]
        elif ch == '"':
            kind = "QUOTED"
            while True:  # a doubled quote inside a quoted string is a literal one
                end = query.find('"', end) + 1
                if not end:
                    return None
                if not query.startswith('"', end):
                    break
                end += 1
        elif is_bareword_char(ch):
            while end < len(query) and is_bareword_char(query[end]):
                end += 1
            kind = query[pos:end] if query[pos:end] in FTS_OPERATORS else "WORD"
        else:
            return None
        tokens.append(FtsToken(kind, query[pos:end], pos, end))
        pos = end
    return tokens


class UnparsedQuery(Exception):
    "An FTS5 query whose structure :func:`prefix_runs` does not follow (it is left as it is)"


def closing_paren(tokens: list[FtsToken], at: int) -> int:
    """The index of the RP closing the LP at ``at``."""
    depth = 0
    for pos in range(at, len(tokens)):
        depth += {"LP": 1, "RP": -1}.get(tokens[pos].kind, 0)
        if depth == 0:
            return pos
    raise UnparsedQuery("unclosed parenthesis")


def phrase_end(tokens: list[FtsToken], at: int) -> int:
    """The index after the phrase at ``at``: ``[^]string[*]``, then ``+ [^]string[*]`` any number of times."""
    while True:
        at += at < len(tokens) and tokens[at].kind == "CARET"
        if at >= len(tokens) or tokens[at].kind not in ("WORD", "QUOTED"):
            raise UnparsedQuery("a phrase without a string")
        at += 1
        at += at < len(tokens) and tokens[at].kind == "STAR"
        if at >= len(tokens) or tokens[at].kind != "PLUS":
            return at
        at += 1


def is_near(tokens: list[FtsToken], at: int) -> bool:
    return tokens[at].text == "NEAR" and at + 1 < len(tokens) and tokens[at + 1].kind == "LP"


def is_column_filter(tokens: list[FtsToken], at: int) -> bool:
    kind = tokens[at].kind
    return kind in ("MINUS", "LCP") or (kind == "WORD" and at + 1 < len(tokens) and tokens[at + 1].kind == "COLON")


def prefix_runs(tokens: list[FtsToken]) -> list[tuple[list[tuple[int, int]], bool]]:
    """The runs of juxtaposed phrases (an implicit AND) that hold a bare prefix token.

    FTS5 binds ``a b`` tighter than NOT, AND and OR, and (SQLite 3.40) does
    not let a parenthesised group stand next to a phrase, so a prefix token
    is replaced together with its run (``a milit* b`` becomes ``(a AND (...)
    AND b)``): each run is its units' token spans ``(first, after last)`` and
    whether it is all of its group or query (then it needs no parentheses).
    A unit is a phrase, a ``NEAR(...)`` group or a column-filtered one, and
    is a bare prefix token when it is exactly ``word *``. Phrases inside NEAR groups,
    under column filters (``col:``, ``{a b}:``, ``-col:``) or joined with
    ``+`` or ``^`` are never units of their own, so they stay as written.
    Raises :class:`UnparsedQuery` for anything else.
    """
    runs: list[tuple[list[tuple[int, int]], bool]] = []

    def level(at: int) -> int:  # from ``at`` to this level's RP (or the end); returns its index
        run: list[tuple[int, int]] = []
        starts = at
        while at < len(tokens) and tokens[at].kind != "RP":
            kind, first = tokens[at].kind, at
            if kind in FTS_OPERATORS or kind == "LP":
                if kind == "LP":
                    at = level(at + 1)
                    if at >= len(tokens):
                        raise UnparsedQuery("unclosed parenthesis")
                close_run(run, False)
                run = []
                at += 1
                continue
            if is_column_filter(tokens, at):
                at += tokens[at].kind == "MINUS"
                if at < len(tokens) and tokens[at].kind == "LCP":
                    at = column_list_end(at + 1)
                if at + 2 >= len(tokens) or tokens[at].kind not in ("WORD", "RCP") or tokens[at + 1].kind != "COLON":
                    raise UnparsedQuery("a column filter without its operand")
                at += 2
                if tokens[at].kind == "LP":  # a filtered group: left as it is, and not a unit
                    close_run(run, False)
                    run = []
                    at = closing_paren(tokens, at) + 1
                    continue
            if is_near(tokens, at):
                at = closing_paren(tokens, at + 1) + 1
            else:
                at = phrase_end(tokens, at)
            run.append((first, at))
        close_run(run, bool(run) and run[0][0] == starts and run[-1][1] == at)  # the run is the whole level
        return at

    def column_list_end(at: int) -> int:  # the RCP closing a column list
        while at < len(tokens) and tokens[at].kind != "RCP":
            if tokens[at].kind != "WORD":
                raise UnparsedQuery("a column list with something else than column names")
            at += 1
        if at >= len(tokens):
            raise UnparsedQuery("an unclosed column list")
        return at

    def close_run(run: list[tuple[int, int]], whole: bool) -> None:
        if any(is_bare_prefix(tokens, first, after) for first, after in run):
            runs.append((run, whole))

    if level(0) != len(tokens):
        raise UnparsedQuery("an unopened parenthesis")
    return runs


def is_bare_prefix(tokens: list[FtsToken], first: int, after: int) -> bool:
    return after - first == 2 and tokens[first].kind == "WORD" and tokens[first + 1].kind == "STAR"


def fts_string(text: str) -> str:
    """``text`` as an FTS5 quoted string."""
    return '"' + text.replace('"', '""') + '"'


def prefix_terms(db: Database, prefix: str, cap: int) -> list[str] | None:
    """The index's terms that start with ``prefix``; None if none does, more than ``cap`` do, or
    the prefix is not one the default tokenizer keeps as it is (lowercased)."""
    if not EXPANDABLE_PREFIX_RE.fullmatch(prefix):
        return None
    low = prefix.lower()
    rows = db.execute(PREFIX_TERMS_SQL, [low, low[:-1] + chr(ord(low[-1]) + 1), cap + 1]).fetchall()
    return [row[0] for row in rows] if 0 < len(rows) <= cap else None


def expand_prefixes(db: Database, query: str, cap: int = PREFIX_TERMS_CAP) -> str:
    """``query`` with each bare prefix token (``milit*``) replaced by the OR of the index's terms it matches.

    ``milit* Diyala`` becomes ``("military" OR "militia" OR ...) AND Diyala``:
    the same rows, found without FTS5 merging the match lists of all the
    prefix's terms into one (which bm25 then reads whole, twice). The terms
    come from the vocabulary table (m004). Trade-offs, kept small on purpose:

    * a prefix that matches more than ``cap`` terms (``a*``) stays as it is,
      so no row is ever lost (only a rare prefix is faster);
    * the rows matched are the same, but bm25 scores each term on its own
      (its own rarity, summed over the terms a row holds) where it scored
      the prefix as one term, so rows with several or rare forms (militia,
      militants) rank higher than before: ``Store.search``'s best 50 can
      differ entirely from the prefix's, out of the same candidates;
    * only prefixes of ASCII letters and digits are looked up, and only on
      an index with the default tokenizer (whose terms they are, lowercased);
    * a prefix token inside quotes, a NEAR group, under a column filter or
      joined with ``+``/``^`` stays as it is, and so does a query this does
      not tokenize or parse (FTS5 then reports its own error, if any).
    """
    if "*" not in query:
        return query
    tokens = tokenize_fts_query(query)
    if tokens is None:
        return query
    try:
        runs = prefix_runs(tokens)
    except (UnparsedQuery, RecursionError):  # RecursionError: parentheses nested a thousand deep
        return query
    if not runs:
        return query
    tables = dict(db.execute(FTS_TABLES_SQL, [ARTICLES_VOCAB]).fetchall())
    if ARTICLES_VOCAB not in tables or "tokenize" in (tables.get("articles_fts") or "tokenize").lower():
        return query  # not upgraded yet (a read-only connection), or its terms are not the words
    edits: list[tuple[int, int, str]] = []
    for run, whole in runs:
        units, expanded = [], False
        for first, after in run:
            text = query[tokens[first].start:tokens[after - 1].end]
            terms = prefix_terms(db, tokens[first].text, cap) if is_bare_prefix(tokens, first, after) else None
            if terms:
                text, expanded = "(" + " OR ".join(fts_string(term) for term in terms) + ")", True
            units.append(text)
        if expanded:
            joined = " AND ".join(units)
            edits.append((tokens[run[0][0]].start, tokens[run[-1][1] - 1].end,
                          joined if whole or len(units) == 1 else f"({joined})"))
    for start, end, text in sorted(edits, reverse=True):
        query = query[:start] + text + query[end:]
    return query
