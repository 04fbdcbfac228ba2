"""One budget across concurrent runs: each run reserves a share of the month's room before it spends
it, and releases what it did not use (``state/budget/YYYY-MM.json``, conditional writes).

A run may send a request only within its reservation. To reserve more it first writes what it read
to the ledger, then, in one conditional write (:func:`ingestion.state.update_json`), takes at most
``budget - month to date (the ledger, every run's flushed reads) - what other runs hold and have not
spent yet``. Two runs of different datasets started together therefore cannot pass the budget
together; a reservation older than :data:`STALE_SECONDS` (a run that crashed) no longer counts.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from common.lake import Lake
from ingestion.state import update_json
from ingestion.usage.ledger import month_to_date
from ingestion.usage.prices import Prices

STALE_SECONDS = 6 * 3600  # the longest run the AWS units allow (TimeoutStartSec=6h)
CHUNK_SHARE, CHUNK_MIN_USD = 0.05, 0.05


def key(month: date) -> str:
    return f"state/budget/{month.strftime('%Y-%m')}.json"


def reserve(
    lake: Lake, run_id: str, today: date, budget_usd: float, prices: Prices, *, spent_usd: float, needed_usd: float
) -> float | None:
    """Reserve room for ``needed_usd`` more (at least; a chunk when there is room) for ``run_id``,
    which has added ``spent_usd`` to the bill so far (already in the ledger). Returns the run's new
    ceiling (what it may have added in all), or ``None`` when the budget has no room for it."""
    now = time.time()

    def change(doc: Any) -> tuple[Any, float | None]:
        # the ledger is read after the document (update_json read it just before this call), on every
        # attempt: a spend another run flushed before it raised its "spent" here is always counted
        month_total = month_to_date(lake, today).total.usd(prices)
        runs = dict((doc or {}).get("runs") or {}) if isinstance(doc, dict) else {}
        runs = {r: v for r, v in runs.items() if isinstance(v, dict) and now - float(v.get("at", 0)) < STALE_SECONDS}
        others = sum(max(0.0, float(v["reserved"]) - float(v["spent"])) for r, v in runs.items() if r != run_id)
        room = budget_usd - month_total - others
        if room + 1e-9 < needed_usd:
            return {"runs": runs}, None
        grant = min(room, max(needed_usd, CHUNK_SHARE * budget_usd, CHUNK_MIN_USD))
        runs[run_id] = {"reserved": spent_usd + grant, "spent": spent_usd, "at": now}
        return {"runs": runs}, spent_usd + grant

    return update_json(lake, key(today.replace(day=1)), change)


def release(lake: Lake, run_id: str, today: date) -> None:
    """Give back what ``run_id`` reserved and did not spend (its reads are in the ledger by now)."""

    def change(doc: Any) -> tuple[Any, None]:
        runs = dict((doc or {}).get("runs") or {}) if isinstance(doc, dict) else {}
        runs.pop(run_id, None)
        return {"runs": runs}, None

    update_json(lake, key(today.replace(day=1)), change)
