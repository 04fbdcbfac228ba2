"""Fixtures of the analytics tests: the Glue tests' embedded PostgreSQL (one per session) and a
fresh migrated warehouse schema per test, filled with hand-built rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.glue.conftest import pg_url, schema  # noqa: F401 - the session's PostgreSQL, a schema per test


@pytest.fixture
def wh(pg_url: str, schema: str) -> Iterator[Any]:  # noqa: F811
    """A connection (autocommit) to a migrated warehouse schema, with search_path set to it."""
    import psycopg

    from common.warehouse.migrate import migrate

    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, schema)
        conn.execute(f"SET search_path TO {schema}, public")
        yield conn
