"""Versioned migrations for the newswatch database.

Each migration is a function registered on ``MIGRATIONS``; sqlite-utils records
the applied ones in ``_sqlite_migrations`` and applies the pending ones, each in
its own transaction, when a database is opened. Add a new function at the end;
never edit one that has shipped.

Tables
------
sources        one row per configured source, with its polling state
feed_state     conditional-GET validators and health per feed/sitemap URL
articles       one row per stored article (``url`` is the canonical URL, unique)
articles_fts   FTS5 index over ``title`` and ``text``, kept by triggers (m003: a batch
               writer defers the insert trigger and indexes its batch in one statement)
fts_deferred   empty except inside a batch writer's transaction (see m003)
articles_fts_vocab
               the terms of ``articles_fts`` with their counts (fts5vocab: computed on demand, m004)
failures       every fetch/parse/extract failure, against its source and URL
crawl_runs     one row per source per crawl run, with its counts
reports        flagged articles: score, why, explanation
incidents      the incidents of each report, with the codebook's fields
alerts         the durable outbox of webhook deliveries
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("newswatch")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db["sources"].create(
        {
            "name": str,
            "homepage": str,
            "language": str,
            "feeds": str,  # JSON list
            "sitemaps": str,  # JSON list
            "interval_s": float,
            "min_interval_s": float,
            "max_interval_s": float,
            "current_interval_s": float,
            "last_poll": str,
            "next_poll": str,
            "last_success": str,
            "last_new_item": str,
            "last_error": str,
            "last_error_at": str,
            "consecutive_failures": int,
        },
        pk="name",
        not_null={"name"},
        defaults={"consecutive_failures": 0},
    )
    db["feed_state"].create(
        {
            "url": str,
            "source": str,
            "kind": str,  # feed | sitemap
            "etag": str,
            "last_modified": str,
            "last_status": int,
            "last_fetched": str,
            "ttl_s": float,  # the feed's own sy:updatePeriod / ttl hint
            "last_error": str,
        },
        pk="url",
    )
    db["articles"].create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "fetched_url": str,
            "source": str,
            "title": str,
            "author": str,
            "published": str,
            "published_from": str,
            "feed_published": str,
            "date_disagreement": int,
            "language": str,
            "text": str,
            "content_hash": str,
            "fetched_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"url", "source"},
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["canonical_url"])
    db["articles"].create_index(["source", "fetched_at"])
    db["articles"].create_index(["published"])
    db["articles"].create_index(["content_hash"])
    db["articles"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True)

    db["failures"].create(
        {
            "id": int,
            "source": str,
            "url": str,
            "stage": str,  # feed | sitemap | page | extract | robots | config
            "reason": str,
            "status": int,
            "at": str,
            "run_id": int,
        },
        pk="id",
    )
    db["failures"].create_index(["source", "at"])
    db["failures"].create_index(["url"])

    db["crawl_runs"].create(
        {
            "id": int,
            "source": str,
            "started": str,
            "finished": str,
            "status": str,  # running | ok | failed | interrupted
            "found": int,
            "new": int,
            "stored": int,
            "duplicates": int,
            "errors": int,
            "flagged": int,
            "error": str,
        },
        pk="id",
    )
    db["crawl_runs"].create_index(["source", "started"])

    db["reports"].create(
        {
            "article_id": int,
            "score": float,
            "why": str,
            "explanation": str,  # JSON
            "detected_at": str,
            "updated_at": str,
            "version": int,
        },
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["reports"].create_index(["detected_at"])
    db["incidents"].create(
        {
            "id": int,
            "article_id": int,
            "seq": int,
            "date": str,
            "governorate": str,
            "place": str,
            "attack_type": str,
            "target": str,
            "killed": int,
            "wounded": int,
            "foiled": int,
            "claimed_by": str,
            "evidence": str,  # JSON list of sentences
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["incidents"].create_index(["article_id", "seq"], unique=True)
    db["incidents"].create_index(["date"])
    db["incidents"].create_index(["governorate"])

    db["alerts"].create(
        {
            "id": int,
            "delivery_id": str,
            "webhook": str,  # the webhook's name (never its secret)
            "event": str,  # report.flagged | report.updated | incident.created | ...
            "subject": str,  # report or incident id the alert is about
            "payload": str,  # the exact JSON body to send
            "state": str,  # pending | delivered | dead
            "attempts": int,
            "next_attempt_at": str,
            "last_status": int,
            "last_error": str,
            "created_at": str,
            "delivered_at": str,
        },
        pk="id",
        not_null={"delivery_id", "webhook", "event", "payload", "state"},
        defaults={"attempts": 0, "state": "pending"},
    )
    db["alerts"].create_index(["delivery_id"], unique=True)
    db["alerts"].create_index(["state", "next_attempt_at"])


from grouping.schema import m002_events  # noqa: E402  (events: incidents grouped across outlets)

MIGRATIONS()(m002_events)


#: the articles insert trigger from m003 on: it indexes a row unless a batch writer deferred indexing
ARTICLES_AI_SQL = """
CREATE TRIGGER "articles_ai" AFTER INSERT ON "articles"
WHEN NOT EXISTS (SELECT 1 FROM "fts_deferred") BEGIN
  INSERT INTO "articles_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END
"""


@MIGRATIONS()
def m003_fts_batch_indexing(db: Database) -> None:
    """Let a writer index a whole batch of articles with one FTS5 statement.

    FTS5 writes out its in-memory buffer at every statement boundary inside a
    transaction, so the per-row insert trigger wrote one tiny index segment per
    article, which FTS5 then merged again and again: most of an insert's cost,
    growing with the index. The trigger now skips rows while ``fts_deferred``
    has a row. A batch writer (``Store.insert_articles``, ``newswatch import``)
    inserts that row, its articles, indexes them with one ``INSERT ... SELECT``
    and deletes the row, all in one transaction, so no other connection ever
    sees the flag; any other insert (sqlite-utils, Datasette) is indexed by the
    trigger as before. The update and delete triggers are unchanged.
    """
    db["fts_deferred"].create({"since_id": int})
    db.execute('DROP TRIGGER "articles_ai"')
    db.execute(ARTICLES_AI_SQL)


#: the FTS5 vocabulary of ``articles_fts``, one row per term (see m004)
ARTICLES_VOCAB = "articles_fts_vocab"


@MIGRATIONS()
def m004_fts_vocabulary(db: Database) -> None:
    """Expose the terms of the articles' full-text index, for prefix queries.

    An ``fts5vocab`` table of type 'row' (``term``, ``doc``, ``cnt``) is a view
    that FTS5 computes from the index on demand: nothing is copied or kept up to
    date. ``Store.search`` looks up the terms of a prefix query (``milit*``) in
    it and searches for those terms instead (see ``storage.ftsquery.expand_prefixes``):
    ranking a prefix made FTS5 build the prefix's merged match list twice.
    """
    db.execute(f"CREATE VIRTUAL TABLE \"{ARTICLES_VOCAB}\" USING fts5vocab(articles_fts, 'row')")
