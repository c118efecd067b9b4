"""Benchmark of the newswatch daemon (``newswatch run``) on a local site.

    python bench/bench_daemon.py [--items 30] [--interval 1] [--cycles 100] [--json]

Everything runs on 127.0.0.1: a news site whose RSS feed gains items while the
daemon runs (each item an article the detector flags), a webhook receiver that
checks every signature, and the daemon itself as a subprocess, exactly as
``newswatch run`` starts it.

Two figures:

latency
    From the moment a new item appears in the polled feed to the moment the
    webhook receiver has its alert (the webhook set to ``alert_on = "reports"``:
    one alert per flagged article, whether or not it opens a new incident),
    for ``--items`` items published one at a
    time at random moments of the polling cycle (fixed ``--interval``):
    p50 / p95 / max. It includes waiting for the next poll (on average half
    the interval), the crawl, extraction, detection, the outbox and delivery.
memory
    The daemon's resident set size (main process, and with its extraction
    worker processes) after poll cycle 10 and after cycle ``--cycles`` of a
    short-interval run (0.2 s) in which every poll finds one new flagged
    article. The growth between the two must stay within 10 %. The default of
    100 cycles keeps the run near one minute; the acceptance figure is
    ``--cycles 500`` (about five minutes).

``run()`` returns the figures as a dict for bench runners.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from alerts.receiver import Answer, Delivery, WebhookReceiver  # noqa: E402
from newswatch.localsite import LOCAL_CRAWL_SETTINGS, LocalSite  # noqa: E402

SECRET = "bench-whsec-7d3e"
FEED_LENGTH = 20
MEMORY_INTERVAL_S = 0.2
PLACES = (
    ("Kirkuk", "Kirkuk"), ("Tikrit", "Salah al-Din"), ("Baqubah", "Diyala"), ("Ramadi", "Anbar"),
    ("Mosul", "Nineveh"), ("Samarra", "Salah al-Din"), ("Fallujah", "Anbar"), ("Hawija", "Kirkuk"),
    ("Tarmiyah", "Baghdad"), ("Muqdadiyah", "Diyala"),
)


def build_article(number: int) -> tuple[str, bytes]:
    """Return the title and HTML page of synthetic attack report ``number`` (unique text)."""
    rnd = random.Random(number)
    town, province = PLACES[number % len(PLACES)]
    killed, wounded = rnd.randint(1, 9), rnd.randint(1, 12)
    title = f"Roadside bomb kills {killed} soldiers near {town} (report {number})"
    paragraphs = (
        f"A roadside bomb exploded on Tuesday next to an Iraqi army patrol near {town} in {province} province, "
        f"killing {killed} soldiers and wounding {wounded} others, security sources said.",
        f"The explosive device was planted on the road used by the patrol, a police officer in {town} said. "
        f"It was the {number}th incident of its kind recorded by this desk.",
        "No group immediately claimed responsibility for the attack, but Islamic State group cells remain "
        "active in the area. Security forces sealed off the site and opened an investigation.",
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{html.escape(title)}</h1>{body}</article>"
        "<footer>Bench Desk</footer></body></html>"
    )
    return title, page.encode("utf-8")


class BenchSite:
    """A local news site whose feed lists the last :data:`FEED_LENGTH` published items."""

    def __init__(self, new_item_per_poll: bool = False) -> None:
        self.site = LocalSite(robots="User-agent: *\nAllow: /\n")
        self.items: list[tuple[int, str]] = []
        self.published_at: dict[str, float] = {}
        self.new_item_per_poll = new_item_per_poll
        self.lock = threading.Lock()
        self.site.route("/feed.xml", self._feed)

    def start(self) -> "BenchSite":
        self.site.start()
        return self

    def stop(self) -> None:
        self.site.stop()

    def publish(self) -> str:
        """Add the next article to the site and its feed; return its URL."""
        with self.lock:
            number = len(self.items) + 1
            title, page = build_article(number)
            path = f"/news/{number}.html"
            self.site.add(path, page)
            url = self.site.url(path)
            self.items.append((number, title))
            self.published_at[url] = time.time()
            return url

    def _feed(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        if self.new_item_per_poll:
            self.publish()
        with self.lock:
            latest = self.items[-FEED_LENGTH:]
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        body = "".join(
            f"<item><title>{html.escape(title)}</title><link>{self.site.url(f'/news/{n}.html')}</link>"
            f"<guid>bench-{n}</guid><pubDate>{stamp}</pubDate></item>"
            for n, title in reversed(latest)
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench</title>'
            f"<link>{self.site.url('/')}</link><description>bench</description>{body}</channel></rss>"
        )
        return 200, {"Content-Type": "application/rss+xml"}, xml.encode("utf-8")


class Receiver:
    """Webhook receiver (:mod:`alerts.receiver`): verifies the signature, notes when each article's alert arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server = WebhookReceiver(SECRET, responder=self._arrived).start()

    def _arrived(self, got: Delivery) -> Answer:
        with self.lock:
            if got.signature_ok:
                url = (got.payload.get("article") or {}).get("url", "")
                self.arrivals.setdefault(url, got.at)
            else:
                self.bad_signatures += 1
        return Answer(200 if got.signature_ok else 401, b"")

    @property
    def url(self) -> str:
        return self.server.url

    def arrived(self, url: str) -> float | None:
        with self.lock:
            return self.arrivals.get(url)

    def stop(self) -> None:
        self.server.stop()


def write_config(path: Path, site: BenchSite, receiver: Receiver, interval: float) -> None:
    path.write_text(f"""
[crawl]
{LOCAL_CRAWL_SETTINGS}
interval = {interval}
min_interval = {interval}
max_interval = {interval}

[[sources]]
name = "Bench"
feeds = ["{site.site.url('/feed.xml')}"]

[[webhooks]]
name = "bench"
url = "{receiver.url}"
secret = "{SECRET}"
timeout = "5s"
alert_on = "reports"

[service]
port = 0
log_format = "json"
""", encoding="utf-8")


class Daemon:
    """``python -m newswatch.cli run`` in a subprocess."""

    def __init__(self, workdir: Path, config: Path) -> None:
        self.log = workdir / "daemon.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch.cli", "run", "--config", str(config), "--db", str(workdir / "bench.db")],
            cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def count(self, event: str) -> int:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text.count(f'"event":"{event}"')

    def wait(self, event: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count(event) < count:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {count} {event} events within {timeout:.0f}s; see {self.log}")
            time.sleep(0.02)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


def read_rss_kb(pid: int) -> int:
    """Return VmRSS of ``pid`` in KiB (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_tree_rss_kb(pid: int) -> int:
    """Return the RSS of ``pid`` and all its descendants, in KiB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += read_rss_kb(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        stack.extend(int(c) for c in children)
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure_latency(items: int, interval: float, workdir: Path) -> dict[str, Any]:
    """Publish ``items`` items one at a time; time each until its alert arrives."""
    site, receiver = BenchSite().start(), Receiver()
    config = workdir / "latency.toml"
    write_config(config, site, receiver, interval)
    daemon = Daemon(workdir, config)
    latencies: list[float] = []
    try:
        daemon.wait("poll.finished", 2, timeout=120)  # started and polled the empty feed
        rnd = random.Random(7)
        for _ in range(items):
            time.sleep(rnd.uniform(0, interval))  # land anywhere in the polling cycle
            url = site.publish()
            deadline = time.monotonic() + 60
            while (arrived := receiver.arrived(url)) is None:
                if time.monotonic() > deadline or daemon.proc.poll() is not None:
                    raise TimeoutError(f"no alert for {url}; see {daemon.log}")
                time.sleep(0.005)
            latencies.append(arrived - site.published_at[url])
    finally:
        code = daemon.stop()
        site.stop()
        receiver.stop()
    return {
        "items": items,
        "interval_s": interval,
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(percentile(latencies, 0.95), 3),
        "latency_max_s": round(max(latencies), 3),
        "bad_signatures": receiver.bad_signatures,
        "exit_code": code,
    }


def measure_memory(cycles: int, workdir: Path) -> dict[str, Any]:
    """Run ``cycles`` short polls (one new article each); RSS at cycle 10 and at the end."""
    site, receiver = BenchSite(new_item_per_poll=True).start(), Receiver()
    config = workdir / "memory.toml"
    write_config(config, site, receiver, MEMORY_INTERVAL_S)
    daemon = Daemon(workdir, config)
    started = time.monotonic()
    try:
        daemon.wait("poll.finished", 10, timeout=180)
        rss_10, tree_10 = read_rss_kb(daemon.proc.pid), read_tree_rss_kb(daemon.proc.pid)
        daemon.wait("poll.finished", cycles, timeout=max(300, cycles * 3))
        rss_n, tree_n = read_rss_kb(daemon.proc.pid), read_tree_rss_kb(daemon.proc.pid)
        seconds = time.monotonic() - started
        delivered = len(receiver.arrivals)
    finally:
        code = daemon.stop()
        site.stop()
        receiver.stop()
    return {
        "cycles": cycles,
        "rss_cycle10_mb": round(rss_10 / 1024, 1),
        "rss_final_mb": round(rss_n / 1024, 1),
        "rss_growth_pct": round(100 * (rss_n - rss_10) / rss_10, 1),
        "tree_rss_cycle10_mb": round(tree_10 / 1024, 1),
        "tree_rss_final_mb": round(tree_n / 1024, 1),
        "tree_growth_pct": round(100 * (tree_n - tree_10) / tree_10, 1),
        "cycles_per_s": round(cycles / seconds, 2),
        "alerts_delivered": delivered,
        "exit_code": code,
    }


def run(items: int = 30, interval: float = 1.0, cycles: int = 100) -> dict[str, Any]:
    """Run both measurements; return their figures (one dict)."""
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-") as tmp:
        lat_dir, mem_dir = Path(tmp) / "latency", Path(tmp) / "memory"
        lat_dir.mkdir()
        mem_dir.mkdir()
        latency = measure_latency(items, interval, lat_dir)
        memory = measure_memory(cycles, mem_dir)
    memory["rss_growth_ok"] = memory["rss_growth_pct"] <= 10.0
    return {"latency": latency, "memory": memory}


def print_table(result: dict[str, Any]) -> None:
    lat, mem = result["latency"], result["memory"]
    rows = [
        ("items published", lat["items"]),
        ("poll interval (s)", lat["interval_s"]),
        ("feed item -> webhook p50 (s)", lat["latency_p50_s"]),
        ("feed item -> webhook p95 (s)", lat["latency_p95_s"]),
        ("feed item -> webhook max (s)", lat["latency_max_s"]),
        ("poll cycles (memory run)", mem["cycles"]),
        ("cycles per second", mem["cycles_per_s"]),
        ("daemon RSS at cycle 10 (MB)", mem["rss_cycle10_mb"]),
        (f"daemon RSS at cycle {mem['cycles']} (MB)", mem["rss_final_mb"]),
        ("daemon RSS growth (%)", f"{mem['rss_growth_pct']} ({'ok' if mem['rss_growth_ok'] else 'OVER 10%'})"),
        ("with extraction workers, cycle 10 (MB)", mem["tree_rss_cycle10_mb"]),
        (f"with extraction workers, cycle {mem['cycles']} (MB)", mem["tree_rss_final_mb"]),
        ("alerts delivered (memory run)", mem["alerts_delivered"]),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=30, help="items published for the latency run (default 30)")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval of the latency run, s (default 1)")
    parser.add_argument("--cycles", type=int, default=100,
                        help="poll cycles of the memory run (default 100; 500 for the acceptance figure)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.cycles <= 10:
        parser.error("--cycles must be more than 10")
    result = run(items=args.items, interval=args.interval, cycles=args.cycles)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0 if result["memory"]["rss_growth_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
