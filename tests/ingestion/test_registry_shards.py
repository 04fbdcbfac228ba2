"""The registry is sharded: an add rewrites one small document, not the whole registry; accounts of
a registry written before the shards stay where they are and every operation finds them; a
document that cannot be read names itself."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from common.lake import Lake, LocalLake
from common.layout import REGISTRY_KEY
from ingestion.errors import StateCorrupt
from ingestion.registry import SHARD_PREFIX, SHARDS, Registry, shard_key


def state_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in (root / "state").rglob("*.json")}


def test_an_add_rewrites_one_shard_of_the_registry_not_all_of_it(tmp_path: Path) -> None:
    registry = Registry(LocalLake(tmp_path))
    for n in range(2_000):
        registry.add(f"user_{n}")
    before = state_files(tmp_path)
    assert len(before) == SHARDS + 1, "registry.json and every shard"
    registry.add("one_more")
    after = state_files(tmp_path)
    changed = [key for key in after if after[key] != before.get(key)]
    assert changed == [shard_key("one_more")]
    assert len(after[changed[0]]) < sum(len(b) for b in before.values()) / 20, "a small part of it"
    assert len(registry.list()) == 2_001


def test_concurrent_adders_each_with_their_own_registry_lose_nothing(local_lake: Lake) -> None:
    names = [f"racer_{i:03d}" for i in range(200)]

    def add(name: str) -> bool:
        return Registry(local_lake).add(name)[1]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(add, names))
    assert sorted(a.username for a in Registry(local_lake).list()) == names


def test_accounts_of_a_registry_from_before_the_shards_keep_working(local_lake: Lake) -> None:
    legacy = {
        "version": 1,
        "accounts": {
            "old_name": {"username": "old_name", "user_id": None, "added_at": "2026-01-01T00:00:00Z"},
            "gone": {"username": "gone", "user_id": "7", "added_at": "2026-01-01T00:00:00Z"},
            "stays": {"username": "Stays", "user_id": "8", "added_at": "2026-01-01T00:00:00Z"},
        },
    }
    local_lake.put_bytes(REGISTRY_KEY, json.dumps(legacy).encode())
    registry = Registry(local_lake)
    assert registry.add("STAYS") == (registry.get("stays"), False)
    account, created = registry.add("old_name", "41")
    assert not created and account.user_id == "41"
    assert registry.add("newcomer")[1]
    day = "2026-11-20"
    registry.record_lookups({"new_name": "41"}, {"gone": "suspended"}, {"old_name": "new_name"}, snapshot_day=day)
    assert registry.remove("stays")
    accounts = {a.username: a for a in registry.list()}
    assert set(accounts) == {"new_name", "gone", "newcomer"}
    assert accounts["new_name"].previous_usernames == ["old_name"] and accounts["new_name"].user_id == "41"
    assert accounts["new_name"].last_snapshot_day == "2026-11-20"
    assert accounts["gone"].status == "suspended"
    assert registry.get("OLD_NAME") is None


@pytest.mark.parametrize("body", [b'{"version": 1, "accounts": {"a": {"user', b"[]", b'{"accounts": {"a": 5}}'])
def test_a_shard_that_cannot_be_read_names_itself_and_how_to_recover(local_lake: Lake, body: bytes) -> None:
    registry = Registry(local_lake)
    registry.add("someone")
    local_lake.put_bytes(shard_key("someone"), body)
    for attempt in (registry.list, lambda: registry.get("someone"), lambda: registry.add("someone")):
        with pytest.raises(StateCorrupt, match=rf"{shard_key('someone')} cannot be read .*tweetlake users add"):
            attempt()
    assert shard_key("someone").startswith(SHARD_PREFIX)
