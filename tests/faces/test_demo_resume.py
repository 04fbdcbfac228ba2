"""The demo as a newcomer meets it: killed half-way through its Glue jobs, the rerun continues from
what the lake and the warehouse hold (no collector run twice, nothing loaded twice); the output fits
a screen; and every next step it prints runs verbatim from the repository root and shows the demo's
own data (its lake, schema and simulated clock)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from common.lake import Lake
from common.layout import DATASETS, raw_prefix
from tests.faces.test_errors import ROOT
from tests.glue.glue_helpers import query
from tweetlake.demo import SCHEDULE

pytestmark = pytest.mark.slow  # the simulator, Spark and PostgreSQL, twice


def demo(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tweetlake.cli", "demo", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


def lake_files(lake: Lake) -> list[str]:
    return sorted(o.key for ds in DATASETS for o in lake.list(raw_prefix(ds)))


def test_a_killed_demo_resumes_and_its_next_steps_run_as_printed(pg_url: str, schema: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_"))}
    env["TWEETLAKE_SPARK_JAVA_OPTIONS"] = os.environ["TWEETLAKE_SPARK_JAVA_OPTIONS"]  # the suite's (tests/conftest.py)
    env.update({"TWEETLAKE_HOME": str(tmp_path / "home"), "TWEETLAKE_DATABASE_URL": pg_url})
    args = ["--home", str(tmp_path / "demo"), "--accounts", "3", "--schema", schema]

    # killed (a crash, an out-of-memory kill) once it has collected everything and started the jobs
    killed = subprocess.Popen(
        [sys.executable, "-m", "tweetlake.cli", "demo", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert killed.stdout is not None
    for line in killed.stdout:
        if line.startswith("=== Glue jobs"):
            killed.kill()
            break
    assert killed.wait(timeout=60) == -signal.SIGKILL
    lake = Lake.from_uri((tmp_path / "demo" / "lake").as_uri())
    collected = lake_files(lake)
    runs = sum(len(datasets) for _, datasets in SCHEDULE)
    assert len(json.loads((tmp_path / "demo" / "progress.json").read_text())["steps"]) == runs

    result = demo(args, env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert f"resuming: {runs} collector runs already in the lake are skipped" in out
    assert lake_files(lake) == collected  # nothing collected twice
    files = len(collected)
    assert query(pg_url, f"SELECT count(*), count(DISTINCT path) FROM {schema}.etl_file_ledger") == [(files, files)]
    assert len(out.splitlines()) <= 60  # a screen, not 339 lines
    cost = re.search(r"would have cost \$([\d,.]+): .* the simulator billed \$([\d,.]+)\)", out)
    assert cost is not None and cost.group(1) == cost.group(2) and cost.group(1) != "0.00"
    tracked = re.search(r"^tracking 3 accounts: (.+)$", out, re.M)
    assert tracked is not None

    steps = out.split("next (from the repository root):\n", 1)[1].splitlines()
    assert len(steps) == 5
    outputs = []
    for step in steps:
        command = step.strip().split("   (")[0]
        ran = subprocess.run(
            ["bash", "-c", command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        assert ran.returncode == 0, (command, ran.stdout[-1000:], ran.stderr[-1000:])
        outputs.append(ran.stdout)
    sql, report, usage, plan, helped = outputs
    assert any(name in sql for name in tracked.group(1).split(", "))  # the demo's schema, not an empty default
    assert f"report: {tmp_path / 'demo' / 'report.html'}" in report
    assert f"${cost.group(1)}" in usage  # the demo's ledger and month, not the real clock's
    assert "for 3 account(s)" in plan and "no tracked accounts" not in plan
    assert "--verbose" in helped and "--fresh" in helped
