"""One run's meter: every billed page counted, every request checked against the budget before it is sent."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from common.lake import Lake
from ingestion.errors import BudgetReached
from ingestion.page import Page
from ingestion.usage import reservations
from ingestion.usage.budget import Budget
from ingestion.usage.ledger import (
    DayUsage,
    billable,
    day_usage,
    is_users_endpoint,
    month_start,
    month_to_date,
    write_day,
)
from ingestion.usage.prices import Prices, Reads

FLUSH_EVERY_SECONDS = 60.0


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
        self.ceiling = 0.0  # USD this run may add to the bill: what it reserved (ingestion.usage.reservations)
        self.reserved = False

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
                f"stopped before it; collection resumes on {next_month(self._today()).isoformat()} (UTC) "
                "or when the budget is raised"
            )
        if self.budget.usd is not None:
            self._reserve(endpoint, worst)

    def _reserve(self, endpoint: str, worst: Reads) -> None:
        """Stay within this run's share of the budget; reserve more (after flushing) when it is used."""
        own = self.new_reads().usd(self.prices)
        needed = worst.usd(self.prices)
        if own + needed <= self.ceiling + 1e-9:
            return
        assert self.budget.usd is not None
        self._dirty = True
        self.flush()
        ceiling = reservations.reserve(
            self.lake, self.run_id, self._today(), self.budget.usd, self.prices, spent_usd=own, needed_usd=needed
        )
        self.reserved = True
        if ceiling is None:
            raise BudgetReached(
                f"the monthly budget ({self.budget.describe()}) would be exceeded by the next request ({endpoint}, "
                f"up to ${needed:,.3f}): the month to date and what other runs hold leave no room for it; stopped "
                f"before it; collection resumes on {next_month(self._today()).isoformat()} (UTC), when the other "
                "runs end, or when the budget is raised"
            )
        self.ceiling = ceiling

    def release(self) -> None:
        """Give back what this run reserved and did not use (after its last flush)."""
        if self.reserved:
            reservations.release(self.lake, self.run_id, self._today())
            self.reserved = False

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
    if is_users_endpoint(endpoint):
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


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@contextlib.contextmanager
def metered(
    lake: Lake, client: Any, dataset: str, run_id: str, *, budget: Budget | None = None, prices: Prices | None = None
) -> Iterator[Meter]:
    """Every request ``client`` (an :class:`ingestion.client.XClient`) sends inside the block goes
    through one :class:`Meter`: checked against ``budget`` before it is sent, counted in the ledger
    under ``dataset`` (written whatever ends the block: billed is billed)."""
    previous = client.before_request, client.on_page
    meter = Meter(lake, dataset, run_id, client.now, budget=budget, prices=prices)
    client.before_request, client.on_page = meter.guard, meter.record
    try:
        yield meter
    finally:
        client.before_request, client.on_page = previous
        meter.flush()
        meter.release()
