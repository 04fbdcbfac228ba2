"""``tweetlake job users|tweets|tweet_metrics|all [--lake URI] [--database-url URL] [--full-refresh]``.

Runs the Glue jobs' code on local Spark against the embedded PostgreSQL (or any URL).
``metrics`` is accepted for ``tweet_metrics``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from common.exit_codes import ExitCode, epilog
from common.layout import DATASET_ALIASES, canonical_dataset
from common.settings import env_help
from tweetlake.errors import UsageError
from tweetlake.options import (
    ArgumentParser,
    add_database,
    add_lake,
    add_log_level,
    check_database_url,
    check_schema,
    open_lake,
)

EPILOG = f"""A lake file that cannot be read (empty, not gzip, truncated, not UTF-8, a line over 1 MiB, no
lines) is quarantined whole: recorded in etl_file_ledger with its reason, with a marker under
<lake>/quarantine/<dataset>/_files/, named in the summary, never read again unless
--retry-quarantined. Every other file loads; the run still exits 0.

{
    epilog(
        {
            ExitCode.OK: "done (files quarantined whole are named in the summary)",
            ExitCode.USAGE: "bad arguments or setup: a lake URI or database URL, no such lake folder, a missing extra"
            " (pip install 'tweetlake[local]'), no Java or JDBC driver",
            ExitCode.LAKE: "the lake failed (denied, unreachable, no AWS credentials, a file gone while it was read)",
            ExitCode.DATABASE: "the database is unreachable, refused the login, or went away during the run (nothing of"
            " the failed run is committed: run it again)",
            ExitCode.BUG: "a bug (with a traceback)",
            ExitCode.INTERRUPTED: "interrupted (Ctrl-C): Spark's jobs cancelled, the merge rolled back (nothing of the"
            " run is committed), Spark stopped",
        }
    )
}

"""


def build_parser() -> ArgumentParser:
    # no Spark at import time: the spec table and the staging module load without pyspark
    from glue_jobs.datasets import DATASETS
    from glue_jobs.plan import SAFETY_WINDOW_DAYS
    from glue_jobs.staging import STAGING_METHODS

    parser = ArgumentParser(
        prog="tweetlake job",
        description="Load the raw lake into the warehouse.",
        epilog=EPILOG
        + env_help(
            "TWEETLAKE_HOME",
            "TWEETLAKE_LAKE",
            "TWEETLAKE_DATABASE_URL",
            "TWEETLAKE_DB_SCHEMA",
            "TWEETLAKE_JDBC_JAR",
            "JAVA_HOME",
            "TWEETLAKE_SPARK_MASTER",
            "TWEETLAKE_SPARK_DRIVER_MEMORY",
            "TWEETLAKE_SPARK_JAVA_OPTIONS",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "dataset",
        choices=[*DATASETS, *DATASET_ALIASES, "all"],
        help="which job; all runs users, tweets, tweet_metrics in that order",
    )
    add_lake(parser)
    add_database(parser)
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="forget the ledger and rebuild the dataset from every file (default: only new files)",
    )
    parser.add_argument(
        "--retry-quarantined",
        action="store_true",
        help="read again the files quarantined whole, e.g. after they were replaced (default: never)",
    )
    parser.add_argument(
        "--staging-method",
        choices=STAGING_METHODS,
        default="auto",
        help="how rows reach the staging tables: files (Spark writes CSV, COPY streams it), copy"
        " (COPY from each task), jdbc; auto picks files on local Spark (default: auto)",
    )
    parser.add_argument(
        "--safety-window-days",
        type=int,
        default=SAFETY_WINDOW_DAYS,
        help="also list loaded dt= partitions this many days before the newest (finds late files; "
        f"default: {SAFETY_WINDOW_DAYS})",
    )
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    # Everything that can be checked is checked before Spark or PostgreSQL starts.
    lake = open_lake(args.lake, must_exist=True)
    given_url = check_database_url(args.database_url)
    schema = check_schema(args.schema)
    if args.safety_window_days < 0:
        raise UsageError("--safety-window-days takes 0 or more days")
    for module in ("pyspark", "psycopg"):
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"tweetlake job needs {module}: pip install 'tweetlake[local]'")
    from common.spark import find_java_home, find_jdbc_jar, quiet_logging

    find_java_home()
    find_jdbc_jar()
    quiet_logging(args.log_level)
    from common.warehouse.db import DbTarget
    from glue_jobs.datasets import DATASETS
    from glue_jobs.interruptible import run_interruptibly
    from glue_jobs.options import JobOptions
    from tweetlake import localdb

    url = localdb.database_url(given_url)
    datasets = list(DATASETS) if args.dataset == "all" else [canonical_dataset(args.dataset)]
    options = JobOptions(
        schema=schema,
        full_refresh=args.full_refresh,
        retry_quarantined=args.retry_quarantined,
        staging_method=args.staging_method,
        safety_window_days=args.safety_window_days,
    )
    summaries = []
    for dataset in datasets:
        # Spark starts on the first run with something to read; Ctrl-C stops it with nothing committed
        summary = run_interruptibly(dataset, lake.uri, DbTarget.from_url(url), options)
        print(summary.describe())
        summaries.append(summary)
    where = summaries[-1]
    print(
        f"where: lake {where.lake}, database {where.database}, schema {where.schema},"
        f" quarantine {where.lake.rstrip('/')}/quarantine/"
    )
    follow = _db_args(where.database if given_url else None, schema)
    if any(s.quarantined_files for s in summaries):
        print(
            'quarantined files: tweetlake sql "SELECT dataset, path, reason FROM etl_file_ledger'
            f" WHERE status = 'quarantined'\"{follow}"
        )
    print(f'next: tweetlake sql "SELECT * FROM etl_run ORDER BY finished_at DESC LIMIT 5"{follow}')
    return 0


def _db_args(safe_url: str | None, schema: str) -> str:
    """The options a follow-up ``tweetlake sql`` needs to look where this run wrote (the URL
    without its password: libpq finds it in $PGPASSWORD or ~/.pgpass, or set TWEETLAKE_DATABASE_URL)."""
    from common.settings import load

    extra = "" if schema == load().db_schema else f" --schema {schema}"
    return extra + (f" --database-url {safe_url}" if safe_url and not load().database_url else "")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
