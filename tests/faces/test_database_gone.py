"""``tweetlake db stop`` while ``tweetlake job`` runs: the job ends with one line and exit 8, not
129 lines ending in ``psycopg.errors.AdminShutdown`` (real Spark, a real embedded PostgreSQL)."""

from __future__ import annotations

import gzip
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from tweetlake import localdb

pytestmark = pytest.mark.slow


def test_the_database_going_away_mid_job_is_one_line_and_exit_8(tmp_path: Path) -> None:
    import os
    import sys

    home = tmp_path / "home"
    url = localdb.start(home)
    try:
        day = tmp_path / "lake" / "raw" / "tweets" / "dt=2026-11-20"
        day.mkdir(parents=True)
        line = b'{"collected_at": "2026-11-20T10:00:00Z", "run_id": "r", "source": "s", "data": {"id": "1"}}\n'
        (day / "20261120T100000Z-abc123-00000.jsonl.gz").write_bytes(gzip.compress(line))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_"))}
        env.update(
            {"TWEETLAKE_HOME": str(home), "TWEETLAKE_SPARK_DRIVER_MEMORY": "1g", "TWEETLAKE_SPARK_MASTER": "local[1]"}
        )
        job = subprocess.Popen(
            [sys.executable, "-m", "tweetlake.cli", "job", "tweets", "--lake", (tmp_path / "lake").as_uri()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        with psycopg.connect(url, autocommit=True) as watch:
            while time.monotonic() < deadline and job.poll() is None:
                # the job holds its lock: it has connected, migrated and is planning or reading
                held = watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                if held:
                    break
                time.sleep(0.05)
        assert job.poll() is None, "the job ended before the database could be stopped"
        assert localdb.stop(home)
        _, err = job.communicate(timeout=300)
    finally:
        localdb.stop(home)
    assert job.returncode == 8, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    # stopped while the run held its lock: in its set-up (psycopg's AdminShutdown, worded by the
    # boundary) or later in the run (the runner's DatabaseUnavailable, naming the server)
    assert lines[0].startswith("tweetlake job: the database ")
    assert "went away" in lines[0]
