"""``tweetlake export --format parquet|csv --out DIR|s3://bucket/prefix [--tables a,b] [--since DAY]``.

Writes the star schema and the views (or the ``--tables`` named) as one file each plus
``manifest.json`` (table, rows, schema, time), streaming every table (``analytics/export.py``).
Exit status: 0 written; 2 a bad argument or an unknown table; 3 the database failed; 7 the
destination (folder or S3) failed.
"""

from __future__ import annotations

import argparse
import sys

from common.logs import configure_logging
from common.settings import env_help
from tweetlake.cmd_report import parse_day
from tweetlake.options import add_database, add_log_level


def build_parser() -> argparse.ArgumentParser:
    from analytics.export import DEFAULT_RELATIONS, FORMATS

    parser = argparse.ArgumentParser(
        prog="tweetlake export",
        description="Export the warehouse's tables and views for BI tools and notebooks.",
        epilog=env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_DB_SCHEMA"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="parquet",
        help="Parquet (typed, one row group per 50,000 rows) or CSV (default: parquet)",
    )
    parser.add_argument("--out", required=True, help="a folder, or s3://bucket/prefix")
    parser.add_argument("--tables", default="", help=f"comma-separated (default: all: {', '.join(DEFAULT_RELATIONS)})")
    parser.add_argument("--since", type=parse_day, help="rows of this UTC day or later (tables with a day)")
    add_database(parser)
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    import psycopg

    from analytics.export import DEFAULT_RELATIONS, ExportError, export
    from common.lake import LakeError
    from common.warehouse.db import DbTarget
    from tweetlake import localdb
    from tweetlake.output import format_table

    tables = [t.strip() for t in args.tables.split(",") if t.strip()] or list(DEFAULT_RELATIONS)
    try:
        url = localdb.database_url(args.database_url)
        with DbTarget.from_url(url).connect(autocommit=True) as conn:
            result = export(conn, args.schema, args.out, fmt=args.format, relations=tables, since=args.since)
    except ExportError as err:
        print(f"tweetlake export: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # a schema or table name that is not an identifier
        print(f"tweetlake export: {err}", file=sys.stderr)
        return 2
    except psycopg.Error as err:
        print(f"tweetlake export: database error: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 3
    except (LakeError, OSError) as err:
        print(f"tweetlake export: cannot write {args.out}: {err}", file=sys.stderr)
        return 7
    print(
        format_table(["table", "rows", "file", "seconds"], [(f.table, f.rows, f.file, f.seconds) for f in result.files])
    )
    print(f"manifest: {result.manifest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
