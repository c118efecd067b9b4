"""The single writer: batching, duplicates, detections and the flagged hook."""

from __future__ import annotations

import asyncio
import json

from crawler.writer import Writer, failed_urls, store_detection, write_batch
from storage import Store

DETECTION = {
    "flagged": True,
    "score": 0.93,
    "why": "IED attack in Baghdad",
    "explanation": {"rules": ["attack_verb", "iraq_place"]},
    "incidents": [
        {"date": "2024-05-01", "governorate": "Baghdad", "place": "Sadr City", "attack_type": "ied",
         "target": "civilians", "killed": 3, "wounded": "7", "foiled": False, "claimed_by": None,
         "evidence": ["An IED exploded in Sadr City, killing three."]},
        {"date": None, "governorate": "Nineveh", "place": None, "attack_type": "drone", "target": None,
         "killed": None, "wounded": None, "foiled": True, "claimed_by": "unknown", "evidence": []},
    ],
}


def article(n: int, text: str | None = None, **extra) -> dict:
    return {"url": f"https://e.com/{n}", "source": "s", "title": f"T{n}", "text": text or f"text of article {n} " * 20,
            **extra}


def test_write_batch_duplicates_and_detection(tmp_path):
    store = Store(tmp_path / "w.db")
    calls = []
    outcomes = write_batch(
        store,
        [(article(1), DETECTION), (article(2, text=article(1)["text"]), None), (article(1), None),
         (article(3, canonical_url="https://e.com/1"), None), (article(4), {"flagged": False, "score": 0.1})],
        [{"source": "s", "url": "https://e.com/bad", "stage": "extract", "reason": "too short"}],
        hook=lambda db, row, det: calls.append((row["id"], row["url"], det["score"])),
    )
    assert [o.status for o in outcomes] == ["stored", "content_duplicate", "content_duplicate", "url_duplicate", "stored"]
    assert outcomes[0].flagged and not outcomes[4].flagged
    first_id = outcomes[0].article_id
    assert calls == [(first_id, "https://e.com/1", 0.93)]
    report = store.db["reports"].get(first_id)
    assert report["version"] == 1 and json.loads(report["explanation"]) == DETECTION["explanation"]
    incidents = list(store.db.query("select * from incidents order by seq"))
    assert [(i["seq"], i["governorate"], i["foiled"], i["wounded"]) for i in incidents] == [
        (1, "Baghdad", 0, 7), (2, "Nineveh", 1, None)]
    assert json.loads(incidents[0]["evidence"]) == DETECTION["incidents"][0]["evidence"]
    assert store.db["failures"].count == 1
    assert store.db["reports"].count == 1
    store.close()


def test_hook_failure_rolls_back_the_article(tmp_path):
    store = Store(tmp_path / "w.db")

    def broken_hook(db, row, detection):
        raise RuntimeError("outbox down")

    try:
        write_batch(store, [(article(1), DETECTION)], [], hook=broken_hook)
    except RuntimeError:
        pass
    assert store.db["articles"].count == 0 and store.db["reports"].count == 0
    store.close()


def test_store_detection_is_idempotent(tmp_path):
    store = Store(tmp_path / "w.db")
    [row] = store.insert_articles([article(1)])
    store_detection(store.db, row["id"], DETECTION, row, hook=None)
    store_detection(store.db, row["id"], DETECTION, row, hook=None)
    assert store.db["reports"].count == 1 and store.db["incidents"].count == 2
    store.close()


def test_writer_batches_and_isolates_bad_rows(tmp_path):
    async def scenario():
        writer = Writer(tmp_path / "w.db", flush_items=3, flush_seconds=0.05)
        futures = [writer.add_article(article(n), None) for n in range(5)]
        bad = writer.add_article(article(99, bogus_column=1), None)  # no such column: the batch fails
        writer.add_failure({"source": "s", "url": "https://e.com/f", "stage": "page", "reason": "HTTP 500"})
        outcomes = await asyncio.gather(*futures, bad)
        known = await writer.known_urls(["https://e.com/0", "https://e.com/9"])
        await writer.close()
        return outcomes, known

    outcomes, known = asyncio.run(scenario())
    assert [o.status for o in outcomes] == ["stored"] * 5 + ["error"]
    assert known == {"https://e.com/0"}
    store = Store(tmp_path / "w.db")
    assert store.db["articles"].count == 5 and store.db["failures"].count == 1
    store.close()


def test_failed_urls(tmp_path):
    store = Store(tmp_path / "w.db")
    rows = [{"source": "s", "url": "https://e.com/a", "stage": "page", "reason": "HTTP 404"}] * 3
    rows += [{"source": "s", "url": "https://e.com/b", "stage": "feed", "reason": "x"}] * 3
    rows += [{"source": "s", "url": "https://e.com/c", "stage": "extract", "reason": "too short"}] * 2
    store.record_failures(rows)
    assert failed_urls(store, ["https://e.com/a", "https://e.com/b", "https://e.com/c"]) == {"https://e.com/a"}
    store.close()
