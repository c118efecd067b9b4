"""The database: migrations, WAL mode, full-text search, skipping known URLs."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from storage import Store, StorageError, open_database
from storage.schema import MIGRATIONS

TABLES = {"sources", "feed_state", "articles", "articles_fts", "failures", "crawl_runs", "reports", "incidents", "alerts"}


def test_fresh_database_has_every_table(tmp_path):
    db = open_database(tmp_path / "n.db")
    assert TABLES <= set(db.table_names())
    applied = [row["name"] for row in db.query("select name from _sqlite_migrations")]
    assert applied and "m001_initial" in applied
    db.close()


def test_reopen_applies_nothing(tmp_path):
    open_database(tmp_path / "n.db").close()
    db = open_database(tmp_path / "n.db")
    assert MIGRATIONS.pending(db) == []
    count = db.execute("select count(*) from _sqlite_migrations").fetchone()[0]
    db.close()
    db = open_database(tmp_path / "n.db")
    assert db.execute("select count(*) from _sqlite_migrations").fetchone()[0] == count
    db.close()


def test_wal_mode(tmp_path):
    db = open_database(tmp_path / "n.db")
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    db.close()
    raw = sqlite3.connect(tmp_path / "n.db")
    assert raw.execute("pragma journal_mode").fetchone()[0] == "wal"  # persistent
    raw.close()


def test_fts_search(tmp_path):
    store = Store(tmp_path / "n.db")
    store.insert_articles([
        {"url": "https://e.com/1", "source": "s", "title": "Drone strike near Erbil", "text": "A drone hit a base."},
        {"url": "https://e.com/2", "source": "s", "title": "Football", "text": "Al-Zawraa won the derby."},
    ])
    hits = list(store.db["articles"].search("drone"))
    assert [h["url"] for h in hits] == ["https://e.com/1"]
    assert store.db.execute("select count(*) from articles_fts").fetchone()[0] == 2
    store.close()


def test_insert_articles_skips_known_urls(tmp_path):
    store = Store(tmp_path / "n.db")
    first = store.insert_articles([{"url": "https://e.com/1", "canonical_url": "https://e.com/c1", "source": "s", "text": "one"}])
    assert len(first) == 1 and first[0]["id"]
    again = store.insert_articles([
        {"url": "https://e.com/1", "source": "s", "text": "changed"},
        {"url": "https://e.com/other", "canonical_url": "https://e.com/c1", "source": "s", "text": "same canonical"},
        {"url": "https://e.com/c1", "source": "s", "text": "url is a stored canonical"},
        {"url": "https://e.com/2", "source": "s", "text": "two"},
        {"url": "https://e.com/2", "source": "s", "text": "two again"},
    ])
    assert [r["url"] for r in again] == ["https://e.com/2"]
    assert store.known_urls(["https://e.com/1", "https://e.com/c1", "https://e.com/3"]) == {"https://e.com/1", "https://e.com/c1"}
    assert store.db["articles"].get(first[0]["id"])["text"] == "one"
    assert store.db.execute("select count(*) from articles_fts").fetchone()[0] == 2
    store.close()


def test_bad_paths_are_reported(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        open_database(tmp_path / "missing" / "n.db")
    not_db = tmp_path / "text.db"
    not_db.write_text("this is not a database" * 100)
    with pytest.raises(StorageError):
        open_database(not_db)


def test_runs_and_stale_runs(tmp_path):
    store = Store(tmp_path / "n.db")
    run = store.start_run("s")
    store.finish_run(run, "ok", {"found": 3, "new": 2, "stored": 2, "duplicates": 1, "errors": 0, "flagged": 0})
    store.start_run("s")
    assert store.close_stale_runs() == 1
    statuses = [r["status"] for r in Database(store.db.conn).query("select status from crawl_runs order by id")]
    assert statuses == ["ok", "interrupted"]
    store.close()


def _articles(n: int) -> list[dict]:
    words = ["attack", "market", "budget", "rocket"]
    return [
        {"url": f"https://e.com/{i}", "source": "e", "title": f"story {i}",
         "text": f"{words[i % 4]} report number {i} " + ("attack" if i % 7 == 0 else "calm"),
         "published": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+0000"}
        for i in range(n)
    ]


def test_known_hashes(tmp_path):
    from storage import hash_text

    store = Store(tmp_path / "n.db")
    store.insert_articles(_articles(3))
    stored = hash_text(_articles(3)[1]["text"])
    assert store.known_hashes([stored, "nope", stored]) == {stored}
    assert store.known_hashes([]) == set()
    store.close()


@pytest.mark.parametrize("budget", [1, 20, 300, 100_000])
def test_search_newest_matches_the_plain_form(tmp_path, budget):
    store = Store(tmp_path / "n.db")
    store.insert_articles(_articles(400))
    plain = (
        "select a.id, a.title, a.published from articles a "
        "where a.id in (select rowid from articles_fts where articles_fts match ?) and a.published >= ? "
        "order by a.published desc, a.id desc limit ?"
    )
    for query, since, limit in [("attack", "2025-06-01", 10), ("attack", None, 50), ("rocket", "2025-11-01", 5),
                                ("calm", "2025-03-01", 500), ("nothing", "2025-01-01", 10), ("attack", "2099-01-01", 10)]:
        got = store.search_newest(query, since, limit, probe_budget=budget)
        want = [dict(zip(("id", "title", "published"), row))
                for row in store.db.execute(plain, [query, since or "", limit]).fetchall()]
        # same dates in the same order (rows with equal dates may come in any order)
        assert [r["published"] for r in got] == [r["published"] for r in want], (query, since)
        assert {r["id"] for r in got} <= {row[0] for row in store.db.execute(plain, [query, since or "", 10_000])}
    assert [r["title"] for r in store.search("rocket", limit=3)]
    store.close()
