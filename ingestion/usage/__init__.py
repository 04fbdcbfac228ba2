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

**One meter for every billed call**: :func:`metered` hooks a client for a block (the collectors'
runs, ``users add`` and the REST API's lookups, ``plan --exact``): each request is checked against
the :class:`Budget` before it is sent, and, with a USD budget, inside a share reserved across
concurrent runs (:mod:`.reservations`). Modules: :mod:`.prices`, :mod:`.ledger` (storage, what a
page bills, ``GET /2/usage/tweets``), :mod:`.budget`, :mod:`.meter`, :mod:`.reservations`.
Docs: docs/money.md.
"""

from ingestion.usage.budget import DEFAULT_BUDGET_USD, MONTHLY_POST_READ_CAP, Budget, budget_usd, month_share
from ingestion.usage.ledger import (
    USAGE_PREFIX,
    ApiUsage,
    DayUsage,
    MonthToDate,
    api_daily_post_reads,
    billable,
    day_key,
    day_usage,
    first_budget_stop,
    last_day,
    month_start,
    month_to_date,
    write_day,
)
from ingestion.usage.meter import FLUSH_EVERY_SECONDS, Meter, RunUsage, metered, worst_case
from ingestion.usage.prices import Prices, Reads

__all__ = [
    "DEFAULT_BUDGET_USD",
    "FLUSH_EVERY_SECONDS",
    "MONTHLY_POST_READ_CAP",
    "USAGE_PREFIX",
    "ApiUsage",
    "Budget",
    "DayUsage",
    "Meter",
    "MonthToDate",
    "Prices",
    "Reads",
    "RunUsage",
    "api_daily_post_reads",
    "billable",
    "budget_usd",
    "day_key",
    "day_usage",
    "first_budget_stop",
    "last_day",
    "metered",
    "month_share",
    "month_start",
    "month_to_date",
    "worst_case",
    "write_day",
]
