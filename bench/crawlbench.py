"""Crawl the bench site with newswatch and with news-please, and sample memory.

- :func:`run_newswatch` writes a config TOML for the site and times
  ``python -m newswatch.cli crawl --config X --db Y --quiet`` in a
  subprocess, into a fresh database.
- :func:`run_newsplease` times news-please's crawler process on the same
  site, from its own virtual environment (:func:`ensure_newsplease`).

Both are timed two ways: ``wall`` from starting the process to its exit
(interpreter start, imports, pool start-up included), and ``crawl`` from the
site's first request of the run (robots.txt or the feed) to the process's
exit. ``pages`` is the number of article pages the site served during the
run; pages/s = pages / seconds.

Peak memory: :class:`TreeSampler` reads ``VmRSS`` from ``/proc`` for the
process and every descendant (all threads' ``children`` lists, so the
forkserver and the extraction workers are included; the readers are
:func:`newswatch.localsite.rss_kb` and :func:`~newswatch.localsite.tree_pids`,
which the hostile-input tests use too) every 20 ms and keeps the largest sum
(``peak_tree_rss_mb``). Shared pages are counted once per
process, so the sum is an upper bound of the memory the tree needs.
``psutil`` is not a newswatch dependency, so ``/proc`` is read directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from newswatch.localsite import rss_kb, tree_pids

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
GUARD_DIR = BENCH / "netguard"
NEWSPLEASE_VENV = BENCH / ".venv-newsplease"
NEWSPLEASE_SPEC = "news-please"
NEWSPLEASE_EXTRACTOR = "newspaper_extractor_no_images"


# -- memory ---------------------------------------------------------------------
class CpuWindow:
    """CPU seconds used while it is open: by the waited-for children (exact,
    ``RUSAGE_CHILDREN``), by this process, and by every other process on the
    machine (``/proc/stat`` busy time minus those two)."""

    def __enter__(self) -> CpuWindow:
        self._children = _children_cpu()
        self._own = time.process_time()
        self._busy = _machine_busy_s()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t
        self.children_s = _children_cpu() - self._children
        self.own_s = time.process_time() - self._own
        self.other_s = max(0.0, _machine_busy_s() - self._busy - self.children_s - self.own_s)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class TreeSampler:
    """Samples the RSS of a process tree in a thread; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval = pid, interval
        self.peak_tree_kb = self.peak_main_kb = self.max_processes = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = tree_pids(self.pid)
            sizes = [rss_kb(p) for p in pids]
            self.peak_tree_kb = max(self.peak_tree_kb, sum(sizes))
            self.peak_main_kb = max(self.peak_main_kb, sizes[0] if sizes else 0)
            self.max_processes = max(self.max_processes, sum(1 for s in sizes if s))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- environment ----------------------------------------------------------------
def guarded_env(guard_log: Path, extra_path: list[str] | None = None) -> dict[str, str]:
    """The environment for a benchmark subprocess: loopback-only guard on, logging to ``guard_log``."""
    env = dict(os.environ)
    parts = [str(GUARD_DIR), *(extra_path or [])]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["BENCH_NETGUARD_LOG"] = str(guard_log)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSTARTUP", None)
    return env


def run_floor(pages: int | None, guard_log: Path) -> dict[str, Any]:
    """Run ``bench/floor.py`` in a subprocess (one core) and return its figures."""
    args = [sys.executable, str(BENCH / "floor.py")]
    if pages:
        args += ["--pages", str(pages)]
    with CpuWindow() as cpu:
        proc = subprocess.run(args, cwd=str(REPO), env=guarded_env(guard_log, [str(REPO)]),
                              capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the trafilatura floor failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["other_load_cores"] = round(cpu.other_s / cpu.seconds, 2) if cpu.seconds else 0.0
    return result


# -- newswatch ------------------------------------------------------------------
def write_newswatch_config(path: Path, site: Any, listing: str, concurrency: int, workers: int) -> None:
    pages = max(len(site.pages), 181)
    key = "feeds" if listing == "rss" else "sitemaps"
    url = site.feed_url if listing == "rss" else site.sitemap_url
    path.write_text(f"""# newswatch configuration for the bench site (written by bench/crawlbench.py)
[crawl]
allow_private_hosts = true
obey_robots = true
autothrottle = false
max_age = "100000d"
timeout = "30s"
retries = 0
concurrency = {concurrency}
concurrency_per_domain = {concurrency}
download_delay = 0
workers = {workers}
max_articles_per_source = {pages}

[[sources]]
name = "bench"
{key} = ["{url}"]
language = "en"
""", encoding="utf-8")


def _timings(pages: int, wall: float, crawl_s: float, sampler: TreeSampler, cpu: CpuWindow) -> dict[str, Any]:
    """The figures both crawlers report: seconds, pages/s, peak memory, CPU and other load."""
    return {
        "wall_s": round(wall, 3),
        "crawl_s": round(crawl_s, 3),
        "pages_per_s": round(pages / crawl_s, 2) if crawl_s > 0 else 0.0,
        "pages_per_s_wall": round(pages / wall, 2),
        "peak_tree_rss_mb": round(sampler.peak_tree_kb / 1024, 1),
        "peak_main_rss_mb": round(sampler.peak_main_kb / 1024, 1),
        "processes": sampler.max_processes,
        "cpu_s": round(cpu.children_s, 2),
        "other_load_cores": round(cpu.other_s / cpu.seconds, 2) if cpu.seconds else 0.0,
    }


def _db_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(str(db))
    try:
        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])
        return {
            "stored": count("select count(*) from articles"),
            "flagged": count("select count(*) from reports"),
            "failures": count("select count(*) from failures"),
        }
    finally:
        conn.close()


def run_newswatch(site: Any, workdir: Path, guard_log: Path, listing: str = "rss",
                  concurrency: int = 32, workers: int = 0) -> dict[str, Any]:
    """One ``newswatch crawl`` of the site into a fresh database; timings, counts, peak RSS."""
    workdir.mkdir(parents=True, exist_ok=True)
    config, db = workdir / "bench.toml", workdir / "bench.db"
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    write_newswatch_config(config, site, listing, concurrency, workers)
    log = workdir / "newswatch.log"
    args = [sys.executable, "-m", "newswatch.cli", "crawl", "--config", str(config), "--db", str(db), "--quiet"]
    mark = time.time()
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(args, cwd=str(REPO), env=guarded_env(guard_log, [str(REPO)]),
                                stdout=err, stderr=subprocess.STDOUT)
        with TreeSampler(proc.pid) as sampler, CpuWindow() as cpu:
            code = proc.wait(timeout=900)
    wall = time.perf_counter() - start
    ended = time.time()
    if code != 0:
        raise RuntimeError(f"newswatch crawl exited with {code}; see {log}:\n{log.read_text()[-2000:]}")
    first = site.first_request(mark) or mark
    pages = len(site.article_hits(mark))
    crawl_s = ended - first
    return {
        "pages": pages,
        **_db_counts(db),
        **_timings(pages, wall, crawl_s, sampler, cpu),
    }


# -- news-please ----------------------------------------------------------------
def newsplease_python() -> Path:
    return NEWSPLEASE_VENV / "bin" / "python"


def ensure_newsplease(log: Path) -> dict[str, Any]:
    """Create ``bench/.venv-newsplease`` with news-please on first use; return version and set-up time."""
    started = time.perf_counter()
    python = newsplease_python()
    installed_now = False
    if not python.exists() or subprocess.run([str(python), "-c", "import newsplease"],
                                             capture_output=True).returncode != 0:
        shutil.rmtree(NEWSPLEASE_VENV, ignore_errors=True)
        base = shutil.which("python3") or sys.executable
        with open(log, "w") as out:
            subprocess.run([base, "-m", "venv", str(NEWSPLEASE_VENV)], check=True, stdout=out, stderr=subprocess.STDOUT)
            subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", NEWSPLEASE_SPEC],
                           check=True, stdout=out, stderr=subprocess.STDOUT, timeout=900)
        installed_now = True
    probe = subprocess.run(
        [str(python), "-c",
         "import importlib.metadata as m, os, newsplease; "
         "print(m.version('news-please')); print(m.version('newspaper4k')); print(m.version('Scrapy')); "
         "print(os.path.dirname(newsplease.__file__))"],
        capture_output=True, text=True, check=True,
    )
    version, newspaper_version, scrapy_version, package = probe.stdout.split("\n")[:4]
    return {
        "version": version, "newspaper4k": newspaper_version, "scrapy": scrapy_version, "package": package,
        "installed_now": installed_now, "setup_s": round(time.perf_counter() - started, 1),
    }


def write_newsplease_config(confdir: Path, workdir: Path, package: Path, site: Any, listing: str) -> Path:
    """config.cfg (news-please's own, with the no-images extractor and a local working path) and sitelist.hjson."""
    confdir.mkdir(parents=True, exist_ok=True)
    text = (package / "config" / "config.cfg").read_text(encoding="utf-8")
    names = {p.stem for p in (package / "pipeline" / "extractor" / "extractors").glob("*.py")}
    if NEWSPLEASE_EXTRACTOR not in names:
        raise RuntimeError(f"news-please has no extractor {NEWSPLEASE_EXTRACTOR!r} (found {sorted(names)})")
    text, n = re.subn(r"^extractors\s*=\s*\[.*?\]", lambda m: m.group(0).replace("'newspaper_extractor'",
                      f"'{NEWSPLEASE_EXTRACTOR}'"), text, flags=re.M)
    if n != 1 or NEWSPLEASE_EXTRACTOR not in text:
        raise RuntimeError("cannot set news-please's extractors in its config.cfg")
    text, n = re.subn(r"^working_path\s*=.*$", f"working_path = {workdir}/", text, flags=re.M)
    if n != 1:
        raise RuntimeError("cannot set news-please's working_path in its config.cfg")
    (confdir / "config.cfg").write_text(text, encoding="utf-8")
    crawler = "RssCrawler" if listing == "rss" else "SitemapCrawler"
    (confdir / "sitelist.hjson").write_text(json.dumps(
        {"base_urls": [{"url": site.base_url + "/", "crawler": crawler}]}, indent=2), encoding="utf-8")
    return confdir


CRASH_RE = re.compile(r"Error processing \{|Traceback \(most recent call last\)")


def run_newsplease(site: Any, workdir: Path, guard_log: Path, setup: dict[str, Any],
                   listing: str = "rss") -> dict[str, Any]:
    """One news-please crawl of the site (its crawler process, timed directly)."""
    if urlsplit_port(site.base_url) != 80:
        raise RuntimeError("news-please needs the site on port 80 (its allowed-domain check drops URLs with a port)")
    shutil.rmtree(workdir, ignore_errors=True)
    data = workdir / "repo"
    confdir = write_newsplease_config(workdir / "config", data, Path(setup["package"]), site, listing)
    log = workdir / "newsplease.log"
    args = [str(newsplease_python()), str(Path(setup["package"]) / "single_crawler.py"),
            str(confdir / "config.cfg"), str(confdir / "sitelist.hjson"), "0", "False", "False"]
    mark = time.time()
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(args, cwd=str(workdir), env=guarded_env(guard_log), stdout=err, stderr=subprocess.STDOUT)
        with TreeSampler(proc.pid) as sampler, CpuWindow() as cpu:
            code = proc.wait(timeout=1800)
    wall = time.perf_counter() - start
    ended = time.time()
    output = log.read_text(encoding="utf-8", errors="replace")
    if code != 0:
        raise RuntimeError(f"news-please exited with {code}; see {log}:\n{output[-2000:]}")
    first = site.first_request(mark) or mark
    pages = len(site.article_hits(mark))
    crawl_s = ended - first
    json_files = list(data.rglob("*.json")) if data.exists() else []
    crashed = len(re.findall(r"Error processing \{", output))
    return {
        "pages": pages,
        "stored": len(json_files),
        "crashed": crashed,
        "crash_examples": _crash_examples(output),
        **_timings(pages, wall, crawl_s, sampler, cpu),
    }


def _crash_examples(output: str, limit: int = 3) -> list[str]:
    """The exception lines that follow news-please's 'Error processing' messages."""
    examples: list[str] = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "Error processing {" in line:
            for follow in lines[i + 1 : i + 80]:
                if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", follow):
                    if follow not in examples:
                        examples.append(follow[:200])
                    break
        if len(examples) >= limit:
            break
    return examples


def urlsplit_port(url: str) -> int:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def newsplease_tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="newswatch-bench-np-"))
