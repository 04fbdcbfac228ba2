"""Which known tweets a metrics run asks for: :func:`due` under a refresh policy (:mod:`ingestion.policy`).

When ``created`` follows the id order (snowflake ids make it so), each tier is one slice of the
columns found by bisection and only its refresh times are looked at one by one.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from typing import Protocol

from ingestion.policy import GRACE_MIN_SECONDS, GRACE_SHARE, Policy


class TweetIndex(Protocol):
    """The columns of :class:`ingestion.tweet_index.index.TweetIndex` a selection reads (a protocol,
    so this module needs no import of the index, which imports it)."""

    ids: array[int]
    authors: array[int]
    created: array[int]
    refreshed: array[int]
    deleted: array[int]
    latest: dict[int, int]
    created_sorted: bool

    def _merge(self) -> None: ...

    def _pos(self, tweet_id: int) -> int | None: ...


def due(index: TweetIndex, now: int, policy: Policy, author_ids: set[int] | None = None) -> list[int]:
    """Unique newest-version ids whose refresh the policy asks for at ``now``, youngest first,
    without deleted tweets. An old version counts by its newest version's age and refresh."""
    index._merge()
    # A tier holds the tweets created in (now - end, now - start]; ``edges`` are the tiers'
    # ``now - start``, oldest tier first, so bisect finds a tweet's tier; ``thresholds`` are the
    # refresh times at or before which a tweet of that tier is due (a tweet from the future: the
    # youngest tier).
    ordered = list(reversed(policy.tiers))
    edges = [now - t.start for t in ordered]
    thresholds = [
        now - t.interval + max(GRACE_MIN_SECONDS, GRACE_SHARE * t.interval) if t.interval else 2**62 for t in ordered
    ]
    thresholds.append(thresholds[-1])
    oldest = now - ordered[0].end if ordered[0].end is not None else -(2**62)
    if index.created_sorted:
        return _due_by_slices(index, now, policy, author_ids)
    wanted: list[tuple[int, int]] = []  # (created, id)
    deleted_ids: set[int] = set()
    latest = index.latest
    find = bisect.bisect_left
    for tweet_id, created, refreshed, deleted, author in zip(
        index.ids, index.created, index.refreshed, index.deleted, index.authors, strict=True
    ):
        if created <= oldest or (refreshed and refreshed > thresholds[find(edges, created)]):
            continue  # too old for any tier, or refreshed recently enough
        if deleted:
            deleted_ids.add(tweet_id)
            continue
        if author_ids is not None and author not in author_ids:
            continue
        target = _newest_version(index, latest, tweet_id)
        if target is not None:
            wanted.append((created, target))
    return _youngest_first(wanted, deleted_ids)


def _due_by_slices(index: TweetIndex, now: int, policy: Policy, author_ids: set[int] | None) -> list[int]:
    """:meth:`due` when ``created`` follows the id order: each tier is one slice of the columns,
    and only its refresh times are looked at one by one."""
    ids, created, latest = index.ids, index.created, index.latest
    deleted_ids: set[int] = set()
    if index.deleted.count(1):
        flags = index.deleted.tobytes()
        at = flags.find(1)
        while at >= 0:
            deleted_ids.add(ids[at])
            at = flags.find(1, at + 1)
    wanted: list[tuple[int, int]] = []  # (created, id)
    for number, tier in enumerate(policy.tiers):
        # the tier holds the tweets created in (now - end, now - start]; the youngest tier also
        # any tweet a little ahead of this clock
        lo = bisect.bisect_right(created, now - tier.end) if tier.end is not None else 0
        hi = len(ids) if number == 0 else bisect.bisect_right(created, now - tier.start)
        # due: never refreshed (0) or refreshed at or before this (an int: refresh times are)
        threshold = (
            int(now - tier.interval + max(GRACE_MIN_SECONDS, GRACE_SHARE * tier.interval)) if tier.interval else 2**62
        )
        # the positions whose refresh time is at most the threshold, picked at C speed
        for pos in itertools.compress(range(lo, hi), map(threshold.__ge__, index.refreshed[lo:hi])):
            tweet_id = ids[pos]
            if tweet_id in deleted_ids or (author_ids is not None and index.authors[pos] not in author_ids):
                continue
            target = _newest_version(index, latest, tweet_id)
            if target is not None:
                wanted.append((created[pos], target))
    return _youngest_first(wanted, deleted_ids)


def _newest_version(index: TweetIndex, latest: dict[int, int], tweet_id: int) -> int | None:
    """The id to refresh for ``tweet_id``: its newest version's, or ``None`` when that version is an
    entry of its own (it decides, by its own age and refresh)."""
    if latest and tweet_id in latest:
        target = latest[tweet_id]
        return None if index._pos(target) is not None else target
    return tweet_id


def _youngest_first(wanted: list[tuple[int, int]], deleted_ids: set[int]) -> list[int]:
    """``(created, id)`` pairs → unique ids, youngest first, without the deleted ones."""
    wanted.sort(reverse=True)
    seen: set[int] = set()
    out = []
    for _, target in wanted:
        if target not in seen and target not in deleted_ids:
            seen.add(target)
            out.append(target)
    return out
