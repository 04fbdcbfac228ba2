"""CPU the simulator spends on one timeline page of 100 fully-fielded tweets (in process, no HTTP).

    .venv/bin/python bench/simulator_page_cost.py [--pages 200]

A test used to hold this to 5 ms; under a loaded machine that bar failed on unchanged code, so it
is a figure here, not a test.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from xsim import SimulatorServer

FIELDS = "created_at,public_metrics,entities,author_id,conversation_id,referenced_tweets,lang,in_reply_to_user_id"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, help="pages to time (default: 200)")
    args = parser.parse_args()
    with SimulatorServer(seed=42, accounts=20, now=datetime(2026, 11, 22, 12, tzinfo=UTC)) as sim:
        query = f"/2/users/{sim.world.heavy.user_id}/tweets?max_results=100&tweet.fields={FIELDS},edit_controls"
        headers = {"Authorization": "Bearer x"}
        assert sim.api.handle("GET", query, headers).status == 200  # warm
        started = time.process_time()
        for _ in range(args.pages):
            sim.api.handle("GET", query, headers)
        per_page = (time.process_time() - started) / args.pages
    print(f"simulator: {per_page * 1000:.2f} ms CPU per timeline page of 100 tweets ({args.pages} pages)")


if __name__ == "__main__":
    main()
