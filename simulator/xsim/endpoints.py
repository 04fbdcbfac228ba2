"""The endpoints tweetlake reads: routes, their accepted parameters, and their handlers.

Full-archive search and counts (`search/all`, `counts/all`; see `search`) and the project's usage
(`usage/tweets`, from `billing`) are here too.

A handler validates its parameters (raising one `BadRequest` with every problem), then answers
from the world at the clock's now. A failure of the primary resource (an unknown, suspended or
protected user on a timeline) is a 200 whose body holds only `errors`, as the real API answers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from xsim import expansions, search, timeline
from xsim.accounts import Account
from xsim.billing import Billing
from xsim.clock import SimClock
from xsim.errors import not_authorized, not_found, suspended
from xsim.pagination import PageTokens, QueryTokens
from xsim.parameters import (
    ARCHIVE_MIN_TIME_MS,
    EXCLUDE,
    GRANULARITIES,
    ID_PATTERN,
    ID_RE,
    SEARCH_COUNT_FIELDS,
    SORT_ORDERS,
    TWEET_EXPANSIONS,
    USAGE_FIELDS,
    USER_EXPANSIONS,
    USERNAME_PATTERN,
    USERNAME_RE,
    Params,
)
from xsim.rendering import TweetStatic
from xsim.routes import ENDPOINTS, TEMPLATES, Endpoint, route

__all__ = ["ENDPOINTS", "TEMPLATES", "Endpoint", "Endpoints", "route"]
from xsim.timeutil import DAY_MS, HOUR_MS, format_api_time, ms_from_id
from xsim.world import World

ARCHIVE_DEFAULT_DAYS = 30
"""Without `start_time` (or `since_id`) search and counts reach back 30 days before `end_time`."""
ARCHIVE_DEFAULT_END_LAG_SECONDS = 30
"""Without `end_time` search and counts end 30 seconds before the request (the newest posts come later)."""
COUNTS_PAGE_MS = 31 * DAY_MS
"""A counts page covers at most 31 days; older buckets come with its `next_token`."""
_BUCKET_MS = {"minute": 60_000, "hour": HOUR_MS, "day": DAY_MS}
_DEFAULT_USAGE_FIELDS = ("cap_reset_day", "project_cap", "project_id", "project_usage")
PROJECT_ID = "1469000000000000002"
CLIENT_APP_ID = "29000001"


class Endpoints:
    """The handlers, by `Endpoint.handler` name: (params, path argument) -> body."""

    def __init__(self, world: World, clock: SimClock, billing: Billing | None = None) -> None:
        self.world = world
        self.clock = clock
        self.billing = billing or Billing()
        self.tokens = PageTokens(world.seed)
        self.search_tokens = QueryTokens(world.seed, "search")
        self.counts_tokens = QueryTokens(world.seed, "counts")

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
            params.error(
                "end_time", end_text, f"Invalid 'end_time':'{end_text}'. 'end_time' must be on or after 'start_time'"
            )
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

    # --- full archive -------------------------------------------------------------------------
    def _archive_request(self, params: Params) -> tuple[search.Query | None, search.Bounds, search.Bounds, str | None]:
        """The query, its bounds as given and with the documented defaults (`end_time` 30 s before
        now, `start_time` 30 days before that), and the page token, all validated. A token is bound
        to the bounds as given, so it stays valid while the clock moves."""
        raw_query = params.values.get("query")
        query: search.Query | None = None
        if not raw_query:
            params.error("query", raw_query or "", "The `query` query parameter can not be empty")
        else:
            try:
                query = search.parse_query(raw_query)
            except search.QueryError as err:
                params.error("query", raw_query, str(err))
        since_id = params.id_value("since_id")
        until_id = params.id_value("until_id")
        start_s = params.time_value("start_time", ARCHIVE_MIN_TIME_MS)
        end_s = params.time_value("end_time", ARCHIVE_MIN_TIME_MS)
        now_s = self.clock.now_ms() // 1000
        if end_s is not None and end_s > now_s - 10:
            end_text = params.values["end_time"]
            params.error(
                "end_time",
                end_text,
                f"Invalid 'end_time':'{end_text}'. 'end_time' must be a minimum of 10 "
                "seconds prior to the request time.",
            )
        if start_s is not None and end_s is not None and start_s >= end_s:
            end_text = params.values["end_time"]
            params.error(
                "end_time", end_text, f"Invalid 'end_time':'{end_text}'. 'end_time' must be after 'start_time'"
            )
        if "next_token" in params.values and "pagination_token" in params.values:
            params.error(
                "next_token",
                params.values["next_token"],
                "At most one of `pagination_token`, `next_token` may be provided.",
            )
        token = params.values.get("next_token") or params.values.get("pagination_token")
        given = search.Bounds(since_id, until_id, start_s, end_s)
        if end_s is None:
            end_s = now_s - ARCHIVE_DEFAULT_END_LAG_SECONDS
        if start_s is None and since_id is None:
            start_s = end_s - ARCHIVE_DEFAULT_DAYS * 86_400
        return query, given, search.Bounds(since_id, until_id, start_s, end_s), token

    def search_all(self, params: Params, _: str | None) -> dict[str, Any]:
        fields = params.fields(TWEET_EXPANSIONS)
        max_results = params.max_results(10, 10, 500)
        sort_order = params.values.get("sort_order")
        if sort_order is not None and sort_order not in SORT_ORDERS:
            params.error(
                "sort_order",
                sort_order,
                f"The `sort_order` query parameter value [{sort_order}] is not one of [{','.join(SORT_ORDERS)}]",
            )
        query, given, bounds, token = self._archive_request(params)
        fingerprint = QueryTokens.fingerprint(query.key() if query else None, given)
        cursor: int | None = None
        if token is not None:
            cursor = self.search_tokens.read(token, fingerprint)
            if cursor is None:
                name = "next_token" if "next_token" in params.values else "pagination_token"
                params.error(name, token, f"The `{name}` query parameter value [{token}] is not valid")
        params.check()
        assert query is not None
        t_ms = self.clock.now_ms()
        acc = search.author(self.world, query, t_ms)
        if acc is None:
            return {"meta": {"result_count": 0}}
        if cursor is not None:  # continue below the last post the previous page held
            until = cursor if bounds.until_id is None else min(cursor, bounds.until_id)
            bounds = search.Bounds(bounds.since_id, until, bounds.start_s, bounds.end_s)
        found = search.matching(self.world, acc, query, bounds, t_ms)
        chosen = found[:max_results]
        statics = [st for st in (self.world._static(tid) for tid in chosen) if st is not None]
        body: dict[str, Any] = expansions.tweets_body(self.world, statics, fields, t_ms) if statics else {}
        meta: dict[str, Any] = {"result_count": len(statics)}
        if statics:
            meta["newest_id"] = str(statics[0].id)
            meta["oldest_id"] = str(statics[-1].id)
        if len(found) > max_results:
            meta["next_token"] = self.search_tokens.make(fingerprint, chosen[-1])
        body["meta"] = meta
        return body

    def counts_all(self, params: Params, _: str | None) -> dict[str, Any]:
        granularity = params.values.get("granularity", "hour")
        if granularity not in GRANULARITIES:
            params.error(
                "granularity",
                granularity,
                f"The `granularity` query parameter value [{granularity}] is not one of [{','.join(GRANULARITIES)}]",
            )
            granularity = "hour"
        count_fields = params.csv("search_count.fields", SEARCH_COUNT_FIELDS) or SEARCH_COUNT_FIELDS
        query, given, bounds, token = self._archive_request(params)
        fingerprint = QueryTokens.fingerprint(query.key() if query else None, given, granularity)
        cursor: int | None = None
        if token is not None:
            cursor = self.counts_tokens.read(token, fingerprint)
            if cursor is None:
                name = "next_token" if "next_token" in params.values else "pagination_token"
                params.error(name, token, f"The `{name}` query parameter value [{token}] is not valid")
        params.check()
        assert query is not None
        t_ms = self.clock.now_ms()
        step = _BUCKET_MS[granularity]
        end_ms = (bounds.end_s * 1000) if bounds.end_s is not None else t_ms
        if cursor is not None:
            end_ms = cursor
        start_ms = bounds.start_s * 1000 if bounds.start_s is not None else ms_from_id(bounds.since_id or 0)
        page_start = max(start_ms, end_ms - COUNTS_PAGE_MS)
        acc = search.author(self.world, query, t_ms)
        ids = [] if acc is None else search.matching(self.world, acc, query, bounds, t_ms)
        times = sorted(ms_from_id(tid) for tid in ids)
        buckets = []
        edge = page_start - page_start % step  # buckets align to the granularity's boundaries
        while edge < end_ms:
            lo, hi = max(edge, page_start), min(edge + step, end_ms)
            count = bisect_left(times, hi) - bisect_left(times, lo)
            bucket = {"end": format_api_time(hi), "start": format_api_time(lo), "tweet_count": count}
            buckets.append({k: v for k, v in bucket.items() if k in count_fields})
            edge += step
        meta: dict[str, Any] = {"total_tweet_count": bisect_left(times, end_ms) - bisect_left(times, page_start)}
        if page_start > start_ms:
            meta["next_token"] = self.counts_tokens.make(fingerprint, page_start)
        return {"data": buckets, "meta": meta}

    def usage_tweets(self, params: Params, _: str | None) -> dict[str, Any]:
        raw_days = params.values.get("days")
        days = 7
        if raw_days is not None:
            if not raw_days.isdigit() or not 1 <= int(raw_days) <= 90:
                params.error("days", raw_days, f"The `days` query parameter value [{raw_days}] is not between 1 and 90")
            else:
                days = int(raw_days)
        asked = params.csv("usage.fields", USAGE_FIELDS) or list(_DEFAULT_USAGE_FIELDS)
        params.check()
        t_ms = self.clock.now_ms()
        daily = [
            {"date": f"{day.isoformat()}T00:00:00.000Z", "usage": str(count)}
            for day, count in self.billing.daily_post_reads(t_ms, days)
        ]
        data: dict[str, Any] = {
            "cap_reset_day": self.billing.config.cap_reset_day,
            "daily_client_app_usage": [
                {"client_app_id": CLIENT_APP_ID, "usage": daily, "usage_result_count": len(daily)}
            ],
            "daily_project_usage": {"project_id": PROJECT_ID, "usage": daily},
            "project_cap": str(self.billing.config.post_cap),
            "project_id": PROJECT_ID,
            "project_usage": str(self.billing.cycle_post_reads(t_ms)),
        }
        return {"data": {k: v for k, v in data.items() if k in asked}}
