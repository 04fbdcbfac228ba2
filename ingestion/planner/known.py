"""What the lake knows for a plan: the tracked accounts' known tweets (grouped) and their last profiles."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common.lake import Lake
from common.layout import list_partitions, raw_prefix
from common.rawio import iter_raw_records
from ingestion.planner.replay import DAY, MONTH_DAYS
from ingestion.tweet_index import TweetIndex

PROFILE_DAYS = 7  # how many newest raw/users partitions are searched for the last profiles


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
