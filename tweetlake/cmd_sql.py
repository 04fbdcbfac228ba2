"""``tweetlake sql "SELECT …" [--database-url URL] [--schema NAME]``: run SQL, print a table."""

from __future__ import annotations

import argparse
import sys

from common.settings import load
from tweetlake.output import format_table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tweetlake sql", description="Run SQL on the warehouse.")
    parser.add_argument("query")
    parser.add_argument("--database-url")
    parser.add_argument("--schema", default=load().db_schema)
    args = parser.parse_args(argv)
    import psycopg

    from common.warehouse.db import DbTarget, check_identifier
    from tweetlake import localdb

    url = localdb.database_url(args.database_url)
    with DbTarget.from_url(url).connect(autocommit=True) as conn:
        conn.execute(f"SET search_path TO {check_identifier(args.schema)}, public")
        try:
            cur = conn.execute(args.query)
        except psycopg.Error as err:
            print(f"tweetlake sql: {err}".rstrip(), file=sys.stderr)
            return 1
        if cur.description is None:
            print(cur.statusmessage or "OK")
            return 0
        print(format_table([d.name for d in cur.description], cur.fetchall()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
