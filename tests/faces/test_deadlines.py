"""Every database connection has a deadline: against a server that accepts TCP and never says a
word, each command that reads or writes the warehouse ends with one line and exit 8 instead of
waiting for ever (the connect timeout of ``TWEETLAKE_DB_CONNECT_TIMEOUT``, default 10 s)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from common.warehouse.db import DbTarget
from tests.faces.test_errors import home, lake_uri, run_cli  # noqa: F401 - home is a fixture
from tweetlake.errors import ExitCode


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts every connection and never answers (nor closes)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


COMMANDS = {
    "sql": ["sql", "SELECT 1"],
    "report": ["report", "--out", "{out}/report.html"],
    "export": ["export", "--out", "{out}/export"],
    "db migrate": ["db", "migrate"],
    "job": ["job", "tweets", "--lake", "{lake}"],
}


def test_every_warehouse_command_gives_up_on_a_silent_database_with_one_line_and_exit_8(
    home: Path,  # noqa: F811
    silent_port: int,
    tmp_path: Path,
) -> None:
    url = f"postgresql://u@127.0.0.1:{silent_port}/d"

    def attempt(argv: list[str]) -> subprocess.CompletedProcess[str]:
        args = [a.format(out=tmp_path, lake=lake_uri(home)) for a in argv]
        # the default deadline (10 s) holds well inside the 30 s the issue allows; a hang fails here
        return run_cli([*args, "--database-url", url], home, timeout=30)

    with ThreadPoolExecutor(len(COMMANDS)) as pool:
        results = dict(zip(COMMANDS, pool.map(attempt, COMMANDS.values()), strict=True))
    for name, result in results.items():
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (name, result.stderr[-2000:])
        assert "connection timeout expired" in lines[0], lines[0]
        assert result.returncode == ExitCode.DATABASE, (name, lines[0])
        assert lines[0].startswith(f"tweetlake {name.split()[0]}: cannot reach the database"), lines[0]
        assert "no answer within 10 s" in lines[0]


@pytest.mark.parametrize("command", [["sql", "SELECT 1"], ["db", "status"]], ids=["sql", "db-status"])
def test_the_deadline_line_names_the_wait_the_url_set_not_the_default(
    home: Path,  # noqa: F811
    silent_port: int,
    command: list[str],
) -> None:
    url = f"postgresql://u@127.0.0.1:{silent_port}/d?connect_timeout=3"
    result = run_cli([*command, "--database-url", url], home, timeout=30)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.returncode == ExitCode.DATABASE, result.stderr[-2000:]
    assert "no answer within 3 s" in lines[0], lines[0]


def test_the_deadline_travels_in_the_libpq_url_and_the_jdbc_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETLAKE_DB_CONNECT_TIMEOUT", "7")
    target = DbTarget.from_url("postgresql://etl:pw@db.internal:5432/tweets")
    assert "connect_timeout=7" in target.url
    assert target.jdbc_properties()["connectTimeout"] == target.jdbc_properties()["loginTimeout"] == "7"
    assert "socketTimeout" not in target.jdbc_properties()  # a long statement is not a dead server
    assert DbTarget.from_url("postgresql://etl@db.internal/tweets?connect_timeout=30").connect_timeout == 30
