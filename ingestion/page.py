"""One X API response as the collectors see it, what each endpoint's answer must hold, and pagination
over ``meta.next_token``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestion.errors import PaginationLoopError

Expect = Callable[[dict[str, Any]], "str | None"]
"""What is wrong with a 200's body for the endpoint that was asked (``None``: nothing)."""


@dataclass(frozen=True)
class Page:
    """One decoded API response and where it came from."""

    endpoint: str  # the endpoint template, e.g. "GET /2/users/:id/tweets"
    body: dict[str, Any]
    received_at: datetime

    @property
    def data(self) -> list[dict[str, Any]]:
        value = self.body.get("data")
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.body.get("meta") or {})

    @property
    def includes(self) -> dict[str, Any]:
        return dict(self.body.get("includes") or {})


def paginate(
    get: Callable[[str, str, Mapping[str, Any]], Page],
    endpoint: str,
    path: str,
    params: Mapping[str, Any],
    cursor_param: str = "pagination_token",
) -> Iterator[Page]:
    """Yield every page ``get`` returns, following ``meta.next_token`` (sent back as ``cursor_param``:
    timelines take ``pagination_token``, search ``next_token``); a page with only ``errors`` is
    yielded too.

    A repeated token raises :class:`PaginationLoopError` instead of looping forever.
    """
    seen: set[str] = set()
    token: str | None = None
    while True:
        query = dict(params)
        if token:
            query[cursor_param] = token
        page = get(endpoint, path, query)
        yield page
        token = page.meta.get("next_token")
        if not token:
            return
        if token in seen:
            raise PaginationLoopError(f"{endpoint}: next_token repeated; stopping", endpoint=endpoint)
        seen.add(token)


def expect_page(body: dict[str, Any]) -> str | None:
    """A timeline or search page: ``data`` and/or ``meta``, or only errors about the resource itself."""
    if "data" not in body and "meta" not in body:
        return None if body.get("errors") else "the page holds neither data nor meta"
    data, meta = body.get("data"), body.get("meta")
    if data is not None and not (isinstance(data, list) and all(isinstance(t, dict) and "id" in t for t in data)):
        return "its data is not a list of objects with an id"
    if meta is not None and not isinstance(meta, dict):
        return "its meta is not an object"
    count = (meta or {}).get("result_count")
    if isinstance(count, int) and count > 0 and not data:
        return f"meta.result_count is {count} but the page holds no data"
    return None


def expect_lookup(body: dict[str, Any]) -> str | None:
    """A lookup by ids or names: ``data`` and/or ``errors`` (which ids it answered for is the caller's
    to check: :func:`unanswered`)."""
    data, errors = body.get("data"), body.get("errors")
    if data is None and not errors:
        return "the lookup answers for none of the ids it was asked"
    if data is not None and not (isinstance(data, list) and all(isinstance(t, dict) and "id" in t for t in data)):
        return "its data is not a list of objects with an id"
    return None


def expect_users_lookup(body: dict[str, Any]) -> str | None:
    """A users lookup: :func:`expect_lookup`, and every user in ``data`` has an id and a username."""
    if problem := expect_lookup(body):
        return problem
    if not all(isinstance(u.get("id"), str) and isinstance(u.get("username"), str) for u in body.get("data") or []):
        return "a user in its data has no id or no username"
    return None


def expect_user(body: dict[str, Any]) -> str | None:
    """``GET /2/users/:id``: one user object in ``data``, or ``errors`` about it."""
    data = body.get("data")
    if data is None:
        return None if body.get("errors") else "the lookup answers neither with the user nor with an error"
    if not (isinstance(data, dict) and "id" in data):
        return "its data is not a user object with an id"
    return None


def _count(value: Any) -> bool:
    """A count the API may give: a non-negative integer (never a bool, a float, ``Infinity`` or text)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def expect_counts(body: dict[str, Any]) -> str | None:
    """A ``counts/all`` page: ``data`` (buckets with a ``tweet_count``) and/or ``meta``; every count a
    finite non-negative integer (a plan must never rest on ``Infinity`` or ``-5``)."""
    data, meta = body.get("data"), body.get("meta")
    if data is None and not isinstance(meta, dict):
        return "the counts page holds neither data nor meta"
    if data is not None and not (isinstance(data, list) and all(isinstance(b, dict) for b in data)):
        return "its data is not a list of buckets"
    if any(not _count(b.get("tweet_count")) for b in data or []):
        return "a bucket's tweet_count is not a non-negative integer"
    if meta is not None and not isinstance(meta, dict):
        return "its meta is not an object"
    if isinstance(meta, dict) and "total_tweet_count" in meta and not _count(meta["total_tweet_count"]):
        return "meta.total_tweet_count is not a non-negative integer"
    return None


def expect_usage(body: dict[str, Any]) -> str | None:
    """A ``GET /2/usage/tweets`` answer: ``data`` an object whose daily usage is a list."""
    data = body.get("data")
    if not isinstance(data, dict):
        return "its data is not an object"
    daily = data.get("daily_project_usage")
    if daily is not None and not (isinstance(daily, dict) and isinstance(daily.get("usage", []), list)):
        return "its daily_project_usage is not an object with a usage list"
    return None


def unanswered(page: Page, asked: list[str], field: str = "id") -> list[str]:
    """The asked ids (or usernames, ``field="username"``; compared without case) that the page holds
    neither in ``data`` nor in ``errors``."""

    def norm(value: Any) -> str:
        return str(value).lower()

    answered = {norm(obj.get(field)) for obj in page.data}
    answered |= {norm(e.get("value") or e.get("resource_id")) for e in page.errors}
    return [item for item in asked if norm(item) not in answered]
