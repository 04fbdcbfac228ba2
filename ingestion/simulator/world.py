"""The simulated world: accounts and their posts, deterministic from a seed.

Everything is a pure function of (seed, number of accounts, start time, activity), so the same
seed gives the same world and the same responses. Accounts are cheap and built eagerly; an
account's posts are generated lazily on first use and kept as compact parallel arrays
(snowflake ids, kind bytes, a few small dicts for the rare edits and deletions). Text, entities
and metric targets of a post are rendered on demand from a per-post seed and cached in an LRU,
because most benchmarks only ever look at the newest few thousand posts of each account.

World time is an argument everywhere (`at`): a post exists once `created_at <= at`, deletions and
edits happen at their own simulated times, and metrics grow with the post's age at `at`.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ingestion.simulator import text as tx
from ingestion.simulator.clock import SimClock
from ingestion.simulator.timeutil import (
    DAY_MS,
    HOUR_MS,
    TWEPOCH_MS,
    format_api_time,
    from_ms,
    id_from_ms,
    ms_from_id,
    parse_when,
    to_ms,
)

# Fixed indices of the special accounts (present when the world has at least 6 accounts).
HEAVY_INDEX = 0
"""Posts ~6/day: far more than the 3,200 a timeline can reach since 2022-01-01."""
QUIET_INDEX = 1
"""Posted only during 2021: nothing since 2022-01-01."""
SUSPENDED_INDEX = 2
"""Suspended: lookups and its timeline answer with Forbidden errors."""
PROTECTED_INDEX = 3
"""Protected: lookups return it (protected: true); its timeline and posts are not authorized."""
RENAMED_INDEX = 4
"""Changes username RENAME_AFTER_MS after the world start; the old name then resolves to nothing."""
SPECIAL_ROLES: dict[int, str] = {
    HEAVY_INDEX: "heavy",
    QUIET_INDEX: "quiet",
    SUSPENDED_INDEX: "suspended",
    PROTECTED_INDEX: "protected",
    RENAMED_INDEX: "renamed",
}
MIN_ACCOUNTS_FOR_SPECIALS = 6

ORIGINAL, REPLY, QUOTE, RETWEET = 0, 1, 2, 3
KIND_NAMES = ("original", "reply", "quote", "retweet")

TIMELINE_CAP = 3200
TIMELINE_CAP_EXCLUDING_REPLIES = 800
T2021_MS = 1609459200000  # 2021-01-01T00:00:00Z: the first simulated post time
T2022_MS = 1640995200000  # 2022-01-01T00:00:00Z
HORIZON_DAYS = 90
"""Posts are generated up to start + 90 days, so tests can advance the clock and see new ones."""
RENAME_AFTER_MS = 26 * HOUR_MS
EDIT_WINDOW_MS = HOUR_MS
_VERSION_BIT = 0x800  # set in the sequence bits of edit versions, so their ids never collide
_LONG_TEXT_LIMIT = 280
_RT_TEXT_LIMIT = 140
_STATIC_CACHE_SIZE = 60_000
_WINDOW_CACHE_SIZE = 512

_FIRST = {
    "en": ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy"],
    "es": ["María", "José", "Lucía", "Javier", "Sofía", "Andrés", "Inés"],
    "fr": ["Chloé", "Léa", "Théo", "Hugo", "Zoé", "Gaël"],
    "pt": ["João", "Ana", "Luís", "Beatriz", "Gonçalo"],
    "de": ["Jürgen", "Anna", "Lukas", "Mia", "Jörg"],
    "ja": ["健二", "さくら", "翔太", "ゆい", "Kenji", "Yui"],
    "ar": ["أحمد", "فاطمة", "Omar", "Layla", "يوسف"],
}
_LAST = ["Smith", "López", "Dupont", "Silva", "Müller", "Tanaka", "Haddad", "O'Neil", "Nguyen", ""]
_HANDLE_PARTS = [
    "data",
    "rain",
    "code",
    "pixel",
    "nova",
    "tiger",
    "ocean",
    "byte",
    "lunar",
    "echo",
    "maple",
    "atlas",
    "orbit",
    "kite",
    "fern",
    "volt",
    "delta",
    "sol",
    "mika",
    "kenji",
    "lucia",
    "omar",
]
_LOCATIONS = [
    "London",
    "São Paulo, Brasil",
    "東京",
    "Paris, France",
    "Berlin",
    "Madrid 🇪🇸",
    "Cairo",
    "Lagos",
    "NYC",
    "somewhere on the internet",
    "🌍",
    "Montréal, QC",
    None,
    None,
]
_VERIFIED_TYPES = ["none", "none", "none", "blue", "blue", "business", "government"]
_SOURCES = ["Twitter for iPhone", "Twitter Web App", "Twitter for Android", "TweetDeck"]
_EDIT_NOTES = ["(edited)", "✏️ typo", "— corrected", "update: fixed link", "*their"]


def _low_bits(index: int, version: bool = False) -> int:
    """Worker/sequence bits that identify the author, so an id alone finds its account."""
    return ((index % 1024) << 12) | ((index >> 10) & 0x7FF) | (_VERSION_BIT if version else 0)


def author_index_of(tweet_id: int) -> int:
    """Invert `_low_bits`: the account index that minted this id."""
    low = tweet_id & 0x3FFFFF
    return ((low >> 12) & 0x3FF) | ((low & 0x7FF) << 10)


def _max_id_at(t_ms: int) -> int:
    """The largest snowflake that could have been minted at or before `t_ms`."""
    return ((t_ms - TWEPOCH_MS + 1) << 22) - 1


class Account:
    """One simulated user; profile attributes are looked up at a world time."""

    __slots__ = (
        "_changes",
        "_usernames",
        "_world",
        "base_tweet_count",
        "created_ms",
        "followers_base",
        "followers_growth",
        "following_base",
        "index",
        "lang",
        "likes_per_day",
        "listed_base",
        "p_quote",
        "p_reply",
        "p_retweet",
        "pin_offset_days",
        "profile_image_url",
        "rate",
        "role",
        "status",
        "tz_ms",
        "url",
        "user_id",
    )

    user_id: str
    created_ms: int
    lang: str
    rate: float
    p_reply: float
    p_quote: float
    p_retweet: float
    tz_ms: int
    base_tweet_count: int
    followers_base: int
    followers_growth: float
    following_base: int
    listed_base: int
    likes_per_day: float | None
    url: tuple[str, str] | None
    profile_image_url: str
    pin_offset_days: int | None

    def __init__(self, world: World, index: int) -> None:
        self._world = world
        self.index = index
        self.role: str | None = None
        self.status = "active"
        self._usernames: list[tuple[int, str]] = []
        self._changes: dict[str, list[tuple[int, Any]]] = {}

    # --- profile at a time -------------------------------------------------------------
    def username_at(self, at: datetime | str | int | None = None) -> str:
        """The username valid at world time `at` (default: the world clock's now)."""
        t_ms = self._world._at_ms(at)
        current = self._usernames[0][1]
        for since_ms, name in self._usernames:
            if since_ms <= t_ms:
                current = name
        return current

    def usernames(self) -> list[tuple[datetime, str]]:
        """Every username with the time it took effect (the first at the account's creation)."""
        return [(from_ms(max(ms, self.created_ms)), name) for ms, name in self._usernames]

    def attribute_at(self, attribute: str, at: datetime | str | int | None = None) -> Any:
        """Value of a changing profile attribute (name, description, location, verified_type)."""
        t_ms = self._world._at_ms(at)
        history = self._changes[attribute]
        value = history[0][1]
        for since_ms, candidate in history:
            if since_ms > t_ms:
                break
            value = candidate
        return value

    def profile_changes(self) -> list[tuple[datetime, str, Any]]:
        """All scheduled attribute changes after creation: (when, attribute, new value)."""
        out = []
        for attribute, history in self._changes.items():
            for since_ms, value in history[1:]:
                out.append((from_ms(since_ms), attribute, value))
        return sorted(out, key=lambda item: item[0])

    @property
    def username(self) -> str:
        return self.username_at()

    @property
    def name(self) -> str:
        return str(self.attribute_at("name"))

    @property
    def description(self) -> str:
        return str(self.attribute_at("description")[0])

    @property
    def location(self) -> str | None:
        value = self.attribute_at("location")
        return None if value is None else str(value)

    @property
    def verified_type(self) -> str:
        return str(self.attribute_at("verified_type"))

    @property
    def verified(self) -> bool:
        return self.verified_type != "none"

    @property
    def created_at(self) -> datetime:
        return from_ms(self.created_ms)

    @property
    def protected(self) -> bool:
        return self.status == "protected"

    def __repr__(self) -> str:
        return f"Account(index={self.index}, user_id={self.user_id!r}, role={self.role!r}, status={self.status!r})"


class _Posts:
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


class TweetStatic:
    """Everything about one post version that does not depend on world time."""

    __slots__ = (
        "author_id",
        "author_index",
        "chain",
        "conversation_id",
        "created_at_text",
        "created_ms",
        "deleted_ms",
        "editable_until_ms",
        "editable_until_text",
        "edits_as_str",
        "entities",
        "final",
        "has_new_metrics",
        "hidden_ms",
        "id",
        "in_reply_to_user_id",
        "kind",
        "lang",
        "media",
        "note",
        "possibly_sensitive",
        "ref",
        "reply_settings",
        "root_id",
        "source",
        "tau_ms",
        "text",
        "version",
    )

    id: int
    root_id: int
    author_id: str
    author_index: int
    created_ms: int
    kind: int
    version: int
    chain: tuple[int, ...]
    text: str
    entities: dict[str, list[dict[str, Any]]]
    note: tuple[str, dict[str, list[dict[str, Any]]]] | None
    lang: str
    possibly_sensitive: bool
    reply_settings: str
    conversation_id: int
    ref: tuple[str, int] | None
    in_reply_to_user_id: str | None
    media: list[tuple[str, str]]
    source: str | None
    editable_until_ms: int
    edits_as_str: bool
    final: tuple[int, int, int, int, int, int]
    tau_ms: float
    has_new_metrics: bool
    hidden_ms: int | None
    deleted_ms: int | None
    created_at_text: str
    editable_until_text: str

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def created_at(self) -> datetime:
        return from_ms(self.created_ms)

    @property
    def deleted_at(self) -> datetime | None:
        return None if self.deleted_ms is None else from_ms(self.deleted_ms)

    @property
    def is_long(self) -> bool:
        return self.note is not None


class _Caches:
    """Generated posts and rendered content of one world definition.

    They are pure functions of (seed, accounts, start, activity), so every World built with the
    same parameters shares them: a test suite that starts a fresh simulator per test renders
    each post once per process instead of once per test.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.posts: dict[int, _Posts] = {}
        self.statics: OrderedDict[int, TweetStatic] = OrderedDict()
        self.windows: OrderedDict[tuple[int, int, int], tuple[list[int], bytes]] = OrderedDict()
        self.pinned: dict[int, int | None] = {}


_SHARED: OrderedDict[tuple[int, int, int, float], _Caches] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_WORLDS = 4


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
    `visible_ids(user_id, at)`, `tweet(id)`, `tweet_status(id, at)`, `tweet_json(id, at)`,
    `metrics(id, at)`, `edited_tweets(user_id)`, `deleted_tweets(user_id)`, `tweet_count(user_id, at)`.
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
        self.accounts: list[Account] = []
        self._by_id: dict[str, Account] = {}
        self._by_name: dict[str, list[Account]] = {}  # every name an account ever had, lowercased
        self._build_accounts(accounts)

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
    def _build_accounts(self, count: int) -> None:
        """Create every account's identity and profile history (cheap: no posts yet)."""
        taken_names: set[str] = set()
        taken_ids: set[str] = set()
        specials = count >= MIN_ACCOUNTS_FOR_SPECIALS
        for index in range(count):
            rng = random.Random(f"{self.seed}:account:{index}")
            acc = Account(self, index)
            if specials and index in SPECIAL_ROLES:
                acc.role = SPECIAL_ROLES[index]
            acc.status = {"suspended": "suspended", "protected": "protected"}.get(acc.role or "", "active")
            old = rng.random() < 0.4
            if old:
                acc.created_ms = rng.randint(1167609600000, 1356998400000)  # 2007..2012
                user_id = str(rng.randint(10**4, 1_500_000_000))
            else:
                acc.created_ms = rng.randint(1420070400000, 1606780800000)  # 2015..2020-12
                user_id = str(id_from_ms(acc.created_ms, rng.getrandbits(22)))
            while user_id in taken_ids:
                user_id = str(int(user_id) + 1)
            taken_ids.add(user_id)
            acc.user_id = user_id
            acc.lang = rng.choice(["en", "en", "en", "es", "fr", "pt", "de", "ja", "ar"])
            acc.rate = math.exp(rng.uniform(math.log(0.3), math.log(15.0))) * self.activity
            acc.p_reply = rng.uniform(0.05, 0.4)
            acc.p_quote = rng.uniform(0.01, 0.08)
            acc.p_retweet = rng.uniform(0.0, 0.3)
            if acc.role == "heavy":
                acc.rate = 6.0 * max(1.0, self.activity)
                acc.p_reply, acc.p_quote, acc.p_retweet = 0.3, 0.05, 0.15
            elif acc.role == "quiet":
                acc.rate = 0.3
            acc.tz_ms = rng.randint(-10, 12) * HOUR_MS
            acc.base_tweet_count = rng.randint(0, 40_000) if old else rng.randint(0, 5_000)
            acc.followers_base = int(math.exp(rng.uniform(math.log(20), math.log(2_000_000))))
            acc.followers_growth = rng.uniform(-0.05, 0.6)
            acc.following_base = rng.randint(0, 3000)
            acc.listed_base = acc.followers_base // rng.randint(50, 400)
            acc.likes_per_day = rng.uniform(0.5, 40.0) if rng.random() < 0.7 else None
            if rng.random() < 0.6:
                short = tx.tco(rng)
                host = rng.choice(tx.DOMAINS)
                acc.url = (short, f"https://{host}/{rng.choice(_HANDLE_PARTS)}")
            else:
                acc.url = None
            acc.profile_image_url = (
                f"https://pbs.twimg.com/profile_images/{rng.randint(10**17, 10**19)}/"
                f"{''.join(rng.choice('abcdefghijklmnopqrstuvwxyz0123456789_') for _ in range(8))}_normal.jpg"
            )
            acc.pin_offset_days = rng.randint(5, 400) if rng.random() < 0.4 else None
            name = self._unique_username(rng, taken_names)
            acc._usernames = [(0, name)]
            if acc.role == "renamed":
                new_name = self._unique_username(rng, taken_names)
                acc._usernames.append((self.start_ms + RENAME_AFTER_MS, new_name))
            self.accounts.append(acc)
            self._by_id[user_id] = acc
            for _, handle in acc._usernames:
                self._by_name.setdefault(handle.lower(), []).append(acc)
        for acc in self.accounts:
            self._build_profile_history(acc)

    def _unique_username(self, rng: random.Random, taken: set[str]) -> str:
        """A fresh `^[A-Za-z0-9_]{1,15}$` handle, unique case-insensitively as on X."""
        while True:
            a, b = rng.choice(_HANDLE_PARTS), rng.choice(_HANDLE_PARTS)
            style = rng.random()
            if style < 0.3:
                name = f"{a}_{b}"
            elif style < 0.6:
                name = f"{a.capitalize()}{b.capitalize()}{rng.randint(0, 999)}"
            elif style < 0.8:
                name = f"{a}{rng.randint(1, 99999)}"
            else:
                name = f"The{a.capitalize()}_{rng.randint(0, 99)}"
            name = name[:15]
            if name.lower() not in taken:
                taken.add(name.lower())
                return name

    def _description(self, rng: random.Random, acc: Account) -> tuple[str, dict[str, Any]]:
        """A short bio with entities (description mentions carry only the username)."""
        others = [(o.username_at(0), o.user_id) for o in rng.sample(self.accounts, min(2, len(self.accounts)))]
        segs = tx.body_segments(rng, acc.lang, others)
        text, entities = tx.render(segs)
        if len(text) > 160:
            text, entities = tx.render(segs, limit=160)
        for mention in entities.get("mentions", []):
            mention.pop("id", None)
        return text, entities

    def _build_profile_history(self, acc: Account) -> None:
        """Initial profile plus a few dated changes a year (what the warehouse keeps as SCD2)."""
        rng = random.Random(f"{self.seed}:profile:{acc.index}")
        first = rng.choice(_FIRST.get(acc.lang, _FIRST["en"]))
        last = rng.choice(_LAST)
        base_name = f"{first} {last}".strip()
        changes: dict[str, list[tuple[int, Any]]] = {
            "name": [(0, base_name)],
            "description": [(0, self._description(rng, acc))],
            "location": [(0, rng.choice(_LOCATIONS))],
            "verified_type": [(0, rng.choice(_VERIFIED_TYPES))],
        }
        t = T2021_MS
        while True:
            t += int(rng.expovariate(3.0 / (365 * DAY_MS))) + 1
            if t >= self.horizon_ms:
                break
            attribute = rng.choices(["description", "location", "name", "verified_type"], [4, 2.5, 2.5, 1])[0]
            if attribute == "name":
                value: Any = rng.choice(
                    [
                        base_name,
                        f"{base_name} {rng.choice(tx.EMOJI)}",
                        f"{first} | {rng.choice(tx.HASHTAGS['en'])}",
                        first,
                    ]
                )
            elif attribute == "description":
                value = self._description(rng, acc)
            elif attribute == "location":
                value = rng.choice(_LOCATIONS)
            else:
                value = rng.choice(_VERIFIED_TYPES)
            if value != changes[attribute][-1][1]:
                changes[attribute].append((t, value))
        acc._changes = changes

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

    # --- posts: generation ------------------------------------------------------------
    def posts(self, index: int) -> _Posts:
        """The account's posts, generated on first use (thread-safe, deterministic)."""
        posts = self._posts.get(index)
        if posts is None:
            generated = self._generate(self.accounts[index])
            with self._lock:
                posts = self._posts.setdefault(index, generated)
        return posts

    def _generate(self, acc: Account) -> _Posts:
        """Draw the account's post times and kinds, plus its rare edits and deletions.

        Inter-arrival times are exponential with a night-time dip in the account's time zone;
        the loop is kept tight because it runs for every post an account ever makes.
        """
        rng = random.Random(f"{self.seed}:posts:{acc.index}")
        posts = _Posts()
        end = self.horizon_ms
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

    # --- posts: visibility ------------------------------------------------------------
    def _window(self, index: int, t_ms: int, cap: int | None) -> tuple[list[int], bytes]:
        """Newest `cap` visible post versions at `t_ms`, ascending ids with their kinds (cached)."""
        key = (index, t_ms, -1 if cap is None else cap)
        with self._lock:
            hit = self._windows.get(key)
            if hit is not None:
                self._windows.move_to_end(key)
                return hit
        posts = self.posts(index)
        ids, kinds, hidden = posts.ids, posts.kinds, posts.hidden
        limit = len(ids) if cap is None else cap
        out: list[int] = []
        out_kinds = bytearray()
        i = bisect_right(ids, _max_id_at(t_ms)) - 1
        while i >= 0 and len(out) < limit:
            tid = ids[i]
            gone = hidden.get(tid)
            if gone is None or gone > t_ms:
                out.append(tid)
                out_kinds.append(kinds[i])
            i -= 1
        out.reverse()
        out_kinds.reverse()
        result = (out, bytes(out_kinds))
        with self._lock:
            self._windows[key] = result
            if len(self._windows) > _WINDOW_CACHE_SIZE:
                self._windows.popitem(last=False)
        return result

    def timeline_window(self, index: int, t_ms: int, exclude_replies: bool) -> tuple[list[int], bytes]:
        """What /2/users/:id/tweets can reach: the newest 3,200 posts (800 when excluding replies)."""
        cap = TIMELINE_CAP_EXCLUDING_REPLIES if exclude_replies else TIMELINE_CAP
        return self._window(index, t_ms, cap)

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
        drop = {k for k, name in ((REPLY, "replies"), (RETWEET, "retweets")) if name in excluded}
        return [str(tid) for tid, kind in zip(reversed(ids), reversed(kinds), strict=True) if kind not in drop]

    def visible_ids(self, user_id: str | int, at: datetime | str | int | None = None) -> list[str]:
        """Ground truth: every post of the account visible at `at` (newest version), no cap."""
        acc = self._require(user_id)
        ids, _ = self._window(acc.index, self._at_ms(at), None)
        return [str(tid) for tid in reversed(ids)]

    def tweet_count(self, user_id: str | int, at: datetime | str | int | None = None) -> int:
        """The profile's tweet_count: pre-2021 base plus posts so far, minus deletions."""
        acc = self._require(user_id)
        return self._tweet_count(acc, self._at_ms(at))

    def _tweet_count(self, acc: Account, t_ms: int) -> int:
        posts = self.posts(acc.index)
        made = bisect_right(posts.ids, _max_id_at(t_ms))
        versions = bisect_right(posts.version_ids, _max_id_at(t_ms))
        gone = bisect_right(posts.deletion_ms, t_ms)
        return acc.base_tweet_count + made - versions - gone

    def edited_tweets(self, user_id: str | int) -> list[tuple[str, ...]]:
        """Version chains (oldest first) of the account's edited posts, in time order."""
        posts = self.posts(self._require(user_id).index)
        chains = set(posts.chains.values())
        return [tuple(str(v) for v in chain) for chain in sorted(chains)]

    def deleted_tweets(self, user_id: str | int) -> list[tuple[str, datetime]]:
        """(root id, deletion time) of the account's deleted posts, in id order."""
        posts = self.posts(self._require(user_id).index)
        return [(str(tid), from_ms(ms)) for tid, ms in sorted(posts.deleted.items())]

    def _require(self, user_id: str | int) -> Account:
        acc = self.account(user_id)
        if acc is None:
            raise KeyError(f"no account with id {user_id}")
        return acc

    def locate(self, tweet_id: int) -> tuple[Account, _Posts, int] | None:
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
        if found is None or ms_from_id(tid) > t_ms:
            return "not_found"
        acc, posts, _ = found
        root = posts.chains[tid][0] if tid in posts.chains else tid
        deleted = posts.deleted.get(root)
        if deleted is not None and deleted <= t_ms:
            return "not_found"
        if acc.status == "suspended":
            return "not_found"
        if acc.status == "protected":
            return "not_authorized"
        return "ok"

    # --- posts: content ---------------------------------------------------------------
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
        st = self._render_static(acc, posts, i, depth)
        with self._lock:
            self._statics[tweet_id] = st
            if len(self._statics) > _STATIC_CACHE_SIZE:
                self._statics.popitem(last=False)
        return st

    def _pick_target(self, acc: Account, t_ms: int, rng: random.Random, kind: int) -> tuple[int, int]:
        """A post older than `t_ms` to reply to, quote or retweet: (tweet id, author index).

        Replies often continue the author's own thread; quotes and retweets pick public
        accounts. An index of -1 means an account outside the world (a post we cannot serve).
        """
        n = len(self.accounts)
        for attempt in range(5):
            own_thread = kind == REPLY and attempt == 0 and rng.random() < 0.35
            j = acc.index if own_thread else int(rng.random() * n)
            other = self.accounts[j]
            if other.status == "suspended" or (kind != REPLY and other.status == "protected"):
                continue
            target_posts = self.posts(j)
            i = bisect_left(target_posts.ids, id_from_ms(t_ms - 1000)) - 1 - int(rng.random() * 6)
            while i >= 0:
                if target_posts.kinds[i] != RETWEET:
                    return target_posts.ids[i], j
                i -= 1
        return id_from_ms(t_ms - rng.randint(HOUR_MS, 3 * DAY_MS), rng.getrandbits(22)), -1

    def _render_static(self, acc: Account, posts: _Posts, i: int, depth: int) -> TweetStatic:
        """Draw a post's text, entities and metric targets from its own seed.

        Every version of an edited post shares the seed of its first version, so edits keep
        the text and only append a correction.
        """
        tid = posts.ids[i]
        chain = posts.chains.get(tid, (tid,))
        root = chain[0]
        rng = random.Random(root ^ self._seed_mix)
        st = TweetStatic()
        st.id, st.root_id, st.kind = tid, root, posts.kinds[i]
        st.author_id, st.author_index = acc.user_id, acc.index
        st.created_ms = ms_from_id(tid)
        root_ms = ms_from_id(root)
        st.version = chain.index(tid)
        st.chain = chain
        st.hidden_ms = posts.hidden.get(tid)
        st.deleted_ms = posts.deleted.get(root)
        roll = rng.random()
        st.lang = acc.lang if roll < 0.85 else "und" if roll < 0.9 else tx.LANGS[int(rng.random() * len(tx.LANGS))]
        st.possibly_sensitive = rng.random() < 0.03
        roll = rng.random()
        st.reply_settings = "everyone" if roll < 0.92 else "mentionedUsers" if roll < 0.96 else "following"
        st.source = _SOURCES[int(rng.random() * 4)] if rng.random() < 0.05 else None
        st.edits_as_str = rng.random() < 0.3
        st.editable_until_ms = root_ms + EDIT_WINDOW_MS
        st.created_at_text = format_api_time(st.created_ms)
        st.editable_until_text = format_api_time(st.editable_until_ms)
        st.ref = None
        st.in_reply_to_user_id = None
        st.conversation_id = root
        st.media = []
        st.note = None
        n = len(self.accounts)
        mentionable = []
        for _ in range(2):
            other = self.accounts[int(rng.random() * n)]
            mentionable.append((other.username_at(root_ms), other.user_id))

        if st.kind == RETWEET:
            target_id, target_index = self._pick_target(acc, root_ms, rng, RETWEET)
            st.ref = ("retweeted", target_id)
            self._fill_retweet(st, target_id, target_index, root_ms, depth + 1)
        else:
            prefix: list[tx.Segment] = []
            suffix: list[tx.Segment] = []
            if st.kind in (REPLY, QUOTE):
                target_id, target_index = self._pick_target(acc, root_ms, rng, st.kind)
                if target_index >= 0:
                    target_acc = self.accounts[target_index]
                    t_name, t_uid = target_acc.username_at(root_ms), target_acc.user_id
                else:
                    t_name = "user" + str(target_id % 100000)
                    t_uid = str(rng.randint(10**17, 10**18))
                if st.kind == REPLY:
                    st.ref = ("replied_to", target_id)
                    st.in_reply_to_user_id = t_uid
                    target = self._static(target_id, depth + 1) if target_index >= 0 and depth < 40 else None
                    st.conversation_id = target.conversation_id if target is not None else target_id
                    if rng.random() < 0.8:
                        prefix = [(tx.MENTION, "@" + t_name, (t_name, t_uid)), (tx.PLAIN, " ", None)]
                else:
                    st.ref = ("quoted", target_id)
                    link = f"https://twitter.com/{t_name}/status/{target_id}"
                    suffix = [(tx.PLAIN, " ", None), tx.url_segment(rng, link)]
            long_post = rng.random() < 0.03
            body = tx.body_segments(rng, st.lang, mentionable, long_post=long_post)
            if rng.random() < 0.15:
                media_type, prefix_key = rng.choice(
                    [("photo", "3"), ("photo", "3"), ("video", "7"), ("animated_gif", "16")]
                )
                key = f"{prefix_key}_{root - 17}"
                st.media = [(key, media_type)]
                short = tx.tco(rng)
                handle = acc.username_at(root_ms)
                media_seg = (
                    tx.URL,
                    short,
                    (short, f"https://x.com/{handle}/status/{root}/photo/1", "pic.x.com/" + short[-10:], key),
                )
                suffix = [*suffix, (tx.PLAIN, " ", None), media_seg]
            edits = [(tx.PLAIN, " " + _EDIT_NOTES[(root + v) % len(_EDIT_NOTES)], None) for v in range(st.version)]
            segs = prefix + body + edits + suffix
            text, entities = tx.render(segs)
            if long_post and len(text) > _LONG_TEXT_LIMIT:
                st.note = (text, entities)
                text, entities = tx.render(segs, limit=_LONG_TEXT_LIMIT)
            st.text, st.entities = text, entities

        followers = acc.followers_base
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
        old_data = root_ms < 1669852800000  # before 2022-12-01, when impressions appeared
        st.has_new_metrics = rng.random() >= (0.5 if old_data else 0.05)
        return st

    def _fill_retweet(self, st: TweetStatic, target_id: int, target_index: int, t_ms: int, depth: int) -> None:
        """`RT @user: ` + the original's text, cut to 140 code points; entities shifted."""
        target = self._static(target_id, depth) if target_index >= 0 and depth < 40 else None
        if target is None:
            name = "user" + str(target_id % 100000)
            uid = "1" + str(target_id % 10**17)
            body, body_entities, lang = "…", {}, st.lang
        else:
            name = self.accounts[target.author_index].username_at(t_ms)
            uid = target.author_id
            body, body_entities, lang = target.text, target.entities, target.lang
            st.possibly_sensitive = target.possibly_sensitive
            st.media = list(target.media)
        st.lang = lang
        prefix = f"RT @{name}: "
        shift = len(prefix)
        text = prefix + body
        limit = _RT_TEXT_LIMIT
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        entities: dict[str, list[dict[str, Any]]] = {
            "mentions": [{"start": 3, "end": 4 + len(name), "username": name, "id": uid}]
        }
        for key, items in body_entities.items():
            for item in items:
                if item["end"] + shift <= limit - 1:
                    moved = dict(item, start=item["start"] + shift, end=item["end"] + shift)
                    entities.setdefault(key, []).append(moved)
        st.text = text
        st.entities = {k: entities[k] for k in sorted(entities)}

    # --- posts: metrics and JSON ----------------------------------------------------------
    def metrics_at(self, st: TweetStatic, t_ms: int) -> dict[str, int]:
        """Public metrics at `t_ms`: each grows as final·(1−exp(−age/τ)), never decreasing.

        A superseded edit version stops growing when it is replaced; a retweet copies the
        original's retweet_count and shows zero for the rest, as the real API does.
        """
        if st.kind == RETWEET and st.ref is not None:
            original = self._static(st.ref[1])
            retweets = self.metrics_at(original, t_ms)["retweet_count"] if original is not None else 0
            out = {"retweet_count": retweets, "reply_count": 0, "like_count": 0, "quote_count": 0}
            if st.has_new_metrics:
                out["bookmark_count"] = 0
                out["impression_count"] = 0
            return out
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

    def metrics(self, tweet_id: str | int, at: datetime | str | int | None = None) -> dict[str, int]:
        """Ground truth public_metrics of a post version at `at`."""
        st = self._static(int(tweet_id))
        if st is None:
            raise KeyError(f"no tweet {tweet_id}")
        return self.metrics_at(st, self._at_ms(at))

    def tweet_dict(self, st: TweetStatic, t_ms: int, fields: frozenset[str] | set[str]) -> dict[str, Any]:
        """The API object for a post version with the requested tweet.fields (opt-in)."""
        if len(st.chain) == 1:
            history = [str(st.id)]
        else:
            history = [str(v) for v in st.chain if ms_from_id(v) <= t_ms] or [str(st.id)]
        out: dict[str, Any] = {"id": str(st.id), "text": st.text, "edit_history_tweet_ids": history}
        if not fields:
            return out
        if "attachments" in fields and st.media:
            out["attachments"] = {"media_keys": [key for key, _ in st.media]}
        if "author_id" in fields:
            out["author_id"] = st.author_id
        if "conversation_id" in fields:
            out["conversation_id"] = str(st.conversation_id)
        if "created_at" in fields:
            out["created_at"] = st.created_at_text
        if "edit_controls" in fields:
            remaining = 5 - (len(history) - 1)
            out["edit_controls"] = {
                "edits_remaining": str(remaining) if st.edits_as_str else remaining,
                "is_edit_eligible": st.kind != RETWEET,
                "editable_until": st.editable_until_text,
            }
        if "entities" in fields and st.entities:
            out["entities"] = st.entities
        if "in_reply_to_user_id" in fields and st.in_reply_to_user_id is not None:
            out["in_reply_to_user_id"] = st.in_reply_to_user_id
        if "lang" in fields:
            out["lang"] = st.lang
        if "note_tweet" in fields and st.note is not None:
            note: dict[str, Any] = {"text": st.note[0]}
            if st.note[1]:
                note["entities"] = st.note[1]
            out["note_tweet"] = note
        if "possibly_sensitive" in fields:
            out["possibly_sensitive"] = st.possibly_sensitive
        if "public_metrics" in fields:
            out["public_metrics"] = self.metrics_at(st, t_ms)
        if "referenced_tweets" in fields and st.ref is not None:
            out["referenced_tweets"] = [{"type": st.ref[0], "id": str(st.ref[1])}]
        if "reply_settings" in fields:
            out["reply_settings"] = st.reply_settings
        if "source" in fields and st.source is not None:
            out["source"] = st.source
        return out

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
        return self.tweet_dict(st, self._at_ms(at), frozenset(fields) if fields is not None else TWEET_FIELDS_RENDERED)

    # --- users ------------------------------------------------------------------------
    def pinned_tweet_id(self, acc: Account) -> int | None:
        """The post an account pinned (an original from before the start), if it pins one."""
        if acc.index in self._pinned:
            return self._pinned[acc.index]
        pinned: int | None = None
        if acc.pin_offset_days is not None:
            posts = self.posts(acc.index)
            i = bisect_right(posts.ids, _max_id_at(self.start_ms - acc.pin_offset_days * DAY_MS)) - 1
            while i >= 0 and pinned is None:
                if posts.kinds[i] == ORIGINAL and posts.ids[i] not in posts.chains:
                    pinned = posts.ids[i]
                i -= 1
        self._pinned[acc.index] = pinned
        return pinned

    def user_metrics(self, acc: Account, t_ms: int) -> dict[str, int]:
        """Profile counters at `t_ms`: followers drift a little every day and grow over years."""
        day = t_ms // DAY_MS
        years = max(0.0, (t_ms - T2021_MS) / (365.25 * DAY_MS))
        wobble = ((day * 2654435761 + acc.index * 40503 + self.seed * 97) % 1001) / 1000.0 - 0.5
        followers = int(acc.followers_base * (1.0 + acc.followers_growth) ** years * (1.0 + 0.01 * wobble))
        days = max(0, day - T2021_MS // DAY_MS)
        out = {
            "followers_count": max(0, followers),
            "following_count": acc.following_base + days // 25,
            "tweet_count": self._tweet_count(acc, t_ms),
            "listed_count": acc.listed_base + days // 90,
        }
        if acc.likes_per_day is not None:
            out["like_count"] = int(acc.likes_per_day * (days + 400))
        return out

    def user_dict(self, acc: Account, t_ms: int, fields: frozenset[str] | set[str]) -> dict[str, Any]:
        """The API object for a user with the requested user.fields (opt-in)."""
        out: dict[str, Any] = {
            "id": acc.user_id,
            "name": acc.attribute_at("name", t_ms),
            "username": acc.username_at(t_ms),
        }
        if not fields:
            return out
        description, desc_entities = acc.attribute_at("description", t_ms)
        if "created_at" in fields:
            out["created_at"] = format_api_time(acc.created_ms)
        if "description" in fields:
            out["description"] = description
        if "entities" in fields:
            entities: dict[str, Any] = {}
            if acc.url is not None:
                short, expanded = acc.url
                display = expanded.split("://", 1)[-1]
                entities["url"] = {
                    "urls": [
                        {"start": 0, "end": len(short), "url": short, "expanded_url": expanded, "display_url": display}
                    ]
                }
            if desc_entities:
                entities["description"] = desc_entities
            if entities:
                out["entities"] = entities
        location = acc.attribute_at("location", t_ms)
        if "location" in fields and location is not None:
            out["location"] = location
        if "most_recent_tweet_id" in fields:
            recent = self.most_recent_tweet_id(acc, t_ms)
            if recent is not None:
                out["most_recent_tweet_id"] = str(recent)
        if "pinned_tweet_id" in fields:
            pinned = self.pinned_tweet_id(acc)
            if pinned is not None and self.tweet_status(pinned, t_ms) == "ok":
                out["pinned_tweet_id"] = str(pinned)
        if "profile_image_url" in fields:
            out["profile_image_url"] = acc.profile_image_url
        if "protected" in fields:
            out["protected"] = acc.status == "protected"
        if "public_metrics" in fields:
            out["public_metrics"] = self.user_metrics(acc, t_ms)
        if "url" in fields and acc.url is not None:
            out["url"] = acc.url[0]
        verified_type = acc.attribute_at("verified_type", t_ms)
        if "verified" in fields:
            out["verified"] = verified_type != "none"
        if "verified_type" in fields:
            out["verified_type"] = verified_type
        return out

    def most_recent_tweet_id(self, acc: Account, t_ms: int) -> int | None:
        ids, _ = self._window(acc.index, t_ms, 1)
        return ids[-1] if ids else None


TWEET_FIELDS_RENDERED = frozenset(
    [
        "attachments",
        "author_id",
        "conversation_id",
        "created_at",
        "edit_controls",
        "entities",
        "in_reply_to_user_id",
        "lang",
        "note_tweet",
        "possibly_sensitive",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "source",
    ]
)
USER_FIELDS_RENDERED = frozenset(
    [
        "created_at",
        "description",
        "entities",
        "location",
        "most_recent_tweet_id",
        "pinned_tweet_id",
        "profile_image_url",
        "protected",
        "public_metrics",
        "url",
        "verified",
        "verified_type",
    ]
)
