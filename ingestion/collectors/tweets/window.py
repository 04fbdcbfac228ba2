"""What a timeline or search request asked for, and which posts of its answer fall inside it.

A request asks for one account's posts newer than ``since_id`` (or created at or after
``start_time``) and older than ``until_id``. A post outside that window (newer than ``until_id``,
at or older than ``since_id``, older than the start, an id minted after the answer came, another
author's, an id that is no number, a ``created_at`` that disagrees with the time its id encodes)
is real data and stays in the lake, counted in the run summary
(``outside_the_window_asked``), but it proves nothing about the window: it never moves a cursor, a
backlog or a gap. Only the posts inside move a position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.layout import parse_time
from ingestion.page import Page

SNOWFLAKE_EPOCH_MS = 1288834974657
CLOCK_SKEW_SECONDS = 600.0
"""How far a post's id may run ahead of this host's clock and still be taken as minted."""
CREATED_AT_SKEW_SECONDS = 5.0
"""How far a post's ``created_at`` may stray from the time its id encodes: the id is the authority."""
SEQUENTIAL_IDS_BELOW = 86_400_000 << 22
"""Ids from before snowflakes (2010) were counters: they encode no time, so ``created_at`` dates them."""


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _snowflake_time(tweet_id: int) -> float:
    """Epoch seconds a post id encodes."""
    return ((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000


@dataclass(frozen=True)
class Asked:
    author: str
    since_id: int | None = None
    start: datetime | None = None
    until_id: int | None = None

    @classmethod
    def of(cls, author: str, lower: dict[str, str], until_id: str | None) -> Asked:
        start = lower.get("start_time")
        return cls(
            author=author,
            since_id=_int(lower["since_id"]) if "since_id" in lower else None,
            start=parse_time(start) if start else None,
            until_id=_int(until_id) if until_id else None,
        )

    def holds(self, tweet: Any, received_at: float) -> int | None:
        """The post's id when it falls inside the window, else ``None``. ``received_at`` (epoch
        seconds) bounds the window above when no ``until_id`` does: an id minted after the answer
        came is no post yet."""
        if not isinstance(tweet, dict):
            return None
        tweet_id = _int(tweet.get("id"))
        if tweet_id is None or tweet_id <= 0:
            return None
        if str(tweet.get("author_id") or self.author) != self.author:
            return None
        if self.until_id is not None and tweet_id >= self.until_id:
            return None
        if self.since_id is not None and tweet_id <= self.since_id:
            return None
        if _snowflake_time(tweet_id) > received_at + CLOCK_SKEW_SECONDS:
            return None
        made = self._made(tweet, tweet_id)
        if made is None or (self.start is not None and made < self.start.timestamp()):
            return None
        return tweet_id

    @staticmethod
    def _made(tweet: dict[str, Any], tweet_id: int) -> float | None:
        """When the post was made, by its id; ``None`` when its ``created_at`` says otherwise (a post
        that lies about its time proves nothing about a window)."""
        created = tweet.get("created_at")
        try:
            stated = parse_time(str(created)).timestamp() if created else None
        except (ValueError, OverflowError):
            stated = None
        encoded = _snowflake_time(tweet_id)
        if tweet_id < SEQUENTIAL_IDS_BELOW:
            return encoded if stated is None else stated
        if stated is not None and abs(stated - encoded) > CREATED_AT_SKEW_SECONDS:
            return None
        return encoded

    def split(self, page: Page) -> tuple[list[int], int]:
        """The ids of the page's posts inside the window, and how many posts fell outside it."""
        received_at = page.received_at.timestamp()
        inside = [i for i in (self.holds(t, received_at) for t in page.data) if i is not None]
        return inside, len(page.data) - len(inside)
