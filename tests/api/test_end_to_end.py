"""End to end with the simulator: an account added through the API is collected by the next runs,
and the API then reports what the lake holds for it; a removed account is no longer collected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from common.lake import Lake
from common.layout import parse_raw_key, raw_prefix
from common.rawio import iter_raw_records
from ingestion.client import XClient
from ingestion.run import run
from tests.api.conftest import Api
from tests.support import FakeClock, make_client
from xsim import SimulatorServer

T2022_ID = 1477067041797046272  # the first tweet id of 2022


def records(lake: Lake, dataset: str) -> list[tuple[str, dict[str, Any]]]:
    return [(obj.key, r) for obj in lake.list(raw_prefix(dataset)) for r in iter_raw_records(lake, obj.key)]


@pytest.fixture
def client(sim: SimulatorServer, fake_clock: FakeClock) -> XClient:
    return make_client(sim, fake_clock)


@pytest.mark.parametrize("lake_kind", ["local_lake", "s3_server_lake"])
def test_added_account_is_collected_and_reported(
    lake_kind: str,
    request: pytest.FixtureRequest,
    start_api: Callable[..., Api],
    sim: SimulatorServer,
    client: XClient,
    x_client_factory,
) -> None:
    lake: Lake = request.getfixturevalue(lake_kind)
    api = start_api(lake, client_factory=x_client_factory)
    target, other = sim.world.accounts[5], sim.world.accounts[6]
    for account in (target, other):
        assert api.post("/accounts", json={"username": account.username}).status_code == 201

    run("users", lake, client)
    day = client.now().date().isoformat()
    profiles = {r["data"]["id"] for _, r in records(lake, "users") if "data" in r}
    assert profiles == {target.user_id, other.user_id}
    view = api.get(f"/accounts/{target.username}").json()
    assert view["user_id"] == target.user_id and view["last_profile_snapshot"] == day
    assert view["tweets"] == {
        "newest_id": None,
        "cursor_updated_at": None,
        "backfill_pending": False,
        "collected": None,
    }

    run("tweets", lake, client)
    truth = [i for i in sim.world.archive_ids(target.user_id) if int(i) >= T2022_ID]  # timeline, then search
    collected = [
        r["data"]["id"] for _, r in records(lake, "tweets") if "data" in r and r["data"]["author_id"] == target.user_id
    ]
    assert truth and sorted(collected) == sorted(truth)
    tweets = api.get(f"/accounts/{target.username}").json()["tweets"]
    assert tweets["newest_id"] == max(truth, key=int)
    assert tweets["cursor_updated_at"] and tweets["backfill_pending"] is False
    assert tweets["collected"] is None  # no metrics run yet: no tweet index

    run("metrics", lake, client)
    api.app.state.service.insights._index_read_at = float("-inf")  # type: ignore[attr-defined]  # skip the 60 s TTL
    listed = {a["username"]: a for a in api.get("/accounts").json()["accounts"]}
    assert listed[target.username]["tweets"]["collected"] == len(truth)
    assert listed[other.username]["tweets"]["collected"] == len(
        [i for i in sim.world.timeline_ids(other.user_id) if int(i) >= T2022_ID]
    )

    # removing stops collection; what was collected stays
    files_before = {o.key for o in lake.list("raw/")}
    assert api.delete(f"/accounts/{target.username}").status_code == 204
    sim.clock.advance(hours=25)
    summary = run("users", lake, client)
    assert {o.key for o in lake.list("raw/")} >= files_before
    newest_run = max(parse_raw_key(key)["run_id"] for key, _ in records(lake, "users"))
    latest = {
        r["data"]["id"]
        for key, r in records(lake, "users")
        if "data" in r and parse_raw_key(key)["run_id"] == newest_run
    }
    assert latest == {other.user_id}, summary.render()
    assert api.get(f"/accounts/{target.username}").status_code == 404
    assert api.get(f"/accounts/{other.username}").json()["last_profile_snapshot"] == client.now().date().isoformat()


def test_account_added_without_a_token_is_resolved_by_the_next_users_run(
    start_api: Callable[..., Api], local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    api = start_api(local_lake)  # no X token: added unresolved
    target = sim.world.accounts[7]
    created = api.post("/accounts", json={"username": target.username})
    assert created.status_code == 201 and created.json()["user_id"] is None
    assert sim.stats.counts() == {}
    run("users", local_lake, client)
    view = api.get(f"/accounts/{target.username}").json()
    assert view["user_id"] == target.user_id
    assert view["last_profile_snapshot"] == client.now().date().isoformat()
    run("tweets", local_lake, client)
    assert api.get(f"/accounts/{target.username}").json()["tweets"]["newest_id"] == max(
        (i for i in sim.world.timeline_ids(target.user_id) if int(i) >= T2022_ID), key=int
    )
