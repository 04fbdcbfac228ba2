"""One collector run, the way every face asks for it (the command, the demo, the REST API, a DAG).

:func:`run` picks the collector for a dataset, the accounts (the registry's, or a one-off list),
holds the dataset's run lock for the whole run and returns the run's summary. :func:`outcome`
turns what a run ended with — its summary, or the exception it raised — into an :class:`ExitCode`
and a one-line message, so every face reports the same failure with the same code and words.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, overload

from common.exit_codes import ExitCode
from common.lake import Lake, LakeError
from common.layout import canonical_dataset, parse_time
from ingestion.accounts import UNAVAILABLE_FOR_METRICS, known_user_ids, resolve_user_ids
from ingestion.client import XClient
from ingestion.collectors.base import CollectorRun, OnProgress, RunSummary
from ingestion.collectors.metrics import MetricsCollector
from ingestion.collectors.tweets import BACKFILL_MODES, DEFAULT_SINCE, TweetsCollector
from ingestion.collectors.users import UsersCollector
from ingestion.errors import BudgetReached, ConfigurationError, CreditsSpent, FatalAPIError, RetriableAPIError
from ingestion.policy import EVERY_RUN, Policy
from ingestion.registry import Account, InvalidUsername, Registry, check_username
from ingestion.state import RunLock, RunLockedError
from ingestion.usage import Budget, Prices, RunUsage, metered

EXCLUDABLE = ("retweets", "replies")
NO_BUDGET = Budget()
DOCUMENTED_PRICES = Prices()


@dataclass(frozen=True)
class Outcome:
    code: ExitCode
    message: str  # one line for a human (empty when all went well)


@overload
def outcome(result: RunSummary) -> Outcome: ...
@overload
def outcome(result: BaseException) -> Outcome | None: ...
def outcome(result: RunSummary | BaseException) -> Outcome | None:
    """The exit code and message for a run's summary or the exception it raised; ``None`` for an
    exception no run is expected to raise (a bug: let it show its traceback)."""
    if isinstance(result, RunSummary):
        if result.failed:
            return Outcome(
                ExitCode.ACCOUNTS_FAILED,
                f"{len(result.failed)} account(s) kept failing, the rest were "
                f"collected: {', '.join(sorted(result.failed))}",
            )
        return Outcome(ExitCode.OK, "; ".join(result.warnings))  # e.g. search refused (403): the gap is named
    if isinstance(result, CreditsSpent):
        return Outcome(
            ExitCode.FATAL_API,
            f"the X API account has no credits left (HTTP 402 on {result.endpoint}): "
            "nothing more is read until they are topped up in the developer "
            f"console; the usage ledger counted {result.month_to_date or 'nothing'}",
        )
    if isinstance(result, BudgetReached):
        return Outcome(ExitCode.BUDGET_REACHED, str(result))
    if isinstance(result, (ConfigurationError, InvalidUsername, ValueError)):
        return Outcome(ExitCode.USAGE, str(result))
    if isinstance(result, FatalAPIError):
        return Outcome(ExitCode.FATAL_API, f"fatal X API error: {result}")
    if isinstance(result, RunLockedError):
        return Outcome(ExitCode.LOCKED, str(result))
    if isinstance(result, RetriableAPIError):
        return Outcome(ExitCode.API_KEPT_FAILING, f"the X API kept failing: {result}")
    if isinstance(result, (LakeError, OSError)):  # OSError: a local lake's folder
        return Outcome(ExitCode.LAKE, f"the lake failed: {type(result).__name__}: {result}")
    return None


def prices(post_read: float | None = None, user_read: float | None = None) -> Prices:
    """The documented prices, with ``--price-post-read``/``--price-user-read`` laid over them."""
    default = Prices()
    return Prices(
        default.post_read if post_read is None else post_read,
        default.user_read if user_read is None else user_read,
        default.counts_request,
    )


def parse_exclude(exclude: str | None) -> tuple[str, ...]:
    """``"retweets,replies"`` → the kinds of tweets a tweets run leaves out."""
    excluded = tuple(x.strip() for x in exclude.split(",") if x.strip()) if exclude else ()
    if bad := set(excluded) - set(EXCLUDABLE):
        raise ConfigurationError(f"--exclude takes retweets and/or replies, not {', '.join(sorted(bad))}")
    return excluded


def parse_backfill(backfill: str | None) -> str:
    """``auto`` (default), ``search`` or ``off``: how a tweets run reaches beyond the timeline's cap."""
    mode = (backfill or "auto").strip().lower()
    if mode not in BACKFILL_MODES:
        raise ConfigurationError(f"--backfill takes {', '.join(BACKFILL_MODES)}, not {backfill}")
    return mode


def select_accounts(registry: Registry, users: str | None, lake: Lake) -> list[Account]:
    """The registry's accounts, or the ``users`` names (once each, whatever their case) with the
    ids the registry or the username → id cache already know."""
    if not users:
        return registry.list()
    tracked = {a.username.lower(): a for a in registry.list()}
    ids = known_user_ids(lake)
    chosen: dict[str, str] = {}
    for raw in users.split(","):
        if raw.strip():
            name = check_username(raw)
            chosen.setdefault(name.lower(), name)
    accounts = []
    for key, name in chosen.items():
        account = tracked.get(key) or Account(username=name)
        account.user_id = account.user_id or ids.get(key)
        accounts.append(account)
    return accounts


@contextlib.contextmanager
def _leased(lake: Lake, collector: CollectorRun, client: XClient, options: RunOptions) -> Iterator[None]:
    """Hold the collector's run lock (every page and every slice of a client wait renews it) and
    meter its reads into the usage ledger (written whatever ends the run: billed is billed)."""
    previous = client.heartbeat
    with (
        RunLock(lake, collector.dataset, collector.run_id) as lock,
        metered(
            lake, client, collector.dataset, collector.run_id, budget=options.budget, prices=options.prices
        ) as meter,
    ):
        collector.heartbeat = client.heartbeat = lock.heartbeat
        collector.fence = lock.check
        collector.meter = meter
        try:
            yield
            collector.summary.usage = RunUsage.of(meter)
        except CreditsSpent as err:
            meter.flush()
            spent = meter.spent()
            err.month_to_date = (
                f"${spent.usd(meter.prices):,.2f} this month ({spent.post_reads:,} post reads, "
                f"{spent.user_reads:,} user reads since {meter.month_before.start.isoformat()})"
            )
            raise
        finally:
            client.heartbeat = previous


@dataclass(frozen=True)
class RunOptions:
    """What one run was asked for, beyond its accounts (each collector reads its own)."""

    since: str | None = None  # tweets: RFC 3339 lower bound of a first collection
    exclude: str | None = None  # tweets: "retweets,replies"
    backfill: str | None = None  # tweets: auto (default), search or off
    max_age_days: float | None = None  # tweet_metrics: refresh only tweets younger than this
    part_records: int = 100_000
    on_progress: OnProgress | None = None
    policy: Policy = EVERY_RUN  # tweet_metrics: which known tweets are due (ingestion.policy)
    budget: Budget = NO_BUDGET  # every run: the monthly ceiling it never goes past
    prices: Prices = DOCUMENTED_PRICES
    users: str | None = None  # comma-separated names for this run only (the registry is left alone)

    @classmethod
    def parse(
        cls,
        *,
        policy: str | None = None,
        budget_usd: float | None = None,
        budget_reads: int | None = None,
        price_post_read: float | None = None,
        price_user_read: float | None = None,
        **fields: Any,
    ) -> RunOptions:
        """The options from a face's raw values (a policy's text, budget and price flags); ``fields``
        are the others, as they are. Raises ValueError (exit 2) for a bad policy, budget or price."""
        return cls(
            policy=Policy.parse(policy) if policy else EVERY_RUN,
            budget=Budget(budget_usd, budget_reads),
            prices=prices(price_post_read, price_user_read),
            **fields,
        )


def _collect_users(
    lake: Lake, client: XClient, accounts: list[Account], learn: Registry | None, options: RunOptions, one_off: bool
) -> RunSummary:
    collector = UsersCollector(lake, client, max_records_per_file=options.part_records, on_progress=options.on_progress)
    with _leased(lake, collector, client, options):
        return collector.run(accounts, learn)


def _collect_tweets(
    lake: Lake, client: XClient, accounts: list[Account], learn: Registry | None, options: RunOptions, one_off: bool
) -> RunSummary:
    collector = TweetsCollector(
        lake,
        client,
        since=parse_time(options.since) if options.since else DEFAULT_SINCE,
        exclude=parse_exclude(options.exclude),
        backfill=parse_backfill(options.backfill),
        max_records_per_file=options.part_records,
        on_progress=options.on_progress,
    )
    with _leased(lake, collector, client, options):
        return collector.run(accounts, learn)


def _collect_metrics(
    lake: Lake, client: XClient, accounts: list[Account], learn: Registry | None, options: RunOptions, one_off: bool
) -> RunSummary:
    collector = MetricsCollector(
        lake, client, max_records_per_file=options.part_records, on_progress=options.on_progress
    )
    with _leased(lake, collector, client, options):
        if one_off:
            accounts = resolve_user_ids(collector, accounts, None)
        # Tweets of accounts the last users run saw protected, suspended or gone answer only errors:
        # asking again every 2 h spends API budget for nothing. The daily users run re-checks them.
        unavailable = sorted(a.username for a in accounts if a.status in UNAVAILABLE_FOR_METRICS)
        author_ids = {a.user_id for a in accounts if a.user_id and a.status not in UNAVAILABLE_FOR_METRICS}
        summary = collector.run(author_ids, options.max_age_days, options.policy)
        if unavailable:
            summary.notes.append(
                f"not refreshed (protected, suspended or gone at the last users run): "
                f"{', '.join('@' + name for name in unavailable)}"
            )
        return summary


Collect = Callable[[Lake, XClient, list[Account], "Registry | None", RunOptions, bool], RunSummary]
COLLECTORS: dict[str, Collect] = {
    "users": _collect_users,
    "tweets": _collect_tweets,
    "tweet_metrics": _collect_metrics,
}
"""One run of each dataset's collector, by the dataset's one name (``common.layout.DATASETS``)."""


def run(dataset: str, lake: Lake, client: XClient, options: RunOptions | None = None, **raw: Any) -> RunSummary:
    """One run of ``dataset``'s collector (``users``, ``tweets``, ``tweet_metrics`` or its alias
    ``metrics``) with ``options``, which each face builds once (:meth:`RunOptions.parse`); ``raw``
    (scripts and tests) builds them here instead. ``options.users`` runs for those accounts only and
    leaves the registry alone. Raises what :func:`outcome` maps to an exit code."""
    if options is None:
        options = RunOptions.parse(**raw)
    elif raw:
        raise TypeError("run() takes options or raw values, not both")
    collect = COLLECTORS[canonical_dataset(dataset)]
    registry = Registry(lake)
    accounts = select_accounts(registry, options.users, lake)
    if not accounts:
        raise ConfigurationError("no tracked accounts: add some with `tweetlake users add NAME` or pass --users")
    # --users runs leave the registry alone (they are one-offs); registry runs keep it current.
    return collect(lake, client, accounts, None if options.users else registry, options, bool(options.users))
