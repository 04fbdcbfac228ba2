"""``tweetlake demo`` (what ./scripts/demo.sh runs), end to end on a few accounts: simulator →
collectors on the schedules → the three jobs → the report. Checked against the lake it wrote."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common.lake import Lake
from common.layout import raw_prefix
from common.rawio import iter_raw_records
from tests.glue.glue_helpers import query
from tweetlake.demo import QUESTIONS

pytestmark = pytest.mark.slow  # the demo: simulator, Spark and the embedded PostgreSQL


def lake_records(lake: Lake, dataset: str) -> list[dict[str, Any]]:
    return [r for obj in lake.list(raw_prefix(dataset)) for r in iter_raw_records(lake, obj.key)]


def test_the_demo_runs_the_whole_pipeline_and_answers_its_questions(pg_url: str, schema: str, tmp_path: Path) -> None:
    # its own process, as ./scripts/demo.sh runs it (the demo starts and stops its own Spark)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "demo",
            "--home",
            str(tmp_path),
            "--accounts",
            "4",
            "--database-url",
            pg_url,
            "--schema",
            schema,
            "--verbose",  # every question (by default the demo prints the first)
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,  # a loaded CI machine
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for title, _ in QUESTIONS:
        assert f"=== {title} ===" in out
    assert "demo finished in" in out
    # what the runs would have cost on the real API: the usage ledger's count agrees with the simulator's bill
    cost = re.search(r"would have cost \$([\d,.]+): .* the simulator billed \$([\d,.]+)\)", out)
    assert cost is not None, out[-2000:]
    assert float(cost.group(1).replace(",", "")) > 0 and cost.group(1) == cost.group(2)
    report = tmp_path / "report.html"
    assert f"report: {report}" in out and report.stat().st_size > 1_000_000  # plotly.js inlined

    lake = Lake.from_uri((tmp_path / "lake").as_uri())
    tweets = {r["data"]["id"] for r in lake_records(lake, "tweets") if "data" in r}
    profiles = {r["data"]["id"] for r in lake_records(lake, "users") if "data" in r}
    snapshots = {(r["data"]["id"], r["collected_at"]) for r in lake_records(lake, "tweet_metrics") if "data" in r}
    assert tweets and profiles and snapshots
    assert query(pg_url, f"SELECT count(*) FROM {schema}.fact_tweet") == [(len(tweets),)]
    assert query(pg_url, f"SELECT count(DISTINCT user_id) FROM {schema}.dim_user") == [(len(profiles),)]
    # the metrics collector's snapshots, plus one per tweet collection (never fewer)
    ((metric_rows,),) = query(pg_url, f"SELECT count(*) FROM {schema}.fact_tweet_metrics")
    assert metric_rows >= len(snapshots)
    # every lake file is in the ledger, none twice
    files = [o.key for ds in ("users", "tweets", "tweet_metrics") for o in lake.list(raw_prefix(ds))]
    assert query(pg_url, f"SELECT count(*), count(DISTINCT path) FROM {schema}.etl_file_ledger") == [
        (len(files), len(files))
    ]
    # the author's followers as of each tweet's day: filled wherever the author has a snapshot
    assert query(
        pg_url,
        f"SELECT count(*) FILTER (WHERE e.author_followers IS NULL), count(*)"
        f" FROM {schema}.v_tweet_engagement e WHERE EXISTS"
        f" (SELECT 1 FROM {schema}.fact_user_daily d WHERE d.user_id = e.author_id)",
    ) == [(0, len(tweets))]
