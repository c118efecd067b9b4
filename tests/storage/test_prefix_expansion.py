"""Prefix queries searched as their terms (``storage.ftsquery.expand_prefixes``) and the m004 vocabulary table."""

from __future__ import annotations

import random
import sqlite3

import pytest
from sqlite_utils import Database

from storage import Store, open_database
from storage.ftsquery import expand_prefixes, tokenize_fts_query
from storage.schema import ARTICLES_VOCAB, MIGRATIONS

WORDS = ("military", "militia", "militias", "militant", "milk", "Diyala", "Erbil", "rocket", "drone", "convoy")


def article(n: int) -> dict:
    picked = random.Random(n).sample(WORDS, 4)  # a deterministic mix: every query below has matches
    return {"url": f"https://e.com/{n}", "source": "s", "title": f"{picked[0]} report {n}",
            "text": " ".join(picked[1:]) + f" near the road, story {n}.",
            "published": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T00:00:00+00:00"}


@pytest.fixture()
def store(tmp_path):
    store = Store(tmp_path / "n.db")
    assert store.bulk_ingest([article(n) for n in range(1, 301)]).stored == 300
    yield store
    store.close()


def rowids(db: Database, query: str) -> set[int]:
    return {row[0] for row in db.execute("select rowid from articles_fts where articles_fts match ?", [query])}


def test_tokenizer_follows_fts5_syntax():
    tokens = tokenize_fts_query('title: "Ain ""al"" Asad" + x* OR NEAR(a b, 5) NOT {c d}:^e -f:g and AND')
    assert [(t.kind, t.text) for t in tokens] == [
        ("WORD", "title"), ("COLON", ":"), ("QUOTED", '"Ain ""al"" Asad"'), ("PLUS", "+"), ("WORD", "x"),
        ("STAR", "*"), ("OR", "OR"), ("WORD", "NEAR"), ("LP", "("), ("WORD", "a"), ("WORD", "b"),
        ("COMMA", ","), ("WORD", "5"), ("RP", ")"), ("NOT", "NOT"), ("LCP", "{"), ("WORD", "c"),
        ("WORD", "d"), ("RCP", "}"), ("COLON", ":"), ("CARET", "^"), ("WORD", "e"), ("MINUS", "-"),
        ("WORD", "f"), ("COLON", ":"), ("WORD", "g"), ("WORD", "and"), ("AND", "AND")]
    assert tokenize_fts_query("ميليشيا_x\x1a") == [tokenize_fts_query("ميليشيا_x\x1a")[0]]  # one bareword
    assert tokenize_fts_query('an "open quote') is None
    assert tokenize_fts_query("a.b") is None  # FTS5 refuses the character too


@pytest.mark.parametrize("query, expected", [
    ("milit* Diyala", '("militant" OR "military" OR "militia" OR "militias") AND Diyala'),
    ("Milit*", '("militant" OR "military" OR "militia" OR "militias")'),
    ("rocket OR milit * drone", 'rocket OR (("militant" OR "military" OR "militia" OR "militias") AND drone)'),
    ("convoy NOT milit*", 'convoy NOT ("militant" OR "military" OR "militia" OR "militias")'),
    ("(milk* Erbil) OR rocket", '(("milk") AND Erbil) OR rocket'),
    ("NEAR(rocket Erbil, 5) milk*", 'NEAR(rocket Erbil, 5) AND ("milk")'),
    ("title: rocket milk*", 'title: rocket AND ("milk")'),
])
def test_prefix_tokens_are_replaced_by_their_terms(store, query, expected):
    assert expand_prefixes(store.db, query) == expected


@pytest.mark.parametrize("query", [
    '"milit*" Diyala', '"milit" * Diyala', "NEAR(milit* Diyala, 10)", "title: milit*", "title:(milit* OR rocket)",
    "{title text}: milit* Diyala", "-title: milit*", "^milit* Diyala", "milit* + Diyala", "Diyala + milit*",
    "zzz* Diyala", "mil\u00e9* Diyala", "milit* (", ") milit*", "milit*, Diyala", "milit* Diyala)", "rocket Diyala",
])
def test_quotes_near_columns_and_unparsed_queries_are_left_as_written(store, query):
    assert expand_prefixes(store.db, query) == query


@pytest.mark.parametrize("query", [
    "milit* Diyala", "milit*", "Milit*", "rocket OR milit* drone", "convoy NOT milit*", "(milk* Erbil) OR rocket",
    "NEAR(rocket Erbil, 5) milk*", "title: rocket milk*", "mili* AND (dro* OR conv*)", "milit* milk* Erbil",
])
def test_expanded_queries_match_the_same_rows(store, query):
    expanded = expand_prefixes(store.db, query)
    assert expanded != query
    assert rowids(store.db, expanded) == rowids(store.db, query) != set()
    # the product's helpers (limit 300: every row): the same rows, in bm25's order or the newest first
    assert {r["id"] for r in store.search(query, limit=300, candidates=None)} == rowids(store.db, query)
    assert {r["id"] for r in store.search(query, limit=300)} == rowids(store.db, query)
    newest = store.db.execute(
        "select a.id from articles a where a.id in (select rowid from articles_fts where articles_fts match ?) "
        "and a.published >= '2025-06-01' order by a.published desc, a.id limit 20", [query]).fetchall()
    got = store.search_newest(query, "2025-06-01", limit=20)
    assert [r["published"] for r in got] == [store.db["articles"].get(row[0])["published"] for row in newest]
    assert {r["id"] for r in got} <= rowids(store.db, query)


def test_a_prefix_with_more_terms_than_the_cap_stays_a_prefix(store):
    # "mil" starts 5 terms (in the index's order): "militant", "military", "militia", "militias", "milk"
    assert expand_prefixes(store.db, "mil* Diyala", cap=5) == (
        '("militant" OR "military" OR "militia" OR "militias" OR "milk") AND Diyala')
    assert expand_prefixes(store.db, "mil* Diyala", cap=4) == "mil* Diyala"
    # in a run, only the prefixes within the cap are replaced
    assert expand_prefixes(store.db, "mil* milk* Diyala", cap=4) == 'mil* AND ("milk") AND Diyala'
    assert rowids(store.db, 'mil* AND ("milk") AND Diyala') == rowids(store.db, "mil* milk* Diyala")


def test_no_vocabulary_table_or_another_tokenizer_leaves_queries_alone(tmp_path):
    old = Database(sqlite3.connect(tmp_path / "old.db"))
    MIGRATIONS.apply(old, stop_before="m004_fts_vocabulary")
    old["articles"].insert_all([article(n) for n in range(1, 21)])
    assert expand_prefixes(old, "milit* Diyala") == "milit* Diyala"  # a database not yet upgraded (read-only)
    old.close()

    porter = Database(sqlite3.connect(tmp_path / "porter.db"))
    porter["articles"].insert_all([article(n) for n in range(1, 21)])
    porter["articles"].enable_fts(["title", "text"], fts_version="FTS5", tokenize="porter")
    porter.execute(f"create virtual table {ARTICLES_VOCAB} using fts5vocab(articles_fts, 'row')")
    assert expand_prefixes(porter, "milit* Diyala") == "milit* Diyala"  # its terms are stems
    porter.close()


def test_upgrade_from_m003_adds_the_vocabulary(tmp_path):
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m004_fts_vocabulary")  # the schema m003 made
    assert ARTICLES_VOCAB not in old.table_names()
    old["articles"].insert_all([article(n) for n in range(1, 31)])
    expected = rowids(old, "milit* Diyala")
    old.close()

    db = open_database(path)
    assert "m004_fts_vocabulary" in {r["name"] for r in db.query("select name from _sqlite_migrations")}
    terms = dict(db.execute(f"select term, doc from {ARTICLES_VOCAB} where term like 'milit%'").fetchall())
    assert set(terms) == {"militant", "military", "militia", "militias"}
    assert terms["military"] == len(rowids(db, "military"))
    db.close()
    store = Store(path)  # reopening applies nothing more; new rows show in the vocabulary at once
    store.insert_articles([{**article(31), "url": "https://e.com/new", "text": "militiamen in Diyala"}])
    assert store.db.execute(f"select doc from {ARTICLES_VOCAB} where term = 'militiamen'").fetchone() == (1,)
    assert {r["id"] for r in store.search("milit* Diyala", limit=100)} == expected | {31}
    store.close()
