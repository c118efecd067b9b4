"""Hostile configuration files and database paths, end to end through the CLI.

Complements ``tests/test_config.py`` (unknown keys, wrong types, duplicate
source names, bad URLs, missing file: each named with file and key) and
``tests/test_cli.py`` (missing config, unreachable database directory, a file
that is not SQLite, for ``crawl`` and ``reports``). Here: files that are not
text, directories where files are expected, a database damaged inside, and
the daemon's own start (``run``) on each. Every case must end with a non-zero
exit and one readable message, never a traceback.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newswatch.cli import cli
from storage.db import open_database

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
GOOD = '[[sources]]\nname = "Local"\nfeeds = ["http://127.0.0.1:9/feed.xml"]\n'


def damaged_database(path: Path) -> Path:
    """A newswatch database whose schema page was overwritten (a bad sector, a stray write)."""
    open_database(path).close()
    data = bytearray(path.read_bytes())
    for offset in range(100, 4096):  # page 1 past the file header: the schema's b-tree
        data[offset] = 0xA5
    path.write_bytes(bytes(data))
    return path


def put(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


CONFIG_CASES = {
    "binary-config": (lambda t: put(t / "c.toml", b"\x00\xff\xfe\x89PNG\r\n" * 50), ("c.toml",)),
    "config-not-utf8": (lambda t: put(t / "c.toml", "[[sources]]\nname = 'Caf\u00e9'\n".encode("latin-1")),
                        ("c.toml",)),
    "config-is-a-directory": (lambda t: mkdir(t / "conf.d"), ("conf.d",)),
    "empty-config": (lambda t: put(t / "c.toml", ""), ("sources",)),
    "negative-page-limit": (lambda t: put(t / "c.toml", "[crawl]\nmax_page_bytes = -1\n" + GOOD), ("max_page_bytes",)),
    "zero-concurrency": (lambda t: put(t / "c.toml", "[crawl]\nconcurrency = 0\n" + GOOD), ("concurrency",)),
    "timeout-is-a-list": (lambda t: put(t / "c.toml", "[crawl]\ntimeout = [1, 2]\n" + GOOD), ("timeout",)),
    "feed-is-a-file-url": (lambda t: put(t / "c.toml", '[[sources]]\nname = "L"\nfeeds = ["file:///etc/passwd"]\n'),
                           ("http",)),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_hostile_config_is_refused_with_a_readable_message(case, tmp_path):
    make, expected = CONFIG_CASES[case]
    config = make(tmp_path)
    result = CliRunner().invoke(cli, ["crawl", "--config", str(config), "--db", str(tmp_path / "n.db")])
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert any(word.lower() in result.output.lower() for word in expected), result.output


DB_CASES = {
    "database-path-is-a-directory": lambda t: mkdir(t / "db.d"),
    "database-damaged-inside": lambda t: damaged_database(t / "damaged.db"),
    "database-is-a-text-file": lambda t: put(t / "notes.db", "my notes\n" * 200),
}


@pytest.mark.parametrize("command", ["crawl", "status", "run"])
@pytest.mark.parametrize("case", sorted(DB_CASES))
def test_hostile_database_path_is_refused_with_a_readable_message(case, command, tmp_path, request):
    db = DB_CASES[case](tmp_path)
    config = tmp_path / "good.toml"
    config.write_text(GOOD + '\n[service]\nhost = "127.0.0.1"\nport = 0\n', encoding="utf-8")
    before = db.read_bytes() if db.is_file() else None
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", command, "--config", str(config), "--db", str(db)],
                          capture_output=True, text=True, timeout=60, cwd=str(REPO))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output[-2000:]
    assert str(db.name) in output or "database" in output.lower(), output
    if before is not None:
        assert db.read_bytes() == before, "a file that is not a usable database was modified"
