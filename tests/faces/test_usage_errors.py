"""A usage mistake is one line on stderr ending in ``(see … --help)`` and exit 2, for every command:
argparse's usage block never appears, whichever parser class the command builds on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faces.test_errors import run_cli
from tweetlake.cli import COMMANDS
from tweetlake.errors import ExitCode

MISTAKES: dict[str, tuple[list[str], str]] = {
    "a month 13": (["report", "--since", "2026-13-01"], "argument --since: not a day (YYYY-MM-DD): '2026-13-01'"),
    "an unknown format": (["export", "--format", "xlsx", "--out", "/tmp/x"], "invalid choice: 'xlsx'"),
    "a time in words": (["usage", "--now", "last-month"], "argument --now: not an RFC 3339 time: 'last-month'"),
    "an unknown action": (["users", "frob"], "argument action: invalid choice: 'frob'"),
    "sql without SQL": (["sql"], "give the SQL as an argument or with --file"),
    "a connect timeout of 0": (["lake"], "TWEETLAKE_DB_CONNECT_TIMEOUT must be a whole number of seconds"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_a_usage_mistake_is_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    argv, message = MISTAKES[case]
    env = {"TWEETLAKE_DB_CONNECT_TIMEOUT": "0"} if "timeout" in case else {}
    result = run_cli(argv, tmp_path, env=env)
    lines = result.stderr.strip().splitlines()
    assert (result.returncode, len(lines)) == (ExitCode.USAGE, 1), result.stderr
    assert lines[0].startswith(f"tweetlake {argv[0]}: ") and message in lines[0]
    assert "\nusage:" not in f"\n{result.stderr}" and result.stdout == ""


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_answers_an_unknown_option_in_one_line(command: str, tmp_path: Path) -> None:
    result = run_cli([command, "--no-such-option"], tmp_path)
    assert result.returncode == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"tweetlake {command}: ") and lines[0].endswith(f"(see tweetlake {command} --help)")
