"""Structured logs for the newswatch daemon: one line per event.

Every record is written as one line, JSON by default (``service.log_format =
"json"``) or ``key=value`` text (``"text"``). A record carries an ``event``
name (``poll.finished``, ``source.backoff``, ``daemon.stopping`` ...) and the
fields that matter for it (``source``, ``url``, counts, durations); use
:func:`log_event` to write one::

    log_event(LOGGER, logging.INFO, "poll.finished", source="rudaw", new=3)

Records from other libraries (Scrapy, Twisted, APScheduler) get the event name
``log`` and their message. Scrapy's per-crawl boilerplate (settings dumps,
middleware lists, periodic stats) is quietened by :func:`quiet_libraries`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

EVENT_KEY = "event"
FIELDS_KEY = "fields"

#: Loggers set to WARNING: they log tens of lines per crawl at INFO.
NOISY_LOGGERS = (
    "scrapy",
    "scrapy.core.engine",
    "scrapy.middleware",
    "scrapy.crawler",
    "scrapy.extensions.logstats",
    "scrapy.extensions.telnet",
    "scrapy.statscollectors",
    "scrapy.utils.log",
    "scrapy.addons",
    "twisted",
    "py.warnings",
    "apscheduler",
    "apscheduler.scheduler",
    "apscheduler.executors.default",
    "filelock",
    "trafilatura",
    "htmldate",
    "courlan",
    "charset_normalizer",
    "httpx",
    "httpcore",
)

#: Keys never written, whatever a caller passes (secrets have no place in logs).
REDACTED_KEYS = frozenset({"secret", "token", "password", "authorization", "signature"})


def log_event(logger: logging.Logger, level: int, event: str, message: str = "", **fields: Any) -> None:
    """Log one structured event with its fields."""
    if not logger.isEnabledFor(level):
        return
    exc_info = fields.pop("exc_info", None)
    logger.log(
        level,
        message or event,
        extra={EVENT_KEY: event, FIELDS_KEY: fields},
        exc_info=exc_info,
        stacklevel=2,
    )


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, FIELDS_KEY, None)
    if not isinstance(fields, dict):
        return {}
    return {k: v for k, v in fields.items() if k.lower() not in REDACTED_KEYS}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, EVENT_KEY, None) or "log",
        }
        message = record.getMessage()
        if message and message != payload["event"]:
            payload["msg"] = message
        for key, value in _record_fields(record).items():
            if key not in payload:
                payload[key] = _jsonable(value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _text_value(value: Any) -> str:
    text = json.dumps(_jsonable(value), ensure_ascii=False) if not isinstance(value, str) else value
    if not text or any(c in text for c in ' "=\n'):
        text = json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """Format a record as ``ts level event key=value ... msg="..."`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, EVENT_KEY, None) or "log"
        parts = [_timestamp(record), record.levelname.lower(), event]
        for key, value in _record_fields(record).items():
            parts.append(f"{key}={_text_value(value)}")
        message = record.getMessage()
        if message and message != event:
            parts.append(f"msg={_text_value(message)}")
        if record.name and not getattr(record, EVENT_KEY, None):
            parts.append(f"logger={record.name}")
        line = " ".join(parts)
        if record.exc_info:
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return line


def make_formatter(log_format: str) -> logging.Formatter:
    """Return the formatter for ``service.log_format`` ("json" or "text")."""
    return TextFormatter() if log_format == "text" else JsonFormatter()


def quiet_libraries(level: int = logging.WARNING) -> None:
    """Raise the level of the libraries that log boilerplate on every crawl."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)


def configure_logging(log_format: str = "json", level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send all logs to ``stream`` (stderr) as one structured line per event.

    Replaces the root logger's handlers, so that Scrapy's own handler (if
    installed earlier) does not write a second copy. Returns the handler.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, logging.StreamHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_libraries()
    logging.captureWarnings(True)
    return handler
