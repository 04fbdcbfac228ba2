"""Benchmark: a backfill beyond the timeline's 3,200 cap, with full-archive search, against the simulator.

Runs ``tweetlake ingest tweets`` twice on fresh lakes for the same accounts: ``--backfill off`` (the
timeline alone) and ``--backfill auto`` (the timeline, then ``GET /2/tweets/search/all`` for what it
cannot reach). Prints tweets, requests per endpoint, 429s (the simulator's count), wall time, pages
per second of each phase, the ingestion process's peak RSS and what the simulator billed. The
simulator runs in its own process with the documented limits of search (300 a window, 1 a
second); the timeline and lookup limits are raised so the timeline phase is not the one measured.

    .venv/bin/python bench/backfill_search.py [--accounts 6] [--activity 2] [--keep]

Search is paced at 1 request a second (plus a 0.1 s margin), so its throughput is bounded by the
API's rule, not by the client: ~0.9 pages/s, ~450 tweets/s. A backfill of more than 300 search
pages also waits out the 15-minute window (the client paces to it; no 429).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMELINE = "GET /2/users/:id/tweets"
SEARCH = "GET /2/tweets/search/all"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def control(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method="GET" if body is None else "POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.load(response)


def ingest(
    lake: str, users: str, backfill: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float, int]:
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
        "--backfill",
        backfill,
        "--no-progress",
    ]
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    started = time.monotonic()
    result = subprocess.run([*timer, *command], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    peak_kib = next(
        (int(line.rsplit(":", 1)[1]) for line in result.stderr.splitlines() if "Maximum resident set size" in line), 0
    )
    if result.returncode != 0:
        print(result.stdout, result.stderr, file=sys.stderr)
        raise SystemExit(f"ingest --backfill {backfill} failed ({result.returncode})")
    return result, elapsed, peak_kib


def records_of(stdout: str) -> int:
    return int(stdout.split(" records", 1)[0].rsplit(" ", 1)[-1].replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=6, help="simulated accounts (the 6 specials at 6)")
    parser.add_argument("--activity", type=float, default=2.0, help="multiplier on tweeting rates")
    parser.add_argument("--keep", action="store_true", help="keep the lake folders")
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
            "3",
            "--accounts",
            str(args.accounts),
            "--activity",
            str(args.activity),
            "--now",
            "2026-11-22T12:00:00Z",
            "--frozen",
            "--rate-limit",
            f"{TIMELINE}=1000000",
            "--rate-limit",
            "GET /2/users/by=100000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="tweetlake-bench-search-"))
    try:
        for _ in range(300):
            try:
                world = control(base, "/_sim/world")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("simulator did not start")
        users = ",".join(a["username"] for a in world["accounts"] if a["status"] == "active")
        env = {**os.environ, "X_API_BASE_URL": f"{base}/2", "X_BEARER_TOKEN": "bench-token-0123456789"}

        figures: dict[str, dict[str, Any]] = {}
        for backfill in ("off", "auto"):
            control(base, "/_sim/stats/reset", {})
            control(base, "/_sim/billing/reset", {})
            lake = (workdir / f"lake-{backfill}").as_uri()
            result, elapsed, peak_kib = ingest(lake, users, backfill, env)
            stats = control(base, "/_sim/stats")
            billing = control(base, "/_sim/billing")
            figures[backfill] = {
                "records": records_of(result.stdout),
                "elapsed": elapsed,
                "peak_kib": peak_kib,
                "counts": stats["counts"],
                "billing": billing["totals"],
                "429": sum(row["count"] for row in stats["by_status"] if row["status"] == 429),
                "stdout": result.stdout,
            }
        off, auto = figures["off"], figures["auto"]
        print(auto["stdout"])
        timeline_pages = auto["counts"].get(TIMELINE, 0)
        search_pages = auto["counts"].get(SEARCH, 0)
        search_seconds = max(1e-9, auto["elapsed"] - off["elapsed"])
        print("--- backfill beyond the cap: full-archive search ---")
        print(f"accounts tracked        {users.count(',') + 1}")
        print(
            f"timeline alone (off)    {off['records']:,} tweets, {off['counts'].get(TIMELINE, 0):,} timeline pages, "
            f"{off['elapsed']:.1f} s ({off['counts'].get(TIMELINE, 0) / off['elapsed']:,.1f} pages/s), "
            f"peak RSS {off['peak_kib'] / 1024:.0f} MB"
        )
        print(
            f"with search (auto)      {auto['records']:,} tweets: {timeline_pages:,} timeline + {search_pages:,} "
            f"search pages, {auto['elapsed']:.1f} s, peak RSS {auto['peak_kib'] / 1024:.0f} MB"
        )
        print(
            f"search phase            {auto['records'] - off['records']:,} tweets in {search_pages:,} pages, "
            f"{search_seconds:.1f} s: {search_pages / search_seconds:.2f} pages/s, "
            f"{(auto['records'] - off['records']) / search_seconds:,.0f} tweets/s (the API's 1 request/s rule)"
        )
        print(f"HTTP 429                {auto['429']} (off: {off['429']})")
        bill = auto["billing"]
        print(
            f"billed by the simulator {bill['post_reads']:,} post reads, {bill['user_reads']:,} user reads: "
            f"${bill['usd']:,.2f} (off: ${off['billing']['usd']:,.2f})"
        )
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)
        if args.keep:
            print(f"lakes kept under {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
