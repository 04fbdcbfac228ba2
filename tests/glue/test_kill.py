"""SIGKILL at every phase of a job (a crashed host, an out-of-memory kill: no handler, no cleanup):
the warehouse and the ledger are as they were, and the rerun ends exactly where a clean run ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from common.lake import Lake
from tests.glue.glue_helpers import table_fingerprint, write_raw
from tests.glue.test_jobs import at, looked_up, not_found, rows, run, snap, tweet

RECORDS = {
    "tweets": lambda d: [
        {
            "collected_at": at(d),
            "data": tweet(str(800 + d), text=f"day {d} #k{d}", entities={"hashtags": [{"tag": f"k{d}"}]}),
        }
    ],
    "users": lambda d: [snap(at(d), f"profile {d}", 100 + d)],
    "tweet_metrics": lambda d: [looked_up(at(d), "800", likes=d), not_found(at(d), str(900 + d))],
}
# a step of each kind: before the merge, inside it (one per dataset), and just before COMMIT
KILL_AT = [
    ("tweets", "staged"),
    ("tweets", "tweet_hashtag"),
    ("tweets", "commit"),
    ("users", "dim_user_close"),
    ("tweet_metrics", "tweet_deletion"),
    ("tweet_metrics", "commit"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "step"), KILL_AT)
def test_a_job_killed_at_any_step_leaves_the_warehouse_as_it_was_and_the_rerun_completes(
    spark: Any, pg_url: str, schema: str, lake: Lake, tmp_path: Any, dataset: str, step: str
) -> None:
    write_raw(lake, dataset, at(20), RECORDS[dataset](20))
    run(dataset, lake, pg_url, spark, schema)
    before = table_fingerprint(pg_url, schema)
    write_raw(lake, dataset, at(21), RECORDS[dataset](21))

    env = {**os.environ, "TWEETLAKE_HOME": str(tmp_path / "home")}
    killed = subprocess.run(  # the job as `tweetlake job` runs it, through a test entry that kills it at `step`
        [sys.executable, "-m", "tests.glue.kill_job", dataset, lake.uri, pg_url, schema, step],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert table_fingerprint(pg_url, schema) == before, "a killed run changes nothing"

    rerun = run(dataset, lake, pg_url, spark, schema)
    assert rerun.files == 1
    after = table_fingerprint(pg_url, schema)
    assert after != before
    assert rows(pg_url, f"SELECT count(*) FROM {schema}.etl_file_ledger") == [(2,)]

    # the same lake loaded by one clean run into a fresh schema ends the same
    clean = f"{schema}_clean"
    try:
        run(dataset, lake, pg_url, spark, clean)
        assert _content(table_fingerprint(pg_url, clean)) == _content(after)
        versions = "SELECT user_id, valid_from, valid_to, is_current, description FROM {}.dim_user ORDER BY 1, 2"
        assert rows(pg_url, versions.format(clean)) == rows(pg_url, versions.format(schema))
    finally:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {clean} CASCADE")


def _content(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Table contents without the ledger and the run records (their run ids differ by design) and
    dim_user (a killed transaction's sequence values are not given back: user_key may differ)."""
    skip = {"etl_file_ledger", "etl_run", "schema_migrations", "dim_user"}
    return {t: v for t, v in fingerprint.items() if t not in skip}


@pytest.mark.slow
def test_the_database_stopped_mid_merge_changes_nothing_and_the_rerun_completes(
    spark: Any, lake: Lake, tmp_path: Any
) -> None:
    """``db stop`` (a fast shutdown) while a merge is half done: the transaction is gone, the job
    fails, and once the server is back the warehouse is as it was and the rerun completes."""
    import psycopg

    from tweetlake import localdb

    home, schema = tmp_path / "pg", "t_dbstop"
    url = localdb.start(home)
    try:
        write_raw(lake, "tweets", at(20), RECORDS["tweets"](20))
        run("tweets", lake, url, spark, schema)
        before = table_fingerprint(url, schema)
        write_raw(lake, "tweets", at(21), RECORDS["tweets"](21))

        # hold the merge inside its transaction: it has written fact_tweet and waits for tweet_hashtag
        blocker = psycopg.connect(url)
        blocker.execute(f"LOCK TABLE {schema}.tweet_hashtag IN ACCESS EXCLUSIVE MODE")
        env = {**os.environ, "TWEETLAKE_DATABASE_URL": url, "TWEETLAKE_HOME": str(tmp_path / "home")}
        job = subprocess.Popen(
            [sys.executable, "-m", "tweetlake.cli", "job", "tweets", "--lake", lake.uri, "--schema", schema],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%tweet_hashtag%'"
        )
        with psycopg.connect(url, autocommit=True) as watcher:
            for _ in range(1200):
                if watcher.execute(waiting).fetchone()[0] or job.poll() is not None:
                    break
                time.sleep(0.5)
            assert watcher.execute(waiting).fetchone()[0] == 1, "the merge never reached tweet_hashtag"
        localdb.stop(home)
        _, stderr = job.communicate(timeout=600)
        assert job.returncode == 8, stderr[-2000:]  # the database went away: one line, exit 8
        assert "Traceback" not in stderr and "tweetlake job" in stderr
        with contextlib.suppress(psycopg.Error):
            blocker.close()

        url = localdb.start(home)  # the same port: a saved URL still works
        assert table_fingerprint(url, schema) == before
        rerun = run("tweets", lake, url, spark, schema)
        assert rerun.files == 1
        assert rows(url, f"SELECT tag FROM {schema}.tweet_hashtag ORDER BY 1") == [("k20",), ("k21",)]
    finally:
        localdb.stop(home)
