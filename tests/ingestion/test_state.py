"""A state document that cannot be read names itself and says how to recover."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from common.exit_codes import ExitCode
from common.lake import Lake
from ingestion.errors import StateCorrupt
from ingestion.registry import REGISTRY_KEY
from ingestion.state import RunLock, read_json, update_json
from ingestion.usage import DayUsage, day_usage, write_day
from ingestion.usage.ledger import day_key
from tweetlake.cli import main as tweetlake


@pytest.mark.parametrize("body", [b'{"users": {"nasa": {"user_id": "1"', b"\xff\xfe", b"not json"])
def test_a_truncated_state_document_names_itself_and_how_to_recover(local_lake: Lake, body: bytes) -> None:
    local_lake.write_if(REGISTRY_KEY, body, None)
    with pytest.raises(StateCorrupt, match=r"state/registry\.json cannot be read .*users add"):
        read_json(local_lake, REGISTRY_KEY)
    with pytest.raises(StateCorrupt, match=r"state/registry\.json"):
        update_json(local_lake, REGISTRY_KEY, lambda doc: (doc, None))


@pytest.mark.parametrize(
    "doc",
    [
        {"run_id": "other"},
        {"run_id": "other", "expires_at": "soon"},
        {"run_id": "other", "expires_at": 5},
        {"run_id": "other", "expires_at": "2099-01-01T00:00:00Z", "generation": "x"},
        [1],
    ],
    ids=["no-expiry", "expiry-soon", "expiry-a-number", "generation-x", "a-list"],
)
def test_a_lock_document_of_the_wrong_shape_names_itself_and_how_to_recover(local_lake: Lake, doc: Any) -> None:
    key = "state/locks/tweets.json"
    local_lake.write_if(key, json.dumps(doc).encode(), None)
    lock = RunLock(local_lake, "tweets", "run-1")
    with pytest.raises(StateCorrupt, match=r"state/locks/tweets\.json cannot be read \(.+\): delete it"):
        lock.acquire()


@pytest.mark.parametrize(
    "doc",
    [{"counts_requests": "x"}, {"counts_requests": -1}, {"runs": [1]}, {"runs": {"r1": {"counts_requests": "x"}}}, [1]],
    ids=["counts-x", "counts-negative", "runs-a-list", "a-run-count-x", "a-list"],
)
def test_a_usage_ledger_document_of_the_wrong_shape_names_itself_in_one_line(
    local_lake: Lake, capsys: Any, doc: Any
) -> None:
    day = datetime.now(UTC).date()  # the month `usage` shows
    key = day_key(day, "tweets")
    local_lake.write_if(key, json.dumps(doc).encode(), None)
    with pytest.raises(StateCorrupt, match=rf"{re.escape(key)} cannot be read \(.+\): restore it"):
        day_usage(local_lake, day)
    with pytest.raises(StateCorrupt, match=re.escape(key)):
        write_day(local_lake, day, "tweets", "run-1", DayUsage(counts_requests=1))
    assert tweetlake(["usage", "--lake", local_lake.uri]) == ExitCode.USAGE
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and key in err[0], err
