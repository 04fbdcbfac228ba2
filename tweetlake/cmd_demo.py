"""``tweetlake demo`` — the whole pipeline on this machine, simulator to star schema.

1. starts the X API simulator in-process (deterministic world, simulated clock);
2. tracks ~10 accounts (among them a suspended, a protected and a renamed one, and one past the
   timeline's 3,200-tweet cap) and runs the collectors as the schedules would over 26 simulated
   hours: users daily, tweets every 4 h, metrics every 2 h;
3. summarises the lake;
4. runs the three Glue jobs on local Spark into an embedded PostgreSQL (schema ``demo``);
5. prints row counts per table and answers three questions from the star schema;
6. writes the HTML report (``tweetlake report``) to ``<home>/report.html`` and prints its path.

Everything lands under ``.tweetlake/demo/`` (or ``--home``); each run starts from a clean lake and
a clean ``demo`` schema, so its output is the same every time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from common.lake import Lake
from common.logs import configure_logging
from common.settings import env_help, home
from tweetlake.demo import ingest, load, report, write_report
from tweetlake.options import ArgumentParser, add_database, add_log_level


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake demo",
        description=__doc__,
        epilog="exit codes: 0 done; 2 bad arguments or a missing extra; 8 the database is"
        " unreachable\n\n" + env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="where the demo lake goes (default: $TWEETLAKE_HOME/demo, i.e. ./.tweetlake/demo)",
    )
    parser.add_argument("--seed", type=int, default=42, help="the simulated world's seed (default: 42)")
    parser.add_argument("--accounts", type=int, default=10, help="how many accounts the demo tracks (default: 10)")
    add_database(parser, schema=False)
    parser.add_argument("--schema", default="demo", help="the warehouse schema the demo rebuilds (default: demo)")
    parser.add_argument("--ingest-only", action="store_true", help="stop after the lake summary")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    demo_home = (args.home or home() / "demo").resolve()
    lake_dir = demo_home / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    lake = Lake.from_uri(lake_dir.as_uri())
    started = time.monotonic()
    ingest(lake, demo_home, args.seed, args.accounts)
    if args.ingest_only:
        print(f"\ndemo finished in {time.monotonic() - started:.0f}s; lake at {lake.uri}")
        return 0
    url = load(lake, args.database_url, args.schema)
    report(url, args.schema)
    page = write_report(url, args.schema, lake, demo_home / "report.html")
    print(f"\nreport: {page} (open it in a browser; it works offline)")
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s (set-up excluded); lake at {lake.uri}")
    print(f'explore: .venv/bin/tweetlake sql "SELECT * FROM v_user_current" --schema {args.schema}')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
