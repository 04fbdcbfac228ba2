"""The monthly ceiling (:class:`Budget`) and its pacing over the month (:func:`month_share`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ingestion.usage.prices import Prices, Reads

MONTHLY_POST_READ_CAP = 3_000_000
"""Post reads a billing cycle may hold; beyond it the API answers 429 ``UsageCapExceeded``."""


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
