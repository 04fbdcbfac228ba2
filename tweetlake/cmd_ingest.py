"""``tweetlake ingest users|tweets|tweet_metrics`` — one collector run, then its summary.

``metrics`` is accepted for ``tweet_metrics``.

Exit status: 0 when the run collected what it could (unavailable accounts are named, not fatal);
2 for a configuration or usage error; 3 for a fatal API error (bad token, usage cap, no access, a
redirect to another host); 4 when another run of the same collector holds the lock, or held it
since this run's lease lapsed; 5 when the API kept failing past the retries
(or a rate limit is spent for longer than the longest wait, e.g. a daily one);
6 when some accounts kept failing (named in the summary; every other account was collected and its
cursor committed, theirs stay for the next run); 7 when the lake (folder or S3) failed.
"""

from __future__ import annotations

import argparse
import sys

from common.layout import DATASET_ALIASES, DATASETS, canonical_dataset
from common.logs import configure_logging
from common.settings import env_help
from ingestion.client import XClient
from ingestion.run import outcome, run
from tweetlake.options import ArgumentParser, add_lake, add_log_level, open_lake, rfc3339_text
from tweetlake.output import Progress


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="tweetlake ingest", description=__doc__,
                            epilog=env_help("TWEETLAKE_HOME", "TWEETLAKE_LAKE", "X_BEARER_TOKEN",
                                            "X_BEARER_TOKEN_SECRET_ARN", "X_API_BASE_URL"),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=[*DATASETS, *DATASET_ALIASES],
                        help="what to collect (metrics = tweet_metrics)")
    add_lake(parser)
    parser.add_argument("--users", default=None,
                        help="comma-separated usernames for this run only (default: the tracked accounts)")
    parser.add_argument("--since", default=None, type=rfc3339_text,
                        help="tweets: first collection starts here (RFC 3339; default 2022-01-01T00:00:00Z)")
    parser.add_argument("--exclude", default=None, help="tweets: retweets,replies (default: everything)")
    parser.add_argument("--max-age-days", type=float, default=None,
                        help="metrics: refresh only tweets younger than this (default: every tweet)")
    parser.add_argument("--part-records", type=int, default=100_000,
                        help="records per raw file before it is published (and the cursor moves; default: 100000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    progress = Progress(args.dataset, enabled=False if args.no_progress else None)
    lake = open_lake(args.lake)  # a bad URI: one line and exit 2, before anything starts
    try:
        client = XClient.from_env()
        summary = run(args.dataset, lake, client, users=args.users, since=args.since, exclude=args.exclude,
                      max_age_days=args.max_age_days, part_records=args.part_records, on_progress=progress)
    except Exception as err:
        failed = outcome(err)
        if failed is None:
            raise
        progress.close()
        print(f"tweetlake ingest: {failed.message}", file=sys.stderr)
        return failed.code
    progress.close()
    print(summary.render())
    print(f"where: lake {lake.uri}; next: tweetlake job {canonical_dataset(args.dataset)} --lake {lake.uri}")
    result = outcome(summary)
    if result.message:
        print(f"tweetlake ingest: {result.message}", file=sys.stderr)
    return result.code
