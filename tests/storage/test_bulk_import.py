"""Bulk import (``Store.bulk_ingest``, ``newswatch import``) and the m003 upgrade of older databases."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from newswatch.cli import cli
from storage import Store, open_database
from storage.db import hash_text
from storage.schema import MIGRATIONS


def article(n: int, **extra: object) -> dict:
    return {"url": f"https://e.com/{n}", "source": "s", "title": f"Title {n}",
            "text": f"Story number {n} about a drone near Erbil." if n % 2 else f"Story {n} on rocket fire in Baghdad.",
            "published": f"2025-01-{1 + n % 28:02d}T00:00:00+00:00", **extra}


def fts_rowids(db: Database, query: str) -> set[int]:
    return {row[0] for row in db.execute("select rowid from articles_fts where articles_fts match ?", [query])}


def fts_consistent(db: Database) -> bool:
    db.execute("insert into articles_fts(articles_fts, rank) values ('integrity-check', 1)")  # raises if not
    return True


def test_bulk_ingest_stores_and_indexes_every_row(tmp_path):
    store = Store(tmp_path / "n.db")
    seen = []
    result = store.bulk_ingest((article(n) for n in range(1, 1001)), batch=300, progress=lambda r: seen.append(r.read))
    assert (result.read, result.stored, result.invalid, result.batches) == (1000, 1000, 0, 4)
    assert seen == [300, 600, 900, 1000]
    assert store.db["articles"].count == 1000
    assert len(fts_rowids(store.db, "drone Erbil")) == 500
    assert len(fts_rowids(store.db, '"rocket fire"')) == 500
    assert fts_consistent(store.db)
    assert store.db.execute("select count(*) from fts_deferred").fetchone()[0] == 0
    row = store.db.execute("select content_hash, fetched_at from articles where url = 'https://e.com/7'").fetchone()
    assert len(row[0]) == 64 and row[1]
    # the import's FTS5 options were not left behind
    options = dict(store.db.execute("select k, v from articles_fts_config").fetchall())
    assert (options["hashsize"], options["automerge"], options["crisismerge"]) == (2**20, 4, 16)
    store.close()


def test_bulk_ingest_skips_duplicates_like_the_crawler(tmp_path):
    store = Store(tmp_path / "n.db")
    store.insert_articles([article(1), article(2, canonical_url="https://e.com/canon")])
    rows = [
        article(1, text="new text, same url"),  # url stored
        article(3, canonical_url="https://e.com/canon", text="canonical stored"),
        {**article(4), "text": article(2)["text"]},  # same text as a stored row
        article(5, author=["A. Writer", "B. Writer"]), article(5, text="same url within the import"),
        {**article(6), "text": article(5)["text"]},  # same text within the import
        {"url": "https://e.com/7", "text": "no source"},
        {"source": "s", "text": "no url"},
        "not an object",
    ]
    result = store.bulk_ingest(rows, batch=4)
    assert (result.stored, result.url_duplicates, result.content_duplicates, result.invalid) == (1, 3, 2, 3)
    assert [e.split(": ", 1)[1] for e in result.errors] == ["no source", "no url", "not an object: str"]
    assert sorted(r["url"] for r in store.db["articles"].rows) == ["https://e.com/1", "https://e.com/2", "https://e.com/5"]
    assert store.db["articles"].get(1)["text"] == article(1)["text"]
    assert json.loads(store.db.execute("select author from articles where url = 'https://e.com/5'").fetchone()[0]) == [
        "A. Writer", "B. Writer"]
    assert fts_rowids(store.db, "drone") == {1, 3}
    assert fts_consistent(store.db)
    store.close()


def test_a_failing_input_keeps_committed_batches_and_leaves_indexing_on(tmp_path):
    def rows():
        yield from (article(n) for n in range(1, 6))
        raise OSError("disk read error")

    store = Store(tmp_path / "n.db")
    with pytest.raises(OSError, match="disk read error"):
        store.bulk_ingest(rows(), batch=2)
    assert store.db["articles"].count == 4  # the two whole batches before the error
    assert store.db.execute("select count(*) from fts_deferred").fetchone()[0] == 0
    store.db["articles"].insert(article(9))  # an ordinary insert is indexed by the trigger again
    assert fts_rowids(store.db, "Story") == {1, 2, 3, 4, 5}
    assert fts_consistent(store.db)
    store.close()


def test_daemon_inserts_are_indexed_in_one_statement(tmp_path):
    store = Store(tmp_path / "n.db")
    with store.db.atomic():
        stored = store.insert_articles([article(n) for n in range(1, 51)])
    assert len(stored) == 50
    assert fts_rowids(store.db, "Erbil") == {r["id"] for r in stored if r["id"] % 2}
    assert store.db.execute("select count(*) from fts_deferred").fetchone()[0] == 0
    # another connection writing as usual (sqlite-utils) is indexed by the trigger
    other = Database(sqlite3.connect(tmp_path / "n.db"))
    other["articles"].insert(article(99, text="a lone Kirkuk story"))
    other.close()
    assert len(fts_rowids(store.db, "Kirkuk")) == 1
    assert fts_consistent(store.db)
    store.close()


def test_search_ranks_the_newest_candidates(tmp_path):
    store = Store(tmp_path / "n.db")
    result = store.bulk_ingest([
        article(n, text="drone drone drone Erbil" if n == 2 else "a drone near Erbil" + " and more" * n)
        for n in range(1, 41)])
    assert result.stored == 40
    everything = store.search("drone", limit=5, candidates=None)
    assert [r["id"] for r in everything] == [2, 1, 3, 4, 5]  # bm25 over every match: short texts first
    recent = store.search("drone", limit=5, candidates=10)
    assert [r["id"] for r in recent] == [31, 32, 33, 34, 35]  # only the 10 newest were ranked
    assert [r["id"] for r in store.search("drone", limit=5, candidates=1000)] == [r["id"] for r in everything]
    assert store.search("nothingmatchesthis") == []
    store.close()


def test_upgrade_from_the_previous_schema(tmp_path):
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m003_fts_batch_indexing")  # the schema older newswatch made
    assert "fts_deferred" not in old.table_names()
    old["articles"].insert_all([article(n) for n in range(1, 4)])  # indexed by the old trigger
    old.close()

    db = open_database(path)
    assert "m003_fts_batch_indexing" in {r["name"] for r in db.query("select name from _sqlite_migrations")}
    trigger = db.execute("select sql from sqlite_master where name = 'articles_ai'").fetchone()[0]
    assert "fts_deferred" in trigger
    assert fts_rowids(db, "Story") == {1, 2, 3}
    db.close()
    store = Store(path)
    store.insert_articles([article(4)])
    store.bulk_ingest([article(5), article(6)])
    store.db["articles"].update(1, {"title": "Renamed Kirkuk"})  # the update trigger still keeps the index
    assert fts_rowids(store.db, "Story") == {1, 2, 3, 4, 5, 6}
    assert fts_rowids(store.db, "Kirkuk") == {1}
    assert fts_consistent(store.db)
    store.close()


def test_import_command(tmp_path):
    data = tmp_path / "archive.jsonl"
    lines = [json.dumps(article(n)) for n in range(1, 6)] + ["", "{not json", json.dumps({"url": "https://e.com/x"})]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_path = tmp_path / "n.db"
    result = CliRunner().invoke(cli, ["import", str(data), "--db", str(db_path), "--batch", "2", "--quiet"])
    assert result.exit_code == 1, result.output  # two lines were not rows
    assert "5 stored" in result.output and "2 invalid" in result.output
    assert "line 7" in result.output  # the bad JSON line, on stderr
    again = CliRunner().invoke(cli, ["import", str(data), "--db", str(db_path), "--source", "Rudaw"])
    assert "1 stored" in again.output and "5 URL duplicates" in again.output
    store = Store(db_path)
    assert store.db["articles"].count == 6
    assert store.db.execute("select source from articles where url = 'https://e.com/x'").fetchone()[0] == "Rudaw"
    assert len(fts_rowids(store.db, "Story")) == 5
    store.close()
    assert "Example" in CliRunner().invoke(cli, ["import", "--help"]).output


def test_rows_another_writer_stores_between_batches_are_duplicates(tmp_path):
    store = Store(tmp_path / "n.db")
    other = Database(sqlite3.connect(tmp_path / "n.db", isolation_level=None))

    def daemon(result):  # after the first batch: the daemon stores the URL of a later row, and a later text
        if result.batches == 1:
            other["articles"].insert(article(90, url="https://e.com/5"))
            other["articles"].insert(article(91, text=article(6)["text"], content_hash=hash_text(article(6)["text"])))

    result = store.bulk_ingest((article(n) for n in range(1, 9)), batch=4, progress=daemon)
    assert (result.stored, result.url_duplicates, result.content_duplicates) == (6, 1, 1)
    assert store.db["articles"].count == 8
    assert fts_consistent(store.db)
    other.close()
    store.close()


def test_a_url_the_in_memory_keys_missed_is_caught_by_the_unique_index(tmp_path):
    store = Store(tmp_path / "n.db")
    other = Database(sqlite3.connect(tmp_path / "n.db", isolation_level=None))

    def by_hand(result):  # the newest row deleted by hand, its id reused for a URL of the next batch
        if result.batches == 1:
            newest = other.execute("select max(id) from articles").fetchone()[0]
            other.execute("delete from articles where id = ?", [newest])
            other["articles"].insert(article(92, url="https://e.com/6"))
            assert other.execute("select max(id) from articles").fetchone()[0] == newest

    result = store.bulk_ingest((article(n) for n in range(1, 9)), batch=4, progress=by_hand)
    assert (result.stored, result.url_duplicates, result.content_duplicates) == (7, 1, 0)
    assert store.db.execute("select count(*) from articles where url = 'https://e.com/6'").fetchone()[0] == 1
    assert fts_consistent(store.db)
    other.close()
    store.close()


def test_the_log_is_truncated_at_the_end_also_without_the_merge(tmp_path):
    store = Store(tmp_path / "n.db")
    result = store.bulk_ingest((article(n) for n in range(1, 2001)), batch=500, optimize=False)
    assert result.stored == 2000
    assert (tmp_path / "n.db-wal").stat().st_size == 0
    assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -256 * 1024  # the connection's own again
    assert fts_consistent(store.db)
    store.close()


KILLED_IMPORT = """
import os, sys
sys.path.insert(0, {root!r})
from storage import Store

def rows():  # read on the import's reader thread, which runs while the writer indexes or commits a batch
    for n in range(1, 100_000):
        if n == 4500:
            os._exit(9)  # killed mid-import: no rollback, no checkpoint, no cleanup
        yield {{"url": f"https://e.com/{{n}}", "source": "s", "title": f"Title {{n}}",
               "text": f"Story {{n}} near Erbil."}}

Store(sys.argv[1]).bulk_ingest(rows(), batch=1000)
"""


def test_a_killed_import_leaves_its_committed_batches_indexed(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    path = tmp_path / "n.db"
    Store(path).close()
    proc = subprocess.run([sys.executable, "-c", KILLED_IMPORT.format(root=root), str(path)], timeout=120)
    assert proc.returncode == 9
    store = Store(path)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = store.db["articles"].count
    assert stored % 1000 == 0 and stored < 4500  # whole batches only
    assert len(fts_rowids(store.db, "Erbil")) == stored  # each one indexed
    assert store.db.execute("select count(*) from fts_deferred").fetchone()[0] == 0
    assert fts_consistent(store.db)
    again = ({"url": f"https://e.com/{n}", "source": "s", "text": f"Story {n}."} for n in range(1, 5001))
    result = store.bulk_ingest(again)
    assert (result.stored, result.url_duplicates) == (5000 - stored, stored)
    assert len(fts_rowids(store.db, "Story")) == 5000
    store.close()
