"""One pass down an account's timeline (:class:`_Pass`), what the tweets collector's layers share:
its constants, the cap it meets, and which 400s are an account's own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ingestion.collectors.tweets.window import Asked
from ingestion.cursors import Pending
from ingestion.errors import (
    APIError,
    ForbiddenError,
    RateLimitError,
    UnauthorizedError,
    UsageCapExceeded,
)
from ingestion.page import Page
from ingestion.registry import Account

log = logging.getLogger(__name__)

TIMELINE_CAP = 3200
TIMELINE_CAP_NO_REPLIES = 800
CAP_SHARE = 0.97  # the API's reach at the boundary is not exact to the post
PAGE_SIZE = 100
PROFILE_PARAMS = {"expansions": "author_id", "user.fields": "public_metrics"}
DEFAULT_SINCE = datetime(2022, 1, 1, tzinfo=UTC)
# A 400 naming only these is about one account's own request; any other parameter is shared by all.
OWN_PARAMS = frozenset({"id", "since_id", "until_id", "pagination_token", "next_token", "query"})
BACKFILL_MODES = ("auto", "search", "off")
SEARCH_PAGE_SIZE = 500
SEARCH_NEGATIONS = {"retweets": "-is:retweet", "replies": "-is:reply"}
STOPS_THE_RUN = (UnauthorizedError, ForbiddenError, UsageCapExceeded, RateLimitError)
MAX_FAILING_IN_A_ROW = 3


def _max_id(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if int(a) >= int(b) else b


def _profile_tweet_count(page: Page, user_id: str) -> int | None:
    for user in page.includes.get("users") or []:
        if isinstance(user, dict) and str(user.get("id")) == user_id:
            metrics = user.get("public_metrics")
            count = metrics.get("tweet_count") if isinstance(metrics, dict) else None
            # a count is an estimate: one that is no finite whole number (Infinity, "x") is absent
            return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
    return None


def _about_own_request(err: APIError) -> bool:
    """Whether a 400 names only the account's own parameters (or none: then it cannot be told apart,
    and one account must not stop the others)."""
    body = err.body if isinstance(err.body, dict) else {}
    named = {name for e in body.get("errors") or [] if isinstance(e, dict) for name in e.get("parameters") or {}}
    return named <= OWN_PARAMS


@dataclass
class _Pass:
    lower: dict[str, str]  # {"since_id": …} or {"start_time": …}
    until_id: str | None = None
    top_id: str | None = None  # newest tweet written in this pass (carried over when resuming)
    oldest_id: str | None = None
    fetched: int = 0  # tweets written in this pass (carried over when resuming)
    scanned: int = 0  # timeline positions paged through (carried over when resuming)
    tweet_count: int | None = None  # the profile's, from the first page of this pass that carried it
    count_at_lower: int | None = None  # the profile's tweet_count when ``since_id`` was the newest tweet

    @classmethod
    def resume(cls, pending: Pending, count_at_lower: int | None) -> _Pass:
        return cls(
            lower=pending.lower,
            until_id=pending.until_id,
            top_id=pending.top_id,
            fetched=pending.fetched,
            scanned=pending.scanned,
            count_at_lower=count_at_lower,
        )

    def pending(self) -> Pending:
        return Pending(
            lower=self.lower,
            until_id=self.oldest_id or self.until_id,
            top_id=self.top_id,
            fetched=self.fetched,
            scanned=self.scanned,
        )

    def read(self, page: Page, user_id: str) -> int:
        """Take in a page of this pass; returns how many of its posts fell outside the window asked
        (kept in the lake, but they move no position: :mod:`.window`)."""
        ids, outside = Asked.of(user_id, self.lower, self.until_id).split(page)
        if ids:
            self.top_id = _max_id(self.top_id, str(max(ids)))
            self.oldest_id = str(min(ids) if self.oldest_id is None else min(min(ids), int(self.oldest_id)))
        self.fetched += len(ids)
        has_next = bool(page.meta.get("next_token"))
        self.scanned += PAGE_SIZE if has_next else int(page.meta.get("result_count", len(page.data)))
        if self.tweet_count is None:
            self.tweet_count = _profile_tweet_count(page, user_id)
        return outside

    def unreachable(self, cap: int, tweet_count: int | None) -> int | None:
        """Tweets beyond the cap's reach; ``None`` when the counts to tell are missing."""
        if tweet_count is None:
            return None
        if "since_id" in self.lower:
            return None if self.count_at_lower is None else max(0, tweet_count - self.count_at_lower - cap)
        return max(0, tweet_count - cap)


@dataclass
class _Capped:
    account: Account
    first: _Pass  # the pass whose lower bound the cap cut off
    fetched: int
    tweet_count: int | None
