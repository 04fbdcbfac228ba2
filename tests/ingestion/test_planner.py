"""tweetlake plan: its replay of the schedules, its faces, and 30 simulated days of the real schedules
against the simulator's own billing (the estimate made on day 0 within ±15 %; a budget never exceeded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.lake import Lake
from common.layout import parse_time
from ingestion.errors import BudgetReached
from ingestion.planner import Schedule, billed_days, plan
from ingestion.policy import DEFAULT_POLICY, Policy
from ingestion.registry import Registry
from ingestion.run import run
from ingestion.usage import Prices, month_to_date
from tests.support import TOKEN, FakeClock, make_client
from tweetlake.cli import main as tweetlake
from xsim import SimulatorServer

H, D = 3600, 86400
DAY0 = datetime(2026, 12, 1, tzinfo=UTC)
TRACKED = (5, 6, 7)  # active accounts of the seeded world without a special role: ~2,500 tweets since June
SINCE = "2026-06-01T00:00:00Z"


# -- the replay of one tweet ---------------------------------------------------------------------------
def test_a_young_tweet_is_billed_once_a_day_an_old_one_once_a_week() -> None:
    policy, schedule = Policy.parse("0-2d:2h,2d-7d:12h,7d-30d:1d,30d+:7d"), Schedule()
    start = int(DAY0.timestamp())
    end = start + 30 * D
    # collected at 04:10 on day 0, read by every metrics run: days 0, 1, 2 (0-2d), then 2-7d at 12 h
    # (once a day, billed once), then daily to 30 days: every day of the month
    young = billed_days(
        policy,
        schedule,
        created=start + 3 * H,
        refreshed=0,
        known_at=start + 4 * H + 600,
        start=start,
        end=end,
        collected=start + 4 * H + 600,
    )
    assert young == set(range(start // D, end // D))
    # two years old, refreshed 3 days ago: due after 7 d less the grace (8.4 h: 6 d 15.6 h), at the
    # next metrics run: days 3, 10, 16 or 17, 23 — four reads in the month
    old = billed_days(
        policy, schedule, created=start - 730 * D, refreshed=start - 3 * D, known_at=start, start=start, end=end
    )
    assert len(old) == 4 and min(old) == start // D + 3
    gaps = sorted(b - a for a, b in zip(sorted(old), sorted(old)[1:], strict=False))
    assert set(gaps) <= {6, 7}
    # a policy that ends at 30 days never reads it
    assert (
        billed_days(
            Policy.parse("0-2d:2h,2d-30d:1d"),
            schedule,
            created=start - 730 * D,
            refreshed=0,
            known_at=start,
            start=start,
            end=end,
        )
        == set()
    )


# -- 30 days of the real schedules ---------------------------------------------------------------------
@dataclass
class Month:
    sim: SimulatorServer
    lake: Lake
    clock: FakeClock
    budget_usd: float | None
    billed_at_day0: float = 0.0
    over_budget: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    waited: int = 0

    def billed_usd(self) -> float:
        return float(self.sim.billing.report(self.sim.clock.now_ms())["totals"]["usd"])

    def december_usd(self) -> float:
        days = self.sim.billing.report(self.sim.clock.now_ms())["days"]
        return sum(d["usd"] for d in days if d["date"] >= "2026-12-01")


def schedule_between(start: datetime, end: datetime) -> Iterator[tuple[datetime, str]]:
    """The AWS stack's timers: users 01:00 daily, tweets 00:10 every 4 h, metrics 01:20 every 2 h."""
    events = []
    day = start.replace(hour=0, minute=0, second=0)
    while day < end:
        events.append((day + timedelta(hours=1), "users"))
        events += [(day + timedelta(hours=h, minutes=10), "tweets") for h in range(0, 24, 4)]
        events += [(day + timedelta(hours=h, minutes=20), "metrics") for h in range(1, 24, 2)]
        day += timedelta(days=1)
    yield from sorted(e for e in events if start <= e[0] < end)


def live(month: Month, start: datetime, end: datetime) -> None:
    client = make_client(month.sim, month.clock)
    try:
        for when, dataset in schedule_between(start, end):
            month.sim.clock.set(when)
            month.clock.t = when.timestamp()  # the rate-limit windows follow the world's time
            try:
                summary = run(
                    dataset, month.lake, client, since=SINCE, policy=DEFAULT_POLICY, budget_usd=month.budget_usd
                )
                month.waited += int(
                    str(summary.extra.get("waited (over the budget; the youngest went first)", "0")).replace(",", "")
                )
            except BudgetReached:
                month.stopped.append(f"{when:%m-%d %H:%M} {dataset}")
            if month.budget_usd is not None and month.december_usd() > month.budget_usd + 1e-9:
                month.over_budget.append(f"{when:%m-%d %H:%M} {dataset}: ${month.december_usd():.2f}")
    finally:
        client.close()


@pytest.fixture
def month(tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[Month]:
    budget = getattr(request, "param", None)
    clock = FakeClock(DAY0 - timedelta(days=1))
    with SimulatorServer(seed=7, accounts=8, now=DAY0 - timedelta(days=1), token=TOKEN, rate_clock=clock) as sim:
        lake = Lake.from_uri((tmp_path / "lake").as_uri())
        for index in TRACKED:
            Registry(lake).add(sim.world.accounts[index].username)
        # day -1: the backfill since June and a day of the schedules, as a lake that has run a while
        live_month = Month(sim, lake, clock, budget)
        live(live_month, DAY0 - timedelta(days=1), DAY0)
        live_month.over_budget.clear()
        yield live_month


@pytest.mark.slow
def test_thirty_days_cost_what_the_plan_said_on_day_0(month: Month) -> None:
    month.sim.clock.set(DAY0)
    estimate = plan(month.lake, Registry(month.lake).list(), now=DAY0, policy=DEFAULT_POLICY)
    assert estimate.backfill_post_reads == 0 and estimate.accounts[0].rate_from == "lake"
    before = month.billed_usd()
    live(month, DAY0, DAY0 + timedelta(days=30))
    billed = month.billed_usd() - before
    report = month.sim.billing.report(month.sim.clock.now_ms())
    billed_days_ = [d for d in report["days"] if d["date"] >= "2026-12-01"]
    posts = sum(d["post_reads"] for d in billed_days_)
    users = sum(d["user_reads"] for d in billed_days_)
    assert billed == pytest.approx(sum(d["usd"] for d in billed_days_))
    print(
        f"plan on day 0: {estimate.post_reads_per_month:,.0f} post + {estimate.user_reads_per_month:,.0f} "
        f"user reads = ${estimate.usd_per_month:,.2f}; billed: {posts:,} post + {users:,} user = ${billed:,.2f}"
    )
    assert estimate.usd_per_month == pytest.approx(billed, rel=0.15)
    assert estimate.post_reads_per_month == pytest.approx(posts, rel=0.15)
    assert estimate.user_reads_per_month == users  # one a day per account, exactly
    # and the usage ledger counted what the simulator billed, day by day
    ledger = month_to_date(month.lake, (DAY0 + timedelta(days=29)).date())
    assert {d: r.post_reads for d, r in ledger.by_day.items()} == {d["date"]: d["post_reads"] for d in billed_days_}
    assert ledger.total.usd(Prices()) == pytest.approx(billed)


@pytest.mark.slow
@pytest.mark.parametrize("month", [20.0], indirect=True)
def test_thirty_days_under_a_budget_never_bill_more_than_it(month: Month) -> None:
    estimate = plan(month.lake, Registry(month.lake).list(), now=DAY0, policy=DEFAULT_POLICY, budget_usd=20.0)
    assert estimate.usd_per_month > 20.0  # the budget binds
    assert estimate.policy_for_budget is not None and estimate.policy_for_budget != DEFAULT_POLICY
    live(month, DAY0, DAY0 + timedelta(days=30))
    spent = month.december_usd()
    print(
        f"budget $20.00: billed ${spent:,.2f} in 30 days; {month.waited:,} due tweets waited over the runs; "
        f"the plan said ${estimate.usd_per_month:,.2f} for the policy, {estimate.policy_for_budget} fits"
    )
    assert month.over_budget == []
    assert 0.8 * 20.0 <= spent <= 20.0  # paced, the budget is used, never passed
    assert month.waited > 0
    assert month.stopped == []  # the metrics runs left room for the new tweets and the profiles


# -- the faces -------------------------------------------------------------------------------------------
def test_plan_and_usage_commands(
    local_lake: Lake,
    sim: SimulatorServer,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for index in (6, 7):
        Registry(local_lake).add(sim.world.accounts[index].username)
    run("users", local_lake, client)
    now = sim.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    # before the tweets run: the backfill since --since is estimated from the profiles
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now, "--since", SINCE, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["backfill"]["post_reads"] > 0 and before["api_calls"] == 0
    run("tweets", local_lake, client, since=SINCE)
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now, "--budget-usd", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in (
        "post_reads_per_month",
        "user_reads_per_month",
        "usd_per_month",
        "exceeds_monthly_cap",
        "policy_for_budget",
        "backfill",
    ):
        assert key in doc
    assert doc["user_reads_per_month"] == 2 * 30
    assert doc["usd_per_month"] == pytest.approx(doc["post_reads_per_month"] * 0.005 + 60 * 0.010, abs=0.01)
    assert doc["fits_budget"] is False and doc["candidates"][0]["policy"] == DEFAULT_POLICY
    costs = [c["usd_per_month"] for c in doc["candidates"]][1:]
    assert costs == sorted(costs, reverse=True)  # after the chosen policy, the ladder goes from thorough to lean
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now, "--price-post-read", "0.01", "--json"]) == 0
    dearer = json.loads(capsys.readouterr().out)
    assert dearer["usd_per_month"] == pytest.approx(doc["post_reads_per_month"] * 0.01 + 0.6, abs=0.01)
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now]) == 0
    assert "monthly post-read cap 3,000,000: within" in capsys.readouterr().out
    # tweetlake usage: the ledger, and the API's own count agrees
    monkeypatch.setattr("ingestion.client.XClient.from_env", classmethod(lambda cls, **_: client))
    assert tweetlake(["usage", "--lake", local_lake.uri, "--budget-usd", "100", "--api", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)
    billed = sim.billing.report(sim.clock.now_ms())["totals"]
    assert (usage["post_reads"], usage["user_reads"]) == (billed["post_reads"], billed["user_reads"])
    assert usage["api"]["differences"] == {} and int(usage["api"]["project_usage"]) == billed["post_reads"]
    assert usage["budget"]["usd_left"] == pytest.approx(100 - billed["usd"], abs=1e-6)
    assert tweetlake(["usage", "--lake", local_lake.uri, "--now", now]) == 0
    assert "every day agrees" not in capsys.readouterr().out
    assert tweetlake(["plan", "--lake", local_lake.uri, "--policy", "1d-2d:1h"]) == 2
    assert "starts at 1d" in capsys.readouterr().err


def test_the_plan_counts_the_backfill_exactly_with_counts_all(
    local_lake: Lake, sim: SimulatorServer, client: Any
) -> None:
    account = sim.world.accounts[6]
    Registry(local_lake).add(account.username)
    run("users", local_lake, client)
    before = sim.billing.report(sim.clock.now_ms())["totals"]
    exact = plan(
        local_lake, Registry(local_lake).list(), now=sim.clock.now(), since=parse_time(SINCE), exact_client=client
    )
    truth = sum(
        1
        for i in sim.world.archive_ids(account.user_id)
        if parse_time(SINCE).timestamp() <= ((int(i) >> 22) + 1288834974657) // 1000
    )  # what search/all would return
    assert exact.accounts[0].backfill_tweets == truth
    after = sim.billing.report(sim.clock.now_ms())["totals"]
    assert exact.api_calls == after["counts_requests"] - before["counts_requests"] >= 1
    assert exact.api_calls_usd == pytest.approx(after["usd"] - before["usd"])


def test_the_plan_leaves_out_what_the_api_would_not_serve(local_lake: Lake, sim: SimulatorServer, client: Any) -> None:
    """A suspended account is no user read; a protected one is (its profile is served), but its
    tweets are neither collected nor refreshed; the simulator bills a day the same way."""
    for account in (sim.world.accounts[6], sim.world.suspended, sim.world.protected):
        Registry(local_lake).add(account.username)
    run("users", local_lake, client)
    run("tweets", local_lake, client, since=SINCE)
    day = sim.billing.report(sim.clock.now_ms())["days"][-1]
    estimate = plan(local_lake, Registry(local_lake).list(), now=sim.clock.now())
    assert estimate.user_reads_per_month == day["user_reads"] * 30 == 2 * 30
    rates = {a.username: a for a in estimate.accounts}
    assert rates[sim.world.protected.username].new_tweets_per_day == 0
    assert rates[sim.world.protected.username].known_tweets == 0
    assert rates[sim.world.accounts[6].username].known_tweets > 0


def test_the_plan_before_the_backfill_sees_the_backfill_and_the_month_after_it(
    local_lake: Lake, sim: SimulatorServer, client: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """3 accounts since 2022, nothing collected yet: the backfill and the month after it, within 15 %
    of what the simulator bills for the backfill and of the plan made once the posts are in the lake."""
    monkeypatch.setattr("ingestion.client.XClient.from_env", classmethod(lambda cls, **_: client))
    for index in TRACKED:
        Registry(local_lake).add(sim.world.accounts[index].username)
    run("users", local_lake, client)
    now = sim.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    since = "2022-01-01T00:00:00Z"
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now, "--since", since, "--json"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    assert estimate["backfill"]["exact"] is False and estimate["backfill"]["exact_would_cost_usd"] > 0
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now, "--since", since]) == 0
    assert "ESTIMATED from the profiles' tweet counts, between" in capsys.readouterr().out
    assert tweetlake(["plan", "--exact", "--lake", local_lake.uri, "--now", now, "--since", since, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["backfill"]["exact"] is True and before["api_calls"] > 0
    billed_before = sim.billing.report(sim.clock.now_ms())["totals"]["post_reads"]
    run("tweets", local_lake, client, since=since)
    backfill = sim.billing.report(sim.clock.now_ms())["totals"]["post_reads"] - billed_before
    assert tweetlake(["plan", "--lake", local_lake.uri, "--now", now, "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["backfill"]["post_reads"] == 0 and after["known_tweets"] > 1000
    print(
        f"before the backfill: {before['backfill']['post_reads']:,} posts, then {before['post_reads_per_month']:,} "
        f"post reads a month; billed for the backfill: {backfill:,}; plan after it: {after['post_reads_per_month']:,}"
    )
    assert before["backfill"]["post_reads"] == pytest.approx(backfill, rel=0.15)
    assert before["post_reads_per_month"] == pytest.approx(after["post_reads_per_month"], rel=0.15)
    tiers = before["tiers"]
    assert [t["tier"] for t in tiers] == DEFAULT_POLICY.split(",")
    assert sum(t["post_reads"] for t in tiers) == pytest.approx(before["breakdown"]["metrics_post_reads"], abs=2)
    assert before["extension"]["tier"] == "30d+:30d" and before["extension"]["post_reads"] > 0
