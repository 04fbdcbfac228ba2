"""The world's accounts: identities, the special roles and profile histories, drawn from the seed.

Accounts are cheap and built eagerly, in index order, each from its own seeded generator, so
adding a feature to one account never reshuffles the others.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xsim import text as tx
from xsim.timeutil import DAY_MS, HOUR_MS, from_ms, id_from_ms

if TYPE_CHECKING:
    from xsim.world import World

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
RENAME_AFTER_MS = 26 * HOUR_MS
T2021_MS = 1609459200000  # 2021-01-01T00:00:00Z: the first simulated post time

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


def build_accounts(world: World, count: int) -> list[Account]:
    """Every account's identity and profile history (cheap: no posts yet)."""
    accounts: list[Account] = []
    taken_names: set[str] = set()
    taken_ids: set[str] = set()
    specials = count >= MIN_ACCOUNTS_FOR_SPECIALS
    for index in range(count):
        rng = random.Random(f"{world.seed}:account:{index}")
        acc = Account(world, index)
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
        _draw_habits(acc, rng, old, world.activity)
        name = _unique_username(rng, taken_names)
        acc._usernames = [(0, name)]
        if acc.role == "renamed":
            new_name = _unique_username(rng, taken_names)
            acc._usernames.append((world.start_ms + RENAME_AFTER_MS, new_name))
        accounts.append(acc)
    for acc in accounts:
        acc._changes = _profile_history(world.seed, world.horizon_ms, acc, accounts)
    return accounts


def _draw_habits(acc: Account, rng: random.Random, old: bool, activity: float) -> None:
    """How often and how an account posts, its audience and its profile's fixed parts."""
    acc.lang = rng.choice(["en", "en", "en", "es", "fr", "pt", "de", "ja", "ar"])
    acc.rate = math.exp(rng.uniform(math.log(0.3), math.log(15.0))) * activity
    acc.p_reply = rng.uniform(0.05, 0.4)
    acc.p_quote = rng.uniform(0.01, 0.08)
    acc.p_retweet = rng.uniform(0.0, 0.3)
    if acc.role == "heavy":
        acc.rate = 6.0 * max(1.0, activity)
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


def _unique_username(rng: random.Random, taken: set[str]) -> str:
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


def _description(rng: random.Random, acc: Account, accounts: list[Account]) -> tuple[str, dict[str, Any]]:
    """A short bio with entities (description mentions carry only the username)."""
    others = [(o.username_at(0), o.user_id) for o in rng.sample(accounts, min(2, len(accounts)))]
    segs = tx.body_segments(rng, acc.lang, others)
    text, entities = tx.render(segs)
    if len(text) > 160:
        text, entities = tx.render(segs, limit=160)
    for mention in entities.get("mentions", []):
        mention.pop("id", None)
    return text, entities


def _profile_history(
    seed: int, horizon_ms: int, acc: Account, accounts: list[Account]
) -> dict[str, list[tuple[int, Any]]]:
    """Initial profile plus a few dated changes a year (what the warehouse keeps as SCD2)."""
    rng = random.Random(f"{seed}:profile:{acc.index}")
    first = rng.choice(_FIRST.get(acc.lang, _FIRST["en"]))
    last = rng.choice(_LAST)
    base_name = f"{first} {last}".strip()
    changes: dict[str, list[tuple[int, Any]]] = {
        "name": [(0, base_name)],
        "description": [(0, _description(rng, acc, accounts))],
        "location": [(0, rng.choice(_LOCATIONS))],
        "verified_type": [(0, rng.choice(_VERIFIED_TYPES))],
    }
    t = T2021_MS
    while True:
        t += int(rng.expovariate(3.0 / (365 * DAY_MS))) + 1
        if t >= horizon_ms:
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
            value = _description(rng, acc, accounts)
        elif attribute == "location":
            value = rng.choice(_LOCATIONS)
        else:
            value = rng.choice(_VERIFIED_TYPES)
        if value != changes[attribute][-1][1]:
            changes[attribute].append((t, value))
    return changes
