"""The newswatch service: ``newswatch run`` and ``newswatch status``.

* :mod:`scheduler.daemon`   the long-running :class:`Daemon` and :func:`run_daemon`
* :mod:`scheduler.policy`   adaptive polling intervals, back-off, silence (pure functions)
* :mod:`scheduler.state`    each source's polling state, persisted in ``sources``
* :mod:`scheduler.wiring`   the crawl service and alert delivery worker the daemon drives
* :mod:`scheduler.metrics`  Prometheus metrics, ``/healthz`` and ``/metrics``
* :mod:`scheduler.logs`     one structured log line (JSON or text) per event
* :mod:`scheduler.status`   what ``newswatch status`` shows
* :mod:`scheduler.commands` the click commands

Importing this package does not import Scrapy or ``twisted.internet.reactor``:
:func:`run_daemon` installs the asyncio reactor first.
"""

from scheduler.daemon import Daemon, run_daemon
from scheduler.status import collect_status, format_status

__all__ = ["Daemon", "collect_status", "format_status", "run_daemon"]
