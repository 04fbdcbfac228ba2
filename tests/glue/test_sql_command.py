"""``tweetlake sql``: several statements in order, table/csv/json output, whole values on demand."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tweetlake.cli import main as tweetlake

pytestmark = pytest.mark.slow  # a real PostgreSQL
LONG = "x" * 100


def sql(pg_url: str, schema: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = tweetlake(["sql", *args, "--database-url", pg_url, "--schema", schema])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def notes(pg_url: str, schema: str, capsys: pytest.CaptureFixture[str]) -> str:
    script = (
        f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.notes (id int, body text, at date);"
        f" INSERT INTO {schema}.notes VALUES (1, 'a, \"quoted\" one', '2026-11-20'), (2, '{LONG}', NULL)"
    )
    assert sql(pg_url, schema, capsys, script)[0] == 0
    return schema


def test_a_script_runs_in_order_and_prints_each_result(
    pg_url: str, notes: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = sql(
        pg_url,
        notes,
        capsys,
        "SELECT count(*) AS n FROM notes; UPDATE notes SET id = id + 10; SELECT id FROM notes ORDER BY id",
    )
    assert code == 0
    first, second, third = out.strip().split("\n\n")
    assert first.splitlines()[2].strip() == "2" and "(1 row)" in first
    assert second == "UPDATE 2"
    assert [line.strip() for line in third.splitlines()[2:4]] == ["11", "12"]


def test_csv_json_and_whole_values(pg_url: str, notes: str, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT id, body, at FROM notes ORDER BY id"
    _, table, _ = sql(pg_url, notes, capsys, query)
    assert LONG not in table and "x" * 59 + "…" in table  # cut at 60 characters by default
    _, whole, _ = sql(pg_url, notes, capsys, query, "--no-truncate")
    assert LONG in whole
    _, as_csv, _ = sql(pg_url, notes, capsys, query, "--format", "csv")
    assert list(csv.reader(io.StringIO(as_csv))) == [
        ["id", "body", "at"],
        ["1", 'a, "quoted" one', "2026-11-20"],
        ["2", LONG, ""],
    ]
    _, as_json, _ = sql(pg_url, notes, capsys, query, "--format", "json")
    assert json.loads(as_json) == [
        {"id": 1, "body": 'a, "quoted" one', "at": "2026-11-20"},
        {"id": 2, "body": LONG, "at": None},
    ]


def test_a_failing_statement_is_one_line_and_exit_1(
    pg_url: str, notes: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = sql(pg_url, notes, capsys, "UPDATE notes SET id = 0; SELECT nope")
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [
        'tweetlake sql: column "nope" does not exist LINE 1: UPDATE notes SET id = 0; SELECT nope ^'
    ]
    _, out, _ = sql(pg_url, notes, capsys, "SELECT min(id) FROM notes", "--format", "csv")
    assert out.splitlines()[1] == "1"  # the script was one implicit transaction: the UPDATE was undone
