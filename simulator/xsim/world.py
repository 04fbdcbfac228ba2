"""The simulated world: accounts and their posts, deterministic from a seed.

Everything is a pure function of (seed, number of accounts, start time, activity), so the same
seed gives the same world and the same responses. The pieces live in their own modules —
`accounts` (identities, profiles), `posts` (when and what kind), `timeline` (visibility),
`rendering` (content), `metrics` (counts), `objects` (the API's JSON) — and `World` ties them
together and caches what is costly to draw.

World time is an argument everywhere (`at`): a post exists once `created_at <= at`, deletions and
edits happen at their own simulated times, and metrics grow with the post's age at `at`.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from xsim import metrics, objects, timeline
from xsim.accounts import MIN_ACCOUNTS_FOR_SPECIALS, RENAME_AFTER_MS, Account, build_accounts
from xsim.clock import SimClock
from xsim.posts import HORIZON_DAYS, ORIGINAL, RETWEET, Posts, author_index_of, generate_posts, max_id_at
from xsim.rendering import TweetStatic, render_static
from xsim.timeutil import DAY_MS, from_ms, parse_when, to_ms

_STATIC_CACHE_SIZE = 60_000
_WINDOW_CACHE_SIZE = 512
_SHARED_WORLDS = 4


class _Caches:
    """Generated posts and rendered content of one world definition.

    They are pure functions of (seed, accounts, start, activity), so every World built with the
    same parameters shares them: a test suite that starts a fresh simulator per test renders
    each post once per process instead of once per test.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.posts: dict[int, Posts] = {}
        self.statics: OrderedDict[int, TweetStatic] = OrderedDict()
        self.windows: OrderedDict[tuple[int, int, int], tuple[list[int], bytes]] = OrderedDict()
        self.pinned: dict[int, int | None] = {}


_SHARED: OrderedDict[tuple[int, int, int, float], _Caches] = OrderedDict()
_SHARED_LOCK = threading.Lock()


def _shared_caches(key: tuple[int, int, int, float]) -> _Caches:
    """The caches of a world definition (the few most recently used ones are kept)."""
    with _SHARED_LOCK:
        caches = _SHARED.get(key)
        if caches is None:
            caches = _SHARED[key] = _Caches()
            if len(_SHARED) > _SHARED_WORLDS:
                _SHARED.popitem(last=False)
        else:
            _SHARED.move_to_end(key)
        return caches


class World:
    """Ground truth of the simulation; the server renders API responses from it.

    Test helpers (all ids are strings, `at` defaults to the attached clock's now):
    `accounts`, `account(user_id)`, `account_by_username(name, at)`, `heavy`/`quiet`/
    `suspended`/`protected`/`renamed`, `timeline_ids(user_id, at, exclude)`,
    `visible_ids(user_id, at)`, `archive_ids(user_id, at, exclude)`, `tweet(id)`, `tweet_status(id, at)`,
    `tweet_json(id, at)`, `metrics(id, at)`, `edited_tweets(user_id)`, `deleted_tweets(user_id)`,
    `tweet_count(user_id, at)`.
    """

    def __init__(
        self,
        seed: int = 42,
        accounts: int = 20,
        start: datetime | str = "2026-11-22T12:00:00Z",
        activity: float = 1.0,
        clock: SimClock | None = None,
    ) -> None:
        if accounts < 1:
            raise ValueError("a world needs at least one account")
        self.seed = seed
        self.activity = activity
        self.start = parse_when(start)
        self.start_ms = to_ms(self.start)
        self.horizon_ms = self.start_ms + HORIZON_DAYS * DAY_MS
        self.clock = clock
        self._seed_mix = random.Random(f"{seed}:mix").getrandbits(60)
        shared = _shared_caches((seed, accounts, self.start_ms, activity))
        self._lock = shared.lock
        self._posts = shared.posts
        self._statics = shared.statics
        self._windows = shared.windows
        self._pinned = shared.pinned
        self.accounts: list[Account] = build_accounts(self, accounts)
        self._by_id: dict[str, Account] = {acc.user_id: acc for acc in self.accounts}
        self._by_name: dict[str, list[Account]] = {}  # every name an account ever had, lowercased
        for acc in self.accounts:
            for _, handle in acc._usernames:
                self._by_name.setdefault(handle.lower(), []).append(acc)

    # --- time -------------------------------------------------------------------------
    def _at_ms(self, at: datetime | str | int | None) -> int:
        """World time in ms: explicit `at`, else the attached clock, else the world start."""
        if at is None:
            return self.clock.now_ms() if self.clock is not None else self.start_ms
        if isinstance(at, int):
            return at
        return to_ms(parse_when(at))

    def now(self) -> datetime:
        return from_ms(self._at_ms(None))

    # --- accounts ---------------------------------------------------------------------
    @property
    def specials(self) -> dict[str, Account]:
        """Role name -> account, empty for worlds of fewer than 6 accounts."""
        return {acc.role: acc for acc in self.accounts if acc.role}

    def _special(self, role: str) -> Account:
        acc = self.specials.get(role)
        if acc is None:
            raise LookupError(f"no {role} account: worlds need >= {MIN_ACCOUNTS_FOR_SPECIALS} accounts")
        return acc

    @property
    def heavy(self) -> Account:
        return self._special("heavy")

    @property
    def quiet(self) -> Account:
        return self._special("quiet")

    @property
    def suspended(self) -> Account:
        return self._special("suspended")

    @property
    def protected(self) -> Account:
        return self._special("protected")

    @property
    def renamed(self) -> Account:
        return self._special("renamed")

    @property
    def rename_at(self) -> datetime:
        """When the renamed account switches to its new username."""
        return from_ms(self.start_ms + RENAME_AFTER_MS)

    def account(self, user_id: str | int) -> Account | None:
        return self._by_id.get(str(user_id))

    def account_by_username(self, username: str, at: datetime | str | int | None = None) -> Account | None:
        """Case-insensitive lookup of the username valid at `at`, as /2/users/by resolves it."""
        t_ms = self._at_ms(at)
        for acc in self._by_name.get(username.lower(), []):
            if acc.username_at(t_ms).lower() == username.lower():
                return acc
        return None

    def _require(self, user_id: str | int) -> Account:
        acc = self.account(user_id)
        if acc is None:
            raise KeyError(f"no account with id {user_id}")
        return acc

    # --- posts ------------------------------------------------------------------------
    def posts(self, index: int) -> Posts:
        """The account's posts, generated on first use (thread-safe, deterministic)."""
        posts = self._posts.get(index)
        if posts is None:
            generated = generate_posts(self.accounts[index], self.seed, self.horizon_ms)
            with self._lock:
                posts = self._posts.setdefault(index, generated)
        return posts

    def _window(self, index: int, t_ms: int, cap: int | None) -> tuple[list[int], bytes]:
        """Newest `cap` visible post versions at `t_ms`, ascending ids with their kinds (cached)."""
        key = (index, t_ms, -1 if cap is None else cap)
        with self._lock:
            hit = self._windows.get(key)
            if hit is not None:
                self._windows.move_to_end(key)
                return hit
        result = timeline.newest_visible(self.posts(index), t_ms, cap)
        with self._lock:
            self._windows[key] = result
            if len(self._windows) > _WINDOW_CACHE_SIZE:
                self._windows.popitem(last=False)
        return result

    def timeline_window(self, index: int, t_ms: int, exclude_replies: bool) -> tuple[list[int], bytes]:
        """What /2/users/:id/tweets can reach: the newest 3,200 posts (800 when excluding replies)."""
        return self._window(index, t_ms, timeline.timeline_cap(exclude_replies))

    def archive(self, index: int, t_ms: int) -> tuple[list[int], bytes]:
        """What full-archive search reaches: every post version visible at `t_ms`, no cap (cached)."""
        return self._window(index, t_ms, None)

    def timeline_ids(
        self,
        user_id: str | int,
        at: datetime | str | int | None = None,
        exclude: Iterable[str] = (),
    ) -> list[str]:
        """Ground truth: every id a client can page through on the timeline, newest first.

        The cap is applied before `exclude` filters (the API windows first, then filters), so
        excluding replies yields at most 800 posts and usually fewer.
        """
        acc = self._require(user_id)
        excluded = set(exclude)
        ids, kinds = self.timeline_window(acc.index, self._at_ms(at), "replies" in excluded)
        drop = timeline.excluded_kinds(excluded)
        return [str(tid) for tid, kind in zip(reversed(ids), reversed(kinds), strict=True) if kind not in drop]

    def visible_ids(self, user_id: str | int, at: datetime | str | int | None = None) -> list[str]:
        """Ground truth: every post of the account visible at `at` (newest version), no cap."""
        acc = self._require(user_id)
        ids, _ = self._window(acc.index, self._at_ms(at), None)
        return [str(tid) for tid in reversed(ids)]

    def archive_ids(
        self,
        user_id: str | int,
        at: datetime | str | int | None = None,
        exclude: Iterable[str] = (),
    ) -> list[str]:
        """Ground truth: every post `GET /2/tweets/search/all` finds for `from:<user_id>`, newest
        first; `exclude` ("retweets", "replies") as the `-is:retweet` / `-is:reply` negations."""
        acc = self._require(user_id)
        if acc.status != "active":
            return []
        ids, kinds = self.archive(acc.index, self._at_ms(at))
        drop = timeline.excluded_kinds(exclude)
        return [str(tid) for tid, kind in zip(reversed(ids), reversed(kinds), strict=True) if kind not in drop]

    def tweet_count(self, user_id: str | int, at: datetime | str | int | None = None) -> int:
        """The profile's tweet_count: pre-2021 base plus posts so far, minus deletions."""
        acc = self._require(user_id)
        return timeline.tweet_count(acc, self.posts(acc.index), self._at_ms(at))

    def edited_tweets(self, user_id: str | int) -> list[tuple[str, ...]]:
        """Version chains (oldest first) of the account's edited posts, in time order."""
        posts = self.posts(self._require(user_id).index)
        chains = set(posts.chains.values())
        return [tuple(str(v) for v in chain) for chain in sorted(chains)]

    def deleted_tweets(self, user_id: str | int) -> list[tuple[str, datetime]]:
        """(root id, deletion time) of the account's deleted posts, in id order."""
        posts = self.posts(self._require(user_id).index)
        return [(str(tid), from_ms(ms)) for tid, ms in sorted(posts.deleted.items())]

    def locate(self, tweet_id: int) -> tuple[Account, Posts, int] | None:
        """Find the account and array index of a post version id, or None if it never existed."""
        index = author_index_of(tweet_id)
        if index >= len(self.accounts):
            return None
        posts = self.posts(index)
        i = posts.contains(tweet_id)
        if i < 0:
            return None
        return self.accounts[index], posts, i

    def tweet_status(self, tweet_id: str | int, at: datetime | str | int | None = None) -> str:
        """How /2/tweets?ids= treats this id at `at`: ok, not_found or not_authorized."""
        t_ms = self._at_ms(at)
        try:
            tid = int(tweet_id)
        except ValueError:
            return "not_found"
        found = self.locate(tid)
        if found is None:
            return "not_found"
        acc, posts, _ = found
        return timeline.post_status(acc, posts, tid, t_ms)

    def most_recent_tweet_id(self, acc: Account, t_ms: int) -> int | None:
        ids, _ = self._window(acc.index, t_ms, 1)
        return ids[-1] if ids else None

    def pinned_tweet_id(self, acc: Account) -> int | None:
        """The post an account pinned (an original from before the start), if it pins one."""
        if acc.index in self._pinned:
            return self._pinned[acc.index]
        pinned: int | None = None
        if acc.pin_offset_days is not None:
            posts = self.posts(acc.index)
            i = bisect_right(posts.ids, max_id_at(self.start_ms - acc.pin_offset_days * DAY_MS)) - 1
            while i >= 0 and pinned is None:
                if posts.kinds[i] == ORIGINAL and posts.ids[i] not in posts.chains:
                    pinned = posts.ids[i]
                i -= 1
        self._pinned[acc.index] = pinned
        return pinned

    # --- content ----------------------------------------------------------------------
    def tweet(self, tweet_id: str | int) -> TweetStatic | None:
        """The time-independent content of a post version (rendered once, then cached)."""
        return self._static(int(tweet_id))

    def _static(self, tweet_id: int, depth: int = 0) -> TweetStatic | None:
        with self._lock:
            hit = self._statics.get(tweet_id)
            if hit is not None:
                self._statics.move_to_end(tweet_id)
                return hit
        found = self.locate(tweet_id)
        if found is None:
            return None
        acc, posts, i = found
        st = render_static(self, acc, posts, i, depth)
        with self._lock:
            self._statics[tweet_id] = st
            if len(self._statics) > _STATIC_CACHE_SIZE:
                self._statics.popitem(last=False)
        return st

    def metrics_at(self, st: TweetStatic, t_ms: int) -> dict[str, int]:
        """Public metrics of a post version at `t_ms` (a retweet's follow its original)."""
        if st.kind == RETWEET and st.ref is not None:
            original = self._static(st.ref[1])
            retweets = self.metrics_at(original, t_ms)["retweet_count"] if original is not None else 0
            return metrics.of_retweet(st, retweets)
        return metrics.grown(st, t_ms)

    def metrics(self, tweet_id: str | int, at: datetime | str | int | None = None) -> dict[str, int]:
        """Ground truth public_metrics of a post version at `at`."""
        st = self._static(int(tweet_id))
        if st is None:
            raise KeyError(f"no tweet {tweet_id}")
        return self.metrics_at(st, self._at_ms(at))

    def user_metrics(self, acc: Account, t_ms: int) -> dict[str, int]:
        """Profile counters at `t_ms`."""
        return metrics.of_user(acc, self.seed, t_ms, timeline.tweet_count(acc, self.posts(acc.index), t_ms))

    def tweet_dict(self, st: TweetStatic, t_ms: int, fields: frozenset[str] | set[str]) -> dict[str, Any]:
        """The API object for a post version with the requested tweet.fields (opt-in)."""
        return objects.tweet_object(self, st, t_ms, fields)

    def tweet_json(
        self,
        tweet_id: str | int,
        at: datetime | str | int | None = None,
        fields: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Ground truth API object of a post version (all supported fields by default)."""
        st = self._static(int(tweet_id))
        if st is None:
            raise KeyError(f"no tweet {tweet_id}")
        chosen = frozenset(fields) if fields is not None else objects.TWEET_FIELDS_RENDERED
        return objects.tweet_object(self, st, self._at_ms(at), chosen)

    def user_dict(self, acc: Account, t_ms: int, fields: frozenset[str] | set[str]) -> dict[str, Any]:
        """The API object for a user with the requested user.fields (opt-in)."""
        return objects.user_object(self, acc, t_ms, fields)
