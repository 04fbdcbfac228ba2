"""The replay of the real schedules over one tweet or a cohort of tweets, by the API's billing rules.

A post is billed at most once per UTC day: :func:`billed_days` lists the days a tweet is read
(collected, then each metrics run its tier asks for), :func:`month_post_reads` sums them over the
known tweets, the backfill's and the new ones of the next 30 days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from common.catalogue import dataset
from ingestion.policy import GRACE_MIN_SECONDS, GRACE_SHARE, Policy, Tier

DAY = 86400
MONTH_DAYS = 30


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


def month_post_reads(
    policy: Policy,
    schedule: Schedule,
    cohorts: Mapping[tuple[int, int], float],
    rate_per_day: float,
    start: int,
) -> tuple[float, float]:
    """(metrics post reads, new-tweet post reads) in ``[start, start + 30 d)``."""
    end = start + MONTH_DAYS * DAY
    metrics = 0.0
    for (created, refreshed), count in cohorts.items():
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
                refreshed=collected,  # collected with its metrics: refreshed then
                known_at=collected,
                start=start,
                end=end,
                collected=collected,
            )
            if collected < end:
                collected_days += per_hour
            metrics += per_hour * (len(days) - (1 if collected < end else 0))
    return metrics, collected_days
