"""Ctrl-C in ``tweetlake job``: a real SIGINT to the process group of a real job process (as a
terminal sends it) exits 130 with one line, stops Spark, and commits nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psycopg
import pytest

from common.lake import Lake
from tests.glue.glue_helpers import table_fingerprint, tweet, write_raw
from tests.glue.test_jobs import at, rows, run

pytestmark = pytest.mark.slow


def _session_pids(sid: int, name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-s", str(sid), "-f", name], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def _until(condition: Any, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("moment", ["while_spark_starts", "inside_the_merge"])
def test_ctrl_c_exits_130_with_one_line_stops_spark_and_commits_nothing(
    spark: Any, pg_url: str, schema: str, lake: Lake, tmp_path: Any, moment: str
) -> None:
    write_raw(lake, "tweets", at(20), [{"collected_at": at(20), "data": tweet("1")}])
    run("tweets", lake, pg_url, spark, schema)
    before = table_fingerprint(pg_url, schema)
    write_raw(
        lake,
        "tweets",
        at(21),
        [
            {"collected_at": at(21), "data": tweet(str(i), entities={"hashtags": [{"tag": f"t{i}"}]})}
            for i in range(2, 200)
        ],
    )

    blocker = psycopg.connect(pg_url)
    if moment == "inside_the_merge":  # the merge writes fact_tweet, then waits for tweet_hashtag
        blocker.execute(f"LOCK TABLE {schema}.tweet_hashtag IN ACCESS EXCLUSIVE MODE")
    env = {**os.environ, "TWEETLAKE_DATABASE_URL": pg_url, "TWEETLAKE_HOME": str(tmp_path / "home")}
    job = subprocess.Popen(
        [sys.executable, "-m", "tweetlake.cli", "job", "tweets", "--lake", lake.uri, "--schema", schema],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        if moment == "while_spark_starts":
            _until(lambda: _session_pids(job.pid, "java") or job.poll() is not None, "Spark's JVM")
        else:
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%tweet_hashtag%'"
            )
            with psycopg.connect(pg_url, autocommit=True) as watcher:
                _until(lambda: watcher.execute(waiting).fetchone()[0] or job.poll() is not None, "the merge")
        assert job.poll() is None, job.stderr.read() if job.stderr else ""
        os.killpg(job.pid, signal.SIGINT)
        _, stderr = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
        blocker.close()

    assert job.returncode == 130, stderr[-3000:]
    assert stderr.strip().splitlines() == ["tweetlake job: interrupted"]
    _until(lambda: not _session_pids(job.pid, "java"), "Spark's JVM to exit", timeout=30)
    assert table_fingerprint(pg_url, schema) == before, "an interrupted run commits nothing"
    assert rows(pg_url, f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename LIKE 'stg%'") == [
        (0,)
    ]
    rerun = run("tweets", lake, pg_url, spark, schema)  # and the next run loads what it did not
    assert (rerun.files, rerun.rows_loaded) == (1, 198)


def test_a_merge_that_fails_while_staging_writes_turns_spark_off_until_the_staging_ends(spark: Any) -> None:
    """The staging's tasks, killed because the merge failed first, would log "ERROR Utils: Aborting
    task" on the command's stderr beside its one line: every logger is off until the staging ends."""
    from common.warehouse.columns import Staging
    from glue_jobs.staged import BackgroundStaging, StagedTables

    log4j = spark.sparkContext._jvm.org.apache.logging.log4j
    utils = "org.apache.spark.util.Utils"
    level_before = str(log4j.LogManager.getLogger(utils).getLevel())
    levels_when_killed: list[str] = []
    tables = StagedTables({Staging.TWEET: "stg_t", Staging.METRIC: "stg_m"})
    started = threading.Event()

    def stage() -> None:  # the tweets are in; the next frame's Spark job runs until it is cancelled
        tables.mark_staged(Staging.TWEET)
        started.set()
        try:
            spark.sparkContext.parallelize([1], 1).map(lambda x: time.sleep(120) or x).count()
        finally:
            levels_when_killed.append(str(log4j.LogManager.getLogger(utils).getLevel()))

    def merge() -> None:  # its first table is there, then a step fails while the next frame is written
        assert tables[Staging.TWEET] == "stg_t" and started.wait(30)
        time.sleep(1)
        raise ValueError("merge failed at tweet_hashtag")

    with pytest.raises(ValueError, match="merge failed"), BackgroundStaging(tables, stage, spark.sparkContext):
        merge()
    assert level_before == "ERROR"  # the configuration names Utils (common/spark.py)
    assert levels_when_killed == ["OFF"]
    assert str(log4j.LogManager.getLogger(utils).getLevel()) == level_before, "the levels are back after"
