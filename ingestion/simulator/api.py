"""The X API v2 surface of the simulator: routing, validation, auth, limits, faults, bodies.

`Api.handle` is transport-free (method, path, headers, body in; a `Response` out) so the HTTP
server stays a thin shell. Response shapes, error titles and messages follow XAPI.md and real
recorded responses; nothing here is a convenience the real API lacks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ingestion.simulator.clock import SimClock
from ingestion.simulator.faults import Fault, FaultConfig, Faults
from ingestion.simulator.ratelimit import RateLimiter
from ingestion.simulator.stats import DROPPED, Stats
from ingestion.simulator.timeutil import format_iso, id_from_ms, parse_rfc3339, to_ms
from ingestion.simulator.world import REPLY, RETWEET, SPECIAL_ROLES, TweetStatic, World

PROBLEMS = "https://api.twitter.com/2/problems/"
NOT_FOUND_TYPE = PROBLEMS + "resource-not-found"
NOT_AUTHORIZED_TYPE = PROBLEMS + "not-authorized-for-resource"
ID_PATTERN = "^[0-9]{1,19}$"
USERNAME_PATTERN = "^[A-Za-z0-9_]{1,15}$"
_ID_RE = re.compile(ID_PATTERN)
_USERNAME_RE = re.compile(USERNAME_PATTERN)
MIN_TIME_MS = 1289001600000  # 2010-11-06T00:00:00Z, the earliest start_time/end_time accepted

TWEET_FIELDS = [
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
]
USER_FIELDS = [
    "affiliation",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
]
MEDIA_FIELDS = [
    "alt_text",
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "variants",
    "width",
]
POLL_FIELDS = ["duration_minutes", "end_datetime", "id", "options", "voting_status"]
PLACE_FIELDS = ["contained_within", "country", "country_code", "full_name", "geo", "id", "name", "place_type"]
TWEET_EXPANSIONS = [
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "entities.note.mentions.username",
    "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys",
    "referenced_tweets.id.author_id",
]
USER_EXPANSIONS = ["affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id"]
_LIST_PARAMS: dict[str, list[str]] = {
    "tweet.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
    "exclude": ["replies", "retweets"],
}


@dataclass(frozen=True)
class Endpoint:
    """A route: its stats/rate-limit template, its handler name and accepted parameters."""

    template: str
    pattern: re.Pattern[str]
    handler: str
    params: tuple[str, ...]


_ENDPOINTS = [
    Endpoint(
        "GET /2/users/by",
        re.compile(r"^/2/users/by$"),
        "users_by",
        ("usernames", "expansions", "tweet.fields", "user.fields"),
    ),
    Endpoint(
        "GET /2/users/:id/tweets",
        re.compile(r"^/2/users/([^/]+)/tweets$"),
        "timeline",
        (
            "id",
            "since_id",
            "until_id",
            "max_results",
            "pagination_token",
            "exclude",
            "start_time",
            "end_time",
            "expansions",
            "tweet.fields",
            "media.fields",
            "poll.fields",
            "place.fields",
            "user.fields",
        ),
    ),
    Endpoint(
        "GET /2/users/:id",
        re.compile(r"^/2/users/([^/]+)$"),
        "user",
        ("id", "expansions", "tweet.fields", "user.fields"),
    ),
    Endpoint("GET /2/users", re.compile(r"^/2/users$"), "users", ("ids", "expansions", "tweet.fields", "user.fields")),
    Endpoint(
        "GET /2/tweets",
        re.compile(r"^/2/tweets$"),
        "tweets",
        ("ids", "expansions", "tweet.fields", "media.fields", "poll.fields", "place.fields", "user.fields"),
    ),
]
TEMPLATES = [e.template for e in _ENDPOINTS]


@dataclass
class Response:
    """What the transport should send; `drop` means close the connection without answering."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class BadRequest(Exception):
    """Collected parameter errors, answered as one 400 in the v2 invalid-request shape."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _problem(status: int, title: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    body.update(extra)
    return body


UNAUTHORIZED = _problem(401, "Unauthorized")
# What the API answers an app whose project or access level lacks the endpoint (recorded responses).
CLIENT_FORBIDDEN = {
    "client_id": "12345678",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
    "Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": PROBLEMS + "client-forbidden",
}
NOT_FOUND = _problem(404, "Not Found Error", "The requested resource was not found")
TOO_MANY_REQUESTS = _problem(429, "Too Many Requests")
USAGE_CAPPED = {
    "title": "UsageCapExceeded",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": PROBLEMS + "usage-capped",
    "period": "Monthly",
    "scope": "Product",
    "status": 429,
}


def resource_error(
    title: str, detail: str, value: str, resource_type: str, parameter: str, type_: str, section: str | None = None
) -> dict[str, Any]:
    """One entry of a 200 response's `errors` array, in the real field order."""
    error: dict[str, Any] = {
        "value": value,
        "detail": detail,
        "title": title,
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": type_,
    }
    if section is not None:
        error["section"] = section
    return error


def not_found(resource_type: str, parameter: str, value: str, section: str | None = None) -> dict[str, Any]:
    detail = f"Could not find {resource_type} with {parameter}: [{value}]."
    return resource_error("Not Found Error", detail, value, resource_type, parameter, NOT_FOUND_TYPE, section)


def suspended(parameter: str, value: str, section: str | None = None) -> dict[str, Any]:
    return resource_error(
        "Forbidden", f"User has been suspended: [{value}].", value, "user", parameter, NOT_FOUND_TYPE, section
    )


def not_authorized(resource_type: str, parameter: str, value: str, section: str | None = None) -> dict[str, Any]:
    noun = "Tweet" if resource_type == "tweet" else resource_type
    detail = f"Sorry, you are not authorized to see the {noun} with {parameter}: [{value}]."
    return resource_error("Authorization Error", detail, value, resource_type, parameter, NOT_AUTHORIZED_TYPE, section)


class _Params:
    """Validated query parameters of one request."""

    def __init__(self, endpoint: Endpoint, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        self.errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for name, value in pairs:
            if name not in endpoint.params or name == "id":
                allowed = ",".join(endpoint.params)
                self.error(name, value, f"The query parameter [{name}] is not one of [{allowed}]")
            elif name in seen:
                self.error(name, value, f"Duplicate parameters are not allowed: the `{name}` query parameter")
            else:
                seen.add(name)
                self.values[name] = value

    def error(self, name: str, value: str, message: str) -> None:
        self.errors.append({"parameters": {name: [value]}, "message": message})

    def csv(self, name: str, allowed: list[str]) -> list[str]:
        """A comma-separated parameter whose every item must be in `allowed`."""
        raw = self.values.get(name)
        if raw is None:
            return []
        items = raw.split(",")
        out: list[str] = []
        for item in items:
            if item not in allowed:
                self.error(
                    name, raw, f"The `{name}` query parameter value [{item}] is not one of [{','.join(allowed)}]"
                )
            elif item not in out:
                out.append(item)
        return out

    def id_value(self, name: str) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        if not _ID_RE.match(raw):
            self.error(name, raw, f"The `{name}` query parameter value [{raw}] does not match {ID_PATTERN}")
            return None
        return int(raw)

    def time_value(self, name: str) -> int | None:
        """An RFC 3339 time as Unix seconds (the API works at second granularity)."""
        raw = self.values.get(name)
        if raw is None:
            return None
        parsed = parse_rfc3339(raw)
        if parsed is None:
            self.error(
                name,
                raw,
                f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 date-time, e.g. YYYY-MM-DDTHH:mm:ssZ",
            )
            return None
        ms = to_ms(parsed)
        if ms < MIN_TIME_MS:
            self.error(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be on or after 2010-11-06T00:00:00Z")
            return None
        return ms // 1000

    def id_list(self, name: str, pattern: re.Pattern[str], pattern_text: str) -> list[str]:
        raw = self.values.get(name)
        if raw is None or raw == "":
            self.error(name, raw or "", f"The `{name}` query parameter can not be empty")
            return []
        items = raw.split(",")
        if len(items) > 100:
            self.error(
                name,
                raw,
                f"The number of values in the `{name}` query parameter list [{len(items)}] is not between 1 and 100",
            )
            return []
        out: list[str] = []
        for item in items:
            if not pattern.match(item):
                self.error(name, item, f"The `{name}` query parameter value [{item}] does not match {pattern_text}")
            elif item not in out:
                out.append(item)
        return out


class Api:
    """Everything behind the HTTP socket: one instance per simulator server."""

    def __init__(
        self,
        world: World,
        clock: SimClock,
        stats: Stats,
        faults: Faults,
        limiter: RateLimiter,
        token: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.world = world
        self.clock = clock
        self.stats = stats
        self.faults = faults
        self.limiter = limiter
        self.token = token
        self._sleep = sleep
        self._token_key = hashlib.sha256(f"pagination:{world.seed}".encode()).digest()

    # --- entry point --------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        """Answer one HTTP request (the transport only frames bytes)."""
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/_sim/") or path == "/_sim":
            return self._control(method, path, body)
        endpoint, path_arg = self._route(method, path)
        template = endpoint.template if endpoint else f"{method} {path}"
        response = self._api(method, endpoint, path_arg, parts.query, headers)
        self.stats.record(template, DROPPED if response.drop else response.status)
        return response

    def _route(self, method: str, path: str) -> tuple[Endpoint | None, str | None]:
        if method != "GET":
            return None, None
        for endpoint in _ENDPOINTS:
            match = endpoint.pattern.match(path)
            if match:
                return endpoint, unquote(match.group(1)) if match.groups() else None
        return None, None

    def _api(
        self, method: str, endpoint: Endpoint | None, path_arg: str | None, query: str, headers: Mapping[str, str]
    ) -> Response:
        if not self._authorized(headers):
            return self._reply(401, UNAUTHORIZED)
        if endpoint is None:
            return self._reply(404, NOT_FOUND)
        template = endpoint.template
        fault, delay = self.faults.draw()
        if fault is not None:
            if fault.kind == "drop":
                return Response(0, drop=True)
            if fault.kind == "usage_cap":
                return self._reply(429, USAGE_CAPPED, self.limiter.peek(template))
            if fault.kind == "rate_limit":
                return self._reply(429, TOO_MANY_REQUESTS, self._rate_limit_fault_headers(template, fault))
            return self._error_fault(template, fault.status)
        allowed, limit_headers = self.limiter.consume(template)
        if not allowed:
            return self._reply(429, TOO_MANY_REQUESTS, limit_headers)
        if delay > 0:
            self._sleep(delay)
        pairs = parse_qsl(query, keep_blank_values=True)
        params = _Params(endpoint, pairs)
        try:
            payload = getattr(self, "_" + endpoint.handler)(params, path_arg)
        except BadRequest as exc:
            return self._reply(
                400,
                {
                    "errors": exc.errors,
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": PROBLEMS + "invalid-request",
                },
                limit_headers,
            )
        return self._reply(200, payload, limit_headers)

    def _rate_limit_fault_headers(self, template: str, fault: Fault) -> dict[str, str]:
        headers = {} if fault.headers == "none" else self.limiter.exhaust(template)
        if fault.headers == "past":
            headers["x-rate-limit-reset"] = str(int(self.limiter.now()) - 60)
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        return headers

    def _error_fault(self, template: str, status: int) -> Response:
        """An injected error in the body the API sends for that status. Authentication and access
        are refused before any rate-limit accounting, so those answers carry no rate-limit headers."""
        if status == 401:
            return self._reply(401, UNAUTHORIZED)
        if status == 403:
            return self._reply(403, CLIENT_FORBIDDEN)
        if status == 404:
            return self._reply(404, NOT_FOUND, self.limiter.peek(template))
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Internal Server Error"
        return self._reply(status, _problem(status, title), self.limiter.peek(template))

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        value = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, credential = value.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return False
        return self.token is None or hmac.compare_digest(credential.strip(), self.token)

    @staticmethod
    def _reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        out = {"content-type": "application/json; charset=utf-8"}
        if headers:
            out.update(headers)
        return Response(status, _json(payload), out)

    # --- shared parameter handling ------------------------------------------------------------
    def _fields(self, params: _Params, expansions_allowed: list[str]) -> dict[str, list[str]]:
        out = {name: params.csv(name, allowed) for name, allowed in _LIST_PARAMS.items() if name != "exclude"}
        out["expansions"] = params.csv("expansions", expansions_allowed)
        return out

    @staticmethod
    def _check(params: _Params) -> None:
        if params.errors:
            raise BadRequest(params.errors)

    def _path_id(self, params: _Params, raw: str | None) -> str:
        raw = raw or ""
        if not _ID_RE.match(raw):
            params.error("id", raw, f"The `id` query parameter value [{raw}] does not match {ID_PATTERN}")
        return raw

    # --- pagination tokens --------------------------------------------------------------------
    def _make_token(self, user_index: int, backwards: bool, cursor: int) -> str:
        """Opaque, unforgeable cursor: a MAC over (user, direction, id), then the masked payload."""
        payload = struct.pack(">BIQ", 1 if backwards else 0, user_index, cursor)
        mac = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:8]
        mask = hashlib.sha256(self._token_key + mac).digest()[: len(payload)]
        masked = bytes(a ^ b for a, b in zip(payload, mask, strict=True))
        return base64.b32encode(mac + masked).decode("ascii").rstrip("=").lower()

    def _read_token(self, token: str, user_index: int) -> tuple[bool, int] | None:
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except (ValueError, TypeError):
            return None
        if len(raw) != 21:
            return None
        mac, masked = raw[:8], raw[8:]
        mask = hashlib.sha256(self._token_key + mac).digest()[: len(masked)]
        payload = bytes(a ^ b for a, b in zip(masked, mask, strict=True))
        expected = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:8]
        if not hmac.compare_digest(mac, expected):
            return None
        backwards, index, cursor = struct.unpack(">BIQ", payload)
        if index != user_index:
            return None
        return bool(backwards), cursor

    # --- endpoints ----------------------------------------------------------------------------
    def _timeline(self, params: _Params, raw_id: str | None) -> dict[str, Any]:
        user_id = self._path_id(params, raw_id)
        fields = self._fields(params, TWEET_EXPANSIONS)
        exclude = params.csv("exclude", _LIST_PARAMS["exclude"])
        max_results = 10
        raw_max = params.values.get("max_results")
        if raw_max is not None:
            if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
                params.error(
                    "max_results",
                    raw_max,
                    f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100",
                )
            else:
                max_results = int(raw_max)
        since_id = params.id_value("since_id")
        until_id = params.id_value("until_id")
        start_s = params.time_value("start_time")
        end_s = params.time_value("end_time")
        if start_s is not None and end_s is not None and start_s > end_s:
            params.error(
                "end_time",
                params.values["end_time"],
                f"Invalid 'end_time':'{params.values['end_time']}'. 'end_time' must be on or after 'start_time'",
            )
        acc = self.world.account(user_id) if _ID_RE.match(user_id) else None
        token = params.values.get("pagination_token")
        cursor: tuple[bool, int] | None = None
        if token is not None:
            cursor = self._read_token(token, acc.index if acc else -1) if acc else None
            if cursor is None:
                params.error(
                    "pagination_token", token, f"The `pagination_token` query parameter value [{token}] is not valid"
                )
        self._check(params)
        if acc is None:
            return {"errors": [not_found("user", "id", user_id)]}
        if acc.status == "suspended":
            return {"errors": [suspended("id", user_id)]}
        if acc.status == "protected":
            return {"errors": [not_authorized("user", "id", user_id)]}

        t_ms = self.clock.now_ms()
        ids, kinds = self.world.timeline_window(acc.index, t_ms, "replies" in exclude)
        lo, hi = 0, len(ids)
        if since_id is not None:
            lo = bisect_right(ids, since_id)
        elif start_s is not None:
            lo = bisect_left(ids, id_from_ms(start_s * 1000))
        if until_id is not None:
            hi = min(hi, bisect_left(ids, until_id))
        if end_s is not None:
            hi = min(hi, bisect_left(ids, id_from_ms((end_s + 1) * 1000)))
        backwards = cursor is not None and cursor[0]
        if cursor is None:
            first, last = max(lo, hi - max_results), hi
        elif not backwards:
            hi = min(hi, bisect_left(ids, cursor[1]))
            first, last = max(lo, hi - max_results), hi
        else:
            lo = max(lo, bisect_right(ids, cursor[1]))
            first, last = lo, min(hi, lo + max_results)
        first = min(first, last)
        page_ids = ids[first:last]
        page_kinds = kinds[first:last]
        full = len(page_ids) == max_results
        drop = set()
        if "replies" in exclude:
            drop.add(REPLY)
        if "retweets" in exclude:
            drop.add(RETWEET)
        chosen = [tid for tid, kind in zip(reversed(page_ids), reversed(page_kinds), strict=True) if kind not in drop]
        statics = [st for st in (self.world._static(tid) for tid in chosen) if st is not None]
        body: dict[str, Any] = {}
        if statics:
            body = self._tweets_body(statics, fields, t_ms)
        meta: dict[str, Any] = {"result_count": len(statics)}
        if statics:
            meta["newest_id"] = str(statics[0].id)
            meta["oldest_id"] = str(statics[-1].id)
        if page_ids and (full or backwards):
            meta["next_token"] = self._make_token(acc.index, False, page_ids[0])
        if page_ids and cursor is not None and (full or not backwards):
            meta["previous_token"] = self._make_token(acc.index, True, page_ids[-1])
        body["meta"] = meta
        return body

    def _tweets(self, params: _Params, _: str | None) -> dict[str, Any]:
        ids = params.id_list("ids", _ID_RE, ID_PATTERN)
        fields = self._fields(params, TWEET_EXPANSIONS)
        self._check(params)
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
        body = self._tweets_body(statics, fields, t_ms) if statics else {}
        if errors:
            body["errors"] = errors + body.get("errors", [])
        return body

    def _users_by(self, params: _Params, _: str | None) -> dict[str, Any]:
        names = params.id_list("usernames", _USERNAME_RE, USERNAME_PATTERN)
        fields = self._fields(params, USER_EXPANSIONS)
        self._check(params)
        t_ms = self.clock.now_ms()
        found = []
        errors: list[dict[str, Any]] = []
        for name in names:
            acc = self.world.account_by_username(name, t_ms)
            if acc is None:
                errors.append(not_found("user", "usernames", name))
            elif acc.status == "suspended":
                errors.append(suspended("usernames", name))
            else:
                found.append(acc)
        return self._users_body(found, errors, fields, t_ms)

    def _users(self, params: _Params, _: str | None) -> dict[str, Any]:
        ids = params.id_list("ids", _ID_RE, ID_PATTERN)
        fields = self._fields(params, USER_EXPANSIONS)
        self._check(params)
        return self._lookup_ids(ids, "ids", fields)

    def _user(self, params: _Params, raw_id: str | None) -> dict[str, Any]:
        user_id = self._path_id(params, raw_id)
        fields = self._fields(params, USER_EXPANSIONS)
        self._check(params)
        body = self._lookup_ids([user_id], "id", fields)
        if "data" in body:
            body["data"] = body["data"][0]
        return body

    def _lookup_ids(self, ids: list[str], parameter: str, fields: dict[str, list[str]]) -> dict[str, Any]:
        t_ms = self.clock.now_ms()
        found = []
        errors: list[dict[str, Any]] = []
        for user_id in ids:
            acc = self.world.account(user_id)
            if acc is None:
                errors.append(not_found("user", parameter, user_id))
            elif acc.status == "suspended":
                errors.append(suspended(parameter, user_id))
            else:
                found.append(acc)
        return self._users_body(found, errors, fields, t_ms)

    # --- bodies and expansions --------------------------------------------------------------
    def _users_body(
        self, accounts: list[Any], errors: list[dict[str, Any]], fields: dict[str, list[str]], t_ms: int
    ) -> dict[str, Any]:
        user_fields = frozenset(fields["user.fields"])
        expansions = fields["expansions"]
        body: dict[str, Any] = {}
        if accounts:
            body["data"] = [self.world.user_dict(acc, t_ms, user_fields) for acc in accounts]
        tweet_ids: list[int] = []
        for acc in accounts:
            if "pinned_tweet_id" in expansions:
                pinned = self.world.pinned_tweet_id(acc)
                if pinned is not None and self.world.tweet_status(pinned, t_ms) == "ok":
                    tweet_ids.append(pinned)
            if "most_recent_tweet_id" in expansions and acc.status != "protected":
                recent = self.world.most_recent_tweet_id(acc, t_ms)
                if recent is not None:
                    tweet_ids.append(recent)
        if tweet_ids:
            tweet_fields = frozenset(fields["tweet.fields"])
            seen: set[int] = set()
            tweets = []
            for tid in tweet_ids:
                st = self.world._static(tid)
                if st is not None and tid not in seen:
                    seen.add(tid)
                    tweets.append(self.world.tweet_dict(st, t_ms, tweet_fields))
            body["includes"] = {"tweets": tweets}
        if errors:
            body["errors"] = errors
        return body

    def _tweets_body(self, statics: list[TweetStatic], fields: dict[str, list[str]], t_ms: int) -> dict[str, Any]:
        """`data` plus whatever `includes`/`errors` the requested expansions produce."""
        world = self.world
        tweet_fields = frozenset(fields["tweet.fields"])
        user_fields = frozenset(fields["user.fields"])
        expansions = set(fields["expansions"])
        body: dict[str, Any] = {"data": [world.tweet_dict(st, t_ms, tweet_fields) for st in statics]}
        if not expansions:
            return body
        inc_tweets: dict[int, TweetStatic] = {}
        inc_users: dict[str, Any] = {}
        media: dict[str, str] = {}
        errors: list[dict[str, Any]] = []
        primary = {st.id for st in statics}

        def add_user(user_id: str, parameter: str, shown: str | None = None) -> None:
            if user_id in inc_users:
                return
            acc = world.account(user_id)
            value = shown or user_id
            if acc is None:
                errors.append(not_found("user", parameter, value, "includes"))
            elif acc.status == "suspended":
                errors.append(suspended(parameter, value, "includes"))
            else:
                inc_users[user_id] = acc

        referenced: list[TweetStatic] = []
        for st in statics:
            if "author_id" in expansions:
                add_user(st.author_id, "author_id")
            if "in_reply_to_user_id" in expansions and st.in_reply_to_user_id:
                add_user(st.in_reply_to_user_id, "in_reply_to_user_id")
            if "entities.mentions.username" in expansions:
                for mention in st.entities.get("mentions", []):
                    acc = world.account_by_username(mention["username"], t_ms)
                    if acc is None:
                        errors.append(not_found("user", "entities.mentions.username", mention["username"], "includes"))
                    else:
                        add_user(acc.user_id, "entities.mentions.username", mention["username"])
            if "attachments.media_keys" in expansions:
                for key, kind in st.media:
                    media[key] = kind
            if "edit_history_tweet_ids" in expansions:
                for version in st.chain:
                    if version not in primary and version not in inc_tweets and version <= _max_version(t_ms):
                        other = world._static(version)
                        if other is not None:
                            inc_tweets[version] = other
            if ("referenced_tweets.id" in expansions or "referenced_tweets.id.author_id" in expansions) and st.ref:
                ref_id = st.ref[1]
                status = world.tweet_status(ref_id, t_ms)
                if status == "ok":
                    target = world._static(ref_id)
                    if target is not None:
                        referenced.append(target)
                        if "referenced_tweets.id" in expansions:
                            inc_tweets.setdefault(ref_id, target)
                elif "referenced_tweets.id" in expansions:
                    maker = not_authorized if status == "not_authorized" else not_found
                    errors.append(maker("tweet", "referenced_tweets.id", str(ref_id), "includes"))
        if "referenced_tweets.id.author_id" in expansions:
            for target in referenced:
                add_user(target.author_id, "referenced_tweets.id.author_id")
        includes: dict[str, Any] = {}
        if media:
            includes["media"] = [_media_dict(key, kind, fields["media.fields"]) for key, kind in media.items()]
        if inc_users:
            includes["users"] = [world.user_dict(acc, t_ms, user_fields) for acc in inc_users.values()]
        if inc_tweets:
            includes["tweets"] = [world.tweet_dict(st, t_ms, tweet_fields) for st in inc_tweets.values()]
        if includes:
            body["includes"] = includes
        if errors:
            unique = {json.dumps(e, sort_keys=True): e for e in errors}
            body["errors"] = list(unique.values())
        return body

    # --- control plane ------------------------------------------------------------------------
    def _control(self, method: str, path: str, raw_body: bytes) -> Response:
        """`/_sim/*`: stats, clock, faults and a world summary (no auth, not counted)."""
        try:
            body = json.loads(raw_body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            route = (method, path.rstrip("/"))
            if route == ("GET", "/_sim/stats"):
                return self._reply(200, self._stats_json())
            if route == ("POST", "/_sim/stats/reset"):
                self.stats.reset()
                return self._reply(200, self._stats_json())
            if route == ("GET", "/_sim/clock"):
                return self._reply(200, self._clock_json())
            if route == ("POST", "/_sim/clock"):
                if "now" in body:
                    self.clock.set(str(body["now"]))
                if "advance_seconds" in body:
                    self.clock.advance(seconds=float(body["advance_seconds"]))
                return self._reply(200, self._clock_json())
            if route == ("GET", "/_sim/faults"):
                return self._reply(200, self._faults_json())
            if route == ("POST", "/_sim/faults"):
                self._apply_faults(body)
                return self._reply(200, self._faults_json())
            if route == ("GET", "/_sim/world"):
                return self._reply(200, self._world_json())
        except (ValueError, TypeError, KeyError) as exc:
            return self._reply(400, {"title": "Invalid Request", "detail": str(exc), "status": 400})
        return self._reply(404, _problem(404, "Not Found Error", "Unknown simulator control route"))

    def _stats_json(self) -> dict[str, Any]:
        return {
            "counts": self.stats.counts(),
            "by_status": [
                {"endpoint": endpoint, "status": status, "count": count}
                for (endpoint, status), count in sorted(self.stats.by_status().items())
            ],
            "total": self.stats.total(),
        }

    def _clock_json(self) -> dict[str, Any]:
        return {"now": format_iso(self.clock.now()), "frozen": self.clock.frozen}

    def _faults_json(self) -> dict[str, Any]:
        return {"config": asdict(self.faults.config), "pending": self.faults.pending()}

    def _apply_faults(self, body: dict[str, Any]) -> None:
        queued = {"fail_next", "fail_status", "drop_next", "usage_cap_next", "rate_limit_next", "rate_limit_headers",
                  "retry_after", "clear"}
        settings = {k: v for k, v in body.items() if k not in queued}
        known = set(FaultConfig.__dataclass_fields__)
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if body.get("clear"):
            self.faults.clear()
        if settings:
            self.faults.update(**settings)
        for key, value in body.items():  # queue one-shot faults in the order they were given
            if key == "fail_next" and value:
                self.faults.fail_next(int(value), int(body.get("fail_status", 503)))
            elif key == "drop_next" and value:
                self.faults.drop_next(int(value))
            elif key == "usage_cap_next" and value:
                self.faults.usage_cap_next(int(value))
            elif key == "rate_limit_next" and value:
                retry_after = body.get("retry_after")
                self.faults.rate_limit_next(int(value), headers=str(body.get("rate_limit_headers", "window")),
                                            retry_after=None if retry_after is None else int(retry_after))

    def _world_json(self) -> dict[str, Any]:
        t_ms = self.clock.now_ms()
        return {
            "seed": self.world.seed,
            "start": format_iso(self.world.start),
            "now": format_iso(self.clock.now()),
            "specials": {
                role: index
                for index, role in SPECIAL_ROLES.items()
                if index < len(self.world.accounts) and self.world.accounts[index].role
            },
            "accounts": [
                {
                    "index": acc.index,
                    "id": acc.user_id,
                    "username": acc.username_at(t_ms),
                    "status": acc.status,
                    "role": acc.role,
                }
                for acc in self.world.accounts
            ],
        }


def _max_version(t_ms: int) -> int:
    return ((t_ms - 1288834974657 + 1) << 22) - 1


def _media_dict(key: str, kind: str, media_fields: list[str]) -> dict[str, Any]:
    """A media object: media_key and type by default, a few more fields when asked."""
    out: dict[str, Any] = {"media_key": key, "type": kind}
    seed = sum(key.encode())
    if "width" in media_fields:
        out["width"] = 600 + seed % 1400
    if "height" in media_fields:
        out["height"] = 400 + seed % 1000
    if "url" in media_fields and kind == "photo":
        out["url"] = f"https://pbs.twimg.com/media/{key.split('_', 1)[1][-15:]}.jpg"
    if "preview_image_url" in media_fields and kind != "photo":
        out["preview_image_url"] = f"https://pbs.twimg.com/ext_tw_video_thumb/{key.split('_', 1)[1]}/pu/img/thumb.jpg"
    if "duration_ms" in media_fields and kind == "video":
        out["duration_ms"] = 1000 * (5 + seed % 120)
    return out
