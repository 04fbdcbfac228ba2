"""``python -m tests.ingestion.kill_after_publish LAKE_URI USERS N [BACKFILL]``: ``ingest tweets`` in
parts of 200 records (``--backfill`` BACKFILL, default auto), SIGKILLed the moment the lake holds its
N-th raw part, before anything else runs — between publishing a part and committing the cursors it
makes true."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from common.lake import Lake
from ingestion.client import XClient
from ingestion.run import run


class KillAfterPart:
    def __init__(self, lake: Lake, nth: int) -> None:
        self._lake = lake
        self._nth = nth
        self._parts = 0

    def put_file(self, key: str, path: Any) -> None:
        self._lake.put_file(key, path)
        if key.startswith("raw/tweets/"):
            self._parts += 1
            if self._parts == self._nth:
                os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lake, name)


def main(argv: list[str]) -> None:
    lake_uri, users, nth, *backfill = argv
    lake = KillAfterPart(Lake.from_uri(lake_uri), int(nth))
    run(
        "tweets",
        lake,
        XClient.from_env(),
        users=users,
        part_records=200,  # type: ignore[arg-type]
        backfill=backfill[0] if backfill else None,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
