"""``tweetlake demo`` — the whole pipeline on this machine, simulator to star schema.

0. checks first what the demo needs (``tweetlake doctor --for demo``: Java, the JDBC jar, the
   database…) and stops before collecting anything when something is missing;
1. starts the X API simulator in-process (deterministic world, simulated clock);
2. tracks ~10 accounts (among them a suspended, a protected and a renamed one, and one past the
   timeline's 3,200-tweet cap) and runs the collectors as the schedules would over 26 simulated
   hours: users daily, tweets every 4 h, metrics every 2 h;
3. summarises the lake;
4. runs the three Glue jobs on local Spark into an embedded PostgreSQL (schema ``demo``);
5. prints row counts per table and answers three questions from the star schema;
6. writes the HTML report (``tweetlake report``) to ``<home>/report.html`` and prints its path.

Everything lands under ``$TWEETLAKE_HOME/demo/`` (or ``--home``). A rerun continues from what the
lake and the warehouse already hold (after a failure, say): finished collector runs are skipped, and
the jobs load only what their ledger lacks; ``--fresh`` starts from a clean lake and schema. One line
a schedule step by default; ``--verbose`` prints every run's summary and every question. The last
lines are next steps that run as printed from the repository root, on the demo's lake, schema and
simulated clock.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

from common.exit_codes import ExitCode, epilog
from common.lake import Lake
from common.logs import configure_logging
from common.settings import env_help, home
from common.warehouse.db import check_identifier
from tweetlake.demo import DEMO_END, Progress, ingest, load, report, write_report
from tweetlake.doctor import require
from tweetlake.options import ArgumentParser, add_database, add_log_level, check_database_url
from tweetlake.output import command_name


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake demo",
        description=__doc__,
        epilog=epilog(
            {
                ExitCode.OK: "done",
                ExitCode.USAGE: "bad arguments or a missing extra",
                ExitCode.DATABASE: "the database is unreachable",
            }
        )
        + "\n\n"
        + env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="where the demo's lake, progress and report go (default: $TWEETLAKE_HOME/demo)",
    )
    parser.add_argument("--seed", type=int, default=42, help="the simulated world's seed (default: 42)")
    parser.add_argument("--accounts", type=int, default=10, help="how many accounts the demo tracks (default: 10)")
    add_database(parser, schema=False)
    parser.add_argument("--schema", default="demo", help="the warehouse schema the demo rebuilds (default: demo)")
    parser.add_argument("--ingest-only", action="store_true", help="stop after the lake summary")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start from a clean lake and schema (default: continue where the last run stopped)",
    )
    parser.add_argument("--verbose", action="store_true", help="every run's summary and every question")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    schema = check_identifier(args.schema)
    check_database_url(args.database_url)
    if not args.ingest_only:  # the simulator and the lake need nothing outside the venv
        require("demo", database_url=args.database_url)
    demo_home = (args.home or home() / "demo").resolve()
    lake_dir = demo_home / "lake"
    demo_home.mkdir(parents=True, exist_ok=True)
    progress = Progress.open(demo_home / "progress.json", {"seed": args.seed, "accounts": args.accounts})
    fresh = args.fresh or not progress.steps
    if fresh:
        shutil.rmtree(lake_dir, ignore_errors=True)
        progress = Progress(progress.path, progress.world)
    lake = Lake.from_uri(lake_dir.as_uri())
    started = time.monotonic()
    ingest(lake, progress, args.seed, args.accounts, verbose=args.verbose)
    if args.ingest_only:
        print(f"\ndemo finished in {time.monotonic() - started:.0f}s; lake at {lake.uri}")
        return 0
    url = load(lake, args.database_url, schema, fresh=fresh)
    report(url, schema, verbose=args.verbose)
    page = write_report(url, schema, lake, demo_home / "report.html")
    print(f"\nreport: {page} (open it in a browser; it works offline)")
    print(f"demo finished in {time.monotonic() - started:.0f}s (set-up excluded); lake at {lake.uri}")
    print("next (from the repository root):")
    for line in next_steps(lake, schema, args.database_url, page):
        print(f"  {line}")
    return 0


def next_steps(lake: Lake, schema: str, database_url: str | None, page: Path) -> list[str]:
    """Commands that run as printed and show the demo's own data: its lake, schema and clock."""
    exe = command_name()
    db = f" --database-url {shlex.quote(database_url)}" if database_url else ""
    lake_env = f"TWEETLAKE_LAKE={shlex.quote(lake.uri)}"
    top = "SELECT username, followers_count, tweet_count FROM v_user_current ORDER BY followers_count DESC LIMIT 5"
    return [
        f'{exe} sql --schema {schema}{db} "{top}"',
        f"{exe} report --schema {schema}{db} --lake {shlex.quote(lake.uri)} --out {shlex.quote(str(page))}",
        f"{lake_env} {exe} usage --now {DEMO_END}",
        f"{lake_env} {exe} plan --now {DEMO_END}",
        f"{exe} demo --help   (--verbose: every run's summary and every question; --fresh: start over)",
    ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
