"""Public metrics: each post draws its final counts once, then grows towards them with age.

A post's counts follow final·(1−exp(−age/τ)), so they never decrease and a refresh two hours
later sees more. Profile counters drift a little every day and grow over the years.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from xsim.accounts import T2021_MS, Account
from xsim.timeutil import DAY_MS, HOUR_MS

if TYPE_CHECKING:
    from xsim.rendering import TweetStatic

_IMPRESSIONS_SINCE_MS = 1669852800000  # 2022-12-01: older posts often lack impressions and bookmarks


def draw_targets(st: TweetStatic, rng: random.Random, followers: int, root_ms: int) -> None:
    """Set the post's final counts, its growth time constant and whether it has the newer metrics."""
    like = int(followers * 0.004 * rng.lognormvariate(0.0, 1.3))
    st.final = (
        int(like * (0.05 + 0.35 * rng.random())),  # retweets
        int(like * (0.01 + 0.19 * rng.random())),  # replies
        like,
        int(like * 0.05 * rng.random()),  # quotes
        int(like * 0.1 * rng.random()),  # bookmarks
        int(like * (20 + 100 * rng.random()) + followers * (0.01 + 0.19 * rng.random())),  # impressions
    )
    st.tau_ms = (1.0 + 29.0 * rng.random()) * HOUR_MS
    old_data = root_ms < _IMPRESSIONS_SINCE_MS
    st.has_new_metrics = rng.random() >= (0.5 if old_data else 0.05)


def grown(st: TweetStatic, t_ms: int) -> dict[str, int]:
    """Public metrics of a post that is not a retweet at `t_ms`.

    A superseded edit version stops growing when it is replaced.
    """
    end = t_ms if st.hidden_ms is None or st.deleted_ms == st.hidden_ms else min(t_ms, st.hidden_ms)
    age = end - st.created_ms
    share = 0.0 if age <= 0 else 1.0 - math.exp(-age / st.tau_ms)
    rt, rp, lk, qt, bm, im = st.final
    out = {
        "retweet_count": int(rt * share),
        "reply_count": int(rp * share),
        "like_count": int(lk * share),
        "quote_count": int(qt * share),
    }
    if st.has_new_metrics:
        out["bookmark_count"] = int(bm * share)
        out["impression_count"] = int(im * share)
    return out


def of_retweet(st: TweetStatic, original_retweets: int) -> dict[str, int]:
    """A retweet copies the original's retweet_count and shows zero for the rest, as the real API does."""
    out = {"retweet_count": original_retweets, "reply_count": 0, "like_count": 0, "quote_count": 0}
    if st.has_new_metrics:
        out["bookmark_count"] = 0
        out["impression_count"] = 0
    return out


def of_user(acc: Account, seed: int, t_ms: int, tweets: int) -> dict[str, int]:
    """Profile counters at `t_ms`; `tweets` is the profile's tweet_count then."""
    day = t_ms // DAY_MS
    years = max(0.0, (t_ms - T2021_MS) / (365.25 * DAY_MS))
    wobble = ((day * 2654435761 + acc.index * 40503 + seed * 97) % 1001) / 1000.0 - 0.5
    followers = int(acc.followers_base * (1.0 + acc.followers_growth) ** years * (1.0 + 0.01 * wobble))
    days = max(0, day - T2021_MS // DAY_MS)
    out = {
        "followers_count": max(0, followers),
        "following_count": acc.following_base + days // 25,
        "tweet_count": tweets,
        "listed_count": acc.listed_base + days // 90,
    }
    if acc.likes_per_day is not None:
        out["like_count"] = int(acc.likes_per_day * (days + 400))
    return out
