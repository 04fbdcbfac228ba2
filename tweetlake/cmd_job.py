"""``tweetlake job users|tweets|tweet_metrics|all [--lake URI] [--database-url URL] [--full-refresh]``.

Runs the Glue jobs' code on local Spark against the embedded PostgreSQL (or any URL).
``metrics`` is accepted for ``tweet_metrics``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from common.layout import DATASET_ALIASES, canonical_dataset
from common.settings import env_help, load


def build_parser() -> argparse.ArgumentParser:
    # no Spark at import time: the spec table and the staging module load without pyspark
    from glue_jobs.datasets import DATASETS
    from glue_jobs.plan import SAFETY_WINDOW_DAYS
    from glue_jobs.staging import STAGING_METHODS

    parser = argparse.ArgumentParser(
        prog="tweetlake job",
        description="Load the raw lake into the warehouse.",
        epilog=env_help("TWEETLAKE_LAKE", "TWEETLAKE_DATABASE_URL", "TWEETLAKE_DB_SCHEMA"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", choices=[*DATASETS, *DATASET_ALIASES, "all"])
    parser.add_argument("--lake", default=None, help="file:///… or s3://bucket/prefix (default: .tweetlake/lake)")
    parser.add_argument("--database-url", help="postgresql://…; default $TWEETLAKE_DATABASE_URL or the embedded server")
    parser.add_argument("--schema", default=load().db_schema)
    parser.add_argument("--full-refresh", action="store_true", help="forget the ledger and rebuild the dataset")
    parser.add_argument("--staging-method", choices=STAGING_METHODS, default="auto")
    parser.add_argument(
        "--safety-window-days",
        type=int,
        default=SAFETY_WINDOW_DAYS,
        help="also list loaded dt= partitions this many days before the newest (finds late files)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from common.spark import SparkSetupError, build_local_spark
    from glue_jobs.datasets import DATASETS
    from glue_jobs.runner import run_job
    from tweetlake import localdb

    lake = args.lake or load().lake_uri
    url = localdb.database_url(args.database_url)
    try:
        spark = build_local_spark("tweetlake-job")
    except SparkSetupError as err:
        print(f"tweetlake job: {err}", file=sys.stderr)
        return 2
    datasets = list(DATASETS) if args.dataset == "all" else [canonical_dataset(args.dataset)]
    for dataset in datasets:
        summary = run_job(
            dataset,
            lake,
            url,
            spark,
            args.full_refresh,
            schema=args.schema,
            staging_method=args.staging_method,
            safety_window_days=args.safety_window_days,
        )
        print(summary.describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
