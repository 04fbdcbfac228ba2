"""``tweetlake sql --schema`` names a schema the database must have: a typo is one line with the
nearest name and exit 2, never a silent success on an empty search path."""

from __future__ import annotations

import pytest

from tweetlake.cli import main as tweetlake
from tweetlake.errors import ExitCode

pytestmark = pytest.mark.slow  # a real PostgreSQL


def test_a_misspelt_schema_is_refused_with_the_nearest_name(
    pg_url: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tweetlake(["sql", f"CREATE SCHEMA {schema}", "--database-url", pg_url, "--schema", schema]) == 0
    capsys.readouterr()
    # two neighbouring letters swapped, as in dmeo: the first pair that differs (a random name can end in "ff")
    i = next(i for i in range(len(schema) - 1, 0, -1) if schema[i] != schema[i - 1])
    typo = schema[: i - 1] + schema[i] + schema[i - 1] + schema[i + 1 :]
    assert typo != schema
    code = tweetlake(["sql", "SELECT 1", "--database-url", pg_url, "--schema", typo])
    out, err = capsys.readouterr()
    assert (code, out) == (ExitCode.USAGE, "")
    assert err.strip().splitlines() == [
        f"tweetlake sql: no schema {typo!r} in this database (did you mean {schema}? its schemas: "
        + err.split("its schemas: ", 1)[1].strip()
    ]
    assert tweetlake(["sql", "SELECT 1", "--database-url", pg_url, "--schema", schema]) == 0
