"""``tweetlake db migrate|url|start|stop|status [--database-url URL] [--schema NAME]``."""

from __future__ import annotations

import argparse
import sys

from common.settings import load


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tweetlake db", description="The warehouse database.")
    parser.add_argument("action", choices=["migrate", "url", "start", "stop", "status"])
    parser.add_argument("--database-url", help="postgresql://…; default $TWEETLAKE_DATABASE_URL or the embedded server")
    parser.add_argument("--schema", default=load().db_schema)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from tweetlake import localdb

    if args.action == "start":
        print(localdb.start())
        return 0
    if args.action == "stop":
        print("stopped" if localdb.stop() else "not running")
        return 0
    if args.action == "status":
        url = localdb.status()
        print(f"running: {url}" if url else "not running")
        return 0 if url else 1
    url = localdb.database_url(args.database_url)
    if args.action == "url":
        print(url)
        return 0
    from common.warehouse.db import DbTarget
    from common.warehouse.migrate import migrate

    with DbTarget.from_url(url).connect(autocommit=True) as conn:
        applied = migrate(conn, args.schema)
    print(f"schema {args.schema}: applied {applied}" if applied else f"schema {args.schema}: up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
