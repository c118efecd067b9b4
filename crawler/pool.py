"""The process pool that runs extraction and detection off the event loop.

trafilatura is CPU-bound: run inline it blocks the event loop for hundreds of
milliseconds, and threads gain nothing under the GIL. :class:`ExtractorPool`
keeps one :class:`~concurrent.futures.ProcessPoolExecutor` for the life of the
service, started with the ``forkserver`` method (``spawn`` where forkserver is
not available), never a plain ``fork`` of a process running an event loop.
Workers are forked from a server that has already imported
:mod:`crawler.extract`, so they start quickly. :meth:`ExtractorPool.start`
forks and warms them up (:func:`crawler.extract.warm_worker`) in a background
thread, before the crawler is built; a page that arrives before they are up
waits for them without blocking the event loop.

A page that kills its worker (a crash in a C library) breaks the whole pool:
the pool is rebuilt and the pages that were in flight are tried once more,
so only the page that crashes twice is recorded as a failure. A page whose
extraction runs longer than :data:`~crawler.settings.EXTRACT_TIMEOUT_S` is
recorded as a failure and the pool is replaced (its workers terminated).

Workers log through a multiprocessing queue to the parent process
(:class:`logging.handlers.QueueListener`), where each record goes to the
logger of its name: the parent's handlers (one JSON line per record in the
daemon) write it, never Python's bare last-resort line on the workers'
stderr.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crawler.extract import extract_worker, init_worker, warm_worker
from crawler.settings import EXTRACT_TIMEOUT_S

LOGGER = logging.getLogger(__name__)

PRELOAD_MODULES = ["crawler.extract"]


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD_MODULES)
        return ctx
    return multiprocessing.get_context("spawn")


class _ToParentLoggers(logging.Handler):
    """Hand a worker's record to the parent's logger of the same name (and so to its handlers)."""

    def handle(self, record: logging.LogRecord) -> bool:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does the work
        self.handle(record)


class ExtractorPool:
    """Extraction workers, created on first use and rebuilt when broken."""

    def __init__(self, workers: int = 0, timeout: float = EXTRACT_TIMEOUT_S) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._listener: logging.handlers.QueueListener | None = None
        self._lock = threading.Lock()  # the pool is started from a thread (start()) and used from the loop
        self._starter: threading.Thread | None = None

    def _get(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            return self._get_locked()

    def _get_locked(self) -> tuple[ProcessPoolExecutor, int]:
        if self._executor is None:
            ctx = _context()
            queue = ctx.Queue()  # one per generation: a terminated worker may leave a queue unusable
            self._listener = logging.handlers.QueueListener(queue, _ToParentLoggers())
            self._listener.start()
            level = max(logging.getLogger().getEffectiveLevel(), logging.INFO)
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=init_worker, initargs=(queue, level)
            )
            self._generation += 1
            LOGGER.debug("started %d extraction workers", self.workers)
        return self._executor, self._generation

    def _discard(self, generation: int, why: str, terminate: bool = False) -> None:
        if self._executor is not None and generation == self._generation:
            LOGGER.warning("%s; restarting the extraction pool", why)
            executor, self._executor = self._executor, None
            if terminate:
                # a busy worker never returns on its own: stop every worker of this pool
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)
            self._stop_listener(wait=False)

    def _stop_listener(self, wait: bool) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        if wait:
            listener.stop()  # forwards what the workers logged, then ends its thread
        else:  # workers died or were killed: never wait on a queue one of them may have broken
            try:
                listener.enqueue_sentinel()
            except Exception:
                LOGGER.debug("cannot stop the log listener", exc_info=True)

    async def extract(self, html: bytes | str, url: str, feed_date: object, hints: dict[str, Any]) -> dict[str, Any]:
        """Run :func:`crawler.extract.extract_worker` in a worker and return its result."""
        starter = self._starter
        if starter is not None and starter.is_alive():
            # the workers are being forked (start()): wait off the loop, downloads go on meanwhile
            await asyncio.to_thread(starter.join)
        for attempt in (1, 2):
            executor, generation = self._get()
            try:
                future = executor.submit(extract_worker, html, url, feed_date, hints)
                return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
            except asyncio.TimeoutError:
                self._discard(generation, f"extraction of {url} ran over {self.timeout:g} s", terminate=True)
                return {"ok": False, "reason": f"extraction took longer than {self.timeout:g} s"}
            except BrokenProcessPool:
                self._discard(generation, "an extraction worker died")
                if attempt == 2:
                    return {"ok": False, "reason": "the extraction worker crashed on this page"}
        raise AssertionError("unreachable")

    def warm_up(self, detect: bool = True) -> None:
        """Start the workers now rather than on the first page, and load their lazy state.

        Each worker runs :func:`crawler.extract.warm_worker` (its whole path
        on a small page, the detector too when ``detect``). Blocks while the
        workers are forked (:meth:`start` does this in a thread); the warm-up
        itself runs in the workers. Does nothing when the pool is already
        running.
        """
        with self._lock:
            if self._executor is not None:
                return
            executor, _ = self._get_locked()
        for _ in range(self.workers):
            executor.submit(warm_worker, detect)

    def start(self, detect: bool = True) -> None:
        """Like :meth:`warm_up`, in a background thread: returns at once, never blocks the loop.

        Starting the forkserver and forking the workers takes a few tenths of
        a second (the forkserver imports :mod:`crawler.extract`); called
        before the crawler is built, that happens while Scrapy sets up.
        """
        if self._executor is not None or (self._starter is not None and self._starter.is_alive()):
            return
        self._starter = threading.Thread(target=self._start, args=(detect,), name="newswatch-pool-start", daemon=True)
        self._starter.start()

    def _start(self, detect: bool) -> None:
        try:
            self.warm_up(detect)
        except Exception:  # the first page will try again (and report) through _get()
            LOGGER.warning("cannot start the extraction workers", exc_info=True)

    def shutdown(self) -> None:
        """Stop the workers (waits for pages in flight)."""
        starter, self._starter = self._starter, None
        if starter is not None:
            starter.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._stop_listener(wait=True)
