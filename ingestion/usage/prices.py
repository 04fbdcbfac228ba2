"""What the X API charges (USD per billed unit) and a span's billed units (:class:`Reads`)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PRICE_USD = 1000.0
"""A price above this is a typo (the documented ones are half a cent to a cent)."""


@dataclass(frozen=True)
class Prices:
    """USD per billed unit (the X API's documented pay-per-use prices, 2026)."""

    post_read: float = 0.005
    user_read: float = 0.010
    counts_request: float = 0.010

    def __post_init__(self) -> None:
        for name in ("post_read", "user_read", "counts_request"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= MAX_PRICE_USD):  # also nan and inf
                flag = f"--price-{name.replace('_', '-')}"
                raise ValueError(f"{flag} must be a positive price in USD (at most {MAX_PRICE_USD:g}), not {value!r}")

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
