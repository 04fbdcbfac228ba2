"""``tweetlake report [--database-url URL] [--schema S] [--accounts a,b] [--since DAY] [--out FILE] [--lake URI]``.

Writes one self-contained HTML file (plotly.js inlined: it opens offline) with the charts of
``analytics/report/`` and prints its path. Errors are raised to the command's boundary, which
prints one line and the code of ``common/exit_codes.py`` (2 a bad argument, an unknown account or
schema, an ``--out`` that cannot be written; 8 the database failed).
"""

from __future__ import annotations

import argparse
import sys
import time

from common.logs import configure_logging
from common.settings import env_help, load
from tweetlake.options import ArgumentParser, add_database, add_log_level, iso_day


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake report",
        description="Write the warehouse's HTML report (charts and their tables).",
        epilog=env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_DB_SCHEMA", "TWEETLAKE_LAKE"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database(parser)
    parser.add_argument("--accounts", default="", help="usernames, comma-separated (default: every account)")
    parser.add_argument("--since", type=iso_day, help="first UTC day of the period (default: all days)")
    parser.add_argument(
        "--out", default=None, help="the HTML file, a path or file:///… (default: tweetlake-report-<schema>.html)"
    )
    parser.add_argument(
        "--lake",
        default=None,
        help="the lake whose quarantine/ folder the pipeline panel reads (default: $TWEETLAKE_LAKE or .tweetlake/lake)",
    )
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)

    from analytics.report import build_report
    from analytics.report.page import second_connection
    from analytics.scope import UnknownAccounts, UnknownSchema, check_warehouse, resolve
    from analytics.target import OutputError, output_path, write_atomically
    from common.lake import Lake
    from common.warehouse.db import DbTarget, check_identifier
    from tweetlake import localdb
    from tweetlake.billing import billed_reads
    from tweetlake.errors import UsageError

    schema = check_identifier(args.schema)
    started = time.perf_counter()
    try:
        out = output_path(args.out or f"tweetlake-report-{schema}.html")  # checked before any query
        url = localdb.database_url(args.database_url)
        target = DbTarget.from_url(url)
        with target.connect(autocommit=True) as conn:
            check_warehouse(conn, schema)
            scope = resolve(conn, schema, tuple(args.accounts.split(",")), args.since)
            lake = Lake.from_uri(args.lake or load().lake_uri)
            with second_connection(target) as second:  # half the queries, in the same snapshot
                page = build_report(conn, scope, lake=lake, billed=billed_reads(lake), second=second)
        write_atomically(out, page.encode("utf-8"))
    except (UnknownAccounts, UnknownSchema, OutputError) as err:
        raise UsageError(str(err)) from err
    print(f"report: {out} ({len(page.encode()) / 1e6:.1f} MB, {time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
