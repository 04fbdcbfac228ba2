"""The metrics refresh policy: which known tweets a metrics run asks for, by their age.

``--policy "0-2d:2h,2d-7d:1d,7d-30d:7d"`` (the default): age tiers, each with a refresh interval.
A tweet is **due** when it has never been refreshed, or when its last refresh (kept in the tweet
index; a tweet collected with its metrics counts as refreshed then) is at least its tier's
interval ago. Why these tiers (docs/money.md): a post's counts grow as ``1 - exp(-age/tau)`` with
tau of hours to about a day, so they have all but stopped moving after a week; the API bills a
post at most once per UTC day, so the 2-hourly reads of a young post cost one read a day; a post
older than 30 days is never read again (a tier ``30d+:30d`` would cost $0.005 a month per post).
A policy whose last tier ends (``0-2d:2h,2d-30d:1d``) never refreshes older tweets again;
``--max-age-days N`` ends the policy at ``N`` days the same way. ``all`` (no policy) refreshes every
known tweet at every run.

**Grace.** A run scheduled every 2 h starts a few seconds later or earlier each time; a tweet
refreshed at 10:00:07 must be due at 12:00:02. A tweet is due when at most ``max(60 s, 5 %)`` of
its interval is left (:data:`GRACE_SHARE`).

**The budget** (:class:`ingestion.usage.Budget`) picks among due tweets: :func:`choose` takes the
youngest first while the month-to-date spend plus what this run adds stays within it (a post
already billed today costs nothing more: the API de-duplicates per UTC day); the rest wait.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DEFAULT_POLICY = "0-2d:2h,2d-7d:1d,7d-30d:7d"
GRACE_SHARE = 0.05
GRACE_MIN_SECONDS = 60

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


class PolicyError(ValueError):
    """A ``--policy`` that cannot be read; the message says what is wrong and how it should look."""


MAX_DURATION_SECONDS = 100 * 365 * 86400
"""No age or interval of a post is longer than a century."""


def parse_duration(text: str, what: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise PolicyError(f"--policy: {what} {text!r} is not a duration like 90m, 2h, 1.5d or 1w")
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not seconds <= MAX_DURATION_SECONDS:  # also inf: a 400-digit age is no age
        raise PolicyError(f"--policy: {what} {text[:20]!r}… is longer than {MAX_DURATION_SECONDS // UNITS['d']:,} days")
    return int(seconds)


def format_duration(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Tier:
    start: int  # age in seconds, inclusive
    end: int | None  # exclusive; None: no end
    interval: int  # seconds between refreshes

    def __str__(self) -> str:
        span = f"{format_duration(self.start) if self.start else '0'}" + (
            f"-{format_duration(self.end)}" if self.end is not None else "+"
        )
        return f"{span}:{format_duration(self.interval) if self.interval else '0'}"


@dataclass(frozen=True)
class Policy:
    tiers: tuple[Tier, ...]

    @classmethod
    def parse(cls, text: str) -> Policy:
        """``"0-2d:2h,2d-7d:12h,30d+:7d"`` → a policy; tiers must start at 0 and follow each other."""
        text = (text or "").strip()
        if text.lower() in ("all", "every-run"):
            return EVERY_RUN
        if not text:
            raise PolicyError(f"--policy is empty; e.g. {DEFAULT_POLICY!r} (or 'all')")
        tiers: list[Tier] = []
        for raw in text.split(","):
            part = raw.strip()
            if ":" not in part:
                raise PolicyError(f"--policy: tier {part!r} needs AGE_RANGE:INTERVAL, e.g. 2d-7d:12h")
            span, interval_text = (p.strip() for p in part.rsplit(":", 1))
            if span.endswith("+"):
                start, end = _age(span[:-1]), None
            elif "-" in span:
                low, high = span.split("-", 1)
                start, end = _age(low), _age(high)
            else:
                raise PolicyError(f"--policy: age range {span!r} must be FROM-TO (2d-7d) or FROM+ (30d+)")
            interval = 0 if interval_text == "0" else parse_duration(interval_text, "interval")
            if end is not None and end <= start:
                raise PolicyError(f"--policy: tier {part!r} ends before it starts")
            expected = tiers[-1].end if tiers else 0
            if tiers and tiers[-1].end is None:
                raise PolicyError(
                    f"--policy: tier {part!r} follows an open tier ({tiers[-1]}); the open one must be last"
                )
            if start != expected:
                raise PolicyError(
                    f"--policy: tier {part!r} starts at {format_duration(start) if start else '0'}, "
                    f"but the tiers before it end at {format_duration(expected) if expected else '0'} "
                    "(tiers must start at 0 and follow each other without gap or overlap)"
                )
            tiers.append(Tier(start, end, interval))
        return cls(tuple(tiers))

    def __str__(self) -> str:
        return "all" if self == EVERY_RUN else ",".join(str(t) for t in self.tiers)

    @property
    def max_age(self) -> int | None:
        """The age (seconds) beyond which a tweet is never refreshed; None when the last tier is open."""
        return self.tiers[-1].end

    def ending_at(self, max_age_days: float | None) -> Policy:
        """The policy with no tier beyond ``max_age_days`` (``--max-age-days``: a tier that ends)."""
        if max_age_days is None:
            return self
        limit = int(max_age_days * 86400)
        tiers = []
        for tier in self.tiers:
            if tier.start >= limit:
                break
            tiers.append(Tier(tier.start, limit if tier.end is None or tier.end > limit else tier.end, tier.interval))
        if not tiers:
            raise PolicyError("--max-age-days leaves no tier of the policy")
        return Policy(tuple(tiers))

    def interval(self, age: int) -> int | None:
        """The refresh interval of a tweet ``age`` seconds old; None when no tier holds it."""
        for tier in self.tiers:
            if age >= tier.start and (tier.end is None or age < tier.end):
                return tier.interval
        return None if age >= 0 else self.tiers[0].interval  # a clock a little behind the tweet

    def due(self, age: int, since_refresh: int | None) -> bool:
        """Whether a tweet ``age`` seconds old, refreshed ``since_refresh`` seconds ago (None: never), is due."""
        interval = self.interval(age)
        if interval is None:
            return False
        if since_refresh is None or interval == 0:
            return True
        return since_refresh >= interval - max(GRACE_MIN_SECONDS, GRACE_SHARE * interval)


def _age(text: str) -> int:
    text = text.strip()
    return 0 if text == "0" else parse_duration(text, "age")


EVERY_RUN = Policy((Tier(0, None, 0),))


@dataclass(frozen=True)
class Choice:
    """What a metrics run asks for: ``ids`` (youngest first) and how many due tweets wait."""

    ids: list[int]
    due: int
    waited: int
    post_reads: int  # what asking ``ids`` may add to the bill (ids already billed today cost nothing)


def choose(due_youngest_first: Sequence[int], post_reads_left: int | None, read_today: Callable[[int], bool]) -> Choice:
    """Take due tweets youngest first while their cost fits ``post_reads_left`` (None: no limit)."""
    if post_reads_left is None:
        cost = sum(1 for i in due_youngest_first if not read_today(i))
        return Choice(list(due_youngest_first), len(due_youngest_first), 0, cost)
    taken: list[int] = []
    cost = 0
    for tweet_id in due_youngest_first:
        extra = 0 if read_today(tweet_id) else 1
        if cost + extra > post_reads_left:
            continue  # a younger one costs nothing more only if billed today: keep looking for those
        taken.append(tweet_id)
        cost += extra
    return Choice(taken, len(due_youngest_first), len(due_youngest_first) - len(taken), cost)
