"""What a timeline can reach at a world time, and which slice of it one page is.

A post version is visible from its creation until it is superseded by an edit or deleted. The
timeline endpoint windows first (the newest 3,200 visible posts, 800 when excluding replies) and
filters after, so pages can be short, even empty, yet carry a token — as the real API does.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from xsim.accounts import Account
from xsim.posts import REPLY, RETWEET, Posts, max_id_at
from xsim.timeutil import id_from_ms, ms_from_id

TIMELINE_CAP = 3200
TIMELINE_CAP_EXCLUDING_REPLIES = 800


def timeline_cap(exclude_replies: bool) -> int:
    """How many of the newest posts `GET /2/users/:id/tweets` can reach."""
    return TIMELINE_CAP_EXCLUDING_REPLIES if exclude_replies else TIMELINE_CAP


def excluded_kinds(exclude: Iterable[str]) -> set[int]:
    """The post kinds an `exclude=replies,retweets` value filters out."""
    excluded = set(exclude)
    return {kind for kind, name in ((REPLY, "replies"), (RETWEET, "retweets")) if name in excluded}


def newest_visible(posts: Posts, t_ms: int, cap: int | None) -> tuple[list[int], bytes]:
    """Newest `cap` visible post versions at `t_ms` (all with None), ascending ids with their kinds."""
    ids, kinds, hidden = posts.ids, posts.kinds, posts.hidden
    limit = len(ids) if cap is None else cap
    out: list[int] = []
    out_kinds = bytearray()
    i = bisect_right(ids, max_id_at(t_ms)) - 1
    while i >= 0 and len(out) < limit:
        tid = ids[i]
        gone = hidden.get(tid)
        if gone is None or gone > t_ms:
            out.append(tid)
            out_kinds.append(kinds[i])
        i -= 1
    out.reverse()
    out_kinds.reverse()
    return out, bytes(out_kinds)


def tweet_count(acc: Account, posts: Posts, t_ms: int) -> int:
    """The profile's tweet_count: pre-2021 base plus posts so far, minus deletions."""
    made = bisect_right(posts.ids, max_id_at(t_ms))
    versions = bisect_right(posts.version_ids, max_id_at(t_ms))
    gone = bisect_right(posts.deletion_ms, t_ms)
    return acc.base_tweet_count + made - versions - gone


def post_status(acc: Account, posts: Posts, tweet_id: int, t_ms: int) -> str:
    """How a lookup treats a post version that exists: ok, not_found or not_authorized."""
    if ms_from_id(tweet_id) > t_ms:
        return "not_found"
    root = posts.chains[tweet_id][0] if tweet_id in posts.chains else tweet_id
    deleted = posts.deleted.get(root)
    if deleted is not None and deleted <= t_ms:
        return "not_found"
    if acc.status == "suspended":
        return "not_found"
    if acc.status == "protected":
        return "not_authorized"
    return "ok"


def page_bounds(
    ids: list[int],
    max_results: int,
    since_id: int | None = None,
    until_id: int | None = None,
    start_s: int | None = None,
    end_s: int | None = None,
    cursor: tuple[bool, int] | None = None,
) -> tuple[int, int]:
    """The slice `ids[first:last]` (ascending ids) one timeline page holds.

    `since_id` wins over `start_time`; `cursor` is (backwards, id) from a pagination token: a
    forward token pages to older posts, a backward one to newer.
    """
    lo, hi = 0, len(ids)
    if since_id is not None:
        lo = bisect_right(ids, since_id)
    elif start_s is not None:
        lo = bisect_left(ids, id_from_ms(start_s * 1000))
    if until_id is not None:
        hi = min(hi, bisect_left(ids, until_id))
    if end_s is not None:
        hi = min(hi, bisect_left(ids, id_from_ms((end_s + 1) * 1000)))
    if cursor is None:
        first, last = max(lo, hi - max_results), hi
    elif not cursor[0]:
        hi = min(hi, bisect_left(ids, cursor[1]))
        first, last = max(lo, hi - max_results), hi
    else:
        lo = max(lo, bisect_right(ids, cursor[1]))
        first, last = lo, min(hi, lo + max_results)
    return min(first, last), last
