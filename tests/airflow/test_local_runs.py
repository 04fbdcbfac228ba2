"""`airflow dags test` of the local users and tweets DAGs against `tweetlake simulator` (its own
process) and the embedded PostgreSQL: the rows appear in the warehouse, and a second run changes
nothing (Spark: run under `flock /tmp/tweetlake-spark.lock`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.airflow.conftest import AIRFLOW_VENV, airflow_env, run

pytestmark = [pytest.mark.slow, pytest.mark.venvs]
TOKEN = "airflow-test-token-0123456789"
TABLES = (
    "dim_user",
    "fact_user_daily",
    "fact_tweet",
    "tweet_hashtag",
    "tweet_mention",
    "tweet_url",
    "tweet_cashtag",
    "tweet_reference",
    "fact_tweet_metrics",
    "etl_file_ledger",
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[str, list[str]]]:
    """`tweetlake simulator` as a user starts it: frozen world clock, a fixed token."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "simulator",
            "--port",
            str(port),
            "--seed",
            "11",
            "--accounts",
            "12",
            "--now",
            "2026-11-22T12:00:00Z",
            "--frozen",
            "--token",
            TOKEN,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            world = requests.get(f"{base}/_sim/world", timeout=1).json()
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise AssertionError("the simulator did not start")
    # two ordinary accounts: the heavy one's 3,200-tweet backfill is other tests' business
    names = [a["username"] for a in world["accounts"] if a["role"] is None][:2]
    yield f"{base}/2", names
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tweetlake import localdb

    home = tmp_path_factory.mktemp("airflow-pg")
    url = localdb.start(home)
    yield url
    localdb.stop(home)


@pytest.fixture(scope="module")
def world(
    simulator: tuple[str, list[str]], warehouse: str, airflow_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    base_url, names = simulator
    lake_uri = (tmp_path_factory.mktemp("airflow-lake") / "lake").as_uri()
    # --offline: recorded unresolved; the DAG's users run resolves them against the simulator
    added = subprocess.run(
        [sys.executable, "-m", "tweetlake.cli", "users", "add", *names, "--offline", "--lake", lake_uri],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    schema = f"af_{uuid.uuid4().hex[:8]}"
    env = airflow_env(
        airflow_home,
        TWEETLAKE_AIRFLOW_TARGET="local",
        AIRFLOW_CONN_X_API=json.dumps({"conn_type": "http", "password": TOKEN, "host": base_url}),
        AIRFLOW_VAR_TWEETLAKE_LAKE=lake_uri,
        AIRFLOW_VAR_TWEETLAKE_DB_SCHEMA=schema,
        TWEETLAKE_DATABASE_URL=warehouse,
        TWEETLAKE_SPARK_DRIVER_MEMORY="2g",
        TWEETLAKE_SPARK_MASTER="local[2]",
    )
    yield {"env": env, "schema": schema, "url": warehouse, "names": names}
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def dags_test(dag_id: str, env: dict[str, str]) -> str:
    result = run([str(AIRFLOW_VENV / "bin" / "airflow"), "dags", "test", dag_id], env, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert TOKEN not in out
    return out


def snapshot(url: str, schema: str, ignore: dict[str, tuple[str, ...]] | None = None) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted (minus the columns named in ``ignore``)."""
    out: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        for table in TABLES:
            skip = (ignore or {}).get(table, ())
            cols = [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                    " ORDER BY ordinal_position",
                    (schema, table),
                )
                if r[0] not in skip
            ]
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM {schema}.{table}").fetchall()
            out[table] = sorted(repr(r) for r in rows)
    return out


def test_local_users_then_tweets_dags_load_the_warehouse_and_a_second_run_changes_nothing(
    world: dict[str, Any],
) -> None:
    env, schema, url, names = world["env"], world["schema"], world["url"], world["names"]
    out = dags_test("tweetlake_users", env)
    assert "job summary: users run" in out
    assert "after ingest run " in out and " 2 record(s) in 1 file(s)" in out  # the ingest's XCom
    ignore = {"fact_user_daily": ("collected_at",), "etl_file_ledger": ("path", "loaded_at", "run_id")}
    first = snapshot(url, schema, ignore)
    with psycopg.connect(url) as conn:
        users = {r[0] for r in conn.execute(f"SELECT username FROM {schema}.dim_user WHERE is_current")}
        daily = conn.execute(f"SELECT count(*) FROM {schema}.fact_user_daily").fetchone()
    assert users == set(names)
    assert daily == (2,)

    # a second users run lands a second snapshot of the same profiles: no new profile version, the
    # same counts; only the snapshot time of the day's row and the ledger's new file differ
    dags_test("tweetlake_users", env)
    again = snapshot(url, schema, ignore)
    assert {t: rows for t, rows in again.items() if t != "etl_file_ledger"} == {
        t: rows for t, rows in first.items() if t != "etl_file_ledger"
    }
    assert len(again["etl_file_ledger"]) == len(first["etl_file_ledger"]) + 1

    out = dags_test("tweetlake_tweets", env)
    assert "job summary: tweets run" in out
    loaded = snapshot(url, schema)
    assert loaded["fact_tweet"], "the tweets DAG loaded no tweet"
    with psycopg.connect(url) as conn:
        authors = {
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT u.username FROM {schema}.fact_tweet t JOIN {schema}.dim_user u"
                f" ON u.user_id = t.author_id AND u.is_current"
            )
        }
    assert authors == set(names)

    # the frozen world has nothing new: the second tweets run collects nothing and loads nothing
    out = dags_test("tweetlake_tweets", env)
    assert "0 new files" in out
    assert snapshot(url, schema) == loaded
