"""The process pool that runs extraction and detection off the event loop.

trafilatura is CPU-bound: run inline it blocks the event loop for hundreds of
milliseconds, and threads gain nothing under the GIL. :class:`ExtractorPool`
keeps one :class:`~concurrent.futures.ProcessPoolExecutor` for the life of the
service, started with the ``forkserver`` method (``spawn`` where forkserver is
not available), never a plain ``fork`` of a process running an event loop.
Workers are forked from a server that has already imported
:mod:`crawler.extract`, so they start quickly.

A page that kills its worker (a crash in a C library) breaks the whole pool:
the pool is rebuilt and the pages that were in flight are tried once more,
so only the page that crashes twice is recorded as a failure. A page whose
extraction runs longer than :data:`~crawler.settings.EXTRACT_TIMEOUT_S` is
recorded as a failure and the pool is replaced (its workers terminated).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crawler.extract import extract_worker, init_worker
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


class ExtractorPool:
    """Extraction workers, created on first use and rebuilt when broken."""

    def __init__(self, workers: int = 0, timeout: float = EXTRACT_TIMEOUT_S) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0

    def _get(self) -> tuple[ProcessPoolExecutor, int]:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=_context(), initializer=init_worker
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

    async def extract(self, html: bytes | str, url: str, feed_date: object, hints: dict[str, Any]) -> dict[str, Any]:
        """Run :func:`crawler.extract.extract_worker` in a worker and return its result."""
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

    def warm_up(self) -> None:
        """Start the workers now rather than on the first page."""
        executor, _ = self._get()
        for _ in range(self.workers):
            executor.submit(init_worker)

    def shutdown(self) -> None:
        """Stop the workers (waits for pages in flight)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
