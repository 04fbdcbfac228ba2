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


def test_a_connection_lost_mid_run_is_the_database_going_away_not_an_unreachable_one() -> None:
    import psycopg

    from tweetlake.errors import classify

    lost = classify(psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"))
    never = classify(psycopg.OperationalError('connection to server at "127.0.0.1", port 1 failed: refused'))
    assert lost is not None and never is not None
    assert (lost.code, never.code) == (ExitCode.DATABASE, ExitCode.DATABASE)
    assert lost.message.startswith("the database went away during the run: consuming input failed")
    assert never.message.startswith("cannot reach the database")


def test_an_unknown_command_is_one_line_with_the_closest_command() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "import sys; from tweetlake.cli import main; sys.exit(main())", "repot"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == ExitCode.USAGE and shown.stdout == ""
    assert shown.stderr.splitlines() == [
        "tweetlake: unknown command 'repot': did you mean 'report'? (see tweetlake --help)"
    ]


def test_every_commands_help_names_only_codes_of_the_one_table() -> None:
    """Each command's ``--help`` lists the codes it can end with (``common.exit_codes.epilog``): every
    number there is one of the table's, and the command's own meaning of it is printed beside it."""
    import importlib
    import re

    from tweetlake.cli import COMMANDS

    blocks = {}
    for name, (module, _) in COMMANDS.items():
        text = importlib.import_module(module).build_parser().format_help()
        if "exit codes:" not in text:
            continue
        block = text.split("exit codes:", 1)[1].split("\n\n", 1)[0]
        blocks[name] = [int(m.group(1)) for m in re.finditer(r"^\s{0,2}(\d+)  \S", block, re.MULTILINE)]
    assert {"job", "db", "sql", "users", "lake", "doctor", "demo", "simulator"} <= set(blocks)
    known = {int(code) for code in ExitCode}
    for name, codes in blocks.items():
        assert codes and codes[0] == 0 and set(codes) <= known, (name, codes)
        assert codes == sorted(codes), name
