"""One X API response as the collectors see it, and pagination over ``meta.next_token``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestion.errors import PaginationLoopError


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


def paginate(get: Callable[[str, str, Mapping[str, Any]], Page], endpoint: str, path: str,
             params: Mapping[str, Any]) -> Iterator[Page]:
    """Yield every page ``get`` returns, following ``meta.next_token``; a page with only
    ``errors`` is yielded too.

    A repeated token raises :class:`PaginationLoopError` instead of looping forever.
    """
    seen: set[str] = set()
    token: str | None = None
    while True:
        query = dict(params)
        if token:
            query["pagination_token"] = token
        page = get(endpoint, path, query)
        yield page
        token = page.meta.get("next_token")
        if not token:
            return
        if token in seen:
            raise PaginationLoopError(f"{endpoint}: next_token repeated; stopping", endpoint=endpoint)
        seen.add(token)
