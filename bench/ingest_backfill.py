"""Benchmark: a tweets backfill of ~200,000 tweets from the simulator into a local lake.

Prints tweets collected, requests, wall time, throughput and the ingestion process's peak RSS
(the simulator runs in its own process, so its memory is not counted). The issue's bar: under
300 MB peak RSS for 200,000 tweets.

    .venv/bin/python bench/ingest_backfill.py [--accounts 80] [--activity 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=80)
    parser.add_argument("--activity", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="keep the lake folder")
    args = parser.parse_args()

    port = free_port()
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "simulator",
            "--port",
            str(port),
            "--seed",
            "1",
            "--accounts",
            str(args.accounts),
            "--activity",
            str(args.activity),
            "--now",
            "2026-11-22T12:00:00Z",
            "--frozen",
            "--rate-limit",
            "GET /2/users/:id/tweets=1000000",
            "--rate-limit",
            "GET /2/users/by=100000",
            "--rate-limit",
            "GET /2/users/:id=100000",
            "--rate-limit",
            "GET /2/tweets=100000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="tweetlake-bench-"))
    try:
        for _ in range(300):
            try:
                world = json.load(urllib.request.urlopen(f"{base}/_sim/world", timeout=2))  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("simulator did not start")
        users = ",".join(a["username"] for a in world["accounts"] if a["status"] == "active")
        env = {**os.environ, "X_API_BASE_URL": f"{base}/2", "X_BEARER_TOKEN": "bench-token-0123456789"}
        lake = (workdir / "lake").as_uri()
        started = time.monotonic()
        command = [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "ingest",
            "tweets",
            "--lake",
            lake,
            "--users",
            users,
            "--no-progress",
        ]
        timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
        result = subprocess.run([*timer, *command], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child: the ingest run
        if result.returncode != 0:
            print(result.stdout, result.stderr, file=sys.stderr)
            return 1
        records = int(result.stdout.split(" records", 1)[0].rsplit(" ", 1)[-1].replace(",", ""))
        requests_line = next(line for line in result.stdout.splitlines() if "requests:" in line)
        lake_bytes = sum(p.stat().st_size for p in (workdir / "lake").rglob("*.jsonl.gz"))
        print(result.stdout)
        print("--- tweets backfill benchmark ---")
        print(f"accounts tracked     {users.count(',') + 1}")
        print(f"tweets collected     {records:,}")
        print(f"requests             {requests_line.split('requests:')[1].strip()}")
        print(f"wall time            {elapsed:.1f} s  ({records / elapsed:,.0f} tweets/s, simulator included)")
        print(f"lake size            {lake_bytes / 2**20:.1f} MiB gzip")
        for line in result.stderr.splitlines():
            if "Maximum resident set size" in line:  # /usr/bin/time -v agrees with getrusage, or says why not
                peak_kib = int(line.rsplit(":", 1)[1])
        print(f"peak RSS (ingest)    {peak_kib / 1024:.0f} MB   (bar: < 300 MB for 200,000 tweets)")
        # the metrics run over everything just collected: the tweet index is its one structure that grows
        metrics_cmd = [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "ingest",
            "metrics",
            "--lake",
            lake,
            "--users",
            users,
            "--no-progress",
        ]
        started = time.monotonic()
        metrics = subprocess.run([*timer, *metrics_cmd], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        metrics_peak = next(
            (
                int(line.rsplit(":", 1)[1])
                for line in metrics.stderr.splitlines()
                if "Maximum resident set size" in line
            ),
            0,
        )
        metrics_requests = next(line for line in metrics.stdout.splitlines() if "requests:" in line)
        print(
            f"metrics refresh      {metrics_requests.split('requests:')[1].strip()} in {elapsed:.1f} s, "
            f"peak RSS {metrics_peak / 1024:.0f} MB"
        )
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"lake kept at {workdir / 'lake'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
