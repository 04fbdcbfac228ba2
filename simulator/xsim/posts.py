"""An account's posts: when it posted, what kind, and its rare edits and deletions.

Posts are generated lazily, one account at a time, and kept as compact parallel arrays
(snowflake ids, kind bytes, a few small dicts for the edits and deletions): the heavy account
alone makes thousands. Content is not drawn here (see `rendering`), only the skeleton that
timelines, lookups and tweet counts need.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_left

from xsim.accounts import T2021_MS, Account
from xsim.timeutil import DAY_MS, HOUR_MS, TWEPOCH_MS, ms_from_id

ORIGINAL, REPLY, QUOTE, RETWEET = 0, 1, 2, 3
KIND_NAMES = ("original", "reply", "quote", "retweet")

T2022_MS = 1640995200000  # 2022-01-01T00:00:00Z
HORIZON_DAYS = 90
"""Posts are generated up to start + 90 days, so tests can advance the clock and see new ones."""
EDIT_WINDOW_MS = HOUR_MS
_VERSION_BIT = 0x800  # set in the sequence bits of edit versions, so their ids never collide


def _low_bits(index: int, version: bool = False) -> int:
    """Worker/sequence bits that identify the author, so an id alone finds its account."""
    return ((index % 1024) << 12) | ((index >> 10) & 0x7FF) | (_VERSION_BIT if version else 0)


def author_index_of(tweet_id: int) -> int:
    """Invert `_low_bits`: the account index that minted this id."""
    low = tweet_id & 0x3FFFFF
    return ((low >> 12) & 0x3FF) | ((low & 0x7FF) << 10)


def max_id_at(t_ms: int) -> int:
    """The largest snowflake that could have been minted at or before `t_ms`."""
    return ((t_ms - TWEPOCH_MS + 1) << 22) - 1


class Posts:
    """An account's generated posts as compact parallel arrays (ascending by id).

    `ids` holds every version id; `kinds` the post kind of each; `hidden` maps an id to the
    world time it stops being the visible version (superseded by an edit or deleted);
    `chains` maps every version of an edited post to its full version tuple.
    """

    __slots__ = ("chains", "deleted", "deletion_ms", "hidden", "ids", "kinds", "version_ids")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.kinds = bytearray()
        self.hidden: dict[int, int] = {}
        self.chains: dict[int, tuple[int, ...]] = {}
        self.deleted: dict[int, int] = {}
        self.version_ids: list[int] = []
        self.deletion_ms: list[int] = []

    def contains(self, tweet_id: int) -> int:
        """Index of `tweet_id` in `ids`, or -1."""
        i = bisect_left(self.ids, tweet_id)
        return i if i < len(self.ids) and self.ids[i] == tweet_id else -1


def generate_posts(acc: Account, seed: int, horizon_ms: int) -> Posts:
    """Draw the account's post times and kinds, plus its rare edits and deletions.

    Inter-arrival times are exponential with a night-time dip in the account's time zone;
    the loop is kept tight because it runs for every post an account ever makes.
    """
    rng = random.Random(f"{seed}:posts:{acc.index}")
    posts = Posts()
    end = horizon_ms
    if acc.role == "quiet":
        end = min(end, T2022_MS - 2 * HOUR_MS)
    t = max(T2021_MS, acc.created_ms)
    mean_gap = DAY_MS / (acc.rate * 1.4)  # 1.4 compensates the skipped night posts
    low = _low_bits(acc.index)
    vlow = _low_bits(acc.index, version=True)
    p1 = 1.0 - acc.p_reply - acc.p_quote - acc.p_retweet
    p2 = p1 + acc.p_reply
    p3 = p2 + acc.p_quote
    tz = acc.tz_ms
    can_edit = acc.role != "quiet"
    ids, kinds, hidden, chains, deleted = posts.ids, posts.kinds, posts.hidden, posts.chains, posts.deleted
    extras: list[tuple[int, int]] = []
    rand = rng.random
    log = math.log
    while True:
        t += int(-log(1.0 - rand()) * mean_gap) + 1
        if t >= end:
            break
        if ((t + tz) // HOUR_MS) % 24 < 7 and rand() < 0.75:
            continue
        r = rand()
        kind = ORIGINAL if r < p1 else REPLY if r < p2 else QUOTE if r < p3 else RETWEET
        tid = ((t - TWEPOCH_MS) << 22) | low
        ids.append(tid)
        kinds.append(kind)
        event = rand()
        if event >= 0.03:
            continue
        if event < 0.01:
            delay = rng.randint(60_000, 2 * DAY_MS) if rand() < 0.4 else int(rng.expovariate(1 / (120 * DAY_MS)))
            deleted[tid] = hidden[tid] = t + max(delay, 1000)
        elif can_edit and kind != RETWEET:
            n_versions = 2 if rand() < 0.8 else 3
            offsets = sorted(rng.randint(30_000, EDIT_WINDOW_MS - 60_000) for _ in range(n_versions - 1))
            chain = [tid] + [((t + off - TWEPOCH_MS) << 22) | vlow for off in offsets]
            chain_t = tuple(chain)
            for prev, nxt in itertools.pairwise(chain):
                hidden[prev] = ms_from_id(nxt)
            for version in chain_t:
                chains[version] = chain_t
            extras.extend((v, kind) for v in chain[1:])
    for version_id, kind in sorted(extras):
        i = bisect_left(ids, version_id)
        ids.insert(i, version_id)
        kinds.insert(i, kind)
    posts.version_ids = sorted(v for v, _ in extras)
    posts.deletion_ms = sorted(deleted.values())
    return posts
