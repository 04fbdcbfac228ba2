"""The endpoints tweetlake reads: routes, their accepted parameters, and their handlers.

A handler validates its parameters (raising one `BadRequest` with every problem), then answers
from the world at the clock's now. A failure of the primary resource (an unknown, suspended or
protected user on a timeline) is a 200 whose body holds only `errors`, as the real API answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from xsim import expansions, timeline
from xsim.accounts import Account
from xsim.clock import SimClock
from xsim.errors import not_authorized, not_found, suspended
from xsim.pagination import PageTokens
from xsim.parameters import (
    EXCLUDE,
    ID_PATTERN,
    ID_RE,
    TWEET_EXPANSIONS,
    USER_EXPANSIONS,
    USERNAME_PATTERN,
    USERNAME_RE,
    Params,
)
from xsim.rendering import TweetStatic
from xsim.world import World

_FIELDS = ("expansions", "tweet.fields", "user.fields")
_TWEET_FIELDS = ("expansions", "tweet.fields", "media.fields", "poll.fields", "place.fields", "user.fields")
_TIMELINE = ("id", "since_id", "until_id", "max_results", "pagination_token", "exclude", "start_time", "end_time")


@dataclass(frozen=True)
class Endpoint:
    """A route: its stats/rate-limit template, its handler name and accepted parameters."""

    template: str
    pattern: re.Pattern[str]
    handler: str
    params: tuple[str, ...]


ENDPOINTS = [
    Endpoint("GET /2/users/by", re.compile(r"^/2/users/by$"), "users_by", ("usernames", *_FIELDS)),
    Endpoint("GET /2/users/:id/tweets", re.compile(r"^/2/users/([^/]+)/tweets$"), "timeline",
             (*_TIMELINE, *_TWEET_FIELDS)),
    Endpoint("GET /2/users/:id", re.compile(r"^/2/users/([^/]+)$"), "user", ("id", *_FIELDS)),
    Endpoint("GET /2/users", re.compile(r"^/2/users$"), "users", ("ids", *_FIELDS)),
    Endpoint("GET /2/tweets", re.compile(r"^/2/tweets$"), "tweets", ("ids", *_TWEET_FIELDS)),
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


class Endpoints:
    """The handlers, by `Endpoint.handler` name: (params, path argument) -> body."""

    def __init__(self, world: World, clock: SimClock) -> None:
        self.world = world
        self.clock = clock
        self.tokens = PageTokens(world.seed)

    def answer(self, endpoint: Endpoint, params: Params, path_arg: str | None) -> dict[str, Any]:
        handler = getattr(self, endpoint.handler)
        body: dict[str, Any] = handler(params, path_arg)
        return body

    def timeline(self, params: Params, raw_id: str | None) -> dict[str, Any]:
        user_id = params.path_id(raw_id)
        fields = params.fields(TWEET_EXPANSIONS)
        exclude = params.csv("exclude", EXCLUDE)
        max_results = params.max_results(10, 5, 100)
        since_id = params.id_value("since_id")
        until_id = params.id_value("until_id")
        start_s = params.time_value("start_time")
        end_s = params.time_value("end_time")
        if start_s is not None and end_s is not None and start_s > end_s:
            end_text = params.values["end_time"]
            params.error("end_time", end_text, f"Invalid 'end_time':'{end_text}'. 'end_time' must be on or after "
                         "'start_time'")
        acc = self.world.account(user_id) if ID_RE.match(user_id) else None
        token = params.values.get("pagination_token")
        cursor: tuple[bool, int] | None = None
        if token is not None:
            cursor = self.tokens.read(token, acc.index) if acc else None
            if cursor is None:
                params.error(
                    "pagination_token", token, f"The `pagination_token` query parameter value [{token}] is not valid"
                )
        params.check()
        if acc is None:
            return {"errors": [not_found("user", "id", user_id)]}
        if acc.status == "suspended":
            return {"errors": [suspended("id", user_id)]}
        if acc.status == "protected":
            return {"errors": [not_authorized("user", "id", user_id)]}

        t_ms = self.clock.now_ms()
        ids, kinds = self.world.timeline_window(acc.index, t_ms, "replies" in exclude)
        first, last = timeline.page_bounds(ids, max_results, since_id, until_id, start_s, end_s, cursor)
        page_ids = ids[first:last]
        page_kinds = kinds[first:last]
        drop = timeline.excluded_kinds(exclude)
        chosen = [tid for tid, kind in zip(reversed(page_ids), reversed(page_kinds), strict=True) if kind not in drop]
        statics = [st for st in (self.world._static(tid) for tid in chosen) if st is not None]
        body: dict[str, Any] = {}
        if statics:
            body = expansions.tweets_body(self.world, statics, fields, t_ms)
        body["meta"] = self._page_meta(acc, statics, page_ids, len(page_ids) == max_results, cursor)
        return body

    def _page_meta(
        self, acc: Account, statics: list[TweetStatic], page_ids: list[int], full: bool, cursor: tuple[bool, int] | None
    ) -> dict[str, Any]:
        """`next_token` whenever the underlying page was full (or paging backwards), so a timeline
        that ends on a page boundary ends with an empty page without token."""
        backwards = cursor is not None and cursor[0]
        meta: dict[str, Any] = {"result_count": len(statics)}
        if statics:
            meta["newest_id"] = str(statics[0].id)
            meta["oldest_id"] = str(statics[-1].id)
        if page_ids and (full or backwards):
            meta["next_token"] = self.tokens.make(acc.index, False, page_ids[0])
        if page_ids and cursor is not None and (full or not backwards):
            meta["previous_token"] = self.tokens.make(acc.index, True, page_ids[-1])
        return meta

    def tweets(self, params: Params, _: str | None) -> dict[str, Any]:
        ids = params.id_list("ids", ID_RE, ID_PATTERN)
        fields = params.fields(TWEET_EXPANSIONS)
        params.check()
        t_ms = self.clock.now_ms()
        statics: list[TweetStatic] = []
        errors: list[dict[str, Any]] = []
        for raw in ids:
            status = self.world.tweet_status(raw, t_ms)
            st = self.world._static(int(raw)) if status == "ok" else None
            if st is not None:
                statics.append(st)
            elif status == "not_authorized":
                errors.append(not_authorized("tweet", "ids", raw))
            else:
                errors.append(not_found("tweet", "ids", raw))
        body = expansions.tweets_body(self.world, statics, fields, t_ms) if statics else {}
        if errors:
            body["errors"] = errors + body.get("errors", [])
        return body

    def users_by(self, params: Params, _: str | None) -> dict[str, Any]:
        names = params.id_list("usernames", USERNAME_RE, USERNAME_PATTERN)
        fields = params.fields(USER_EXPANSIONS)
        params.check()
        t_ms = self.clock.now_ms()
        return self._lookup(names, "usernames", lambda name: self.world.account_by_username(name, t_ms), fields, t_ms)

    def users(self, params: Params, _: str | None) -> dict[str, Any]:
        ids = params.id_list("ids", ID_RE, ID_PATTERN)
        fields = params.fields(USER_EXPANSIONS)
        params.check()
        return self._lookup(ids, "ids", self.world.account, fields, self.clock.now_ms())

    def user(self, params: Params, raw_id: str | None) -> dict[str, Any]:
        user_id = params.path_id(raw_id)
        fields = params.fields(USER_EXPANSIONS)
        params.check()
        body = self._lookup([user_id], "id", self.world.account, fields, self.clock.now_ms())
        if "data" in body:
            body["data"] = body["data"][0]
        return body

    def _lookup(
        self,
        keys: list[str],
        parameter: str,
        find: Callable[[str], Account | None],
        fields: dict[str, list[str]],
        t_ms: int,
    ) -> dict[str, Any]:
        """The users `find` resolves; an unknown or suspended one is a partial error naming its key."""
        found = []
        errors: list[dict[str, Any]] = []
        for key in keys:
            acc = find(key)
            if acc is None:
                errors.append(not_found("user", parameter, key))
            elif acc.status == "suspended":
                errors.append(suspended(parameter, key))
            else:
                found.append(acc)
        return expansions.users_body(self.world, found, errors, fields, t_ms)
