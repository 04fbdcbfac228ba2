"""The ``tweetlake`` command as a user runs it: separate processes, a simulator, a lake, S3 on moto."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from common.lake import Lake
from tests.ingestion.test_collectors import T2022_ID, records, tweet_ids
from xsim import FaultConfig, SimulatorServer

TOKEN = "cli-test-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


def tweetlake(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tweetlake.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_env(base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_"))}
    env.update({"X_API_BASE_URL": base_url, "X_BEARER_TOKEN": TOKEN, **extra})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def simulator_process() -> Any:
    """`tweetlake simulator` as a user starts it: its own process, frozen clock, a fixed token."""
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
            "42",
            "--accounts",
            "20",
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
        raise AssertionError(f"simulator did not start: {proc.stdout.read() if proc.stdout else ''}")
    yield f"{base}/2", world
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


def test_ingest_from_a_shell(tmp_path: Path, simulator_process: Any) -> None:
    base_url, world = simulator_process
    active = [a for a in world["accounts"] if a["role"] is None][:2]
    users = ",".join(a["username"] for a in active)
    lake_uri = (tmp_path / "lake").as_uri()
    env = cli_env(base_url)
    root = base_url.removesuffix("/2")
    lake = Lake.from_uri(lake_uri)
    counts: dict[str, dict[str, int]] = {}
    for dataset in ("users", "tweets", "metrics"):
        requests.post(f"{root}/_sim/stats/reset", timeout=5)
        every = ("--policy", "all") if dataset == "metrics" else ()  # the default reads nothing just collected
        result = tweetlake("ingest", dataset, "--lake", lake_uri, "--users", users, *every, env=env)
        assert result.returncode == 0, result.stderr
        assert f"{'tweet_metrics' if dataset == 'metrics' else dataset} run " in result.stdout
        assert TOKEN not in result.stdout + result.stderr
        counts[dataset] = requests.get(f"{root}/_sim/stats", timeout=5).json()["counts"]
    # the minimum the API allows; the ids the users run saw need no second lookup
    per_author = [len(tweet_ids_of(lake, a["id"])) for a in active]
    assert counts["users"] == {"GET /2/users/by": 1}
    # the timeline's pages (its newest 3,200 at most), and 500 a search page for what lies beyond them
    timeline = {"GET /2/users/:id/tweets": sum(min(t, 3200) // 100 + 1 for t in per_author)}
    search = sum(math.ceil((t - 3200) / 500) for t in per_author if t > 3200)
    assert counts["tweets"] == ({**timeline, "GET /2/tweets/search/all": search} if search else timeline)
    assert counts["metrics"] == {"GET /2/tweets": math.ceil(sum(per_author) / 100)}
    assert {r["data"]["username"] for r in records(lake, "users") if "data" in r} == {a["username"] for a in active}
    authors = {r["data"]["author_id"] for r in records(lake, "tweets") if "data" in r}
    assert authors == {a["id"] for a in active}
    assert len(records(lake, "tweet_metrics")) == len(tweet_ids(lake))
    summary = tweetlake("lake", "--lake", lake_uri, env=env)
    assert summary.returncode == 0
    assert "tweet_metrics" in summary.stdout


def tweet_ids_of(lake: Lake, author_id: str) -> list[str]:
    return [r["data"]["id"] for r in records(lake, "tweets") if "data" in r and r["data"]["author_id"] == author_id]


def test_bad_token_exits_non_zero_with_one_clear_line(tmp_path: Path, simulator_process: Any) -> None:
    base_url, world = simulator_process
    env = cli_env(base_url, X_BEARER_TOKEN="definitely-not-the-token")
    result = tweetlake(
        "ingest", "users", "--lake", (tmp_path / "l").as_uri(), "--users", world["accounts"][5]["username"], env=env
    )
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "Unauthorized" in lines[0]
    assert "definitely-not-the-token" not in result.stderr


def test_missing_token_and_empty_registry_are_configuration_errors(tmp_path: Path, simulator_process: Any) -> None:
    base_url, _ = simulator_process
    env = cli_env(base_url)
    del env["X_BEARER_TOKEN"]
    result = tweetlake("ingest", "users", "--lake", (tmp_path / "l").as_uri(), env=env)
    assert result.returncode == 2
    assert "X_BEARER_TOKEN" in result.stderr
    result = tweetlake("ingest", "users", "--lake", (tmp_path / "l").as_uri(), env=cli_env(base_url))
    assert result.returncode == 2
    assert "no tracked accounts" in result.stderr


def test_users_registry_commands(tmp_path: Path) -> None:
    lake_uri = (tmp_path / "lake").as_uri()
    env = cli_env("http://127.0.0.1:9/2")
    assert tweetlake("users", "add", "alice,bob", "--offline", "--lake", lake_uri, env=env).returncode == 0
    assert "already tracked" in tweetlake("users", "add", "Alice", "--lake", lake_uri, env=env).stdout
    assert tweetlake("users", "add", "not-valid", "--lake", lake_uri, env=env).returncode == 2
    assert tweetlake("users", "remove", "bob", "--lake", lake_uri, env=env).returncode == 0
    listing = tweetlake("users", "list", "--lake", lake_uri, env=env).stdout
    assert "alice" in listing
    assert "bob" not in listing


def test_users_add_resolves_names_like_the_rest_api_and_validates_the_whole_list(
    tmp_path: Path, simulator_process: Any
) -> None:
    base_url, world = simulator_process
    lake_uri = (tmp_path / "lake").as_uri()
    env = cli_env(base_url)
    known = [a for a in world["accounts"] if a["role"] is None][:2]

    def tracked() -> str:
        return tweetlake("users", "list", "--lake", lake_uri, env=env).stdout

    half_bad = tweetlake("users", "add", known[0]["username"], "bad name!", "--lake", lake_uri, env=env)
    assert half_bad.returncode == 2 and "nothing was changed" in half_bad.stderr
    unknown = tweetlake("users", "add", known[0]["username"], "NoSuchUser9876", "--lake", lake_uri, env=env)
    assert unknown.returncode == 1, unknown.stderr
    assert unknown.stderr.strip().splitlines() == [
        "tweetlake users: @NoSuchUser9876 is unknown to X; nothing was changed (--offline adds names unresolved)"
    ]
    assert tracked().splitlines() == [f"0 tracked accounts in {lake_uri}"]  # neither name was written

    added = tweetlake("users", "add", f"@{known[0]['username']}", known[1]["username"], "--lake", lake_uri, env=env)
    assert added.returncode == 0, added.stderr
    assert f"added: {known[0]['username']} ({known[0]['id']})" in added.stdout  # @ dropped, id resolved
    offline = tweetlake("users", "add", "NoSuchUser9876", "--offline", "--lake", lake_uri, env=env)
    assert offline.returncode == 0 and "added: NoSuchUser9876 (unresolved)" in offline.stdout
    assert "3 tracked accounts" in tracked()
    for result in (half_bad, unknown, added, offline):
        assert "Traceback" not in result.stderr


def test_killed_run_leaves_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    """kill -9 in the middle of a backfill, then run again: everything reachable is in the lake,
    once. Only records that never reached the lake are fetched again."""
    with SimulatorServer(
        seed=42,
        accounts=8,
        now="2026-11-22T12:00:00Z",
        token=TOKEN,
        faults=FaultConfig(slow_rate=1.0, slow_seconds=0.03),
    ) as sim:
        heavy = sim.world.heavy
        lake_uri = (tmp_path / "lake").as_uri()
        lake = Lake.from_uri(lake_uri)
        args = [
            "-m",
            "tweetlake.cli",
            "ingest",
            "tweets",
            "--lake",
            lake_uri,
            "--users",
            heavy.username,
            "--part-records",
            "200",
            "--backfill",
            "off",
        ]  # the timeline's part (search: test_backfill.py)
        proc = subprocess.Popen(
            [sys.executable, *args], env=cli_env(sim.base_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not list(lake.list("raw/tweets/")) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        proc.kill()
        proc.wait()
        first = tweet_ids(lake)
        truth = [i for i in sim.world.timeline_ids(heavy.user_id) if int(i) >= T2022_ID]
        assert 0 < len(first) < len(truth), "killed mid-backfill"
        result = subprocess.run(
            [sys.executable, *args], env=cli_env(sim.base_url), capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        ids = tweet_ids(lake)
        assert set(ids) == set(truth), "no gap"
        assert len(ids) == len(set(ids)), "nothing that reached the lake was fetched again"
        state = json.loads(lake.get_bytes("state/tweets/cursors.json"))
        assert state["accounts"][heavy.user_id]["pending"] is None
        assert "intent" not in state


def test_kill_between_publishing_a_part_and_committing_its_cursor(tmp_path: Path) -> None:
    """The narrowest window: the part is in the lake, its cursor change is not yet committed. The
    intent recorded before publishing lets the next run apply it instead of fetching the part again."""
    with SimulatorServer(seed=42, accounts=8, now="2026-11-22T12:00:00Z", token=TOKEN) as sim:
        heavy = sim.world.heavy
        lake_uri = (tmp_path / "lake").as_uri()
        lake = Lake.from_uri(lake_uri)
        killed = subprocess.run(
            [sys.executable, "-m", "tests.ingestion.kill_after_publish", lake_uri, heavy.username, "2", "off"],
            env=cli_env(sim.base_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        first = tweet_ids(lake)
        assert len(first) == 400, "two parts of 200 published"
        state = json.loads(lake.get_bytes("state/tweets/cursors.json"))
        part_one = [o.key for o in lake.list("raw/tweets/")][1]
        assert state["intent"]["part"] == part_one, "the second part's cursors were not committed"
        sim.stats.reset()
        result = tweetlake(
            "ingest",
            "tweets",
            "--lake",
            lake_uri,
            "--users",
            heavy.username,
            "--part-records",
            "200",
            "--backfill",
            "off",
            env=cli_env(sim.base_url),
        )
        assert result.returncode == 0, result.stderr
        assert "applied the cursors of part" in result.stdout
        ids = tweet_ids(lake)
        truth = [i for i in sim.world.timeline_ids(heavy.user_id) if int(i) >= T2022_ID]
        assert len(ids) == len(set(ids)), "the published part was not fetched again"
        assert set(ids) == set(truth), "no gap"
        # the rerun went on below the second part (the 400 tweets in the lake cost no request), then
        # asked once for what is new above them
        assert sim.stats.counts()["GET /2/users/:id/tweets"] == (len(truth) - 400) // 100 + 1 + 1


def test_ingest_into_s3_through_the_aws_settings(moto_endpoint: str, simulator_process: Any) -> None:
    """`--lake s3://bucket/prefix` with the standard AWS settings (here: AWS_ENDPOINT_URL → moto's server)."""
    import boto3

    base_url, world = simulator_process
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-lake")
    account = next(a for a in world["accounts"] if a["role"] is None)
    env = cli_env(base_url, AWS_ENDPOINT_URL=moto_endpoint, AWS_DEFAULT_REGION="us-east-1")
    lake_uri = "s3://cli-lake/tweetlake"
    assert tweetlake("users", "add", account["username"], "--lake", lake_uri, env=env).returncode == 0
    for dataset in ("users", "tweets"):
        result = tweetlake("ingest", dataset, "--lake", lake_uri, env=env)
        assert result.returncode == 0, result.stderr
    lake = Lake.from_uri(lake_uri, s3_client=s3)
    assert {r["data"]["author_id"] for r in records(lake, "tweets") if "data" in r} == {account["id"]}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="cli-lake")["Contents"]]
    assert any(k.startswith("tweetlake/raw/tweets/dt=") and k.endswith("-00000.jsonl.gz") for k in keys)
    assert "tweetlake/state/registry.json" in keys
