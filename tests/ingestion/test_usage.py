"""The usage ledger: every run's billable reads by the documented rules, under state/usage/, and the
402 line. Reads are checked against what the lake holds (an independent count of the same pages)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from common.lake import Lake
from ingestion.client import XClient
from ingestion.errors import BudgetReached
from ingestion.page import Page
from ingestion.registry import Registry
from ingestion.run import run
from ingestion.usage import (
    Budget,
    DayUsage,
    Meter,
    Prices,
    Reads,
    billable,
    day_key,
    day_usage,
    month_to_date,
    worst_case,
    write_day,
)
from tests.ingestion.test_collectors import records
from tweetlake.cli import main as tweetlake
from xsim import SimulatorServer

SINCE = "2026-09-01T00:00:00Z"


def small_accounts(sim: SimulatorServer) -> list[str]:
    """Two active accounts of the seeded world (tweets since SINCE: a few hundred)."""
    return [sim.world.accounts[6].username, sim.world.accounts[7].username]


def ids_in(lake: Lake, dataset: str) -> set[int]:
    return {int(r["data"]["id"]) for r in records(lake, dataset) if "data" in r}


def page(endpoint: str, body: dict[str, Any]) -> Page:
    return Page(endpoint, body, datetime(2026, 11, 22, 12, tzinfo=UTC))


# -- what a page bills -----------------------------------------------------------------------------
def test_a_page_bills_posts_users_and_their_includes() -> None:
    timeline = page(
        "GET /2/users/:id/tweets",
        {"data": [{"id": "11"}, {"id": "12"}], "includes": {"users": [{"id": "5"}], "tweets": [{"id": "9"}]}},
    )
    assert billable(timeline) == ([9, 11, 12], [5], 0)
    users = page(
        "GET /2/users/by",
        {"data": [{"id": "5"}, {"id": "6"}], "errors": [{"value": "gone"}], "includes": {"tweets": [{"id": "30"}]}},
    )
    assert billable(users) == ([30], [5, 6], 0)
    assert billable(page("GET /2/users/:id", {"data": {"id": "5"}})) == ([], [5], 0)
    assert billable(page("GET /2/tweets", {"errors": [{"resource_id": "1"}]})) == ([], [], 0)  # errors: free
    assert billable(page("GET /2/tweets/counts/all", {"data": [{"tweet_count": 3}]})) == ([], [], 1)
    assert billable(page("GET /2/usage/tweets", {"data": {"project_usage": "10"}})) == ([], [], 0)


# -- the ledger against the simulator --------------------------------------------------------------
def test_every_run_records_what_it_read_unique_per_utc_day(
    any_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    names = small_accounts(sim)
    registry = Registry(any_lake)
    for name in names:
        registry.add(name)
    users = run("users", any_lake, client)
    tweets = run("tweets", any_lake, client, since=SINCE)
    sim.clock.advance(hours=2)
    metrics = run("metrics", any_lake, client)
    tweet_ids, metric_ids = ids_in(any_lake, "tweets"), ids_in(any_lake, "tweet_metrics")
    profile_ids = ids_in(any_lake, "users")
    assert tweet_ids and metric_ids and len(profile_ids) == 2

    # each run's own count: what its pages returned (the tweets run's pages carry their author in
    # includes.users: one user read per account, the same users the users run read)
    assert users.usage is not None and users.usage.reads == Reads(0, 2)
    assert tweets.usage is not None and tweets.usage.reads == Reads(len(tweet_ids), 2)
    assert tweets.usage.new == Reads(len(tweet_ids), 0)  # its users were billed by the users run today
    assert metrics.usage is not None and metrics.usage.reads.post_reads == len(metric_ids)
    assert metrics.usage.new.post_reads == len(metric_ids - tweet_ids)  # read earlier today: not billed again

    # the day, across datasets: unique posts and users
    today = date(2026, 11, 22)
    day = day_usage(any_lake, today)
    assert day.post_ids == tweet_ids | metric_ids
    assert day.user_ids == profile_ids
    month = month_to_date(any_lake, today)
    assert month.total == Reads(len(tweet_ids | metric_ids), 2)
    assert month.by_dataset["tweets"] == Reads(len(tweet_ids), 2)
    assert metrics.usage.month == month.total
    assert metrics.usage.month_usd == pytest.approx(len(tweet_ids | metric_ids) * 0.005 + 2 * 0.010)
    # ... and what the simulator billed, by its own count of the same responses
    billed = sim.billing.report(sim.clock.now_ms())["totals"]
    assert (billed["post_reads"], billed["user_reads"]) == (month.total.post_reads, month.total.user_reads)
    rendered = metrics.render()
    assert f"billable reads: {len(metric_ids):,} post" in rendered and "month to date (usage ledger): $" in rendered

    # the same day again: nothing new; the next UTC day: billed again, into its own document
    sim.clock.advance(hours=1)
    again = run("metrics", any_lake, client)
    assert again.usage is not None and again.usage.new == Reads()
    assert month_to_date(any_lake, today).total == month.total
    sim.clock.advance(days=1)
    next_day = run("metrics", any_lake, client)
    assert next_day.usage is not None and next_day.usage.new.post_reads == next_day.usage.reads.post_reads > 0
    assert any_lake.exists(day_key(today + timedelta(days=1), "tweet_metrics"))
    assert (
        month_to_date(any_lake, today + timedelta(days=1)).total.post_reads
        == month.total.post_reads + next_day.usage.reads.post_reads
        == sim.billing.report(sim.clock.now_ms())["totals"]["post_reads"]
    )


@pytest.mark.parametrize("lake_kind", ["local_lake", "s3_server_lake"])  # moto's server: thread-safe
def test_concurrent_runs_merge_without_losing_a_read(lake_kind: str, request: pytest.FixtureRequest) -> None:
    """Runs of other datasets (their own locks) and a run that lost its lease write the same day."""
    any_lake: Lake = request.getfixturevalue(lake_kind)
    day = date(2026, 11, 22)
    chunks = [("tweets" if n % 2 else "tweet_metrics", f"run-{n}", set(range(n * 50, n * 50 + 80))) for n in range(6)]

    def write(dataset: str, run_id: str, posts: set[int]) -> None:
        write_day(any_lake, day, dataset, run_id, DayUsage(posts, {1, 2}, 0))

    threads = [threading.Thread(target=write, args=chunk) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = set().union(*(posts for _, _, posts in chunks))
    assert day_usage(any_lake, day).post_ids == expected
    assert month_to_date(any_lake, day).total == Reads(len(expected), 2)
    # writing a run's figures again (a flush after a flush) counts nothing twice
    write("tweets", "run-1", chunks[1][2])
    assert month_to_date(any_lake, day).total == Reads(len(expected), 2)


def test_prices_are_overridable_and_the_month_starts_on_the_first(local_lake: Lake) -> None:
    write_day(local_lake, date(2026, 10, 31), "tweets", "a", DayUsage({1, 2, 3}, set(), 0))
    write_day(local_lake, date(2026, 11, 1), "tweets", "b", DayUsage({1, 2}, {7}, 2))
    month = month_to_date(local_lake, date(2026, 11, 2))
    assert month.total == Reads(2, 1, 2)
    assert month.total.usd(Prices()) == pytest.approx(2 * 0.005 + 0.010 + 2 * 0.010)
    assert month.total.usd(Prices(post_read=0.01, user_read=0.02)) == pytest.approx(0.02 + 0.02 + 0.02)


# -- the budget ceiling on any run, and the 402 line -----------------------------------------------
def test_a_tweets_run_stops_before_its_budget_and_keeps_what_it_fetched(
    local_lake: Lake,
    sim: SimulatorServer,
    client: XClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = small_accounts(sim)
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    code = tweetlake(
        [
            "ingest",
            "tweets",
            "--lake",
            local_lake.uri,
            "--users",
            ",".join(names),
            "--since",
            SINCE,
            "--budget-reads",
            "250",
            "--no-progress",
        ]
    )
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 9, err  # the budget's own code: 8 is the database's
    assert len(err) == 1 and "250 post reads a month) would be exceeded" in err[0]
    spent = month_to_date(local_lake, date(2026, 11, 22)).total
    assert 0 < spent.post_reads <= 250
    assert spent.post_reads == len(ids_in(local_lake, "tweets"))  # published, and counted


def test_402_stops_the_run_with_one_line_and_the_ledgers_month_to_date(
    local_lake: Lake,
    sim: SimulatorServer,
    client: XClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = small_accounts(sim)
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    assert (
        tweetlake(
            [
                "ingest",
                "tweets",
                "--lake",
                local_lake.uri,
                "--users",
                ",".join(names),
                "--since",
                SINCE,
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    sim.clock.advance(hours=2)
    sim.faults.fail_next(n=1, status=402)
    code = tweetlake(["ingest", "metrics", "--lake", local_lake.uri, "--users", ",".join(names), "--no-progress"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 3
    spent = month_to_date(local_lake, date(2026, 11, 22)).total
    assert spent.post_reads == len(ids_in(local_lake, "tweets"))
    assert len(err) == 1, err
    assert "no credits left (HTTP 402" in err[0]
    assert f"${spent.usd(Prices()):,.2f} this month ({spent.post_reads:,} post reads, 2 user reads" in err[0]


def test_the_guard_counts_what_today_already_billed(local_lake: Lake) -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    write_day(local_lake, now.date(), "tweets", "earlier", DayUsage(set(range(1, 101)), set(), 0))
    meter = Meter(local_lake, "tweet_metrics", "r", lambda: now, budget=Budget(reads=150))
    ids = ",".join(str(i) for i in range(51, 151))  # 50 billed today already, 50 new
    meter.guard("GET /2/tweets", {"ids": ids})  # 100 + 50 new = 150: fits
    from ingestion.errors import BudgetReached

    with pytest.raises(BudgetReached, match="150 post reads a month"):
        meter.guard("GET /2/tweets", {"ids": ",".join(str(i) for i in range(51, 152))})
    # a page's worst case: max_results posts and, with expansions=author_id, its one author
    assert worst_case(
        "GET /2/users/:id/tweets", {"max_results": 100, "expansions": "author_id"}, meter.read_today
    ) == Reads(100, 1)
    assert worst_case(
        "GET /2/tweets/search/all",
        {"max_results": 500, "query": "from:42 -is:retweet", "expansions": "author_id"},
        meter.read_today,
    ) == Reads(500, 1)
    assert worst_case("GET /2/tweets/counts/all", {}, meter.read_today) == Reads(counts_requests=1)
    assert worst_case("GET /2/users/by", {"usernames": "a,b,c"}, meter.read_today) == Reads(0, 3)


def test_a_run_past_midnight_counts_the_new_day_with_what_others_read_on_it(local_lake: Lake) -> None:
    day1, day2 = date(2026, 11, 22), date(2026, 11, 23)
    write_day(local_lake, day1, "tweets", "a", DayUsage({1, 2}, set(), 0))
    clock = [datetime(2026, 11, 22, 23, 59, tzinfo=UTC)]
    meter = Meter(local_lake, "tweet_metrics", "r", lambda: clock[0])
    write_day(local_lake, day2, "tweets", "b", DayUsage({10, 11}, set(), 0))  # after the run started
    meter.record(Page("GET /2/tweets", {"data": [{"id": "1"}, {"id": "3"}]}, clock[0]))
    clock[0] = datetime(2026, 11, 23, 0, 1, tzinfo=UTC)
    meter.record(Page("GET /2/tweets", {"data": [{"id": "11"}, {"id": "12"}]}, clock[0]))
    assert meter.run_reads() == Reads(4)
    assert meter.new_reads() == Reads(2)  # 3 on day 1, 12 on day 2: the rest others had read that day
    assert meter.spent() == Reads(2 + 1 + 2 + 1)  # day 1: {1,2,3}; day 2: {10,11,12}
    meter.flush()
    assert month_to_date(local_lake, day2).total == meter.spent()


# -- one meter, one budget, validated inputs ------------------------------------------------------
def billed(sim: SimulatorServer) -> dict[str, Any]:
    return dict(sim.billing.report(sim.clock.now_ms())["totals"])


def test_users_add_with_a_zero_budget_bills_nothing(
    local_lake: Lake, sim: SimulatorServer, client: XClient, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(XClient, "from_settings", classmethod(lambda cls, *_, **__: client))
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    monkeypatch.setenv("TWEETLAKE_BUDGET_USD", "0")
    code = tweetlake(["users", "add", *small_accounts(sim), "--lake", local_lake.uri])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 9 and len(err) == 1 and "budget ($0.00 a month) would be exceeded" in err[0]
    assert billed(sim)["user_reads"] == 0 and Registry(local_lake).list() == []


def test_after_a_session_the_ledger_equals_what_the_api_billed(
    local_lake: Lake, sim: SimulatorServer, client: XClient, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """users add, ingest users/tweets/metrics and plan --exact: one meter saw every billed call."""
    monkeypatch.setattr(XClient, "from_settings", classmethod(lambda cls, *_, **__: client))
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    names = small_accounts(sim)
    assert tweetlake(["users", "add", *names, "--lake", local_lake.uri]) == 0
    assert tweetlake(["ingest", "users", "--lake", local_lake.uri, "--no-progress"]) == 0
    capsys.readouterr()
    exact = ["plan", "--exact", "--lake", local_lake.uri, "--since", SINCE, "--json"]
    assert tweetlake(exact) == 0
    sized = json.loads(capsys.readouterr().out)
    assert sized["api_calls"] > 0 and sized["backfill"]["exact"] is True
    asked = billed(sim)
    assert tweetlake(exact) == 0  # a second plan asks nothing: the counts are cached in the lake
    again = json.loads(capsys.readouterr().out)
    assert again["api_calls"] == 0 and again["backfill"] == sized["backfill"] and billed(sim) == asked
    assert tweetlake(["ingest", "tweets", "--lake", local_lake.uri, "--no-progress", "--since", SINCE]) == 0
    assert tweetlake(["ingest", "metrics", "--policy", "all", "--lake", local_lake.uri, "--no-progress"]) == 0
    sim.clock.advance(days=1)  # a new UTC day: everything is billed again
    assert tweetlake(["ingest", "metrics", "--policy", "all", "--lake", local_lake.uri, "--no-progress"]) == 0
    capsys.readouterr()
    truth = billed(sim)
    ledger = month_to_date(local_lake, sim.clock.now().date()).total
    assert truth["counts_requests"] == sized["api_calls"] and truth["user_reads"] > 0 and truth["post_reads"] > 0
    assert (ledger.post_reads, ledger.user_reads, ledger.counts_requests) == (
        truth["post_reads"],
        truth["user_reads"],
        truth["counts_requests"],
    )


def test_two_datasets_started_together_never_pass_a_five_dollar_budget(
    local_lake: Lake, sim: SimulatorServer, fake_clock: Any
) -> None:
    from tests.support import make_client

    first, second = small_accounts(sim)
    setup = make_client(sim, fake_clock)
    run("tweets", local_lake, setup, users=first, since="2022-01-01T00:00:00Z")  # what the metrics run refreshes
    setup.close()
    sim.clock.advance(days=1)
    start = billed(sim)["usd"]
    budget = round(start + 5.0, 2)  # $5 left this month
    clients = [make_client(sim, fake_clock) for _ in range(2)]
    results: dict[str, Any] = {}

    def go(name: str, client: XClient, **raw: Any) -> None:
        try:
            results[name] = run(name, local_lake, client, budget_usd=budget, **raw)
        except Exception as err:  # the outcome is what is checked
            results[name] = err

    threads = [
        threading.Thread(
            target=go, args=("tweets", clients[0]), kwargs={"users": second, "since": "2022-01-01T00:00:00Z"}
        ),
        threading.Thread(target=go, args=("tweet_metrics", clients[1]), kwargs={"users": first, "policy": "all"}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    spent = billed(sim)["usd"] - start
    print(f"two datasets together against $5.00 left: billed ${spent:.2f}; {results}")
    assert spent <= 5.0 + 1e-9
    assert spent > 4.0  # the budget was used, not refused
    assert any(isinstance(r, BudgetReached) for r in results.values())
    assert not lake_reservations(local_lake)  # every reservation released


def lake_reservations(lake: Lake) -> list[str]:
    from ingestion.state import read_json

    return [r for obj in lake.list("state/budget/") for r in (read_json(lake, obj.key) or {}).get("runs", {})]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["ingest", "tweets", "--budget-usd", "nan"], {}, "--budget-usd must be between 0"),
        (["ingest", "tweets", "--budget-usd", "inf"], {}, "--budget-usd must be between 0"),
        (["ingest", "tweets", "--budget-usd", "1e308"], {}, "--budget-usd must be between 0"),
        (["ingest", "tweets", "--budget-usd", "-1"], {}, "--budget-usd must be between 0"),
        (["ingest", "tweets"], {"TWEETLAKE_BUDGET_USD": "abc"}, "TWEETLAKE_BUDGET_USD must be a number"),
        (["ingest", "tweets"], {"TWEETLAKE_BUDGET_USD": "inf"}, "TWEETLAKE_BUDGET_USD must be between"),
        (["ingest", "tweets"], {"TWEETLAKE_BUDGET_USD": "nan"}, "TWEETLAKE_BUDGET_USD must be between"),
        (["ingest", "tweets", "--price-post-read=-0.005"], {}, "--price-post-read must be a positive price"),
        (["ingest", "tweets", "--price-user-read", "inf"], {}, "--price-user-read must be a positive price"),
        (["plan", "--budget-usd", "-5"], {}, "--budget-usd must be between 0"),
        (["plan", "--price-post-read", "0"], {}, "--price-post-read must be a positive price"),
        (["plan"], {"TWEETLAKE_BUDGET_USD": "1e308"}, "TWEETLAKE_BUDGET_USD must be between"),
        (["usage", "--budget-usd", "nan"], {}, "--budget-usd must be between 0"),
    ],
)
def test_bad_budgets_and_prices_are_one_line_and_exit_2(
    local_lake: Lake,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    Registry(local_lake).add("someone")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    extra = ["--no-progress"] if args[0] == "ingest" else []
    code = tweetlake([*args, "--lake", local_lake.uri, *extra])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert month_to_date(local_lake, date(2026, 11, 22)).total == Reads()


class UsageAnswer:
    """A client whose GET /2/usage/tweets answers ``body`` (what an unparsable answer looks like)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def now(self) -> datetime:
        return datetime(2026, 11, 22, 12, tzinfo=UTC)

    def usage_tweets(self, days: int) -> Page:
        return Page("GET /2/usage/tweets", self.body, self.now())


@pytest.mark.parametrize(
    "data",
    [
        {"daily_project_usage": {"usage": [{"date": "yesterday", "usage": "many"}]}, "project_usage": "x"},
        {"daily_project_usage": "nope"},
        {"daily_project_usage": {"usage": [{"date": "2026-11-22", "usage": -3}]}, "project_usage": 1},
    ],
)
def test_usage_api_says_when_it_cannot_compare_an_unreadable_answer(
    local_lake: Lake, monkeypatch: pytest.MonkeyPatch, capsys: Any, data: dict[str, Any]
) -> None:
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: UsageAnswer({"data": data})))
    assert tweetlake(["usage", "--api", "--lake", local_lake.uri]) == 0
    out = capsys.readouterr().out
    assert "cannot compare with the ledger" in out and "every day agrees" not in out
    assert tweetlake(["usage", "--api", "--json", "--lake", local_lake.uri]) == 0
    assert json.loads(capsys.readouterr().out)["api"]["comparable"] is False


def test_the_rest_apis_name_lookups_go_through_the_meter_and_the_budget(
    local_lake: Lake, sim: SimulatorServer, client: XClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tweetlake.api.problems import ProblemError
    from tweetlake.api.service import AccountsService

    first, second = small_accounts(sim)
    service = AccountsService(local_lake, client_factory=lambda: client, snapshots=False)
    service.add(first)
    ledger = month_to_date(local_lake, sim.clock.now().date()).total
    assert ledger.user_reads == billed(sim)["user_reads"] == 1  # counted as the API billed it
    monkeypatch.setenv("TWEETLAKE_BUDGET_USD", "0")
    with pytest.raises(ProblemError) as refused:
        service.add(second)
    assert refused.value.status == 402 and "budget" in str(refused.value.detail)
    assert billed(sim)["user_reads"] == 1 and Registry(local_lake).get(second) is None
