"""``tweetlake report [--database-url URL] [--schema S] [--accounts a,b] [--since DAY] [--out FILE] [--lake URI]``.

Writes one self-contained HTML file (plotly.js inlined: it opens offline) with the charts of
``analytics/report.py`` and prints its path. Exit status: 0 written; 2 a bad argument, an account
the warehouse does not know, or a schema that is not a migrated warehouse; 3 the database failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from common.logs import configure_logging
from common.settings import env_help, load
from tweetlake.options import add_database, add_log_level


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tweetlake report",
        description="Write the warehouse's HTML report (charts and their tables).",
        epilog=env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_DB_SCHEMA", "TWEETLAKE_LAKE"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_database(parser)
    parser.add_argument("--accounts", default="", help="usernames, comma-separated (default: every account)")
    parser.add_argument("--since", type=parse_day, help="first UTC day of the period (default: all days)")
    parser.add_argument(
        "--out", type=Path, default=None, help="the HTML file (default: tweetlake-report-<schema>.html)"
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
    import psycopg

    from analytics.report import build_report
    from analytics.scope import UnknownAccounts, resolve
    from common.lake import Lake
    from common.warehouse.db import DbTarget, check_identifier
    from common.warehouse.migrate import pending_migrations
    from tweetlake import localdb
    from tweetlake.billing import billed_reads

    try:
        schema = check_identifier(args.schema)
    except ValueError as err:
        print(f"tweetlake report: {err}", file=sys.stderr)
        return 2
    out = (args.out or Path(f"tweetlake-report-{schema}.html")).resolve()
    started = time.perf_counter()
    try:
        url = localdb.database_url(args.database_url)
        with DbTarget.from_url(url).connect(autocommit=True) as conn:
            pending = pending_migrations(conn, schema)
            if pending:
                print(
                    f"tweetlake report: schema {schema} is not a warehouse at version {pending[-1].version}"
                    f" (run: tweetlake db migrate --schema {schema})",
                    file=sys.stderr,
                )
                return 2
            scope = resolve(conn, schema, tuple(args.accounts.split(",")), args.since)
            lake = Lake.from_uri(args.lake or load().lake_uri)
            page = build_report(conn, scope, lake=lake, billed=billed_reads(lake))
    except UnknownAccounts as err:
        print(f"tweetlake report: {err}", file=sys.stderr)
        return 2
    except psycopg.Error as err:
        print(f"tweetlake report: database error: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 3
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"report: {out} ({len(page.encode()) / 1e6:.1f} MB, {time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
