"""50 concurrent POSTs of different accounts through the served API: all 50 are tracked afterwards.

Locally the registry's file lock, on S3 its conditional PUTs (moto's HTTP server: its in-process
mock is not thread-safe) keep concurrent requests from losing one another's update.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingestion.registry import Registry
from tests.api.conftest import API_KEY, Api


@pytest.mark.parametrize("lake_kind", ["local_lake", "s3_server_lake"])
def test_fifty_concurrent_posts_are_all_tracked(
    lake_kind: str, request: pytest.FixtureRequest, start_api: Callable[..., Api]
) -> None:
    lake = request.getfixturevalue(lake_kind)
    base_url = start_api(lake).base_url
    names = [f"user_{i:02d}" for i in range(50)]

    def post(name: str) -> int:
        return Api(base_url, API_KEY).post("/accounts", json={"username": name}).status_code  # one connection each

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(post, names))
    assert statuses == [201] * 50
    assert sorted(a.username for a in Registry(lake).list()) == names
    listed = Api(base_url).get("/accounts").json()
    assert listed["count"] == 50
    # and again, all at once: idempotent, no second entry
    with ThreadPoolExecutor(max_workers=50) as pool:
        assert list(pool.map(post, names)) == [200] * 50
    assert len(Registry(lake).list()) == 50
