"""The usage ledger: what the X API bills, counted by its documented rules, under ``<lake>/state/usage/``.

Pay-per-use bills a **post read** for each post a response returns (``data`` of a tweets endpoint
and ``includes.tweets`` of any endpoint) and a **user read** for each user (``data`` of a users
endpoint and ``includes.users`` of any), de-duplicated per resource within a UTC day; a
``counts/all`` request is billed per request; failed requests are not billed. :class:`Meter` counts
a run's successful pages that way (the client hands it every 200 it decodes: ``XClient.on_page``)
and :func:`write_day` merges them into the ledger.

**The layout.** One document per UTC day and dataset, ``state/usage/YYYY-MM-DD/<dataset>.json``:
the day's unique post ids and user ids (sorted unsigned 64-bit integers, zlib, base64) and the
counts requests, plus each run's own figures. Each dataset's runs hold their own run lock, so the
documents of different datasets never conflict; one dataset's runs (and a run that lost its lease
while it still spent reads: billed is billed) merge by a conditional write
(:func:`ingestion.state.update_json`, a set union), so no read is lost and none is counted twice.
A day's billed reads are the union over its datasets' documents (a post the tweets run read at 10:00
and the metrics run at 12:00 is billed once).

**The month** is the UTC calendar month (the X console's billing cycle can start on another day;
:func:`month_to_date` takes any start). Prices are the documented ones, overridable (:class:`Prices`).
"""

from __future__ import annotations

import base64
import logging
import time
import zlib
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.lake import Lake
from ingestion.errors import BudgetReached
from ingestion.page import Page
from ingestion.state import read_json, update_json

log = logging.getLogger(__name__)

USAGE_PREFIX = "state/usage/"
MONTHLY_POST_READ_CAP = 3_000_000
"""Post reads a billing cycle may hold; beyond it the API answers 429 ``UsageCapExceeded``."""
FLUSH_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Prices:
    """USD per billed unit (the X API's documented pay-per-use prices, 2026)."""

    post_read: float = 0.005
    user_read: float = 0.010
    counts_request: float = 0.010

    def usd(self, post_reads: int, user_reads: int = 0, counts_requests: int = 0) -> float:
        return post_reads * self.post_read + user_reads * self.user_read + counts_requests * self.counts_request


@dataclass
class Reads:
    """Billed units of one span (a day, a month, a run)."""

    post_reads: int = 0
    user_reads: int = 0
    counts_requests: int = 0

    def usd(self, prices: Prices) -> float:
        return prices.usd(self.post_reads, self.user_reads, self.counts_requests)

    def __add__(self, other: Reads) -> Reads:
        return Reads(
            self.post_reads + other.post_reads,
            self.user_reads + other.user_reads,
            self.counts_requests + other.counts_requests,
        )

    def as_dict(self) -> dict[str, int]:
        return {"post_reads": self.post_reads, "user_reads": self.user_reads, "counts_requests": self.counts_requests}


# -- what a page bills ---------------------------------------------------------------------------
def _is_users_endpoint(endpoint: str) -> bool:
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
    (users if _is_users_endpoint(endpoint) else posts).extend(primary)
    return posts, users, 0


# -- the stored form -----------------------------------------------------------------------------
def _pack(ids: Iterable[int]) -> str:
    values = array("Q", sorted(ids))
    return base64.b64encode(zlib.compress(values.tobytes(), 6)).decode("ascii")


def _unpack(text: str | None) -> set[int]:
    if not text:
        return set()
    values = array("Q")
    values.frombytes(zlib.decompress(base64.b64decode(text)))
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


def _decode(doc: Mapping[str, Any] | None) -> DayUsage:
    if not doc:
        return DayUsage()
    return DayUsage(_unpack(doc.get("post_ids")), _unpack(doc.get("user_ids")), int(doc.get("counts_requests", 0)))


def write_day(lake: Lake, day: date, dataset: str, run_id: str, usage: DayUsage) -> None:
    """Merge one run's reads of ``day`` into the day's document for ``dataset`` (a set union)."""

    def change(doc: Any) -> tuple[Any, None]:
        stored = _decode(doc)
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

    update_json(lake, day_key(day, dataset), change)


def _day_documents(lake: Lake, day: date) -> list[Any]:
    prefix = f"{USAGE_PREFIX}{day.isoformat()}/"
    return [read_json(lake, obj.key) for obj in lake.list(prefix) if obj.key.endswith(".json")]


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
    for doc in _day_documents(lake, day):
        one = _decode(doc)
        total.post_ids |= one.post_ids
        total.user_ids |= one.user_ids
        total.counts_requests += one.counts_requests
    return total


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
        for doc in _day_documents(lake, day):
            one = _decode(doc)
            name = str((doc or {}).get("dataset", "?"))
            by_dataset[name] = by_dataset.get(name, Reads()) + one.reads()
            union.post_ids |= one.post_ids
            union.user_ids |= one.user_ids
            union.counts_requests += one.counts_requests
        if union.post_ids or union.user_ids or union.counts_requests:
            by_day[day.isoformat()] = union.reads()
        day += timedelta(days=1)
    return MonthToDate(first, today, by_day, by_dataset)


# -- the budget ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """A monthly ceiling: USD (``--budget-usd``) and/or post reads (``--budget-reads``)."""

    usd: float | None = None
    reads: int | None = None

    def __post_init__(self) -> None:
        if self.usd is not None and self.usd < 0:
            raise ValueError("--budget-usd must be 0 or more")
        if self.reads is not None and self.reads < 0:
            raise ValueError("--budget-reads must be 0 or more")

    @property
    def limited(self) -> bool:
        return self.usd is not None or self.reads is not None

    def describe(self) -> str:
        parts = ([f"${self.usd:,.2f}"] if self.usd is not None else []) + (
            [f"{self.reads:,} post reads"] if self.reads is not None else []
        )
        return " and ".join(parts) + " a month" if parts else "none"

    def fits(self, spent: Reads, extra: Reads, prices: Prices) -> bool:
        """Whether ``spent`` plus ``extra`` stays within the budget (and the API's monthly cap)."""
        posts = spent.post_reads + extra.post_reads
        if posts > MONTHLY_POST_READ_CAP:
            return False
        if self.reads is not None and posts > self.reads:
            return False
        return self.usd is None or (spent + extra).usd(prices) <= self.usd + 1e-9

    def post_reads_left(self, spent: Reads, prices: Prices, share: float = 1.0) -> int:
        """How many more post reads fit (the cap bounds it even without a budget); ``share`` (0-1)
        of the budget only, for pacing (:func:`month_share`)."""
        left = MONTHLY_POST_READ_CAP - spent.post_reads
        if self.reads is not None:
            left = min(left, int(self.reads * share + 1e-9) - spent.post_reads)
        if self.usd is not None:
            left = min(left, int((self.usd * share - spent.usd(prices)) / prices.post_read + 1e-9))
        return max(0, left)


def month_share(today: date) -> float:
    """The share of ``today``'s month that has begun by the end of ``today`` (1st: 1/31 … last: 1)."""
    next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    return today.day / (next_month - today.replace(day=1)).days


# -- one run's meter -----------------------------------------------------------------------------
class Meter:
    """Counts one run's billable reads per UTC day and writes them to the ledger.

    ``record`` is the client's ``on_page`` hook; ``guard`` its ``before_request`` hook: with a
    budget, a request whose worst case (every post and user it may return billed, except posts
    already read today) would take the month past the budget raises
    :class:`~ingestion.errors.BudgetReached` before it is sent.
    """

    def __init__(
        self,
        lake: Lake,
        dataset: str,
        run_id: str,
        now: Callable[[], datetime],
        *,
        budget: Budget | None = None,
        prices: Prices | None = None,
        flush_every: float = FLUSH_EVERY_SECONDS,
    ) -> None:
        self.lake = lake
        self.dataset = dataset
        self.run_id = run_id
        self.now = now
        self.budget = budget or Budget()
        self.prices = prices or Prices()
        self.flush_every = flush_every
        self.days: dict[date, DayUsage] = {}
        self._flushed_at = time.monotonic()
        self._dirty = False
        today = self._today()
        # what the month and today held before this run (other datasets' runs, earlier runs)
        self.month_before = month_to_date(lake, today)
        self._month = month_start(today)
        self._today_before: dict[date, DayUsage] = {today: day_usage(lake, today)}

    def _today(self) -> date:
        return self.now().astimezone(UTC).date()

    # -- counting --------------------------------------------------------------------------------
    def record(self, page: Page) -> None:
        posts, users, counts = billable(page)
        if not (posts or users or counts):
            return
        day = page.received_at.astimezone(UTC).date()
        self._known_today(day)  # a day the run reaches past midnight: what others read, before this run writes
        usage = self.days.setdefault(day, DayUsage())
        usage.post_ids.update(posts)
        usage.user_ids.update(users)
        usage.counts_requests += counts
        self._dirty = True
        if time.monotonic() - self._flushed_at >= self.flush_every:
            self.flush()

    def run_reads(self) -> Reads:
        """This run's billable reads (unique per day within the run; what other runs already read
        on the same day is in :meth:`new_reads`)."""
        out = Reads()
        for usage in self.days.values():
            out = out + usage.reads()
        return out

    def _known_today(self, day: date) -> DayUsage:
        if day not in self._today_before:
            self._today_before[day] = day_usage(self.lake, day)
        return self._today_before[day]

    def new_reads(self) -> Reads:
        """This run's reads that no earlier run of the same day had made: what it added to the bill."""
        out = Reads()
        for day, usage in self.days.items():
            known = self._known_today(day)
            out = out + Reads(
                len(usage.post_ids - known.post_ids), len(usage.user_ids - known.user_ids), usage.counts_requests
            )
        return out

    def spent(self) -> Reads:
        """Month to date including this run (this month's days only)."""
        total = self.month_before.total
        for day, usage in self.days.items():
            if month_start(day) != self._month:
                continue
            known = self._known_today(day)
            if day > self.month_before.through:  # a day begun since the run started: others' reads too
                total = total + known.reads()
            total = total + Reads(
                len(usage.post_ids - known.post_ids), len(usage.user_ids - known.user_ids), usage.counts_requests
            )
        return total

    def read_today(self, post_id: int) -> bool:
        """Whether ``post_id`` was already billed today (by this run or an earlier one)."""
        day = self._today()
        return post_id in self._known_today(day).post_ids or post_id in self.days.get(day, DayUsage()).post_ids

    # -- the budget ------------------------------------------------------------------------------
    def guard(self, endpoint: str, params: Mapping[str, Any]) -> None:
        if not self.budget.limited:
            return
        worst = worst_case(endpoint, params, self.read_today)
        spent = self.spent()
        if not self.budget.fits(spent, worst, self.prices):
            raise BudgetReached(
                f"the monthly budget ({self.budget.describe()}) would be exceeded by the next request "
                f"({endpoint}, up to {worst.post_reads} post and {worst.user_reads} user reads): month to date "
                f"${spent.usd(self.prices):,.2f} ({spent.post_reads:,} post reads, {spent.user_reads:,} user reads); "
                "stopped before it"
            )

    # -- writing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Merge what was counted so far into the ledger (idempotent: a set union per day)."""
        self._flushed_at = time.monotonic()
        if not self._dirty:
            return
        for day, usage in self.days.items():
            write_day(self.lake, day, self.dataset, self.run_id, usage)
        self._dirty = False


def worst_case(endpoint: str, params: Mapping[str, Any], read_today: Callable[[int], bool]) -> Reads:
    """The most a request may be billed (``read_today(id)``: a post already billed today is free)."""
    if "/usage/" in endpoint:
        return Reads()
    if "/counts/" in endpoint:
        return Reads(counts_requests=1)
    expansions = str(params.get("expansions") or "")
    if endpoint == "GET /2/tweets":
        ids = [int(i) for i in str(params.get("ids") or "").split(",") if i.strip().isdigit()]
        posts = sum(1 for i in ids if not read_today(i))
        return Reads(
            posts * (2 if "referenced_tweets" in expansions else 1), len(ids) if "author_id" in expansions else 0
        )
    if _is_users_endpoint(endpoint):
        names = params.get("usernames") or params.get("ids")
        users = len(str(names).split(",")) if names else 1
        return Reads(users if "pinned_tweet_id" in expansions else 0, users)
    size = int(params.get("max_results") or 10)  # a timeline or search page
    one_author = "/users/:id/" in endpoint or str(params.get("query") or "").startswith("from:")
    authors = 1 if one_author else size
    return Reads(size * (2 if "referenced_tweets" in expansions else 1), authors if "author_id" in expansions else 0)


@dataclass(frozen=True)
class RunUsage:
    """The summary's billing lines: what the run read, what it added to the bill, the month so far."""

    reads: Reads  # unique per day within this run
    new: Reads  # of those, not already billed earlier the same day (what the run cost)
    usd: float  # the cost of ``new``
    month: Reads  # month to date, this run included
    month_usd: float
    budget: str  # Budget.describe()

    @classmethod
    def of(cls, meter: Meter) -> RunUsage:
        new, month = meter.new_reads(), meter.spent()
        return cls(
            meter.run_reads(), new, new.usd(meter.prices), month, month.usd(meter.prices), meter.budget.describe()
        )

    def render(self) -> list[str]:
        return [
            f"  billable reads: {self.reads.post_reads:,} post, {self.reads.user_reads:,} user"
            + (f", {self.reads.counts_requests:,} counts request(s)" if self.reads.counts_requests else "")
            + f"; new to today's bill: {self.new.post_reads:,} post, {self.new.user_reads:,} user = ${self.usd:,.3f}",
            f"  month to date (usage ledger): ${self.month_usd:,.2f} ({self.month.post_reads:,} post reads, "
            f"{self.month.user_reads:,} user reads); budget: {self.budget}",
        ]


def api_daily_post_reads(client: Any, days: int) -> tuple[dict[str, int], int | None, int | None]:
    """``(post reads by day, project usage this cycle, cap)`` from ``GET /2/usage/tweets`` (free).

    ``client`` is an :class:`ingestion.client.XClient`; raises its API errors (a plan without the
    endpoint answers 403 or 404)."""
    page = client.usage_tweets(days)
    data = page.body.get("data") if isinstance(page.body.get("data"), dict) else {}
    by_day: dict[str, int] = {}
    for item in (data.get("daily_project_usage") or {}).get("usage") or []:
        try:
            by_day[str(item["date"])[:10]] = int(item["usage"])
        except (KeyError, TypeError, ValueError):
            continue

    def number(key: str) -> int | None:
        try:
            return int(data[key])
        except (KeyError, TypeError, ValueError):
            return None

    return by_day, number("project_usage"), number("project_cap")
