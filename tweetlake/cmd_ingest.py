"""``tweetlake ingest users|tweets|tweet_metrics`` — one collector run, then its summary.

``metrics`` is accepted for ``tweet_metrics``.

Exit status: 0 when the run collected what it could (unavailable accounts are named, not fatal;
so is a full-archive search the plan refuses with 403: one warning line, the gap named);
2 for a configuration or usage error; 3 for a fatal API error (bad token, usage cap, no access, a
redirect to another host); 4 when another run of the same collector holds the lock, or held it
since this run's lease lapsed; 5 when the API kept failing past the retries
(or a rate limit is spent for longer than the longest wait, e.g. a daily one);
6 when some accounts kept failing (named in the summary; every other account was collected and its
cursor committed, theirs stay for the next run); 7 when the lake (folder or S3) failed; 9 when the
next request would take the month past --budget-usd/--budget-reads (the run stopped before it; what it
collected is published). Without --budget-usd or TWEETLAKE_BUDGET_USD the month is bounded at $150
(docs/money.md): no run spends without a limit. HTTP 402 (the X API credits are spent) is a fatal API
error (3); its line
says what the usage ledger counted this month.

Every run records its billable reads in the usage ledger (<lake>/state/usage/) and prints them.
"""

from __future__ import annotations

import argparse
import sys

from common.layout import DATASET_ALIASES, DATASETS, canonical_dataset
from common.logs import configure_logging
from common.settings import env_help, load
from ingestion.client import XClient
from ingestion.policy import DEFAULT_POLICY
from ingestion.run import RunOptions, outcome, run
from ingestion.usage import DEFAULT_BUDGET_USD, budget_usd
from tweetlake.options import ArgumentParser, add_lake, add_log_level, open_lake, rfc3339_text
from tweetlake.output import Progress


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="tweetlake ingest",
        description=__doc__,
        epilog=env_help(
            "TWEETLAKE_HOME",
            "TWEETLAKE_LAKE",
            "X_BEARER_TOKEN",
            "X_BEARER_TOKEN_SECRET_ARN",
            "X_API_BASE_URL",
            "TWEETLAKE_METRICS_POLICY",
            "TWEETLAKE_BUDGET_USD",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "dataset", choices=[*DATASETS, *DATASET_ALIASES], help="what to collect (metrics = tweet_metrics)"
    )
    add_lake(parser)
    parser.add_argument(
        "--users", default=None, help="comma-separated usernames for this run only (default: the tracked accounts)"
    )
    parser.add_argument(
        "--since",
        default=None,
        type=rfc3339_text,
        help="tweets: first collection starts here (RFC 3339; default 2022-01-01T00:00:00Z)",
    )
    parser.add_argument("--exclude", default=None, help="tweets: retweets,replies (default: everything)")
    parser.add_argument(
        "--backfill",
        choices=["auto", "search", "off"],
        default="auto",
        help="tweets: beyond the timeline's 3,200-tweet cap, fetch the rest with full-archive search "
        "(auto), backfill new accounts by search alone (search), or only name the gap (off); "
        "default: auto",
    )
    parser.add_argument(
        "--max-age-days",
        type=float,
        default=None,
        help="metrics: refresh only tweets younger than this (default: every tweet)",
    )
    parser.add_argument(
        "--policy",
        default=None,
        help=f"metrics: refresh tiers by age, AGE_RANGE:INTERVAL,… (default {DEFAULT_POLICY!r}; "
        "'all': every known tweet at every run)",
    )
    parser.add_argument(
        "--budget-usd",
        type=float,
        default=None,
        help="monthly X API budget in USD: the run never takes the month to date past it "
        "(metrics: the youngest due tweets go first, the rest wait; "
        f"default: $TWEETLAKE_BUDGET_USD, else ${DEFAULT_BUDGET_USD:.0f}; 0: nothing may be spent)",
    )
    parser.add_argument(
        "--budget-reads", type=int, default=None, help="monthly budget in post reads (as --budget-usd; default: none)"
    )
    parser.add_argument("--price-post-read", type=float, default=None, help="USD a post read (default: 0.005)")
    parser.add_argument("--price-user-read", type=float, default=None, help="USD a user read (default: 0.010)")
    parser.add_argument(
        "--part-records",
        type=int,
        default=100_000,
        help="records per raw file before it is published (and the cursor moves; default: 100000)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    progress = Progress(args.dataset, enabled=False if args.no_progress else None)
    lake = open_lake(args.lake)  # a bad URI: one line and exit 2, before anything starts
    try:
        settings = load()
        options = RunOptions.parse(  # a usage error (policy, budget, price) before any credential or request
            users=args.users,
            since=args.since,
            exclude=args.exclude,
            max_age_days=args.max_age_days,
            part_records=args.part_records,
            on_progress=progress,
            backfill=args.backfill,
            policy=args.policy or settings.metrics_policy or DEFAULT_POLICY,
            budget_usd=budget_usd(args.budget_usd, settings.budget_usd),
            budget_reads=args.budget_reads,
            price_post_read=args.price_post_read,
            price_user_read=args.price_user_read,
        )
        client = XClient.from_env()
        summary = run(args.dataset, lake, client, options)
    finally:
        progress.close()  # a failure goes up to the boundary, which says it in one line with its code
    print(summary.render())
    print(f"where: lake {lake.uri}; next: tweetlake job {canonical_dataset(args.dataset)} --lake {lake.uri}")
    result = outcome(summary)
    if result.message:
        print(f"tweetlake ingest: {result.message}", file=sys.stderr)
    return result.code
