"""The command line: every command has help with an example; errors are readable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from newswatch.cli import cli


def all_commands():
    ctx = cli.make_context("newswatch", ["--help"], resilient_parsing=True)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        yield name, command
        for sub in getattr(command, "commands", {}).values():
            yield f"{name} {sub.name}", sub


@pytest.mark.parametrize("name, command", list(all_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_with_an_example(name, command):
    result = CliRunner().invoke(cli, name.split() + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"newswatch {name} --help has no example"


def test_top_level_help_lists_the_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("crawl", "demo", "extract", "reports", "classify", "eval", "run", "status", "alerts"):
        assert name in result.output


def test_bad_config_is_reported_with_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[crawl]\nobey_robots = 'sometimes'\n[[sources]]\nname='x'\nfeeds=['http://127.0.0.1:1/f']\n")
    result = CliRunner().invoke(cli, ["crawl", "--config", str(bad), "--db", str(tmp_path / "n.db")])
    assert result.exit_code != 0
    assert f"{bad}: crawl.obey_robots: expected bool" in result.output


def test_missing_config_file_is_reported(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code != 0
    assert "configuration file not found" in result.output


def test_unknown_source_is_reported(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "--source", "Nope", "--db", str(tmp_path / "n.db")])
    assert result.exit_code != 0
    assert "unknown source 'Nope'" in result.output


def test_unreachable_database_path_is_reported(tmp_path):
    result = CliRunner().invoke(cli, ["crawl", "--db", str(tmp_path / "missing-dir" / "n.db")])
    assert result.exit_code != 0
    assert "directory" in result.output and "does not exist" in result.output


def test_file_that_is_not_sqlite_is_reported(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 100)
    result = CliRunner().invoke(cli, ["reports", "--db", str(bogus)])
    assert result.exit_code != 0
    assert "cannot open database" in result.output and "not a database" in result.output
    assert bogus.read_text().startswith("these are my notes")


def test_reports_on_missing_database(tmp_path):
    result = CliRunner().invoke(cli, ["reports", "--db", str(tmp_path / "none.db")])
    assert result.exit_code != 0
    assert "no such database" in result.output
