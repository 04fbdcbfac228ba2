"""A plan's figures, as JSON for scripts and as text for people (see :mod:`ingestion.planner`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingestion.planner.replay import MONTH_DAYS
from ingestion.usage import MONTHLY_POST_READ_CAP, Prices


@dataclass
class AccountPlan:
    username: str
    user_id: str | None
    known_tweets: int
    new_tweets_per_day: float
    rate_from: str  # "lake" (last 30 days) or "profile" (tweet_count over the account's age) or "none"
    backfill_tweets: int  # since `since`, not in the lake yet (estimated, or counted with --exact)
    backfill_from: str = "none"  # "counts/all" (exact), "profile" (estimated) or "none"


@dataclass
class Plan:
    now: str
    policy: str
    prices: Prices
    accounts: list[AccountPlan]
    post_reads_per_month: float  # the month after the backfill (its posts included)
    user_reads_per_month: float
    metrics_post_reads_per_month: float
    new_tweet_post_reads_per_month: float
    backfill_post_reads: int
    backfill_timeline_requests: int
    backfill_search_requests: int
    backfill_hours: float
    backfill_exact: bool = True
    backfill_range: tuple[int, int] = (0, 0)
    exact_requests: int = 0  # what --exact would send (0 when the plan is exact or cached)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    extension: dict[str, Any] | None = None
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
            "prices": {
                "post_read": self.prices.post_read,
                "user_read": self.prices.user_read,
                "counts_request": self.prices.counts_request,
            },
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
            "tiers": self.tiers,
            "extension": self.extension,
            "monthly_post_read_cap": MONTHLY_POST_READ_CAP,
            "exceeds_monthly_cap": self.exceeds_monthly_cap,
            "backfill": {
                "post_reads": self.backfill_post_reads,
                "usd": round(self.backfill_usd, 2),
                "exact": self.backfill_exact,
                "range": list(self.backfill_range),
                "exact_would_cost_usd": round(self.exact_requests * self.prices.counts_request, 2),
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
        ]
        if self.backfill_post_reads:
            low, high = self.backfill_range
            how = (
                "counted with counts/all"
                if self.backfill_exact
                else f"ESTIMATED from the profiles' tweet counts, between {low:,} and {high:,} posts; "
                f"`plan --exact` makes it exact for {self.exact_requests} counts/all request(s) "
                f"(${self.exact_requests * self.prices.counts_request:,.2f})"
            )
            lines += [
                "",
                f"the backfill (one-off, before the month): {self.backfill_post_reads:,} posts = "
                f"${self.backfill_usd:,.2f} ({how});",
                f"  {self.backfill_timeline_requests:,} timeline + {self.backfill_search_requests:,} search "
                f"requests, at least {self.backfill_hours:,.1f} h under the rate limits",
            ]
        after = " after the backfill (its posts included)" if self.backfill_post_reads else ""
        lines += ["", f"the month{after}:", f"{'':28s}{'per day':>14s}{'per month (30 d)':>20s}{'USD a month':>14s}"]

        def row(name: str, month: float, price: float) -> str:
            return f"{name:28s}{month / MONTH_DAYS:>14,.0f}{month:>20,.0f}{month * price:>14,.2f}"

        lines.append(row("post reads: metrics", self.metrics_post_reads_per_month, self.prices.post_read))
        lines.append(row("post reads: new tweets", self.new_tweet_post_reads_per_month, self.prices.post_read))
        lines.append(row("user reads", self.user_reads_per_month, self.prices.user_read))
        lines.append(f"{'total':28s}{'':>14s}{'':>20s}{self.usd_per_month:>14,.2f}")
        if self.tiers:
            lines.append(
                "metrics by tier of the policy (a post is billed once per UTC day: re-reads the same day are free):"
            )
            for tier in self.tiers:
                lines.append(f"  {tier['tier']:26s}{tier['post_reads']:>34,}{tier['usd']:>14,.2f}")
        if self.extension:
            lines.append(
                f"  extending it with {self.extension['tier']} would add {self.extension['post_reads']:,} post reads "
                f"= ${self.extension['usd']:,.2f} a month"
            )
        cap = "EXCEEDS" if self.exceeds_monthly_cap else "within"
        lines.append(
            f"\nmonthly post-read cap {MONTHLY_POST_READ_CAP:,}: {cap} "
            f"({self.post_reads_per_month:,.0f} post reads a month)"
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
