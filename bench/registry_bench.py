"""The tracked-accounts registry under load: adds a second as it grows to 10,000 accounts, and no
account lost when several adders race.

    .venv/bin/python bench/registry_bench.py                 # a local lake in a temporary folder
    .venv/bin/python bench/registry_bench.py --accounts 10000 --window 200 --adders 8 --each 50

Every account is added through ``Registry.add`` (the path ``tweetlake users add`` and ``POST
/accounts`` take), one at a time; the rate printed for a size is over the ``--window`` adds that
end there. Then ``--adders`` threads add ``--each`` new names at once; the bench fails (exit 1)
unless every one of them is in the registry afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.lake import LocalLake
from ingestion.registry import Registry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--marks", default="1000,5000,10000", help="sizes to report adds/s at")
    parser.add_argument("--adders", type=int, default=8)
    parser.add_argument("--each", type=int, default=50)
    args = parser.parse_args()
    marks = sorted(int(m) for m in args.marks.split(",") if int(m) <= args.accounts)
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as root:
        registry = Registry(LocalLake(Path(root)))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; a local lake")
        started = time.perf_counter()
        window_start = started
        for n in range(1, args.accounts + 1):
            if n == 1 or (n - 1) % args.window == 0:
                window_start = time.perf_counter()
            registry.add(f"bench_{n}")
            if n in marks:
                took = time.perf_counter() - window_start
                size = min(args.window, n)
                print(f"{n:>6,} accounts: {size / took:8.1f} adds/s (the last {size} adds)", flush=True)
        total = time.perf_counter() - started
        print(f"{args.accounts:,} adds one at a time in {total:.1f} s ({args.accounts / total:.1f} adds/s overall)")

        names = [[f"race_{a}_{i}" for i in range(args.each)] for a in range(args.adders)]
        errors: list[BaseException] = []

        def adder(batch: list[str]) -> None:
            try:
                mine = Registry(LocalLake(Path(root)))  # each adder its own registry object, as processes have
                for name in batch:
                    mine.add(name)
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=adder, args=(batch,)) for batch in names]
        race_start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        race = time.perf_counter() - race_start
        listed = {a.username for a in registry.list()}
        missing = [n for batch in names for n in batch if n not in listed]
        added = args.adders * args.each
        print(
            f"{args.adders} concurrent adders × {args.each}: {added} adds in {race:.1f} s "
            f"({added / race:.1f} adds/s), {len(listed):,} accounts listed, {len(missing)} lost, {len(errors)} errors"
        )
        if missing or errors or len(listed) != args.accounts + added:
            print(f"FAILED: lost {missing[:5]}… errors {errors[:3]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
