"""What the X API charges (USD per billed unit) and a span's billed units (:class:`Reads`)."""

from __future__ import annotations

from dataclasses import dataclass


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
