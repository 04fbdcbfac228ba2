"""What the usage ledger (ingestion's) says, as a table the report (analytics') can draw: the face
that joins the two rooms, so neither imports the other."""

from __future__ import annotations

from analytics.table import Table
from common.lake import Lake, LakeError


def billed_reads(lake: Lake) -> Table | None:
    """The latest month of the ledger by dataset: post and user reads, counts requests and USD at
    the documented prices (``None`` when the lake has no ledger or cannot be read)."""
    from ingestion.usage import Prices, last_day, month_to_date

    try:
        day = last_day(lake)
        if day is None:
            return None
        month = month_to_date(lake, day)
    except (LakeError, OSError, ValueError):
        return None
    prices = Prices()
    label = month.start.strftime("%Y-%m")
    rows = [
        (label, name, r.post_reads, r.user_reads, r.counts_requests, round(r.usd(prices), 3))
        for name, r in sorted(month.by_dataset.items())
    ]
    total = month.total  # de-duplicated across datasets, as X bills a day
    rows.append(
        (
            label,
            "billed (a read once a day)",
            total.post_reads,
            total.user_reads,
            total.counts_requests,
            round(total.usd(prices), 3),
        )
    )
    return Table(("month", "dataset", "post_reads", "user_reads", "counts_requests", "usd"), rows)
