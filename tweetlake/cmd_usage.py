"""``tweetlake usage`` — what the X API billed this month, as the usage ledger counted it, against the budget.

The ledger (<lake>/state/usage/) holds every run's billable reads by the documented rules (unique
posts and users per UTC day, counts/all requests). With --api (a token configured) the post reads
per day are compared with the API's own count, GET /2/usage/tweets (free); a plan without it says so.

Exit status: 0; 2 for a usage error; 3 when --api meets a fatal API error other than no access;
7 when the lake failed.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from common.layout import parse_time
from common.logs import configure_logging
from common.settings import env_help, load
from ingestion.client import XClient
from ingestion.errors import ForbiddenError, NotFoundError
from ingestion.run import prices
from ingestion.usage import MONTHLY_POST_READ_CAP, Budget, api_daily_post_reads, budget_usd, month_to_date
from tweetlake.options import add_lake, add_log_level, open_lake, plain, rfc3339_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tweetlake usage",
        description=plain(__doc__ or ""),
        epilog=env_help("TWEETLAKE_HOME", "TWEETLAKE_LAKE", "TWEETLAKE_BUDGET_USD", "X_BEARER_TOKEN", "X_API_BASE_URL"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_lake(parser)
    parser.add_argument(
        "--budget-usd",
        type=float,
        default=None,
        help="the monthly budget in USD to compare with (default: $TWEETLAKE_BUDGET_USD, else $150)",
    )
    parser.add_argument(
        "--budget-reads", type=int, default=None, help="the monthly budget in post reads (default: none)"
    )
    parser.add_argument("--price-post-read", type=float, default=None, help="USD a post read (default: 0.005)")
    parser.add_argument("--price-user-read", type=float, default=None, help="USD a user read (default: 0.010)")
    parser.add_argument("--api", action="store_true", help="compare with GET /2/usage/tweets")
    parser.add_argument(
        "--now", default=None, type=rfc3339_text, help="the month of this time (RFC 3339; default: now)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_log_level(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    lake = open_lake(args.lake)
    price = prices(args.price_post_read, args.price_user_read)
    budget = Budget(budget_usd(args.budget_usd, load().budget_usd), args.budget_reads)
    client = XClient.from_env() if args.api else None
    now = parse_time(args.now) if args.now else client.now() if client else datetime.now(UTC)
    month = month_to_date(lake, now.astimezone(UTC).date())
    total = month.total
    report: dict[str, Any] = {
        "month_start": month.start.isoformat(),
        "through": month.through.isoformat(),
        **total.as_dict(),
        "usd": round(total.usd(price), 4),
        "budget": {
            "usd": budget.usd,
            "reads": budget.reads,
            "usd_left": None if budget.usd is None else round(budget.usd - total.usd(price), 4),
            "post_reads_left": budget.post_reads_left(total, price),
        },
        "monthly_post_read_cap": MONTHLY_POST_READ_CAP,
        "by_day": {day: reads.as_dict() for day, reads in month.by_day.items()},
        "by_dataset": {name: reads.as_dict() for name, reads in sorted(month.by_dataset.items())},
    }
    if client is not None:
        try:
            days = (month.through - month.start).days + 1
            answer = api_daily_post_reads(client, days)
            api_days = answer.by_day
            report["api"] = {
                "project_usage": answer.project_usage,
                "project_cap": answer.cap,
                "comparable": answer.comparable,
                "unreadable": answer.unreadable,
                "by_day": api_days,
                "differences": {
                    d: {"ledger": (month.by_day[d].post_reads if d in month.by_day else 0), "api": n}
                    for d, n in sorted(api_days.items())
                    if n != (month.by_day[d].post_reads if d in month.by_day else 0) and d >= month.start.isoformat()
                },
            }
        except (ForbiddenError, NotFoundError) as err:
            report["api"] = {"unavailable": str(err)}
    print(json.dumps(report, indent=1) if args.json else render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    lines = [
        f"X API usage {report['month_start']} .. {report['through']} (usage ledger): "
        f"${report['usd']:,.2f} — {report['post_reads']:,} post reads, {report['user_reads']:,} user reads"
        + (f", {report['counts_requests']:,} counts requests" if report["counts_requests"] else "")
    ]
    budget = report["budget"]
    if budget["usd"] is not None or budget["reads"] is not None:
        parts = []
        if budget["usd"] is not None:
            parts.append(f"${budget['usd']:,.2f} (${budget['usd_left']:,.2f} left)")
        if budget["reads"] is not None:
            parts.append(f"{budget['reads']:,} post reads")
        lines.append(f"budget: {' and '.join(parts)}; {budget['post_reads_left']:,} post reads left")
    lines.append(f"monthly post-read cap: {report['post_reads']:,} of {report['monthly_post_read_cap']:,}")
    lines.append("")
    lines.append(f"{'day':12s}{'post reads':>12s}{'user reads':>12s}")
    for day, reads in report["by_day"].items():
        lines.append(f"{day:12s}{reads['post_reads']:>12,}{reads['user_reads']:>12,}")
    lines.append(
        "by dataset (before de-duplication across datasets): "
        + ", ".join(
            f"{name} {r['post_reads']:,} post / {r['user_reads']:,} user" for name, r in report["by_dataset"].items()
        )
    )
    api = report.get("api")
    if api is not None:
        if "unavailable" in api:
            lines.append(f"GET /2/usage/tweets: not available on this plan ({api['unavailable']})")
        else:
            diff = api["differences"]
            if not api["comparable"]:
                what = "; ".join(api["unreadable"][:3]) or "it held no daily usage"
                lines.append(
                    f"GET /2/usage/tweets: cannot compare with the ledger: the answer could not be read ({what})"
                )
                return "\n".join(lines)
            lines.append(
                f"GET /2/usage/tweets: project usage {api['project_usage']} of cap {api['project_cap']}; "
                + (
                    "every day agrees with the ledger"
                    if not diff
                    else "days that differ: "
                    + ", ".join(f"{d} ledger {v['ledger']:,} api {v['api']:,}" for d, v in diff.items())
                )
            )
    return "\n".join(lines)
