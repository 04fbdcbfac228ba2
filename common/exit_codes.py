"""The exit codes of the whole ``tweetlake`` command, declared once.

Every face (the command's error boundary, ``ingest``'s run outcome, the Airflow DAGs, the systemd
units) uses these numbers; ``tweetlake --help`` and the docs print :data:`MEANINGS`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    FATAL_API = 3
    LOCKED = 4
    API_KEPT_FAILING = 5
    ACCOUNTS_FAILED = 6
    LAKE = 7
    DATABASE = 8
    BUDGET_REACHED = 9
    BUG = 70
    INTERRUPTED = 130


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.FAILED: "the command's own no: a SQL error, a name not tracked, a server not running (it says why)",
    ExitCode.USAGE: "bad arguments, settings or set-up (a URI, a time, a price, a missing extra, a busy port)",
    ExitCode.FATAL_API: "the X API refused: a bad token, no access, no credits; retrying cannot help",
    ExitCode.LOCKED: "another run of the same collector holds the lock (a known stop)",
    ExitCode.API_KEPT_FAILING: "the X API kept failing past the retries, or its rate limit outlasts the longest wait",
    ExitCode.ACCOUNTS_FAILED: "some accounts kept failing; every other account was collected",
    ExitCode.LAKE: "the lake (folder or S3) failed: denied, unreachable, no credentials, no such bucket",
    ExitCode.DATABASE: "the warehouse is unreachable, refused the login, or went away during the run",
    ExitCode.BUDGET_REACHED: "the X API budget is reached: nothing more is bought this month (a known stop)",
    ExitCode.BUG: "an unexpected error: a traceback follows (please report it)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM)",
}
"""What each code means, in the words every face shows."""

KNOWN_STOPS = frozenset({ExitCode.LOCKED, ExitCode.BUDGET_REACHED})
"""Codes a scheduler treats as an expected stop, not a failure to alert on every run."""


def table(indent: str = "  ") -> str:
    """The codes and their meanings, one line each (for ``--help`` and the docs)."""
    return "\n".join(f"{indent}{int(code):>3}  {text}" for code, text in MEANINGS.items())


def epilog(meanings: Mapping[ExitCode, str], width: int = 100) -> str:
    """A command's ``exit codes:`` block for its ``--help``: the codes it can end with, each with what
    it means for that command. The numbers come from :class:`ExitCode`, never typed by hand."""
    lines = ["exit codes:"]
    for code, text in meanings.items():
        lines += textwrap.wrap(text, width, initial_indent=f"{int(code):>3}  ", subsequent_indent="     ")
    return "\n".join(lines)
