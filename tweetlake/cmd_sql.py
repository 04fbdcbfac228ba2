"""``tweetlake sql "SELECT …" [--format table|csv|json] [--no-truncate]``: run SQL on the warehouse.

Several statements (separated by ``;``, given as the argument or with ``--file``) run in order, and
each result is printed in turn. PostgreSQL runs them as one implicit transaction: a failing
statement undoes the ones before it, unless the script has its own BEGIN/COMMIT.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import os
import sys
from typing import Any

from common.exit_codes import ExitCode, epilog
from common.settings import env_help
from tweetlake.errors import UsageError
from tweetlake.options import ArgumentParser, add_database, add_log_level, check_database_url, check_schema
from tweetlake.output import MAX_CELL, format_table, terminal_width

EPILOG = f"""{
    epilog(
        {
            ExitCode.OK: "done",
            ExitCode.FAILED: "PostgreSQL refused a statement (its message is printed)",
            ExitCode.USAGE: "bad arguments: no SQL, a database URL that is not postgresql://…, a bad schema name",
            ExitCode.DATABASE: "the database is unreachable or refused the login",
        }
    )
}

{env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_DB_SCHEMA")}"""


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake sql", description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("query", nargs="?", help="the SQL (one statement or several); omit it with --file")
    parser.add_argument(
        "--file",
        "-f",
        type=argparse.FileType("r", encoding="utf-8"),
        default=None,
        help="read the SQL from this file (- for stdin)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (aligned, for people), csv (a header row, RFC 4180) or json (an array of"
        " objects per statement) (default: table)",
    )
    parser.add_argument(
        "--no-truncate", action="store_true", help=f"table: print whole values (default: cut at {MAX_CELL} characters)"
    )
    parser.add_argument(
        "--expanded",
        "-x",
        action="store_true",
        help="table: one record at a time, like psql's \\x (default: only when a row is wider than the terminal)",
    )
    add_database(parser)
    add_log_level(parser)
    return parser


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: str, *, truncate: bool, expanded: bool = False) -> str:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    if fmt == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str, ensure_ascii=False)
    return format_table(
        columns, rows, max_cell=MAX_CELL if truncate else None, width=terminal_width(), expanded=expanded
    )


def schema_given(argv: list[str]) -> bool:
    """``--schema`` on the command line or ``TWEETLAKE_DB_SCHEMA`` set: the user named a schema."""
    return any(a == "--schema" or a.startswith("--schema=") for a in argv) or "TWEETLAKE_DB_SCHEMA" in os.environ


def check_schema_exists(conn: Any, schema: str, *, explicit: bool, creates: bool) -> None:
    """A schema the database lacks: a usage error with the nearest name when the user named it (and
    the SQL does not create it); a note on stderr for the default."""
    names = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'")]
    if schema in names or creates:
        return
    near = difflib.get_close_matches(schema, names, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    listed = ", ".join(sorted(n for n in names if n != "information_schema")) or "none"
    if explicit:
        raise UsageError(f"no schema {schema!r} in this database ({hint}its schemas: {listed})")
    print(f"tweetlake sql: note: schema {schema} does not exist yet (tweetlake db migrate creates it)", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    sql = args.file.read() if args.file else args.query
    if not sql or not sql.strip():
        parser.error("give the SQL as an argument or with --file")
    given = check_database_url(args.database_url)
    schema = check_schema(args.schema)
    import psycopg

    from common.warehouse.db import DbTarget
    from tweetlake import localdb

    url = localdb.database_url(given)
    with DbTarget.from_url(url).connect(autocommit=True) as conn:
        check_schema_exists(conn, schema, explicit=schema_given(argv), creates="create schema" in sql.lower())
        conn.execute(f"SET search_path TO {schema}, public")
        try:
            cur = conn.execute(sql)
        except psycopg.Error as err:
            if isinstance(err, psycopg.OperationalError) and conn.broken:
                raise
            print(f"tweetlake sql: {' '.join(str(err).split())}", file=sys.stderr)
            return 1
        results = []
        while True:
            if cur.description is None:
                results.append(cur.statusmessage or "OK")
            else:
                rows = cur.fetchall()
                columns = [d.name for d in cur.description]
                truncate = not args.no_truncate
                results.append(render(columns, rows, args.format, truncate=truncate, expanded=args.expanded))
            if not cur.nextset():
                break
    print("\n\n".join(results) if args.format == "table" else "\n".join(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
