"""One exit-code table for the whole command: every code once, and the budget's apart from the database's."""

from __future__ import annotations

import subprocess
import sys

from common.exit_codes import MEANINGS, ExitCode
from ingestion.errors import BudgetReached
from ingestion.run import outcome


def test_a_reached_budget_and_an_unreachable_database_have_different_codes() -> None:
    reached = outcome(BudgetReached("the monthly budget ($5.00) would be exceeded"))
    assert reached is not None and reached.code == ExitCode.BUDGET_REACHED
    assert ExitCode.BUDGET_REACHED != ExitCode.DATABASE


def test_tweetlake_help_names_every_code_once() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "import sys; from tweetlake.cli import main; sys.exit(main())", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for code, meaning in MEANINGS.items():
        lines = [line for line in shown.splitlines() if line.strip().startswith(f"{int(code)}  ")]
        assert len(lines) == 1 and meaning in lines[0], (code, lines)
    assert set(MEANINGS) == set(ExitCode)
