"""`tweetlake simulator` as a separate process: starts, prints its URL, answers, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tweetlake.cmd_simulator import build_parser

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_until_sigterm() -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tweetlake.cmd_simulator",
            "--port",
            str(port),
            "--seed",
            "7",
            "--accounts",
            "8",
            "--token",
            "T",
            "--rate-limit",
            "GET /2/tweets=2",
            "--legacy-plan",
            "--credits-usd",
            "3",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line == f"http://127.0.0.1:{port}/2"
        headers = {"Authorization": "Bearer T"}
        response = requests.get(f"{line}/tweets", params={"ids": "1"}, headers=headers, timeout=5)
        assert response.status_code == 200 and response.headers["x-rate-limit-limit"] == "2"
        assert requests.get(f"{line}/tweets", params={"ids": "1"}, timeout=5).status_code == 401
        search = requests.get(f"{line}/tweets/search/all", params={"query": "from:1"}, headers=headers, timeout=5)
        assert search.status_code == 403 and search.json()["reason"] == "client-not-enrolled"
        billing = requests.get(f"http://127.0.0.1:{port}/_sim/billing", timeout=5).json()
        assert billing["config"]["full_archive"] is False and billing["credits"]["usd"] == 3
        clock = requests.get(f"http://127.0.0.1:{port}/_sim/clock", timeout=5).json()
        assert clock["frozen"] is False
        started = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
        assert abs((started - datetime.now(UTC)).total_seconds()) < 60
        world = requests.get(f"http://127.0.0.1:{port}/_sim/world", timeout=5).json()
        assert world["seed"] == 7 and len(world["accounts"]) == 8
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_cli_arguments() -> None:
    args = build_parser().parse_args(
        [
            "--port",
            "0",
            "--now",
            "2026-01-01T00:00:00Z",
            "--frozen",
            "--error-rate",
            "0.1",
            "--rate-limit",
            "GET /2/users/:id/tweets=1500",
            "--rate-limit",
            "/2/tweets=15",
        ]
    )
    assert args.frozen and args.error_rate == 0.1 and args.now == "2026-01-01T00:00:00Z"
    assert args.rate_limit == [("GET /2/users/:id/tweets", 1500), ("/2/tweets", 15)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--rate-limit", "nonsense"])
    assert not args.legacy_plan and args.credits_usd is None and args.post_cap == 3_000_000
    billing = build_parser().parse_args(["--legacy-plan", "--credits-usd", "12.5", "--post-cap", "1000"])
    assert billing.legacy_plan and billing.credits_usd == 12.5 and billing.post_cap == 1000
