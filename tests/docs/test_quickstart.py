"""``tweetlake demo`` (what ./scripts/demo.sh runs) on a newcomer's machine (a home of its own, the
embedded PostgreSQL the demo starts, nothing else), end to end: simulator → collectors on the
schedules → the three jobs → the report, checked against the lake it wrote; then the quickstart's
command blocks run as written, from the repository root, on what the demo left (one demo run for
both: it is a minute of the suite)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from common.lake import Lake
from common.layout import raw_prefix
from common.rawio import iter_raw_records
from tests.faces.test_demo_resume import demo as run_demo
from tests.glue.glue_helpers import query
from tweetlake.demo import QUESTIONS

pytestmark = pytest.mark.slow  # the demo: the simulator, Spark and the embedded PostgreSQL

ROOT = Path(__file__).resolve().parents[2]


def bash_blocks(page: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S)


def lake_records(lake: Lake, dataset: str) -> list[dict[str, Any]]:
    return [r for obj in lake.list(raw_prefix(dataset)) for r in iter_raw_records(lake, obj.key)]


def check_the_demo(out: str, demo_home: Path, url: str, schema: str) -> None:
    """The demo's output answers its questions, and its warehouse holds what its lake holds."""
    for title, _ in QUESTIONS:
        assert f"=== {title} ===" in out
    assert "demo finished in" in out
    # what the runs would have cost on the real API: the usage ledger's count agrees with the simulator's bill
    cost = re.search(r"would have cost \$([\d,.]+): .* the simulator billed \$([\d,.]+)\)", out)
    assert cost is not None, out[-2000:]
    assert float(cost.group(1).replace(",", "")) > 0 and cost.group(1) == cost.group(2)
    report = demo_home / "report.html"
    assert f"report: {report}" in out and report.stat().st_size > 1_000_000  # plotly.js inlined

    lake = Lake.from_uri((demo_home / "lake").as_uri())
    tweets = {r["data"]["id"] for r in lake_records(lake, "tweets") if "data" in r}
    profiles = {r["data"]["id"] for r in lake_records(lake, "users") if "data" in r}
    snapshots = {(r["data"]["id"], r["collected_at"]) for r in lake_records(lake, "tweet_metrics") if "data" in r}
    assert tweets and profiles and snapshots
    assert query(url, f"SELECT count(*) FROM {schema}.fact_tweet") == [(len(tweets),)]
    assert query(url, f"SELECT count(DISTINCT user_id) FROM {schema}.dim_user") == [(len(profiles),)]
    # the metrics collector's snapshots, plus one per tweet collection (never fewer)
    ((metric_rows,),) = query(url, f"SELECT count(*) FROM {schema}.fact_tweet_metrics")
    assert metric_rows >= len(snapshots)
    # every lake file is in the ledger, none twice
    files = [o.key for ds in ("users", "tweets", "tweet_metrics") for o in lake.list(raw_prefix(ds))]
    assert query(url, f"SELECT count(*), count(DISTINCT path) FROM {schema}.etl_file_ledger") == [
        (len(files), len(files))
    ]
    # the author's followers as of each tweet's day: filled wherever the author has a snapshot
    assert query(
        url,
        f"SELECT count(*) FILTER (WHERE e.author_followers IS NULL), count(*)"
        f" FROM {schema}.v_tweet_engagement e WHERE EXISTS"
        f" (SELECT 1 FROM {schema}.fact_user_daily d WHERE d.user_id = e.author_id)",
    ) == [(0, len(tweets))]


def test_the_demo_runs_the_whole_pipeline_and_the_quickstarts_next_steps_run_as_written() -> None:
    home = Path(tempfile.mkdtemp(prefix="tweetlake-quickstart-")) / "home"  # the server user must reach it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_", "PG"))}
    env["TWEETLAKE_HOME"] = str(home)
    env["TWEETLAKE_SPARK_JAVA_OPTIONS"] = os.environ["TWEETLAKE_SPARK_JAVA_OPTIONS"]  # the suite's (tests/conftest.py)
    try:
        demo = run_demo(["--accounts", "2", "--verbose"], env)  # --verbose: every question, not the first
        assert demo.returncode == 0, demo.stderr[-3000:]
        url = subprocess.run(
            [sys.executable, "-m", "tweetlake.cli", "db", "url"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        check_the_demo(demo.stdout, home / "demo", url, "demo")
        tracked = re.search(r"^tracking 2 accounts: (.+)$", demo.stdout, re.M)
        assert tracked is not None
        next_steps, server = (
            b for b in bash_blocks("quickstart.md") if "tweetlake sql --schema demo" in b or "db url" in b
        )
        steps = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", next_steps],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert steps.returncode == 0, (steps.stdout[-2000:], steps.stderr[-2000:])
        assert any(name in steps.stdout for name in tracked.group(1).split(", "))  # the demo's schema
        assert f"report: {home / 'demo' / 'report.html'}" in steps.stdout
        assert (home / "demo" / "report.html").stat().st_size > 0
        assert "for 2 account(s)" in steps.stdout and "no tracked accounts" not in steps.stdout
        cost = re.search(r"would have cost \$([\d,.]+):", demo.stdout)
        assert cost is not None and f"${cost.group(1)}" in steps.stdout  # usage: the demo's ledger and month
        stopped = subprocess.run(["bash", "-c", server], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.startswith("postgresql://") and stopped.stdout.rstrip().endswith("stopped")
    finally:
        subprocess.run([sys.executable, "-m", "tweetlake.cli", "db", "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(home.parent, ignore_errors=True)
