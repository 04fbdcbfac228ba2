"""``plan --exact``: each account's history since ``since`` sized with ``GET /2/tweets/counts/all``.

Billed $0.01 a request, so it is bounded (one request per 31 days of history, plus one), asked once
and cached in the lake (``state/plan/counts/<user id>.json``: a second plan costs nothing), counted
in the usage ledger and checked against the budget before each request (the client's meter, set by
the face: :func:`ingestion.usage.metered`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from common.lake import Lake
from common.layout import isoformat_z
from ingestion.client import XClient
from ingestion.planner.replay import DAY
from ingestion.state import read_json, update_json

COUNTS_PREFIX = "state/plan/counts/"


def requests_needed(since: int, now: int) -> int:
    """The most ``counts/all`` requests one account's history needs (a page covers 31 days)."""
    return max(1, math.ceil((now - since) / (31 * DAY))) + 1


def cached_count(lake: Lake, user_id: str, since: int) -> int | None:
    doc = read_json(lake, f"{COUNTS_PREFIX}{user_id}.json") or {}
    value = doc.get("total") if isinstance(doc, dict) and doc.get("since") == since else None
    return int(value) if isinstance(value, int) and value >= 0 else None


def count_since(lake: Lake, client: XClient, user_id: str, since: int, now: int) -> tuple[int, int]:
    """(posts of ``user_id`` since ``since``, requests sent): from the cache, else counts/all."""
    cached = cached_count(lake, user_id, since)
    if cached is not None:
        return cached, 0
    total, requests = 0, 0
    pages = client.tweet_counts_all(
        f"from:{user_id}",
        max_requests=requests_needed(since, now),
        granularity="day",
        start_time=isoformat_z(datetime.fromtimestamp(since, UTC)),
        end_time=isoformat_z(datetime.fromtimestamp(now - 30, UTC)),
    )
    for page in pages:
        requests += 1
        total += int(page.meta.get("total_tweet_count") or sum(int(d.get("tweet_count", 0)) for d in page.data))
    key = f"{COUNTS_PREFIX}{user_id}.json"
    update_json(lake, key, lambda _: ({"since": since, "through": now, "total": total}, None))
    return total, requests
