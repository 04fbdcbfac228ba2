"""Fixtures of the merge tests: the session's embedded PostgreSQL (shared with the Glue tests), a
fresh migrated schema per test, and :class:`tests.warehouse.staged.Warehouse` to merge hand-built
staging rows into it. No Spark."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.glue.conftest import pg_url, schema  # noqa: F401 - the session's PostgreSQL, a schema per test
from tests.warehouse.staged import Warehouse


@pytest.fixture
def wh(pg_url: str, schema: str) -> Iterator[Warehouse]:  # noqa: F811
    with Warehouse.open(pg_url, schema) as warehouse:
        yield warehouse
