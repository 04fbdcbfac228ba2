from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from common.lake import Lake
from ingestion.accounts import known_user_ids, remember_user_ids
from ingestion.registry import InvalidUsername, Registry
from ingestion.state import RunLock, RunLockedError


def test_add_is_idempotent_and_case_insensitive(any_lake: Lake) -> None:
    registry = Registry(any_lake)
    account, created = registry.add("NASA")
    assert created and account.username == "NASA" and account.user_id is None and account.added_at
    again, created_again = registry.add("@nasa")
    assert not created_again and again.username == "NASA"
    assert [a.username for a in registry.list()] == ["NASA"]


@pytest.mark.parametrize("name", ["", "has-dash", "sixteen_chars_xx", "sp ace", "émile"])
def test_invalid_usernames_are_refused(local_lake: Lake, name: str) -> None:
    with pytest.raises(InvalidUsername):
        Registry(local_lake).add(name)
    assert Registry(local_lake).list() == []


def test_remove(any_lake: Lake) -> None:
    registry = Registry(any_lake)
    registry.add("a_1")
    registry.add("b_2")
    assert registry.remove("A_1") is True
    assert registry.remove("a_1") is False
    assert [a.username for a in registry.list()] == ["b_2"]


def test_lookups_record_ids_statuses_and_renames(any_lake: Lake) -> None:
    registry = Registry(any_lake)
    registry.add("old_name")
    registry.add("gone")
    registry.record_lookups({"old_name": "42"}, {"gone": "suspended"}, {})
    registry.record_lookups({"new_name": "42"}, {}, {"old_name": "new_name"})
    accounts = {a.username: a for a in registry.list()}
    assert set(accounts) == {"new_name", "gone"}
    assert accounts["new_name"].user_id == "42"
    assert accounts["new_name"].previous_usernames == ["old_name"]
    assert accounts["gone"].status == "suspended"


@pytest.mark.parametrize("lake_kind", ["local_lake", "s3_server_lake"])
def test_fifty_concurrent_adds_lose_nothing(lake_kind: str, request: pytest.FixtureRequest) -> None:
    """Local: the file lock; S3: conditional PUTs (moto's HTTP server, which serves threads safely)."""
    registry = Registry(request.getfixturevalue(lake_kind))
    names = [f"user_{i:02d}" for i in range(50)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda n: registry.add(n)[1], names))
    assert all(results)
    assert sorted(a.username for a in registry.list()) == names


def test_run_lock_excludes_a_second_run(any_lake: Lake) -> None:
    with RunLock(any_lake, "tweets", "run-a"):
        with pytest.raises(RunLockedError, match="run-a"):
            RunLock(any_lake, "tweets", "run-b").acquire()
        RunLock(any_lake, "users", "run-b").acquire()  # other collectors are independent
    with RunLock(any_lake, "tweets", "run-b"):  # released: the next run goes
        pass


def test_user_id_cache_learns_and_forgets(local_lake: Lake) -> None:
    remember_user_ids(local_lake, {"Alice": "1", "bob": "2"})
    assert known_user_ids(local_lake) == {"alice": "1", "bob": "2"}
    remember_user_ids(local_lake, {"alice": "3"}, forget=["BOB", "nobody"])
    assert known_user_ids(local_lake) == {"alice": "3"}
    assert Registry(local_lake).list() == [], "the cache is not the registry"
