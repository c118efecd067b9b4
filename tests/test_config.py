"""Configuration parsing: defaults, durations and errors that name file and key."""

from __future__ import annotations

import pytest

from newswatch.config import ConfigError, load_config, parse_config, parse_duration

MINIMAL = """
[[sources]]
name = "Local"
feeds = ["http://127.0.0.1:8000/feed.xml"]
"""


def test_bundled_default_loads_with_english_arabic_and_kurdish_sources():
    config = load_config(None)
    languages = {s.language for s in config.sources}
    assert {"en", "ar", "ckb"} <= languages
    assert config.sources[0].language == "en"
    assert config.crawl.obey_robots is True
    assert config.crawl.allow_private_hosts is False
    assert config.crawl.max_age == 3 * 86400
    assert all(s.feeds or s.sitemaps for s in config.sources)
    assert len({s.name for s in config.sources}) == len(config.sources)


def test_minimal_config_takes_crawl_defaults():
    config = parse_config(MINIMAL, "x.toml")
    src = config.source("Local")
    assert src.interval == config.crawl.interval
    assert src.sitemaps == ()
    assert config.webhooks == ()
    assert config.service.host == "127.0.0.1"


@pytest.mark.parametrize(
    "value, seconds",
    [("90s", 90), ("10m", 600), ("1h", 3600), ("3d", 259200), (45, 45), ("2.5m", 150), ("500ms", 0.5)],
)
def test_durations(value, seconds):
    assert parse_duration(value, "k") == seconds


@pytest.mark.parametrize("value", ["ten minutes", "-5s", 0, True, "5 weeks", ""])
def test_bad_durations_are_refused(value):
    with pytest.raises(ConfigError, match="k: expected"):
        parse_duration(value, "k")


@pytest.mark.parametrize(
    "text, message",
    [
        ("[crawl]\nobey_robots = 'yes'\n" + MINIMAL, r"x.toml: crawl.obey_robots: expected bool, got 'yes'"),
        ("[crawl]\nfrobnicate = 1\n" + MINIMAL, r"x.toml: unknown key crawl.frobnicate"),
        ("[[sources]]\nname = 'A'\n", r"x.toml: sources\[0\] \(A\) needs at least one URL"),
        ("[[sources]]\nfeeds = ['http://a/']\n", r"x.toml: sources\[0\].name is required"),
        (MINIMAL + MINIMAL, r"duplicate source name 'Local'"),
        ("[[sources]]\nname='A'\nfeeds = 'http://a/'\n", r"sources\[0\] \(A\).feeds: expected list"),
        ("[[sources]]\nname='A'\nfeeds = ['ftp://a/']\n", r"expected http\(s\) URLs"),
        ("[[sources]]\nname='A'\nfeeds = ['http://a/']\ninterval = 'soon'\n", r"sources\[0\] \(A\).interval: expected a duration"),
        ("[[sources]]\nname='A'\nfeeds = ['http://a/']\ncolour = 1\n", r"unknown key sources\[0\] \(A\).colour"),
        ("[crawl]\nmin_interval = '2h'\nmax_interval = '1h'\n" + MINIMAL, r"crawl.min_interval: must not exceed"),
        ("sources = 3\n", r"expected at least one \[\[sources\]\] table"),
        ("[nonsense]\n" + MINIMAL, r"unknown table or key 'nonsense'"),
        ("this is = = not toml", r"x.toml: not valid TOML"),
        (MINIMAL + "[[webhooks]]\nurl = 'http://127.0.0.1/h'\n", r"webhooks\[0\] needs a secret or secret_env"),
        (MINIMAL + "[[webhooks]]\nurl = 'http://127.0.0.1/h'\nsecret = 's'\nattack_types = ['laser']\n",
         r"unknown attack type 'laser'"),
        (MINIMAL + "[service]\nport = 70000\n", r"service.port: expected a port number"),
    ],
)
def test_errors_name_file_key_and_expectation(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "x.toml")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.toml: configuration file not found"):
        load_config(tmp_path / "nope.toml")


def test_webhook_secret_from_environment_and_never_in_repr(monkeypatch):
    monkeypatch.setenv("NW_TEST_SECRET", "s3cr3t-value")
    config = parse_config(
        MINIMAL + "[[webhooks]]\nname = 'ops'\nurl = 'http://127.0.0.1/h'\nsecret_env = 'NW_TEST_SECRET'\n", "x.toml"
    )
    hook = config.webhooks[0]
    assert hook.secret == "s3cr3t-value"
    assert "s3cr3t" not in repr(hook) and "s3cr3t" not in repr(config)


def test_webhook_secret_env_unset_is_an_error(monkeypatch):
    monkeypatch.delenv("NW_UNSET_SECRET", raising=False)
    with pytest.raises(ConfigError, match="NW_UNSET_SECRET is not set"):
        parse_config(MINIMAL + "[[webhooks]]\nurl = 'http://127.0.0.1/h'\nsecret_env = 'NW_UNSET_SECRET'\n", "x.toml")


HOOK = "[[webhooks]]\nname = 'ops'\nurl = 'http://127.0.0.1/h'\nsecret = 's'\n"


def test_webhook_alert_on_defaults_to_incidents():
    hook = parse_config(MINIMAL + HOOK, "x.toml").webhooks[0]
    assert hook.alert_on == "incidents" and hook.wants_incidents and not hook.wants_reports


@pytest.mark.parametrize(
    "value, incidents, reports",
    [("incidents", True, False), ("reports", False, True), ("both", True, True), ("Reports", False, True)],
)
def test_webhook_alert_on_values(value, incidents, reports):
    hook = parse_config(MINIMAL + HOOK + f"alert_on = '{value}'\n", "x.toml").webhooks[0]
    assert (hook.wants_incidents, hook.wants_reports) == (incidents, reports)
    assert hook.alert_on == value.lower()


@pytest.mark.parametrize("value", ["'events'", "''", "true", "['reports']"])
def test_webhook_alert_on_is_checked(value):
    with pytest.raises(ConfigError, match=r"x\.toml: webhooks\[0\]\.alert_on: expected"):
        parse_config(MINIMAL + HOOK + f"alert_on = {value}\n", "x.toml")
