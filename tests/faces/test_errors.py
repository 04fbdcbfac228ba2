"""The one error boundary: every expected failure of every command is one line on stderr, a
documented exit code, and no traceback (unless ``--log-level DEBUG`` asks for it).

Each case runs ``tweetlake`` as a user does: its own process, its own ``TWEETLAKE_HOME``."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tweetlake.errors import ExitCode, boundary

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    args: list[str],
    home: Path,
    *,
    env: dict[str, str] | None = None,
    prelude: str = "",
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_", "AWS_"))}
    base.update(
        {
            "TWEETLAKE_HOME": str(home),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
    )
    code = f"import sys; {prelude or 'pass'}; from tweetlake.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd or home,
    )


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


class Denied(BaseHTTPRequestHandler):
    """An S3 endpoint that refuses every request (403 AccessDenied)."""

    def _deny(self) -> None:
        body = b'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_DELETE = _deny

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def denying_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Denied)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    lake = tmp_path / "lake" / "raw" / "tweets" / "dt=2026-11-20"
    lake.mkdir(parents=True)
    (lake / "20261120T100000Z-abc123-00000.jsonl.gz").write_bytes(gzip.compress(b'{"data": {"id": "1"}}\n'))
    return tmp_path / "home"


def lake_uri(home: Path) -> str:
    return (home.parent / "lake").as_uri()


ABSENT = "file:///nonexistent/tweetlake-lake"
CASES: dict[str, tuple[list[str], ExitCode, str]] = {
    # bad lake URIs, for every command that takes one (checked before Spark, PostgreSQL or AWS start)
    "job fle:///": (["job", "tweets", "--lake", "fle:///tmp/x"], ExitCode.USAGE, "unsupported lake URI scheme 'fle'"),
    "job file://tmp": (["job", "tweets", "--lake", "file://tmp/x"], ExitCode.USAGE, "did you mean file:///tmp/x?"),
    "job s3:/": (["job", "tweets", "--lake", "s3:/bucket"], ExitCode.USAGE, "s3://bucket[/prefix], not 's3:/bucket'"),
    "users fle:///": (["users", "list", "--lake", "fle:///tmp/x"], ExitCode.USAGE, "unsupported lake URI scheme"),
    "lake file://tmp": (["lake", "--lake", "file://tmp/x"], ExitCode.USAGE, "did you mean file:///tmp/x?"),
    "ingest s3:/": (["ingest", "users", "--lake", "s3:/bucket"], ExitCode.USAGE, "s3://bucket[/prefix]"),
    "api fle:///": (["api", "--no-auth", "--lake", "fle:///x"], ExitCode.USAGE, "unsupported lake URI scheme"),
    "job relative": (
        ["job", "tweets", "--lake", "relative/lake"],
        ExitCode.USAGE,
        "a lake is a URI, not a path: use file://{home}/relative/lake",
    ),
    "job missing lake": (
        ["job", "tweets", "--lake", ABSENT],
        ExitCode.USAGE,
        f"no lake at {ABSENT} (the folder does not exist)",
    ),
    "lake missing lake": (["lake", "--lake", ABSENT], ExitCode.USAGE, f"no lake at {ABSENT}"),
    # bad database URLs and names
    "job mysql://": (
        ["job", "tweets", "--lake", "{lake}", "--database-url", "mysql://root@h/db"],
        ExitCode.USAGE,
        "a database URL starts with postgresql:// (got mysql://…)",
    ),
    "sql mysql://": (["sql", "SELECT 1", "--database-url", "mysql://root@h/db"], ExitCode.USAGE, "postgresql://"),
    "job bad schema": (
        ["job", "tweets", "--lake", "{lake}", "--schema", "Drop Table"],
        ExitCode.USAGE,
        "invalid SQL identifier 'Drop Table'",
    ),
    # a database where nothing listens
    "job refused": (
        ["job", "tweets", "--lake", "{lake}", "--database-url", "postgresql://u@127.0.0.1:{dead}/d"],
        ExitCode.DATABASE,
        "cannot reach the database: connection failed",
    ),
    "sql refused": (
        ["sql", "SELECT 1", "--database-url", "postgresql://u@127.0.0.1:{dead}/d"],
        ExitCode.DATABASE,
        "cannot reach the database",
    ),
    "db migrate refused": (
        ["db", "migrate", "--database-url", "postgresql://u@127.0.0.1:{dead}/d"],
        ExitCode.DATABASE,
        "cannot reach the database",
    ),
    # times and other arguments
    "ingest --since": (
        ["ingest", "tweets", "--since", "yesterday"],
        ExitCode.USAGE,
        "argument --since: not an RFC 3339 time: 'yesterday'",
    ),
    "users bad name": (
        ["users", "add", "alice", "bad name!", "--offline"],
        ExitCode.USAGE,
        "invalid X username 'bad name!': 1-15 letters, digits or underscores; nothing was changed",
    ),
    "users add without a token": (
        ["users", "add", "alice"],
        ExitCode.USAGE,
        "resolving names needs the X API: set X_BEARER_TOKEN",
    ),
    # busy ports
    "simulator busy port": (["simulator", "--port", "{busy}"], ExitCode.USAGE, "the port is already in use"),
    "api busy port": (["api", "--no-auth", "--port", "{busy}"], ExitCode.USAGE, "the port is already in use"),
    # AWS: no credentials at all, and credentials the endpoint refuses
    "users no AWS credentials": (
        ["users", "list", "--lake", "s3://some-bucket/lake"],
        ExitCode.LAKE,
        "the lake failed: s3://some-bucket/lake/state/registry.json: NoCredentialsError",
    ),
    "lake AWS denied": (["lake", "--lake", "s3://some-bucket/lake"], ExitCode.LAKE, "AccessDenied"),
}
NEEDS_DENYING_S3 = {"lake AWS denied"}


@pytest.mark.parametrize("case", list(CASES))
def test_an_expected_failure_is_one_line_and_its_exit_code(
    case: str, home: Path, busy_port: int, denying_s3: str
) -> None:
    argv, code, message = CASES[case]
    fill = {"lake": lake_uri(home), "dead": str(dead_port()), "busy": str(busy_port), "home": str(home)}
    args = [a.format(**fill) for a in argv]
    env = (
        {"AWS_ENDPOINT_URL": denying_s3, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 20}
        if case in NEEDS_DENYING_S3
        else {}
    )
    result = run_cli(args, home, env=env)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert (result.returncode, lines[0].split(":")[0]) == (code, f"tweetlake {args[0]}")
    assert message.format(**fill) in lines[0]
    assert not (home / "pg").exists()  # no embedded PostgreSQL was started for a command that failed first


def test_a_missing_extra_names_the_pip_command(home: Path) -> None:
    hidden = "sys.modules['pyspark'] = None"  # as if the local extra were not installed
    result = run_cli(["job", "tweets", "--lake", lake_uri(home)], home, prelude=hidden)
    assert (result.returncode, result.stderr.strip()) == (
        ExitCode.USAGE,
        "tweetlake job: tweetlake job needs pyspark: pip install 'tweetlake[local]'",
    )
    assert not (home / "pg").exists()


def test_bare_tweetlake_prints_the_help_and_exits_2(home: Path) -> None:
    result = run_cli([], home)
    assert result.returncode == 2 and result.stdout == ""
    assert "usage: tweetlake <command>" in result.stderr and "job" in result.stderr and "db" in result.stderr


def test_debug_shows_the_traceback_of_an_expected_failure(home: Path) -> None:
    url = f"postgresql://u@127.0.0.1:{dead_port()}/d"
    result = run_cli(["sql", "SELECT 1", "--database-url", url, "--log-level", "DEBUG"], home)
    assert result.returncode == ExitCode.DATABASE
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("tweetlake sql: cannot reach the database")


def test_a_bug_prints_its_traceback_and_exits_70(capsys: pytest.CaptureFixture[str]) -> None:
    def buggy() -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    assert boundary("tweetlake x", buggy, debug=False) == ExitCode.BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1] == (
        "tweetlake x: unexpected error (a bug, please report it with the traceback above): KeyError: 'missing'"
    )
