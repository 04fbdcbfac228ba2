"""The report's billed-reads table, from a usage ledger written the way the collectors write it."""

from __future__ import annotations

from datetime import date

from analytics.report.page import _billed_block
from common.lake import Lake
from ingestion.usage import DayUsage, write_day
from tweetlake.billing import billed_reads


def test_the_billed_table_counts_a_read_once_a_day_across_datasets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = Lake.from_uri(tmp_path.as_uri())
    assert billed_reads(lake) is None
    assert "no usage ledger" in _billed_block(None)
    write_day(lake, date(2026, 10, 31), "tweets", "r0", DayUsage({9}, set()))  # an older month: left out
    write_day(lake, date(2026, 11, 2), "tweets", "r1", DayUsage({1, 2, 3}, set()))
    write_day(lake, date(2026, 11, 2), "tweet_metrics", "r2", DayUsage({2, 3, 4}, set()))
    write_day(lake, date(2026, 11, 3), "tweet_metrics", "r3", DayUsage({2}, set()))  # a new day bills it again
    write_day(lake, date(2026, 11, 3), "users", "r4", DayUsage(set(), {10, 11}))

    table = billed_reads(lake)
    assert table is not None
    assert table.rows == [
        ("2026-11", "tweet_metrics", 4, 0, 0, 0.02),  # 3 + 1 post reads
        ("2026-11", "tweets", 3, 0, 0, 0.015),
        ("2026-11", "users", 0, 2, 0, 0.02),
        # day 2: {1, 2, 3, 4} = 4 posts; day 3: {2} = 1 post and 2 users: 5 × $0.005 + 2 × $0.010
        ("2026-11", "billed (a read once a day)", 5, 2, 0, 0.045),
    ]
    html = _billed_block(table)
    assert "Billed X API reads, 2026-11 to date" in html and "<td>0.045</td>" in html
