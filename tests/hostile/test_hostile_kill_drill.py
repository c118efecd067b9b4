"""Fault drill: ``kill -9`` of the daemon at random moments, 20 times in a row.

A local site publishes new items (some of them attacks, which are flagged
and alerted) while ``newswatch run`` is started and SIGKILLed again and
again; a last daemon then runs until every alert is delivered. Throughout:

* ``PRAGMA integrity_check`` is ok after every kill;
* every article and every flagged report seen committed before a kill is
  still there at the end, and every published item is stored once;
* every alert in the outbox reached the receiver (2xx) at least once;
* an alert the receiver acknowledged is re-sent only when a kill fell
  between that acknowledgement and the re-send: the daemon had not yet
  committed "delivered" (the documented at-least-once window). Those
  re-sends are counted and printed.
"""

from __future__ import annotations

import random
import time

import pytest
from daemonkit import ATTACKS, QUIET, DaemonProcess, DemoFeedSite, query
from drill_helpers import AckReceiver, write_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

KILLS = 20
SEED = 20240516


def snapshot(db) -> dict[str, set]:
    if not db.exists():
        return {"articles": set(), "reports": set(), "alerts": set(), "delivered": set()}
    return {
        "articles": {r[0] for r in query(db, "select url from articles")},
        "reports": {r[0] for r in query(db, "select article_id from reports")},
        "alerts": {r[0] for r in query(db, "select delivery_id from alerts")},
        "delivered": {r[0] for r in query(db, "select delivery_id from alerts where state = 'delivered'")},
    }


def test_kill_9_twenty_times_loses_nothing(tmp_path):
    rng = random.Random(SEED)
    site = DemoFeedSite("Drill").start()
    receiver = AckReceiver().start()
    db = tmp_path / "drill.db"
    config = write_config(tmp_path / "drill.toml", site, receiver)
    seen = {"articles": set(), "reports": set(), "alerts": set(), "delivered": set()}
    kills: list[float] = []
    published = 0
    delays = []
    try:
        site.publish_variant(published, ATTACKS[0])
        published += 1
        for round_ in range(KILLS):
            # new items appear between (and during) the daemon's lives
            for _ in range(rng.choice((1, 1, 2))):
                pool = ATTACKS if published % 2 == 0 else QUIET
                site.publish_variant(published, pool[published % len(pool)])
                published += 1
            daemon = DaemonProcess(config, db, tmp_path / f"daemon-{round_}.log")
            delay = rng.uniform(0.3, 5.0)
            delays.append(delay)
            time.sleep(delay)
            before = snapshot(db)
            daemon.kill()
            kills.append(time.time())
            assert query(db, "pragma integrity_check") == [("ok",)], f"corrupt after kill {round_}"
            for key in seen:
                seen[key] |= before[key]

        final = DaemonProcess(config, db, tmp_path / "final.log")
        deadline = time.monotonic() + 120
        while True:
            now = snapshot(db)
            pending = query(db, "select count(*) from alerts where state != 'delivered'")[0][0] if db.exists() else 1
            if len(now["articles"]) >= published and pending == 0 and len(final.events("poll.finished")) >= 2:
                break
            assert final.proc.poll() is None, f"final daemon exited:\n{final.tail()}"
            assert time.monotonic() < deadline, (
                f"not settled: {len(now['articles'])}/{published} articles, {pending} alerts pending\n{final.tail()}"
            )
            time.sleep(0.2)
        assert final.terminate() == 0, final.tail()
    finally:
        site.stop()
        receiver.stop()

    end = snapshot(db)
    assert query(db, "pragma integrity_check") == [("ok",)]
    # nothing committed was lost
    assert seen["articles"] <= end["articles"], seen["articles"] - end["articles"]
    assert seen["reports"] <= end["reports"], seen["reports"] - end["reports"]
    assert seen["alerts"] <= end["alerts"], seen["alerts"] - end["alerts"]
    # every published item stored exactly once
    urls = [r[0] for r in query(db, "select url from articles")]
    assert len(urls) == len(set(urls)) == published
    flagged = query(db, "select count(*) from reports")[0][0]
    skipped = "detection skipped" in (tmp_path / "final.log").read_text(errors="replace")
    assert flagged >= 1, "no report flagged" + (": the detector is not available (see 'detection skipped' in the "
                                                "daemon log)" if skipped else "")
    assert query(db, "select count(*) from crawl_runs where status = 'running'") == [(0,)]

    # every alert reached the receiver, signed
    acked = receiver.acked()
    assert end["alerts"], "no alert was queued"
    missing = end["alerts"] - set(acked)
    assert not missing, f"{len(missing)} alerts never acknowledged"
    assert all(ok for _, _, _, ok in receiver.requests)
    assert query(db, "select count(*) from alerts where state = 'dead'") == [(0,)]

    # re-sends of an acknowledged alert only across a kill (the at-least-once window)
    window_resends = 0
    for delivery_id, times in acked.items():
        for first, again in zip(times, times[1:]):
            assert any(first <= k <= again for k in kills), (
                f"{delivery_id} acknowledged at {first} and sent again at {again} with no kill in between"
            )
            window_resends += 1
    print(f"kill drill: {KILLS} kills (delays {min(delays):.1f}-{max(delays):.1f} s), {published} items, "
          f"{len(end['articles'])} articles, {flagged} reports, {len(end['alerts'])} alerts, "
          f"{len(seen['articles'])} articles seen committed before kills, 0 lost; "
          f"{window_resends} re-sends in the kill window")
