"""``tweetlake db migrate|url|start|stop|status [--database-url URL] [--schema NAME]``."""

from __future__ import annotations

import argparse
import sys

from common.exit_codes import ExitCode, epilog
from common.settings import env_help, load
from tweetlake.options import ArgumentParser, add_database, add_log_level

EPILOG = f"""actions:
  migrate  apply the warehouse migrations (starts the embedded server when no URL is given)
  url      print the URL to connect with, including the password: the embedded server's password is
           your own secret on your own machine (kept in $TWEETLAKE_HOME/pg/password, mode 0600),
           so treat the printed URL like a password. Never starts a server: when the embedded one
           is not running, says so and exits 1 (run 'tweetlake db start' first)
  start    start the embedded PostgreSQL (or find it running) on its stable port
  stop     stop the embedded PostgreSQL
  status   connect and report the server version and the URL (without password): the URL given by
           --database-url or $TWEETLAKE_DATABASE_URL, else the embedded server (never started)

{
    epilog(
        {
            ExitCode.OK: "done",
            ExitCode.FAILED: "the embedded server is not running (url, status)",
            ExitCode.USAGE: "bad arguments (a URL that is not postgresql://…, a bad schema name)",
            ExitCode.DATABASE: "the database is unreachable or refused the login (status, migrate), or the embedded"
            " server failed to start",
        }
    )
}

A URL on the command line is visible to other users in ps: prefer $TWEETLAKE_DATABASE_URL
for one that holds a password.

{env_help("TWEETLAKE_HOME", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_DB_SCHEMA")}"""


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake db",
        description="The warehouse database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["migrate", "url", "start", "stop", "status"], help="see actions below")
    add_database(parser)
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="start: run with fsync and synchronous_commit off until the next start (faster for "
        "benchmarks; an OS crash can corrupt the database). Default: both on",
    )
    add_log_level(parser)
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"tweetlake db: {message}", file=sys.stderr)
    return code


def _describe(url: str) -> str:
    """``<URL without password> (PostgreSQL <version>[, fsync off])``; raises when unreachable."""
    from common.warehouse.db import DbTarget

    target = DbTarget.from_url(url)
    with target.connect(autocommit=True) as conn:  # the URL's deadline, like every other command
        version = conn.execute("SHOW server_version").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
    return f"{target.safe_url} (PostgreSQL {version}{'' if fsync == 'on' else ', fsync off'})"


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    import psycopg  # noqa: F401 - a missing extra is the boundary's one line

    from tweetlake import localdb

    given = args.database_url or load().database_url
    try:
        if args.action == "start":
            print(f"running: {_describe(localdb.start(durable=not args.no_fsync))}")
            return 0
        if args.action == "stop":
            print("stopped" if localdb.stop() else "not running")
            return 0
        if args.action in ("url", "status"):
            url = given or localdb.status()
            if not url:
                return _fail("the embedded PostgreSQL is not running: run `tweetlake db start`")
            print(url if args.action == "url" else f"running: {_describe(url)}")
            return 0
        url = localdb.database_url(given)
        from common.warehouse.db import DbTarget
        from common.warehouse.migrate import migrate

        with DbTarget.from_url(url).connect(autocommit=True) as conn:
            applied = migrate(conn, args.schema)
    except ValueError as err:
        return _fail(_one_line(err), 2)
    print(f"schema {args.schema}: applied {applied}" if applied else f"schema {args.schema}: up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
