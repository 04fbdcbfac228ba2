"""The ledger's storage: what a page bills and one document per UTC day and dataset.

``state/usage/YYYY-MM-DD/<dataset>.json`` holds the day's unique post ids and user ids (sorted
unsigned 64-bit integers, zlib, base64) and the counts requests, plus each run's own figures; runs
merge into it by a conditional write (:func:`ingestion.state.update_json`, a set union). A day's
billed reads are the union over its datasets' documents. See :mod:`ingestion.usage`.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from common.lake import Lake
from ingestion.errors import StateCorrupt
from ingestion.page import Page
from ingestion.state import read_json, update_json
from ingestion.usage.prices import Reads

USAGE_PREFIX = "state/usage/"


# -- what a page bills ---------------------------------------------------------------------------
def is_users_endpoint(endpoint: str) -> bool:
    """``GET /2/users/by``, ``GET /2/users``, ``GET /2/users/:id`` return users; timelines return posts."""
    path = endpoint.split(" ", 1)[-1]
    return path.startswith("/2/users") and not path.endswith("/tweets")


def _ids(objects: Any) -> list[int]:
    out = []
    for obj in objects if isinstance(objects, list) else [objects] if isinstance(objects, dict) else []:
        if isinstance(obj, dict):
            try:
                out.append(int(str(obj.get("id"))))
            except ValueError:
                continue
    return out


def billable(page: Page) -> tuple[list[int], list[int], int]:
    """``(post ids, user ids, counts requests)`` a successful page is billed for."""
    endpoint = page.endpoint
    if "/usage/" in endpoint:
        return [], [], 0
    if "/counts/" in endpoint:
        return [], [], 1
    found = page.body.get("includes")
    includes: dict[str, Any] = found if isinstance(found, dict) else {}
    posts = _ids(includes.get("tweets"))
    users = _ids(includes.get("users"))
    primary = _ids(page.body.get("data"))
    (users if is_users_endpoint(endpoint) else posts).extend(primary)
    return posts, users, 0


# -- the stored form -----------------------------------------------------------------------------
def _pack(ids: Iterable[int]) -> str:
    values = array("Q", sorted(ids))
    return base64.b64encode(zlib.compress(values.tobytes(), 6)).decode("ascii")


def _unpack(text: Any, key: str) -> set[int]:
    if not text:
        return set()
    values = array("Q")
    try:
        values.frombytes(zlib.decompress(base64.b64decode(str(text), validate=True)))
    except (binascii.Error, zlib.error, ValueError) as err:
        raise StateCorrupt(
            f"the usage ledger document {key} holds ids that cannot be read ({err}): restore it, or delete "
            "that day's file (the ledger then under-counts that day)"
        ) from None
    return set(values)


def day_key(day: date, dataset: str) -> str:
    return f"{USAGE_PREFIX}{day.isoformat()}/{dataset}.json"


@dataclass
class DayUsage:
    """What one dataset's runs read on one UTC day."""

    post_ids: set[int] = field(default_factory=set)
    user_ids: set[int] = field(default_factory=set)
    counts_requests: int = 0

    def reads(self) -> Reads:
        return Reads(len(self.post_ids), len(self.user_ids), self.counts_requests)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def day_doc_problem(doc: Any) -> str | None:
    """What is wrong with a usage ledger document's shape (``None``: nothing, or no document)."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        return "not a JSON object"
    if not _count(doc.get("counts_requests", 0)):
        return f"its counts_requests {str(doc.get('counts_requests'))[:40]!r} is not a count"
    runs = doc.get("runs", {})
    if not isinstance(runs, dict) or not all(
        isinstance(r, dict) and _count(r.get("counts_requests", 0)) for r in runs.values()
    ):
        return f"its runs {str(runs)[:40]!r} are not an object of runs and their counts"
    return None


def _decode(doc: Mapping[str, Any] | None, key: str) -> DayUsage:
    if not doc:
        return DayUsage()
    if not isinstance(doc, Mapping):
        raise StateCorrupt(f"the usage ledger document {key} is not a JSON object: restore it, or delete it")
    return DayUsage(
        _unpack(doc.get("post_ids"), key), _unpack(doc.get("user_ids"), key), int(doc.get("counts_requests", 0))
    )


def write_day(lake: Lake, day: date, dataset: str, run_id: str, usage: DayUsage) -> None:
    """Merge one run's reads of ``day`` into the day's document for ``dataset`` (a set union)."""

    def change(doc: Any) -> tuple[Any, None]:
        stored = _decode(doc, day_key(day, dataset))
        runs = dict((doc or {}).get("runs") or {})
        before = runs.get(run_id) or {}
        merged = DayUsage(
            stored.post_ids | usage.post_ids,
            stored.user_ids | usage.user_ids,
            stored.counts_requests + usage.counts_requests - int(before.get("counts_requests", 0)),
        )
        runs[run_id] = usage.reads().as_dict()
        totals = merged.reads()
        return {
            "version": 1,
            "day": day.isoformat(),
            "dataset": dataset,
            **totals.as_dict(),
            "post_ids": _pack(merged.post_ids),
            "user_ids": _pack(merged.user_ids),
            "runs": runs,
        }, None

    update_json(lake, day_key(day, dataset), change, check=day_doc_problem)


def _day_documents(lake: Lake, day: date) -> list[tuple[str, Any]]:
    prefix = f"{USAGE_PREFIX}{day.isoformat()}/"
    return [
        (obj.key, read_json(lake, obj.key, check=day_doc_problem))
        for obj in lake.list(prefix)
        if obj.key.endswith(".json")
    ]


def last_day(lake: Lake) -> date | None:
    """The latest UTC day the ledger has reads for (``None``: no ledger)."""
    days = set()
    for obj in lake.list(USAGE_PREFIX):
        name = obj.key[len(USAGE_PREFIX) :].split("/", 1)[0]
        try:
            days.add(date.fromisoformat(name))
        except ValueError:
            continue
    return max(days) if days else None


def day_usage(lake: Lake, day: date) -> DayUsage:
    """What every dataset read on ``day``, de-duplicated across them (as the API bills it)."""
    total = DayUsage()
    for key, doc in _day_documents(lake, day):
        one = _decode(doc, key)
        total.post_ids |= one.post_ids
        total.user_ids |= one.user_ids
        total.counts_requests += one.counts_requests
    return total


def dataset_day(lake: Lake, day: date, dataset: str) -> DayUsage:
    """What ``dataset``'s runs read on ``day``."""
    key = day_key(day, dataset)
    return _decode(read_json(lake, key, check=day_doc_problem), key)


def month_start(day: date) -> date:
    return day.replace(day=1)


@dataclass
class MonthToDate:
    start: date
    through: date
    by_day: dict[str, Reads]
    by_dataset: dict[str, Reads]

    @property
    def total(self) -> Reads:
        out = Reads()
        for reads in self.by_day.values():
            out = out + reads
        return out


def month_to_date(lake: Lake, today: date, start: date | None = None) -> MonthToDate:
    """Billed reads from ``start`` (the first of ``today``'s month) through ``today``."""
    first = start or month_start(today)
    by_day: dict[str, Reads] = {}
    by_dataset: dict[str, Reads] = {}
    day = first
    while day <= today:
        union = DayUsage()
        for key, doc in _day_documents(lake, day):
            one = _decode(doc, key)
            name = str((doc or {}).get("dataset", "?"))
            by_dataset[name] = by_dataset.get(name, Reads()) + one.reads()
            union.post_ids |= one.post_ids
            union.user_ids |= one.user_ids
            union.counts_requests += one.counts_requests
        if union.post_ids or union.user_ids or union.counts_requests:
            by_day[day.isoformat()] = union.reads()
        day += timedelta(days=1)
    return MonthToDate(first, today, by_day, by_dataset)


@dataclass
class ApiUsage:
    """What ``GET /2/usage/tweets`` said, checked: ``unreadable`` names what could not be read."""

    by_day: dict[str, int]
    project_usage: int | None
    cap: int | None
    unreadable: list[str]

    @property
    def comparable(self) -> bool:
        """Whether the answer can be compared with the ledger day by day."""
        return not self.unreadable and bool(self.by_day or self.project_usage == 0)


def api_daily_post_reads(client: Any, days: int) -> ApiUsage:
    """Post reads by day, project usage this cycle and cap from ``GET /2/usage/tweets`` (free).

    ``client`` is an :class:`ingestion.client.XClient`; raises its API errors (a plan without the
    endpoint answers 403 or 404). A day or figure that is not a date and a non-negative integer is
    left out and named in ``unreadable``: never compared as if it agreed."""
    page = client.usage_tweets(days)
    data = page.body.get("data") if isinstance(page.body.get("data"), dict) else {}
    by_day: dict[str, int] = {}
    unreadable: list[str] = []
    daily = data.get("daily_project_usage")
    items = daily.get("usage") if isinstance(daily, dict) else None
    if not isinstance(items, list):
        unreadable.append("daily_project_usage.usage is missing or not a list")
        items = []
    for item in items:
        try:
            day = date.fromisoformat(str(item["date"])[:10]).isoformat()
            value = item["usage"]
            count = int(value)
            if count < 0 or (isinstance(value, float) and not value.is_integer()) or isinstance(value, bool):
                raise ValueError(value)
            by_day[day] = count
        except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: Infinity
            unreadable.append(f"day entry {str(item)[:60]}")

    def number(key: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        try:
            count = int(value)
            if count < 0 or isinstance(value, bool):
                raise ValueError(value)
            return count
        except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity
            unreadable.append(f"{key} {str(value)[:40]!r}")
            return None

    return ApiUsage(by_day, number("project_usage"), number("project_cap"), unreadable)


def first_budget_stop(lake: Lake, day: date) -> bool:
    """Whether this is the first run of ``day``'s month stopped by the budget (the one to tell the
    user about; later stops that month are known). A conditional write: exactly one caller gets True."""

    def change(doc: Any) -> tuple[Any, bool]:
        if isinstance(doc, dict) and doc.get("budget_stop_told"):
            return doc, False
        return {"month": day.strftime("%Y-%m"), "budget_stop_told": True}, True

    return update_json(lake, f"state/alerts/budget-{day.strftime('%Y-%m')}.json", change)
