"""``tweetlake <command> …`` — each subcommand is imported only when it runs.

So ``tweetlake ingest`` on the EC2 host never imports Spark, and a missing extra only breaks the
command that needs it. Every subcommand runs inside one error boundary (``tweetlake/errors.py``):
an expected failure is one line on stderr and a documented exit code.
"""

from __future__ import annotations

import importlib
import sys

from common import __version__, exit_codes
from tweetlake.errors import ExitCode, boundary, debug_requested

COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("tweetlake.cmd_ingest", "collect users | tweets | tweet_metrics from the X API into the lake"),
    "users": ("tweetlake.cmd_users", "add | remove | list the tracked accounts"),
    "simulator": ("tweetlake.cmd_simulator", "run the X API v2 simulator (a development part: simulator/)"),
    "job": ("tweetlake.cmd_job", "run a Glue job (users | tweets | tweet_metrics | all) on local Spark"),
    "db": ("tweetlake.cmd_db", "the warehouse: migrate | url | start | stop | status"),
    "sql": ("tweetlake.cmd_sql", "run a SQL query against the warehouse"),
    "demo": ("tweetlake.cmd_demo", "the whole pipeline locally, simulator to star schema"),
    "lake": ("tweetlake.cmd_lake", "summarise what is in the lake"),
    "plan": ("tweetlake.cmd_plan", "what the tracked accounts will cost on the pay-per-use X API (no API call)"),
    "usage": ("tweetlake.cmd_usage", "X API spend this month (the usage ledger) against the budget"),
    "report": ("tweetlake.cmd_report", "write the warehouse's HTML report (charts, tables, pipeline health)"),
    "export": ("tweetlake.cmd_export", "export tables and views as Parquet or CSV with a manifest"),
    "doctor": ("tweetlake.cmd_doctor", "check in seconds what each path needs (Java, JDBC jar, PostgreSQL, token…)"),
    "api": ("tweetlake.cmd_api", "serve the tracked-accounts REST API (add | list | remove accounts over HTTP)"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        f"tweetlake {__version__} — X API v2 → data lake → Glue → PostgreSQL",
        "",
        "usage: tweetlake <command> [options]   (tweetlake <command> --help for more)",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += [
        "",
        "options of every command: --help, --log-level DEBUG|INFO|WARNING|ERROR (DEBUG shows tracebacks)",
        "exit codes (one table for every command):",
        exit_codes.table(),
        "state: $TWEETLAKE_HOME (default: one per user, ~/.local/share/tweetlake; /var/lib/tweetlake for root)"
        " holds the default lake, the demo and the embedded PostgreSQL; `tweetlake doctor` checks the set-up",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(usage(), file=sys.stderr)
        return ExitCode.USAGE
    if args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        print(__version__)
        return 0
    if args[0] not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(args[0], COMMANDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        print(f"tweetlake: unknown command {args[0]!r}: {hint}(see tweetlake --help)", file=sys.stderr)
        return ExitCode.USAGE

    def run() -> int:
        module = importlib.import_module(COMMANDS[args[0]][0])
        return int(module.main(args[1:]) or 0)

    return int(boundary(f"tweetlake {args[0]}", run, debug=debug_requested(args[1:])))


if __name__ == "__main__":
    sys.exit(main())
