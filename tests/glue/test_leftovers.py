"""What a killed job leaves behind — UNLOGGED staging tables and a local staging folder — is removed
by the next run of any job, but never what a live run is using."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from common.lake import Lake
from common.warehouse.db import DbTarget, lock_key
from common.warehouse.migrate import migrate
from glue_jobs.options import JobOptions
from glue_jobs.runner import WarehouseJob
from glue_jobs.staging import remove_stale_work_dirs
from tests.glue.glue_helpers import query

pytestmark = pytest.mark.slow


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid  # reaped: no process has this id now (until the system reuses it)


def test_the_next_run_of_any_job_drops_tables_of_runs_that_are_gone(pg_url: str, schema: str, lake: Lake) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, schema)
        for table in ("stg_users_user_20261120t100000z_dead", "stg_tweet_metrics_metric_x", "stg_tweets_tweet_y"):
            conn.execute(f"CREATE UNLOGGED TABLE {schema}.{table} (i int)")
        conn.execute(f"CREATE TABLE {schema}.stg_notes (i int)")  # not a job's prefix: kept
    with psycopg.connect(pg_url, autocommit=True) as live:
        # a tweet_metrics run is alive (it holds its job's lock): its table stays
        live.execute("SELECT pg_advisory_lock(%s)", (lock_key("job", schema, "tweet_metrics"),))
        with WarehouseJob("users", lake, DbTarget.from_url(pg_url), JobOptions(schema=schema)):
            pass
        left = query(
            pg_url,
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'stg%%' ORDER BY 1",
            (schema,),
        )
        assert left == [("stg_notes",), ("stg_tweet_metrics_metric_x",)]


def test_staging_folders_of_dead_processes_go_and_live_ones_stay(tmp_path: Path) -> None:
    dead = tmp_path / f"tweetlake-stage-{dead_pid()}-abc"
    alive = tmp_path / f"tweetlake-stage-{os.getpid()}-def"
    old_unnamed, new_unnamed = tmp_path / "tweetlake-stage-k2j3h4", tmp_path / "tweetlake-stage-zz9"
    for folder in (dead, alive, old_unnamed, new_unnamed):
        folder.mkdir()
        (folder / "part-00000.csv").write_text("1,2\n")
    os.utime(old_unnamed, (0, 0))
    removed = remove_stale_work_dirs(tmp_path)
    assert sorted(removed) == sorted([dead, old_unnamed])
    assert alive.exists() and new_unnamed.exists() and not dead.exists()


def test_a_run_stages_in_a_folder_named_after_its_process(
    spark: Any, pg_url: str, schema: str, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from glue_jobs import runner
    from tests.glue.glue_helpers import tweet, write_raw

    seen: list[Path] = []
    real = runner.new_work_dir

    def spy() -> Path:
        seen.append(real())
        return seen[-1]

    monkeypatch.setattr(runner, "new_work_dir", spy)
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    write_raw(lake, "tweets", when, [{"collected_at": when, "data": tweet("1")}])
    runner.run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema, staging_method="files"), spark)
    assert [p.name.split("-")[2] for p in seen] == [str(os.getpid())]
    assert not seen[0].exists()  # removed after the COPY
