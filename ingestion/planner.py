"""The bill before it comes: what the tracked accounts, the lake and the refresh policy will cost.

:func:`plan` replays the next 30 days (a month, as the issue counts it) of the real schedules —
tweets every 4 h, metrics every 2 h, users daily, at the phases the AWS stack's timers use — over
what the lake knows, by the API's billing rules (a post or user billed at most once per UTC day;
failed requests free), without any API call:

* **users**: every tracked account that the last users run did not find gone is one user read a
  day (the users run reads it; the tweets runs' pages carry the same author in ``includes.users``,
  billed once that day);
* **new tweets**: each account's rate is its known tweets of the last 30 days (the tweet index, and
  raw files not yet indexed), or, without 30 days of history, its profile's ``tweet_count`` over the
  account's age. A new tweet is billed on the day the tweets run after it collects it;
* **metrics**: every known and every new tweet follows the policy exactly as
  :meth:`ingestion.tweet_index.TweetIndex.due` does — due at the first metrics run at which its last
  refresh is older than its tier's interval (less the grace), one billed read on each UTC day on
  which it is read. Known tweets are grouped by (created hour, last refresh hour), so a lake of
  10,000,000 tweets plans in seconds.

Besides: whether the month passes the 3,000,000 post-read cap; for accounts whose history since
``since`` is not in the lake yet, the one-off backfill (its reads, and how long it takes under the
rate limits: 100 tweets a timeline page, 10,000 pages per 15 min; 500 a search page, 1 per second
and 300 per 15 min); and, given a budget, the most thorough policy of a ladder (the given policy
first, then leaner ones) whose month fits it. ``exact`` asks ``GET /2/tweets/counts/all`` (billed
$0.01 a request) for the backfill's size instead of estimating it from the profile.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.catalogue import dataset
from common.lake import Lake
from common.layout import isoformat_z, list_partitions, parse_time, raw_prefix
from common.rawio import iter_raw_records
from ingestion.accounts import GONE, UNAVAILABLE_FOR_METRICS
from ingestion.client import XClient
from ingestion.cursors import CursorStore
from ingestion.errors import APIError
from ingestion.policy import DEFAULT_POLICY, GRACE_MIN_SECONDS, GRACE_SHARE, Policy, Tier
from ingestion.registry import Account
from ingestion.tweet_index import TweetIndex
from ingestion.usage import MONTHLY_POST_READ_CAP, Prices

DAY = 86400
MONTH_DAYS = 30
TIMELINE_CAP = 3200
TIMELINE_PAGE, TIMELINE_PER_WINDOW = 100, 10_000
SEARCH_PAGE, SEARCH_PER_WINDOW, SEARCH_MIN_INTERVAL = 500, 300, 1.0
WINDOW_SECONDS = 15 * 60
PROFILE_DAYS = 7  # how many newest raw/users partitions are searched for the last profiles

LADDER = (
    DEFAULT_POLICY,
    "0-2d:2h,2d-7d:1d,7d-30d:3d,30d+:30d",
    "0-1d:2h,1d-7d:1d,7d-30d:7d,30d+:30d",
    "0-1d:4h,1d-7d:1d,7d-30d:7d",
    "0-1d:6h,1d-7d:2d",
    "0-1d:1d",
)
"""Policies from the most thorough to the leanest: the budget picks the first that fits."""


@dataclass(frozen=True)
class Schedule:
    """When the collectors run: every ``every`` seconds from ``offset`` seconds after midnight UTC
    (the catalogue's schedules, which the AWS stack's timers use)."""

    metrics_every: int = dataset("tweet_metrics").schedule.every_seconds
    metrics_offset: int = dataset("tweet_metrics").schedule.offset_seconds
    tweets_every: int = dataset("tweets").schedule.every_seconds
    tweets_offset: int = dataset("tweets").schedule.offset_seconds

    def next_metrics(self, t: float) -> int:
        """The first metrics run at or after ``t``."""
        return self.metrics_offset + math.ceil((t - self.metrics_offset) / self.metrics_every) * self.metrics_every

    def next_tweets(self, t: float) -> int:
        return self.tweets_offset + math.ceil((t - self.tweets_offset) / self.tweets_every) * self.tweets_every


def _tier(policy: Policy, age: float) -> Tier | None:
    for tier in policy.tiers:
        if age >= tier.start and (tier.end is None or age < tier.end):
            return tier
    return policy.tiers[0] if age < 0 else None


def billed_days(
    policy: Policy,
    schedule: Schedule,
    *,
    created: int,
    refreshed: int,
    known_at: int,
    start: int,
    end: int,
    collected: int | None = None,
) -> set[int]:
    """The UTC days (epoch day numbers) in ``[start, end)`` on which one tweet is billed: the day the
    tweets run collects it (``collected``) and each day a metrics run reads it, from the first
    metrics run at or after ``known_at``; ``refreshed`` is its last refresh before (0: never)."""
    days: set[int] = set()
    if collected is not None and start <= collected < end:
        days.add(collected // DAY)
    last = refreshed or None
    t = schedule.next_metrics(max(start, known_at))
    while t < end:
        tier = _tier(policy, t - created)
        if tier is None:
            break  # past the policy's last tier: never read again
        grace = max(GRACE_MIN_SECONDS, GRACE_SHARE * tier.interval) if tier.interval else 0
        if last is None or tier.interval == 0 or t - last >= tier.interval - grace:
            days.add(t // DAY)
            last = t
            t += schedule.metrics_every
            continue
        due_at = last + tier.interval - grace
        boundary = created + tier.end if tier.end is not None else due_at
        t = max(t + schedule.metrics_every, schedule.next_metrics(min(due_at, boundary)))
    return days


# -- what the lake knows -----------------------------------------------------------------------------
@dataclass
class Known:
    """Known tweets of the tracked accounts, grouped, and each account's recent rate."""

    cohorts: Counter[tuple[int, int]] = field(default_factory=Counter)  # (created hour, refreshed 10 min) -> n
    per_account: Counter[str] = field(default_factory=Counter)
    last_30_days: Counter[str] = field(default_factory=Counter)
    oldest: dict[str, int] = field(default_factory=dict)  # author -> oldest known created (epoch s)


def known_tweets(lake: Lake, author_ids: set[str], now: int) -> Known:
    index = TweetIndex.load(lake)
    index.refresh_from_lake(lake)  # raw files not indexed yet (nothing is saved)
    wanted = {int(a) for a in author_ids}
    known = Known()
    month_ago = now - MONTH_DAYS * DAY
    for entry in index.entries():
        if entry.deleted or entry.author_id not in wanted or entry.latest_id != entry.tweet_id:
            continue
        author = str(entry.author_id)
        hour = entry.created_epoch // 3600 * 3600
        refreshed = entry.refreshed_epoch // 600 * 600 if entry.refreshed_epoch else 0
        known.cohorts[(hour, refreshed)] += 1
        known.per_account[author] += 1
        if entry.created_epoch >= month_ago:
            known.last_30_days[author] += 1
        known.oldest[author] = min(known.oldest.get(author, entry.created_epoch), entry.created_epoch)
    return known


def last_profiles(lake: Lake) -> dict[str, dict[str, Any]]:
    """The newest profile of each account in ``raw/users`` (its last ``PROFILE_DAYS`` partitions), by id."""
    profiles: dict[str, dict[str, Any]] = {}
    for day in reversed(list_partitions(lake, "users")[-PROFILE_DAYS:]):
        for obj in lake.list(raw_prefix("users", day)):
            for record in iter_raw_records(lake, obj.key):
                user = record.get("data")
                if isinstance(user, dict) and "id" in user:
                    previous = profiles.get(str(user["id"]))
                    if previous is None or str(record.get("collected_at")) > previous["_collected_at"]:
                        profiles[str(user["id"])] = {**user, "_collected_at": str(record.get("collected_at"))}
    return profiles


# -- the plan ----------------------------------------------------------------------------------------
@dataclass
class AccountPlan:
    username: str
    user_id: str | None
    known_tweets: int
    new_tweets_per_day: float
    rate_from: str  # "lake" (last 30 days) or "profile" (tweet_count over the account's age) or "none"
    backfill_tweets: int  # since `since`, not in the lake yet (estimated, or counted with --exact)


@dataclass
class Plan:
    now: str
    policy: str
    prices: Prices
    accounts: list[AccountPlan]
    post_reads_per_month: float
    user_reads_per_month: float
    metrics_post_reads_per_month: float
    new_tweet_post_reads_per_month: float
    backfill_post_reads: int
    backfill_timeline_requests: int
    backfill_search_requests: int
    backfill_hours: float
    budget_usd: float | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    policy_for_budget: str | None = None
    api_calls: int = 0
    api_calls_usd: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def usd_per_month(self) -> float:
        return self.prices.usd(round(self.post_reads_per_month), round(self.user_reads_per_month))

    @property
    def exceeds_monthly_cap(self) -> bool:
        return self.post_reads_per_month > MONTHLY_POST_READ_CAP

    @property
    def backfill_usd(self) -> float:
        return self.prices.usd(self.backfill_post_reads)

    def as_json(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "policy": self.policy,
            "month_days": MONTH_DAYS,
            "prices": {"post_read": self.prices.post_read, "user_read": self.prices.user_read},
            "accounts": [vars(a) for a in self.accounts],
            "known_tweets": sum(a.known_tweets for a in self.accounts),
            "new_tweets_per_day": round(sum(a.new_tweets_per_day for a in self.accounts), 2),
            "post_reads_per_day": round(self.post_reads_per_month / MONTH_DAYS, 1),
            "user_reads_per_day": round(self.user_reads_per_month / MONTH_DAYS, 1),
            "post_reads_per_month": round(self.post_reads_per_month),
            "user_reads_per_month": round(self.user_reads_per_month),
            "usd_per_month": round(self.usd_per_month, 2),
            "breakdown": {
                "metrics_post_reads": round(self.metrics_post_reads_per_month),
                "new_tweet_post_reads": round(self.new_tweet_post_reads_per_month),
            },
            "monthly_post_read_cap": MONTHLY_POST_READ_CAP,
            "exceeds_monthly_cap": self.exceeds_monthly_cap,
            "backfill": {
                "post_reads": self.backfill_post_reads,
                "usd": round(self.backfill_usd, 2),
                "timeline_requests": self.backfill_timeline_requests,
                "search_requests": self.backfill_search_requests,
                "hours": round(self.backfill_hours, 2),
            },
            "budget_usd": self.budget_usd,
            "fits_budget": None if self.budget_usd is None else self.usd_per_month <= self.budget_usd,
            "policy_for_budget": self.policy_for_budget,
            "candidates": self.candidates,
            "api_calls": self.api_calls,
            "api_calls_usd": round(self.api_calls_usd, 2),
            "notes": self.notes,
        }

    def render(self) -> str:
        known = sum(a.known_tweets for a in self.accounts)
        rate = sum(a.new_tweets_per_day for a in self.accounts)
        lines = [
            f"tweetlake plan at {self.now} for {len(self.accounts)} account(s), {known:,} known tweets, "
            f"~{rate:,.1f} new tweets a day; policy {self.policy}",
            "",
            f"{'':28s}{'per day':>14s}{'per month (30 d)':>20s}{'USD a month':>14s}",
        ]

        def row(name: str, month: float, price: float) -> str:
            return f"{name:28s}{month / MONTH_DAYS:>14,.0f}{month:>20,.0f}{month * price:>14,.2f}"

        lines.append(row("post reads: metrics", self.metrics_post_reads_per_month, self.prices.post_read))
        lines.append(row("post reads: new tweets", self.new_tweet_post_reads_per_month, self.prices.post_read))
        lines.append(row("user reads", self.user_reads_per_month, self.prices.user_read))
        lines.append(f"{'total':28s}{'':>14s}{'':>20s}{self.usd_per_month:>14,.2f}")
        cap = "EXCEEDS" if self.exceeds_monthly_cap else "within"
        lines.append(
            f"\nmonthly post-read cap {MONTHLY_POST_READ_CAP:,}: {cap} "
            f"({self.post_reads_per_month:,.0f} post reads a month)"
        )
        if self.backfill_post_reads:
            lines.append(
                f"backfill (one-off): {self.backfill_post_reads:,} post reads = ${self.backfill_usd:,.2f}; "
                f"{self.backfill_timeline_requests:,} timeline + {self.backfill_search_requests:,} search "
                f"requests, at least {self.backfill_hours:,.1f} h under the rate limits"
            )
        if self.budget_usd is not None:
            fits = "fits" if self.usd_per_month <= self.budget_usd else "does NOT fit"
            lines.append(
                f"budget ${self.budget_usd:,.2f} a month: this policy {fits}; "
                + (
                    f"the most thorough policy that fits: {self.policy_for_budget}"
                    if self.policy_for_budget
                    else "no policy of the ladder fits (users and new tweets alone cost more)"
                )
            )
            for c in self.candidates:
                lines.append(f"  {c['policy']:45s} ${c['usd_per_month']:>12,.2f} a month")
        lines.append(f"API calls made by this plan: {self.api_calls} (${self.api_calls_usd:,.2f})")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


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


def _backfill_estimate(profile: dict[str, Any] | None, since: int, now: int, known: int) -> int:
    if not profile or not profile.get("created_at"):
        return 0
    count = int((profile.get("public_metrics") or {}).get("tweet_count") or 0)
    created = parse_time(str(profile["created_at"])).timestamp()
    share = (now - max(created, since)) / max(1.0, now - created)
    return max(0, round(count * min(1.0, share)) - known)


def _counts_since(client: XClient, user_id: str, since: int, now: int) -> tuple[int, int]:
    """(tweets since ``since``, requests) from ``GET /2/tweets/counts/all``."""
    total, requests = 0, 0
    params = {
        "query": f"from:{user_id}",
        "granularity": "day",
        "start_time": isoformat_z(datetime.fromtimestamp(since, UTC)),
        "end_time": isoformat_z(datetime.fromtimestamp(now - 30, UTC)),
    }
    months = max(1, -(-(now - since) // (31 * DAY)))  # one page covers at most 31 days
    query = params.pop("query")
    for page in client.tweet_counts_all(query, max_requests=months + 1, **params):
        requests += 1
        total += int(page.meta.get("total_tweet_count") or sum(int(d.get("tweet_count", 0)) for d in page.data))
    return total, requests


def month_post_reads(
    policy: Policy,
    schedule: Schedule,
    known: Known,
    rate_per_day: float,
    start: int,
) -> tuple[float, float]:
    """(metrics post reads, new-tweet post reads) in ``[start, start + 30 d)``."""
    end = start + MONTH_DAYS * DAY
    metrics = 0.0
    for (created, refreshed), count in known.cohorts.items():
        days = billed_days(
            policy, schedule, created=created + 1800, refreshed=refreshed, known_at=start, start=start, end=end
        )
        metrics += count * len(days)
    collected_days = 0.0
    per_hour = rate_per_day / 24
    if per_hour:
        for hour in range(MONTH_DAYS * 24):
            created = start + hour * 3600 + 1800
            collected = schedule.next_tweets(created)
            days = billed_days(
                policy,
                schedule,
                created=created,
                refreshed=0,
                known_at=collected,
                start=start,
                end=end,
                collected=collected,
            )
            if collected < end:
                collected_days += per_hour
            metrics += per_hour * (len(days) - (1 if collected < end else 0))
    return metrics, collected_days


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
) -> Plan:
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
    for account in accounts:
        profile = profiles.get(account.user_id or "")
        if account.status in UNAVAILABLE_FOR_METRICS:  # its timeline answers only errors: nothing billed
            rate, source = 0.0, f"none ({account.status})"
        else:
            rate, source = _rate(account, known, profile, start)
        cursor = cursors.get(account.user_id or "")
        backfill = 0
        if cursor is None or cursor.pending is not None:
            count = known.per_account[account.user_id or ""]
            if exact_client is not None and account.user_id:
                try:
                    total, requests = _counts_since(exact_client, account.user_id, since_epoch, start)
                    calls += requests
                    backfill = max(0, total - count)
                except APIError as err:
                    notes.append(f"@{account.username}: counts/all failed ({err}); the backfill is estimated")
                    backfill = _backfill_estimate(profile, since_epoch, start, count)
            else:
                backfill = _backfill_estimate(profile, since_epoch, start, count)
        if account.user_id is None:
            notes.append(f"@{account.username}: no user id yet (run `tweetlake ingest users`): not planned")
        elif profile is None:
            notes.append(f"@{account.username}: no profile in the lake yet: its rate and backfill are unknown")
        plans.append(
            AccountPlan(
                account.username,
                account.user_id,
                known.per_account[account.user_id or ""],
                round(rate, 3),
                source,
                backfill,
            )
        )
    rate_total = sum(p.new_tweets_per_day for p in plans)
    active = sum(1 for a in accounts if a.user_id and a.status not in GONE)
    users = float(active * MONTH_DAYS)

    def cost(p: Policy) -> tuple[float, float, float]:
        metrics, new = month_post_reads(p, schedule, known, rate_total, start)
        return metrics, new, prices.usd(round(metrics + new), round(users))

    metrics, new, _ = cost(chosen)
    timeline_requests = search_requests = 0
    for p in plans:
        if p.backfill_tweets:
            timeline_requests += math.ceil(min(p.backfill_tweets, TIMELINE_CAP) / TIMELINE_PAGE)
            search_requests += math.ceil(max(0, p.backfill_tweets - TIMELINE_CAP) / SEARCH_PAGE)
    seconds = max(timeline_requests / TIMELINE_PER_WINDOW * WINDOW_SECONDS, 0) + search_requests * max(
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
        budget_usd=budget_usd,
        api_calls=calls,
        api_calls_usd=calls * prices.counts_request,
        notes=notes,
    )
    if budget_usd is not None:
        ladder = list(dict.fromkeys([str(chosen), *LADDER]))
        for text in ladder:
            usd = cost(Policy.parse(text))[2] if text != str(chosen) else result.usd_per_month
            result.candidates.append({"policy": text, "usd_per_month": round(usd, 2)})
            if result.policy_for_budget is None and usd <= budget_usd:
                result.policy_for_budget = text
    return result
