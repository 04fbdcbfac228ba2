"""Fixtures of the Glue job tests: one local Spark session and one embedded PostgreSQL for the whole run."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.lake import Lake  # noqa: E402


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    os.environ["SPARK_TESTING"] = "1"
    from common.spark import build_local_spark

    session = build_local_spark(
        "tweetlake-tests",
        shuffle_partitions=2,
        driver_memory="2g",
        **{
            "spark.sql.adaptive.enabled": "false",
            "spark.default.parallelism": "2",
            "spark.sql.codegen.wholeStage": "false",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded PostgreSQL over TCP (or ``TWEETLAKE_TEST_DATABASE_URL`` when set)."""
    explicit = os.environ.get("TWEETLAKE_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    from tweetlake import localdb

    home = tmp_path_factory.mktemp("tweetlake-home")
    url = localdb.start(home)
    yield url
    localdb.stop(home)


@pytest.fixture
def schema(pg_url: str) -> Iterator[str]:
    """A fresh warehouse schema per test, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    root = tmp_path / "lake"
    root.mkdir()
    return Lake.from_uri(root.as_uri())
