"""``tweetlake sql "SELECT …" [--database-url URL] [--schema NAME]``: run SQL, print a table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from common.settings import load

MAX_CELL = 60


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        text = "NULL" if value is None else str(value)
        text = text.replace("\n", "\\n")
        return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), line]
    out += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


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
