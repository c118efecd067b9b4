"""Synchronous entry point for one-off crawls (``newswatch crawl``).

:func:`run_crawl` installs Twisted's asyncio reactor (unless it already is),
runs one crawl on its event loop and returns the
:class:`~crawler.results.CrawlResult`. It may be called several times in one
process. SIGINT/SIGTERM stop the crawl gracefully (pages in flight are
finished and stored, runs are marked ``interrupted``); a second signal
cancels it.

The extraction workers are started first, in the background, so that the
forkserver imports :mod:`crawler.extract` while Scrapy and Twisted are
imported and set up in the crawling process. At interpreter exit the
garbage collector's last passes over every object of the crawl are skipped
(:func:`gc.freeze`): the process is ending, and on a small crawl those
passes took a tenth of its time.

:func:`install_asyncio_reactor` must run before anything imports
``twisted.internet.reactor``; otherwise Twisted installs its default reactor
and the crawler cannot run. A daemon calls it first thing, then drives
:class:`~crawler.service.CrawlService` from the loop returned by
:func:`reactor_loop`.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.results import CrawlResult, Progress
from crawler.settings import REACTOR
from newswatch.config import Config, Source

if TYPE_CHECKING:
    from crawler.pool import ExtractorPool

LOGGER = logging.getLogger(__name__)
_DEFAULT_HOOK: Any = object()  # keep the crawler's default flagged-article hook
_FREEZE_AT_EXIT: list[bool] = []  # registered once per process


def install_asyncio_reactor() -> None:
    """Install the asyncio reactor, or check that it is the one installed.

    Raises RuntimeError when another reactor was installed first.
    """
    from scrapy.utils.reactor import install_reactor, is_asyncio_reactor_installed, is_reactor_installed

    if is_reactor_installed():
        if not is_asyncio_reactor_installed():
            raise RuntimeError(
                "a Twisted reactor other than the asyncio one is already installed; "
                "newswatch must install its reactor before anything imports twisted.internet.reactor"
            )
        return
    install_reactor(REACTOR)


def reactor_loop() -> asyncio.AbstractEventLoop:
    """Return the event loop the asyncio reactor runs on, with the reactor started.

    The reactor is marked running (its thread pool and startup triggers
    work) without blocking, so the caller may drive the loop with
    ``run_until_complete`` as many times as it likes.
    """
    install_asyncio_reactor()
    from twisted.internet import reactor

    if not getattr(reactor, "_started", False):
        reactor.startRunning(installSignalHandlers=False)  # type: ignore[attr-defined]
    return reactor._asyncioEventloop  # type: ignore[attr-defined]


def release_reactor_threads() -> None:
    """Stop the reactor's thread pool (its threads would keep the process alive).

    It is created again on demand by the next crawl.
    """
    from twisted.internet import reactor

    pool = getattr(reactor, "threadpool", None)
    if pool is not None:
        try:
            reactor._stopThreadPool()  # type: ignore[attr-defined]
        except (AssertionError, AttributeError):
            pool.stop()


async def _crawl_once(
    config: Config, db_path: str | Path, sources: Sequence[Source] | None, progress: Progress | None, detect: bool,
    hook: Any = _DEFAULT_HOOK, pool: ExtractorPool | None = None,
) -> CrawlResult:
    from crawler.service import CrawlService

    service = CrawlService(config, db_path, detect=detect, pool=pool) if hook is _DEFAULT_HOOK else \
        CrawlService(config, db_path, detect=detect, hook=hook, pool=pool)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen == 1:
            LOGGER.warning("received %s: finishing the pages in flight; send again to abort",
                           signal.Signals(signum).name)
            loop.create_task(service.stop())
        elif task is not None:
            task.cancel()

    installed = []
    if sys.platform != "win32":
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, on_signal, signum)
                installed.append(signum)
            except (RuntimeError, ValueError):  # not the main thread
                pass
    try:
        return await service.crawl(sources, progress)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        await service.close()


def run_crawl(
    config: Config,
    db_path: str | Path,
    sources: Sequence[Source] | None = None,
    progress: Progress | None = None,
    *,
    detect: bool = True,
    hook: Any = _DEFAULT_HOOK,
) -> CrawlResult:
    """Crawl ``sources`` (default: all configured) into ``db_path`` and return the result.

    ``progress(event, source, value)`` is called as the crawl goes (see
    :mod:`crawler.results` for the events). ``hook`` replaces the writer's
    flagged-article hook (see :mod:`crawler.writer`), e.g. the incident
    pipeline of ``newswatch crawl``.
    """
    refusal = "run_crawl() cannot be called from a running event loop; await CrawlService.crawl()"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(refusal)
    from crawler.pool import ExtractorPool

    pool = ExtractorPool(config.crawl.workers)
    pool.start(detect)  # the workers start while Scrapy is imported and set up
    try:
        loop = reactor_loop()
        if loop.is_running():
            raise RuntimeError(refusal)
    except BaseException:
        pool.shutdown()
        raise
    if not _FREEZE_AT_EXIT:
        atexit.register(gc.freeze)
        _FREEZE_AT_EXIT.append(True)
    try:
        return loop.run_until_complete(_crawl_once(config, db_path, sources, progress, detect, hook, pool))
    finally:
        release_reactor_threads()


__all__ = ["install_asyncio_reactor", "reactor_loop", "release_reactor_threads", "run_crawl"]
