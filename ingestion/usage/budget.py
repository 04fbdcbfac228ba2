"""The monthly ceiling (:class:`Budget`) and its pacing over the month (:func:`month_share`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ingestion.usage.prices import Prices, Reads

MONTHLY_POST_READ_CAP = 3_000_000
"""Post reads a billing cycle may hold; beyond it the API answers 429 ``UsageCapExceeded``."""
MAX_BUDGET_USD = 1e9
"""A budget above this is a typo (1e308 is finite, and no X API bill comes near it)."""
DEFAULT_BUDGET_USD = 150.0
"""The monthly budget of a run given none (no --budget-usd, no TWEETLAKE_BUDGET_USD): the AWS
stack's default too. No run spends without a limit; docs/money.md says how to raise it."""


def budget_usd(flag: float | None, setting: float | None) -> float:
    """The budget a face uses: ``--budget-usd``, else ``TWEETLAKE_BUDGET_USD``, else the default."""
    return flag if flag is not None else setting if setting is not None else DEFAULT_BUDGET_USD


# -- the budget ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """A monthly ceiling: USD (``--budget-usd``) and/or post reads (``--budget-reads``)."""

    usd: float | None = None
    reads: int | None = None

    def __post_init__(self) -> None:
        if self.usd is not None and not 0 <= self.usd <= MAX_BUDGET_USD:  # also nan and inf
            raise ValueError(f"--budget-usd must be between 0 and {MAX_BUDGET_USD:,.0f} USD, not {self.usd!r}")
        if self.reads is not None and not 0 <= self.reads <= MAX_BUDGET_USD:
            raise ValueError(f"--budget-reads must be between 0 and {MAX_BUDGET_USD:,.0f}, not {self.reads!r}")

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
