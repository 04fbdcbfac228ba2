"""``tweetlake plan`` — what the tracked accounts will cost on the pay-per-use X API, before it is spent.

From the registry (or --users), the last profiles and the lake (known tweets, their ages and last
refreshes), the refresh policy and the schedules (tweets every 4 h, metrics every 2 h, users daily):
post and user reads per day and per month (30 days), their cost, whether the monthly cap of
3,000,000 post reads is passed, the one-off backfill and how long it takes under the rate limits,
and with --budget-usd the most thorough policy (of a ladder from the given one to leaner ones)
whose month fits. Before any post is collected it shows the backfill and the month after it (the
backfilled posts included, each counted as refreshed when collected). No API call unless --exact:
GET /2/tweets/counts/all sizes each history ($0.01 a request; at most one per 31 days of it; asked
once and cached in the lake, so a second plan costs nothing; counted in the usage ledger and
checked against the budget before each request; --max-usd bounds the sizing itself). More in
docs/money.md.

Exit status: 0; 2 for a usage error (a bad --policy, price or budget, no accounts); 3 when
--exact meets a fatal API error; 7 when the lake failed.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime

from common.layout import parse_time
from common.logs import configure_logging
from common.settings import env_help, load
from ingestion.client import XClient
from ingestion.errors import ConfigurationError
from ingestion.planner import plan
from ingestion.policy import DEFAULT_POLICY
from ingestion.registry import Registry
from ingestion.run import prices, select_accounts
from ingestion.usage import Budget, budget_usd, metered
from tweetlake.options import add_lake, add_log_level, open_lake, plain, rfc3339_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tweetlake plan",
        description=plain(__doc__ or ""),
        epilog=env_help(
            "TWEETLAKE_LAKE", "X_BEARER_TOKEN", "X_API_BASE_URL", "TWEETLAKE_METRICS_POLICY", "TWEETLAKE_BUDGET_USD"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_lake(parser)
    parser.add_argument("--users", default=None, help="comma-separated usernames instead of the registry")
    parser.add_argument(
        "--policy", default=None, help=f"refresh tiers (default $TWEETLAKE_METRICS_POLICY, else {DEFAULT_POLICY!r})"
    )
    parser.add_argument(
        "--budget-usd",
        type=float,
        default=None,
        help="monthly budget: which policy fits it (default $TWEETLAKE_BUDGET_USD)",
    )
    parser.add_argument("--price-post-read", type=float, default=None, help="USD a post read (default: 0.005)")
    parser.add_argument("--price-user-read", type=float, default=None, help="USD a user read (default: 0.010)")
    parser.add_argument(
        "--since", default=None, type=rfc3339_text, help="the backfill's lower bound (default 2022-01-01T00:00:00Z)"
    )
    parser.add_argument(
        "--exact", action="store_true", help="count the backfill with GET /2/tweets/counts/all ($0.01 a request)"
    )
    parser.add_argument(
        "--max-usd",
        type=float,
        default=5.0,
        help="--exact: the most the sizing may spend; above it the backfill is estimated (default: 5.00)",
    )
    parser.add_argument("--now", default=None, type=rfc3339_text, help="plan from this time (RFC 3339; default: now)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    settings = load()
    args.policy = args.policy or settings.metrics_policy or DEFAULT_POLICY
    budget = Budget(budget_usd(args.budget_usd, settings.budget_usd))
    Budget(args.max_usd)  # the same checks: finite, 0 or more
    lake = open_lake(args.lake)
    accounts = select_accounts(Registry(lake), args.users, lake)
    if not accounts:
        raise ConfigurationError("no tracked accounts: add some with `tweetlake users add NAME` or pass --users")
    client = XClient.from_env() if args.exact else None
    now = parse_time(args.now) if args.now else client.now() if client else datetime.now(UTC)
    options = {
        "now": now,
        "policy": args.policy,
        "budget_usd": budget.usd,
        "prices": prices(args.price_post_read, args.price_user_read),
        "since": parse_time(args.since) if args.since else None,
        "max_usd": args.max_usd,
    }
    if client is None:
        result = plan(lake, accounts, **options)
    else:
        run_id = f"plan-{uuid.uuid4().hex[:12]}"
        with metered(lake, client, "plan", run_id, budget=budget, prices=options["prices"]):
            result = plan(lake, accounts, exact_client=client, **options)
    print(json.dumps(result.as_json(), indent=1) if args.json else result.render())
    return 0
