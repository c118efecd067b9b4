"""Read and check the newswatch TOML configuration.

A configuration file has ``[crawl]`` (how to crawl), ``[[sources]]`` (what to
crawl), ``[[webhooks]]`` (where alerts go) and ``[service]`` (the daemon's
health endpoint). Every key is checked: a wrong one gets a
:class:`ConfigError` naming the file, the key and what was expected. The
bundled default (``newswatch/default.toml``) is used when no file is given.

Durations (``interval``, ``min_interval``, ``max_interval``, ``max_age``,
``timeout``) are written as ``"90s"``, ``"10m"``, ``"1h"``, ``"3d"`` or a
number of seconds.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "default.toml"
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
ATTACK_TYPES = (
    "rocket_missile", "mortar_artillery", "drone", "air_strike", "ied", "car_bomb",
    "suicide", "armed_assault", "assassination", "abduction", "grenade", "other",
)
#: What a webhook is sent: grouped incidents, per-article reports, or both.
ALERT_ON = ("incidents", "reports", "both")


class ConfigError(Exception):
    "The configuration file is not valid"


@dataclass(frozen=True)
class CrawlSettings:
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    obey_robots: bool = True
    allow_private_hosts: bool = False
    max_age: float = 3 * 86400
    timeout: float = 30.0
    max_page_bytes: int = 10 * 1024 * 1024
    retries: int = 2
    concurrency: int = 16
    concurrency_per_domain: int = 4
    download_delay: float = 0.0
    autothrottle: bool = True
    workers: int = 0  # extraction processes; 0 = one per core
    max_articles_per_source: int = 500
    interval: float = 600.0
    min_interval: float = 120.0
    max_interval: float = 3600.0


@dataclass(frozen=True)
class Source:
    name: str
    homepage: str = ""
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    language: str = ""
    interval: float = 600.0
    min_interval: float = 120.0
    max_interval: float = 3600.0


@dataclass(frozen=True)
class Webhook:
    name: str
    url: str
    secret: str = field(default="", repr=False)
    governorates: tuple[str, ...] = ()
    attack_types: tuple[str, ...] = ()
    min_score: float = 0.0
    max_attempts: int = 8
    timeout: float = 10.0
    alert_on: str = "incidents"  # incidents | reports | both

    @property
    def wants_incidents(self) -> bool:
        """True when the webhook gets ``incident.created`` / ``incident.updated``."""
        return self.alert_on in ("incidents", "both")

    @property
    def wants_reports(self) -> bool:
        """True when the webhook gets ``report.flagged`` (one per flagged article)."""
        return self.alert_on in ("reports", "both")

    def __repr__(self) -> str:  # never show the secret
        return f"Webhook(name={self.name!r}, url={self.url!r})"


@dataclass(frozen=True)
class ServiceSettings:
    host: str = "127.0.0.1"
    port: int = 9464
    log_format: str = "json"  # json | text


@dataclass(frozen=True)
class Config:
    path: str
    crawl: CrawlSettings
    sources: tuple[Source, ...]
    webhooks: tuple[Webhook, ...] = ()
    service: ServiceSettings = ServiceSettings()

    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        raise KeyError(name)


def parse_duration(value: Any, where: str) -> float:
    """Return ``value`` ("90s", "10m", "1h", "3d" or a number) in seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration such as \"90s\", \"10m\" or \"1h\", got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := DURATION_RE.match(value)):
        seconds = float(match.group(1)) * UNITS[match.group(2)]
    else:
        raise ConfigError(f"{where}: expected a duration such as \"90s\", \"10m\" or \"1h\", got {value!r}")
    if seconds <= 0:
        raise ConfigError(f"{where}: expected a positive duration, got {value!r}")
    return seconds


class _Checker:
    """Check one table of the TOML document against the fields it may have."""

    def __init__(self, path: str, table: str, data: Any) -> None:
        self.path, self.table = path, table
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [{table}] must be a table, got {type(data).__name__}")
        self.data = data

    def where(self, key: str) -> str:
        return f"{self.path}: {self.table}.{key}"

    def reject_unknown(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            raise ConfigError(
                f"{self.path}: unknown key {self.table}.{unknown[0]} (allowed: {', '.join(sorted(allowed))})"
            )

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise ConfigError(f"{self.path}: {self.table}.{key} is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"{self.where(key)}: expected {names}, got {value!r}")
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{self.where(key)}: expected a list of non-empty strings, got {value!r}")
        return tuple(v.strip() for v in value)

    def url_list(self, key: str) -> tuple[str, ...]:
        urls = self.string_list(key)
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ConfigError(f"{self.where(key)}: expected http(s) URLs, got {url!r}")
        return urls

    def duration(self, key: str, default: float) -> float:
        return parse_duration(self.data[key], self.where(key)) if key in self.data else default


def _parse_crawl(path: str, data: Any) -> CrawlSettings:
    c = _Checker(path, "crawl", data)
    d = CrawlSettings()
    c.reject_unknown(set(CrawlSettings.__dataclass_fields__))
    settings = CrawlSettings(
        user_agent=c.get("user_agent", str, d.user_agent),
        obey_robots=c.get("obey_robots", bool, d.obey_robots),
        allow_private_hosts=c.get("allow_private_hosts", bool, d.allow_private_hosts),
        max_age=c.duration("max_age", d.max_age),
        timeout=c.duration("timeout", d.timeout),
        max_page_bytes=c.get("max_page_bytes", int, d.max_page_bytes),
        retries=c.get("retries", int, d.retries),
        concurrency=c.get("concurrency", int, d.concurrency),
        concurrency_per_domain=c.get("concurrency_per_domain", int, d.concurrency_per_domain),
        download_delay=float(c.get("download_delay", (int, float), d.download_delay)),
        autothrottle=c.get("autothrottle", bool, d.autothrottle),
        workers=c.get("workers", int, d.workers),
        max_articles_per_source=c.get("max_articles_per_source", int, d.max_articles_per_source),
        interval=c.duration("interval", d.interval),
        min_interval=c.duration("min_interval", d.min_interval),
        max_interval=c.duration("max_interval", d.max_interval),
    )
    for key in ("max_page_bytes", "concurrency", "concurrency_per_domain"):
        if getattr(settings, key) <= 0:
            raise ConfigError(f"{c.where(key)}: expected a positive integer, got {getattr(settings, key)!r}")
    for key in ("retries", "workers", "max_articles_per_source"):
        if getattr(settings, key) < 0:
            raise ConfigError(f"{c.where(key)}: expected zero or more, got {getattr(settings, key)!r}")
    if settings.min_interval > settings.max_interval:
        raise ConfigError(f"{c.where('min_interval')}: must not exceed crawl.max_interval")
    return settings


def _parse_source(path: str, index: int, data: Any, crawl: CrawlSettings) -> Source:
    c = _Checker(path, f"sources[{index}]", data)
    name = c.get("name", str, None, required=True).strip()
    if not name:
        raise ConfigError(f"{c.where('name')}: expected a non-empty name")
    c.table = f"sources[{index}] ({name})"
    c.reject_unknown(set(Source.__dataclass_fields__))
    src = Source(
        name=name,
        homepage=c.get("homepage", str, ""),
        feeds=c.url_list("feeds"),
        sitemaps=c.url_list("sitemaps"),
        language=c.get("language", str, ""),
        interval=c.duration("interval", crawl.interval),
        min_interval=c.duration("min_interval", crawl.min_interval),
        max_interval=c.duration("max_interval", crawl.max_interval),
    )
    if not src.feeds and not src.sitemaps:
        raise ConfigError(f"{path}: {c.table} needs at least one URL in feeds or sitemaps")
    if src.min_interval > src.max_interval:
        raise ConfigError(f"{c.where('min_interval')}: must not exceed max_interval")
    return src


def _parse_webhook(path: str, index: int, data: Any) -> Webhook:
    c = _Checker(path, f"webhooks[{index}]", data)
    allowed = set(Webhook.__dataclass_fields__) | {"secret_env"}
    c.reject_unknown(allowed)
    url = c.get("url", str, None, required=True)
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{c.where('url')}: expected an http(s) URL, got {url!r}")
    secret = c.get("secret", str, "")
    secret_env = c.get("secret_env", str, "")
    if secret and secret_env:
        raise ConfigError(f"{path}: webhooks[{index}] sets both secret and secret_env; keep one")
    if secret_env:
        secret = os.environ.get(secret_env, "")
        if not secret:
            raise ConfigError(f"{c.where('secret_env')}: environment variable {secret_env} is not set or empty")
    if not secret:
        raise ConfigError(f"{path}: webhooks[{index}] needs a secret or secret_env")
    attack_types = c.string_list("attack_types")
    for kind in attack_types:
        if kind not in ATTACK_TYPES:
            raise ConfigError(f"{c.where('attack_types')}: unknown attack type {kind!r} (one of {', '.join(ATTACK_TYPES)})")
    alert_on = c.get("alert_on", str, "incidents").strip().lower()
    if alert_on not in ALERT_ON:
        raise ConfigError(
            f"{c.where('alert_on')}: expected one of {', '.join(repr(a) for a in ALERT_ON)}, got {c.data['alert_on']!r}"
            " (\"incidents\": one alert per incident and its updates; \"reports\": one per flagged article)"
        )
    hook = Webhook(
        name=c.get("name", str, f"webhook-{index + 1}"),
        url=url,
        secret=secret,
        governorates=c.string_list("governorates"),
        attack_types=attack_types,
        min_score=float(c.get("min_score", (int, float), 0.0)),
        max_attempts=c.get("max_attempts", int, 8),
        timeout=c.duration("timeout", 10.0),
        alert_on=alert_on,
    )
    if hook.max_attempts < 1:
        raise ConfigError(f"{c.where('max_attempts')}: expected at least 1, got {hook.max_attempts!r}")
    return hook


def _parse_service(path: str, data: Any) -> ServiceSettings:
    c = _Checker(path, "service", data)
    c.reject_unknown(set(ServiceSettings.__dataclass_fields__))
    d = ServiceSettings()
    svc = ServiceSettings(
        host=c.get("host", str, d.host),
        port=c.get("port", int, d.port),
        log_format=c.get("log_format", str, d.log_format),
    )
    if not 0 <= svc.port <= 65535:
        raise ConfigError(f"{c.where('port')}: expected a port number 0-65535, got {svc.port!r}")
    if svc.log_format not in ("json", "text"):
        raise ConfigError(f"{c.where('log_format')}: expected \"json\" or \"text\", got {svc.log_format!r}")
    return svc


def parse_config(text: str, path: str = "<config>") -> Config:
    """Parse and check configuration ``text``; ``path`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"crawl", "sources", "webhooks", "service"})
    if unknown:
        raise ConfigError(f"{path}: unknown table or key {unknown[0]!r} (allowed: crawl, service, sources, webhooks)")
    crawl = _parse_crawl(path, data.get("crawl", {}))
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(f"{path}: sources: expected at least one [[sources]] table")
    sources = tuple(_parse_source(path, i, s, crawl) for i, s in enumerate(raw_sources))
    seen: set[str] = set()
    for src in sources:
        if src.name in seen:
            raise ConfigError(f"{path}: sources: duplicate source name {src.name!r}")
        seen.add(src.name)
    raw_hooks = data.get("webhooks", [])
    if not isinstance(raw_hooks, list):
        raise ConfigError(f"{path}: webhooks: expected [[webhooks]] tables")
    webhooks = tuple(_parse_webhook(path, i, w) for i, w in enumerate(raw_hooks))
    if len({w.name for w in webhooks}) != len(webhooks):
        raise ConfigError(f"{path}: webhooks: duplicate webhook name")
    service = _parse_service(path, data.get("service", {}))
    return Config(path=path, crawl=crawl, sources=sources, webhooks=webhooks, service=service)


def read_default_text() -> str:
    return resources.files("newswatch").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")


def load_config(path: str | Path | None = None) -> Config:
    """Load the configuration at ``path``, or the bundled default when None."""
    if path is None:
        return parse_config(read_default_text(), f"<bundled {DEFAULT_CONFIG}>")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc}") from exc
    return parse_config(text, str(path))
