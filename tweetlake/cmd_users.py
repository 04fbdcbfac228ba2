"""``tweetlake users add|remove|list`` — the tracked-accounts registry in ``<lake>/state/``."""

from __future__ import annotations

import argparse
import sys

from common.lake import Lake
from common.settings import default_lake_uri
from ingestion.registry import InvalidUsername, Registry


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tweetlake users", description=__doc__)
    parser.add_argument("action", choices=["add", "remove", "list"])
    parser.add_argument("usernames", nargs="*", help="for add/remove (commas or spaces)")
    parser.add_argument("--lake", default=None, help="file:///… or s3://bucket/prefix (default: .tweetlake/lake)")
    args = parser.parse_args(argv)
    registry = Registry(Lake.from_uri(args.lake or default_lake_uri()))
    names = [n for arg in args.usernames for n in arg.split(",") if n.strip()]
    if args.action == "list":
        accounts = registry.list()
        for a in accounts:
            status = f"  [{a.status}]" if a.status else ""
            print(f"{a.username:<16} {a.user_id or '(unresolved)':<20} added {a.added_at}{status}")
        print(f"{len(accounts)} tracked account(s)")
        return 0
    if not names:
        parser.error(f"{args.action} needs at least one username")
    try:
        for name in names:
            if args.action == "add":
                account, created = registry.add(name)
                print(f"{'added' if created else 'already tracked'}: {account.username}")
            elif registry.remove(name):
                print(f"removed: {name} (data already collected is kept)")
            else:
                print(f"not tracked: {name}", file=sys.stderr)
                return 1
    except InvalidUsername as err:
        print(f"tweetlake users: {err}", file=sys.stderr)
        return 2
    return 0
