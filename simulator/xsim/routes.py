"""The routes of the simulated X API: each endpoint's template (for rate limits and billing), its
handler's name and the parameters it accepts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_FIELDS = ("expansions", "tweet.fields", "user.fields")
_TWEET_FIELDS = ("expansions", "tweet.fields", "media.fields", "poll.fields", "place.fields", "user.fields")
_TIMELINE = ("id", "since_id", "until_id", "max_results", "pagination_token", "exclude", "start_time", "end_time")
_ARCHIVE = ("query", "start_time", "end_time", "since_id", "until_id", "next_token", "pagination_token")


@dataclass(frozen=True)
class Endpoint:
    """A route: its stats/rate-limit template, its handler name and accepted parameters."""

    template: str
    pattern: re.Pattern[str]
    handler: str
    params: tuple[str, ...]
    full_archive: bool = False  # a plan without full-archive access answers it 403


ENDPOINTS = [
    Endpoint("GET /2/users/by", re.compile(r"^/2/users/by$"), "users_by", ("usernames", *_FIELDS)),
    Endpoint(
        "GET /2/users/:id/tweets", re.compile(r"^/2/users/([^/]+)/tweets$"), "timeline", (*_TIMELINE, *_TWEET_FIELDS)
    ),
    Endpoint("GET /2/users/:id", re.compile(r"^/2/users/([^/]+)$"), "user", ("id", *_FIELDS)),
    Endpoint("GET /2/users", re.compile(r"^/2/users$"), "users", ("ids", *_FIELDS)),
    Endpoint("GET /2/tweets", re.compile(r"^/2/tweets$"), "tweets", ("ids", *_TWEET_FIELDS)),
    Endpoint(
        "GET /2/tweets/search/all",
        re.compile(r"^/2/tweets/search/all$"),
        "search_all",
        (*_ARCHIVE, "max_results", "sort_order", *_TWEET_FIELDS),
        full_archive=True,
    ),
    Endpoint(
        "GET /2/tweets/counts/all",
        re.compile(r"^/2/tweets/counts/all$"),
        "counts_all",
        (*_ARCHIVE, "granularity", "search_count.fields"),
        full_archive=True,
    ),
    Endpoint("GET /2/usage/tweets", re.compile(r"^/2/usage/tweets$"), "usage_tweets", ("days", "usage.fields")),
]
TEMPLATES = [e.template for e in ENDPOINTS]


def route(method: str, path: str) -> tuple[Endpoint | None, str | None]:
    """The endpoint a request targets and its path argument (`:id`), or (None, None)."""
    if method != "GET":
        return None, None
    for endpoint in ENDPOINTS:
        match = endpoint.pattern.match(path)
        if match:
            return endpoint, unquote(match.group(1)) if match.groups() else None
    return None, None
