"""A reader that closes the pipe early (``tweetlake sql … | head -1``) ends the command quietly:
exit 0 and nothing on stderr, as ``head`` expects of any Unix tool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faces.test_errors import ROOT
from tweetlake.errors import ExitCode, boundary


def piped_into_head(args: list[str], home: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_"))}
    env.update({"TWEETLAKE_HOME": str(home), "PYTHONPATH": str(ROOT)})
    process = subprocess.Popen(
        [sys.executable, "-m", "tweetlake.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=home,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline().decode()
    process.stdout.close()  # what head -1 does after its line
    err = process.stderr.read().decode()
    return process.wait(timeout=120), first, err


@pytest.mark.slow
def test_sql_piped_into_head_ends_quietly(pg_url: str, tmp_path: Path) -> None:
    query = "SELECT n, repeat('x', 50) AS filler FROM generate_series(1, 200000) AS n"  # far more than a pipe holds
    code, first, err = piped_into_head(
        ["sql", query, "--database-url", pg_url, "--schema", "public", "--format", "csv"], tmp_path
    )
    assert (code, first, err) == (ExitCode.OK, "n,filler\n", "")


def test_a_closed_pipe_inside_any_command_is_exit_0_without_a_word(capsys: pytest.CaptureFixture[str]) -> None:
    def printing() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert boundary("tweetlake lake", printing, debug=False) == ExitCode.OK
    assert capsys.readouterr().err == ""
