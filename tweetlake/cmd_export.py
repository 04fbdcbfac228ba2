"""``tweetlake export --format parquet|csv --out DIR|file:///DIR|s3://bucket/prefix [--tables a,b] [--since DAY]``.

Writes the star schema and the views (or the ``--tables`` named) as one file each, then
``manifest.json`` (table, rows, SHA-256, schema, time) last, streaming every table
(``analytics/export.py``). CSV cells that a spreadsheet would run as a formula are neutralised
unless ``--keep-formulas``. Errors are raised to the command's boundary, which prints one line and
the code of ``common/exit_codes.py`` (2 a bad argument or an unknown table; 7 the destination
failed; 8 the database failed).
"""

from __future__ import annotations

import argparse
import sys

from common.logs import configure_logging
from common.settings import env_help
from tweetlake.options import ArgumentParser, add_database, add_log_level, iso_day


def build_parser() -> argparse.ArgumentParser:
    from analytics.export import DEFAULT_RELATIONS, FORMATS

    parser = ArgumentParser(
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
    parser.add_argument("--out", required=True, help="a folder, file:///absolute/folder, or s3://bucket/prefix")
    parser.add_argument("--tables", default="", help=f"comma-separated (default: all: {', '.join(DEFAULT_RELATIONS)})")
    parser.add_argument("--since", type=iso_day, help="rows of this UTC day or later (tables with a day)")
    parser.add_argument(
        "--keep-formulas",
        action="store_true",
        help="CSV: write cells that start with = + - @ tab or CR as they are, for machine readers (default:"
        " prefix them with ' so a spreadsheet shows text instead of running a formula)",
    )
    add_database(parser)
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)

    from analytics.export import DEFAULT_RELATIONS, ExportError, ExportOptions, export
    from analytics.scope import UnknownSchema, check_warehouse
    from common.warehouse.db import DbTarget, check_identifier
    from tweetlake import localdb
    from tweetlake.errors import UsageError
    from tweetlake.output import format_table

    schema = check_identifier(args.schema)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] or list(DEFAULT_RELATIONS)
    options = ExportOptions(
        fmt=args.format, relations=tables, since=args.since, neutralise_formulas=not args.keep_formulas
    )
    try:
        url = localdb.database_url(args.database_url)
        with DbTarget.from_url(url).connect(autocommit=True) as conn:
            check_warehouse(conn, schema)
            result = export(conn, schema, args.out, options)
    except (ExportError, UnknownSchema) as err:
        raise UsageError(str(err)) from err
    print(
        format_table(["table", "rows", "file", "seconds"], [(f.table, f.rows, f.file, f.seconds) for f in result.files])
    )
    print(f"manifest: {result.manifest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
