"""``tweetlake sql``'s table, as psql prints one: the header on its rule, numbers right-aligned with
thousands separators (ids and keys without), values escaped so no ``|`` or line break can break a
column, and a row wider than the terminal printed one record at a time (psql's ``\\x``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tweetlake.output import format_table

ROWS = [("ada|lovelace", 1234567, Decimal("12.5"), "2026-11-20", "a\nb"), ("bob", 7, None, None, "tab\there")]
COLUMNS = ["username", "tweet_id", "likes", "day", "text"]


def test_the_header_sits_on_its_rule_and_every_row_has_the_same_columns() -> None:
    lines = format_table(COLUMNS, [(1, 2, 3, 4, 5)]).splitlines()
    rule = lines[1]
    bars = [i for i, c in enumerate(rule) if c == "+"]
    for line in (lines[0], lines[2]):
        assert [i for i, c in enumerate(line) if c == "|"] == bars
    assert lines[0].index("username") == 1 and rule.startswith("-" * (len("username") + 2) + "+")


def test_values_are_escaped_so_a_bar_or_a_line_break_cannot_break_a_column() -> None:
    lines = format_table(COLUMNS, ROWS).splitlines()
    assert len(lines) == 2 + len(ROWS) + 1
    assert "ada\\|lovelace" in lines[2] and "a\\nb" in lines[2] and "tab\\there" in lines[3]
    assert len({line.count("|") - line.count("\\|") for line in lines[:4]} - {0}) == 1


def test_numbers_are_right_aligned_with_separators_but_ids_are_not_separated() -> None:
    lines = format_table(["n", "user_id", "share"], [(1234567, 1234567, Decimal("0.5")), (3, 3, None)]).splitlines()
    assert lines[2] == " 1,234,567 | 1234567 |   0.5"
    assert lines[3] == "         3 |       3 |  NULL"


@pytest.mark.parametrize("width", [40, 80])
def test_a_table_wider_than_the_terminal_is_printed_one_record_at_a_time(width: int) -> None:
    wide = [tuple("x" * 30 for _ in range(5))]
    text = format_table(COLUMNS, wide, width=width)
    lines = text.splitlines()
    assert lines[0].startswith("-[ RECORD 1 ]") and lines[1].startswith("username | x")
    assert all(len(line) <= width for line in lines)
    assert format_table(COLUMNS, wide, width=None).splitlines()[0].startswith(" username")  # a pipe: no terminal
