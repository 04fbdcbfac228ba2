"""The bill before it comes: what the tracked accounts, the backfill and the refresh policy will cost.

:func:`plan` replays the next 30 days of the real schedules — tweets every 4 h, metrics every 2 h,
users daily, at the phases the AWS stack's timers use — by the API's billing rules (a post or user
billed at most once per UTC day; failed requests free), without any API call unless ``exact``:

* **the backfill**: each account's history since ``since`` that is not in the lake yet, estimated
  from its profile's ``tweet_count`` (said so, with a range) or sized with ``counts/all`` (``exact``:
  :mod:`ingestion.planner.sizing`, bounded, cached, metered); its reads, requests and duration;
* **the month after it**: every post the accounts will then have — known, backfilled (each counted
  as refreshed when it is collected: the timeline carried its metrics) and new — read as
  :meth:`ingestion.tweet_index.TweetIndex.due` will read it, tier by tier (:mod:`.replay`), plus
  one user read a day per active account;
* the cost of each tier of the policy and of extending it with ``30d+:30d``; given a budget, the
  most thorough policy of a ladder whose month fits it. Docs: docs/money.md.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from common.lake import Lake
from common.layout import isoformat_z, parse_time
from ingestion.accounts import GONE, UNAVAILABLE_FOR_METRICS
from ingestion.client import XClient
from ingestion.cursors import CursorStore
from ingestion.errors import APIError, BudgetReached
from ingestion.planner.known import Known, known_tweets, last_profiles
from ingestion.planner.replay import DAY, MONTH_DAYS, Schedule, billed_days, month_post_reads
from ingestion.planner.report import AccountPlan, Plan
from ingestion.planner.sizing import cached_count, count_since, requests_needed
from ingestion.policy import DEFAULT_POLICY, Policy, Tier
from ingestion.registry import Account
from ingestion.usage import Prices

__all__ = ["LADDER", "AccountPlan", "Plan", "Schedule", "billed_days", "month_post_reads", "plan"]

TIMELINE_CAP = 3200
TIMELINE_PAGE, TIMELINE_PER_WINDOW = 100, 10_000
SEARCH_PAGE, SEARCH_PER_WINDOW, SEARCH_MIN_INTERVAL = 500, 300, 1.0
WINDOW_SECONDS = 15 * 60
EXTENSION = 30 * DAY  # the interval of the tier that would extend a policy that ends

LADDER = (
    "0-2d:2h,2d-7d:12h,7d-30d:1d,30d+:7d",
    "0-2d:2h,2d-7d:1d,7d-30d:3d,30d+:30d",
    DEFAULT_POLICY,
    "0-1d:2h,1d-7d:1d,7d-30d:7d",
    "0-1d:4h,1d-7d:2d",
    "0-1d:6h,1d-7d:2d",
    "0-1d:1d",
)
"""Policies from the most thorough to the leanest: the budget picks the first that fits."""


def _rate(account: Account, known: Known, profile: dict[str, Any] | None, now: int) -> tuple[float, str]:
    uid = account.user_id or ""
    oldest = known.oldest.get(uid)
    if oldest is not None and now - oldest >= MONTH_DAYS * DAY:
        return known.last_30_days[uid] / MONTH_DAYS, "lake"
    if profile and profile.get("created_at") and (profile.get("public_metrics") or {}).get("tweet_count"):
        age_days = max(1.0, (now - parse_time(str(profile["created_at"])).timestamp()) / DAY)
        return int(profile["public_metrics"]["tweet_count"]) / age_days, "profile"
    if oldest is not None:  # less than 30 days of history and no profile: what there is
        return known.last_30_days[uid] / max(1.0, (now - oldest) / DAY), "lake"
    return 0.0, "none"


def _backfill_estimate(profile: dict[str, Any] | None, since: int, now: int, known: int) -> tuple[int, int, int]:
    """(estimate, low, high): the profile's ``tweet_count`` spread evenly over the account's life;
    at most all of it since ``since`` (high), at least half the even share (low)."""
    if not profile or not profile.get("created_at"):
        return 0, 0, 0
    count = int((profile.get("public_metrics") or {}).get("tweet_count") or 0)
    created = parse_time(str(profile["created_at"])).timestamp()
    share = (now - max(created, since)) / max(1.0, now - created)
    estimate = max(0, round(count * min(1.0, share)) - known)
    return estimate, estimate // 2, max(estimate, count - known)


def _backfill_cohorts(cohorts: dict[tuple[int, int], float], posts: int, lo: int, hi: int, at: int) -> None:
    """Spread ``posts`` evenly over the days of ``[lo, hi)``, each refreshed when collected (``at``)."""
    days = max(1, math.ceil((hi - lo) / DAY))
    for day in range(days):
        created = (lo + day * DAY + DAY // 2) // 3600 * 3600
        key = (min(created, hi), at // 600 * 600)
        cohorts[key] = cohorts.get(key, 0.0) + posts / days


def plan(
    lake: Lake,
    accounts: list[Account],
    *,
    now: datetime,
    policy: str = DEFAULT_POLICY,
    prices: Prices | None = None,
    budget_usd: float | None = None,
    since: datetime | None = None,
    schedule: Schedule | None = None,
    exact_client: XClient | None = None,
    max_usd: float | None = None,
) -> Plan:
    """The plan; ``exact_client`` sizes the backfill with counts/all (the caller meters it), at most
    ``max_usd`` of requests (else it is estimated and the plan says why)."""
    prices = prices or Prices()
    schedule = schedule or Schedule()
    chosen = Policy.parse(policy)
    start = int(now.timestamp())
    since_epoch = int((since or datetime(2022, 1, 1, tzinfo=UTC)).timestamp())
    # the metrics runs leave the tweets of protected, suspended and gone accounts alone
    ids = {a.user_id for a in accounts if a.user_id and a.status not in UNAVAILABLE_FOR_METRICS}
    known = known_tweets(lake, ids, start)
    profiles = last_profiles(lake)
    cursors = CursorStore(lake).read()
    plans: list[AccountPlan] = []
    notes: list[str] = []
    calls = 0
    cohorts: dict[tuple[int, int], float] = dict(known.cohorts)
    pending = [a for a in accounts if a.user_id and (cursors.get(a.user_id) is None or cursors[a.user_id].pending)]
    exact_needed = sum(
        requests_needed(since_epoch, start) for a in pending if cached_count(lake, a.user_id or "", since_epoch) is None
    )
    if exact_client is not None and max_usd is not None and exact_needed * prices.counts_request > max_usd + 1e-9:
        notes.append(
            f"--exact needs up to {exact_needed} counts/all request(s) (${exact_needed * prices.counts_request:,.2f}), "
            f"more than --max-usd ${max_usd:,.2f}: the backfill is estimated"
        )
        exact_client = None
    exact = True
    low_total = high_total = 0
    for account in accounts:
        uid = account.user_id or ""
        profile = profiles.get(uid)
        if account.status in UNAVAILABLE_FOR_METRICS:  # its timeline answers only errors: nothing billed
            rate, source = 0.0, f"none ({account.status})"
        else:
            rate, source = _rate(account, known, profile, start)
        backfill, low, high, origin = 0, 0, 0, "none"
        if account in pending and account.status not in UNAVAILABLE_FOR_METRICS:
            count = known.per_account[uid]
            total = cached_count(lake, uid, since_epoch)
            if total is None and exact_client is not None:
                try:
                    total, requests = count_since(lake, exact_client, uid, since_epoch, start)
                    calls += requests
                except (APIError, BudgetReached) as err:
                    notes.append(f"@{account.username}: counts/all stopped ({err}); the backfill is estimated")
            if total is not None:
                backfill = low = high = max(0, total - count)
                origin = "counts/all"
            else:
                backfill, low, high = _backfill_estimate(profile, since_epoch, start, count)
                origin, exact = "profile", exact and not backfill
            if backfill:
                created = (
                    parse_time(str(profile["created_at"])).timestamp()
                    if profile and profile.get("created_at")
                    else since_epoch
                )
                _backfill_cohorts(
                    cohorts, backfill, int(max(since_epoch, created)), known.oldest.get(uid, start), start
                )
        low_total, high_total = low_total + low, high_total + high
        if account.user_id is None:
            notes.append(f"@{account.username}: no user id yet (run `tweetlake ingest users`): not planned")
        elif profile is None:
            notes.append(f"@{account.username}: no profile in the lake yet: its rate and backfill are unknown")
        plans.append(
            AccountPlan(
                account.username, account.user_id, known.per_account[uid], round(rate, 3), source, backfill, origin
            )
        )
    rate_total = sum(p.new_tweets_per_day for p in plans)
    active = sum(1 for a in accounts if a.user_id and a.status not in GONE)
    users = float(active * MONTH_DAYS)

    def reads(p: Policy) -> tuple[float, float]:
        return month_post_reads(p, schedule, cohorts, rate_total, start)

    def usd(p: Policy) -> float:
        return prices.usd(round(sum(reads(p))), round(users))

    metrics, new = reads(chosen)
    timeline_requests = search_requests = 0
    for p in plans:
        if p.backfill_tweets:
            timeline_requests += math.ceil(min(p.backfill_tweets, TIMELINE_CAP) / TIMELINE_PAGE)
            search_requests += math.ceil(max(0, p.backfill_tweets - TIMELINE_CAP) / SEARCH_PAGE)
    seconds = timeline_requests / TIMELINE_PER_WINDOW * WINDOW_SECONDS + search_requests * max(
        SEARCH_MIN_INTERVAL, WINDOW_SECONDS / SEARCH_PER_WINDOW
    )
    result = Plan(
        isoformat_z(now),
        str(chosen),
        prices,
        plans,
        metrics + new,
        users,
        metrics,
        new,
        sum(p.backfill_tweets for p in plans),
        timeline_requests,
        search_requests,
        seconds / 3600,
        backfill_exact=exact,
        backfill_range=(low_total, high_total),
        exact_requests=0 if exact else exact_needed,
        budget_usd=budget_usd,
        api_calls=calls,
        api_calls_usd=calls * prices.counts_request,
        notes=notes,
    )
    before = 0.0
    for number, tier in enumerate(chosen.tiers):
        upto = reads(Policy(chosen.tiers[: number + 1]))[0]
        result.tiers.append(
            {"tier": str(tier), "post_reads": round(upto - before), "usd": round((upto - before) * prices.post_read, 2)}
        )
        before = upto
    if chosen.max_age is not None:
        longer = Policy((*chosen.tiers, Tier(chosen.max_age, None, EXTENSION)))
        extra = reads(longer)[0] - metrics
        result.extension = {
            "tier": str(longer.tiers[-1]),
            "post_reads": round(extra),
            "usd": round(extra * prices.post_read, 2),
        }
    if budget_usd is not None:
        for text in dict.fromkeys([str(chosen), *LADDER]):
            cost = usd(Policy.parse(text)) if text != str(chosen) else result.usd_per_month
            result.candidates.append({"policy": text, "usd_per_month": round(cost, 2)})
            if result.policy_for_budget is None and cost <= budget_usd:
                result.policy_for_budget = text
    return result
