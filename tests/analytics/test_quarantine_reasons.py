"""The report's quarantine panel counts what it can read and never fails on a line it cannot."""

from __future__ import annotations

from analytics.pipeline import quarantine_reasons
from common.lake import Lake


def test_a_quarantine_line_that_is_json_but_not_an_object_is_counted_not_fatal(local_lake: Lake) -> None:
    key = "quarantine/tweets/dt=2026-11-09/source_hash=0123456789abcdef/part-00000.json"
    lines = ['{"reason": "malformed JSON", "line": "x"}', "[1, 2]", '"text"', "{not json", '{"line": "y"}']
    local_lake.put_bytes(key, ("\n".join(lines) + "\n").encode())
    table = quarantine_reasons(local_lake)
    assert table is not None
    assert sorted(table.rows) == sorted(
        [("tweets", "malformed JSON", 1), ("tweets", "unreadable quarantine line", 3), ("tweets", "unknown", 1)]
    )
