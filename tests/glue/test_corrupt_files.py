"""Lake files that cannot be read are quarantined whole, on real Spark and a real PostgreSQL:
the run loads every other file, names the bad ones, a rerun changes nothing, and
``--retry-quarantined`` loads a file once it has been replaced."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from common.lake import Lake
from common.layout import raw_key
from glue_jobs.options import JobOptions
from glue_jobs.runner import run_job
from tests.glue.glue_helpers import envelope, query, table_fingerprint, tweet, write_raw
from tweetlake.cli import main as tweetlake

pytestmark = pytest.mark.slow

DAY = datetime(2026, 11, 20, 10, tzinfo=UTC)
MOMENT = "2026-11-20T10:00:00Z"


def lines(*tweet_ids: str) -> bytes:
    return "".join(envelope(MOMENT, data=tweet(t)) + "\n" for t in tweet_ids).encode()


def truncated() -> bytes:
    # valid lines first: the cut falls well after tweet 901's line (they are not loaded either)
    body = gzip.compress(lines("901", "902") + b"".join(lines(str(1000 + i)) for i in range(300)), mtime=0)
    return body[: len(body) // 2]


BAD_FILES = {
    "truncated gzip": (truncated, r"^truncated gzip"),
    "not gzip": (lambda: lines("901"), r"^not a gzip file$"),
    "empty file": (lambda: b"", r"^empty file \(0 bytes\)$"),
    "zero-line gzip": (lambda: gzip.compress(b""), r"^no lines"),
    "invalid UTF-8": (
        lambda: gzip.compress(lines("901") + b'{"text": "caf\xe9"}\n' + lines("902")),
        r"^not valid UTF-8 \(line 2\)$",
    ),
    "a 10 MB line": (
        lambda: gzip.compress(lines("901") + b"{" + b" " * 10_000_000 + b"}\n"),
        r"^line 2 is longer than 1,048,576 bytes$",
    ),
}


def bad_key(name: str = "bad") -> str:
    return raw_key("tweets", DAY.date(), f"20261120T100000Z-{name}", 0)


def ledger(url: str, schema: str) -> list[tuple[Any, ...]]:
    return query(url, f"SELECT path, status, reason, rows_loaded FROM {schema}.etl_file_ledger ORDER BY path")


def tweet_ids(url: str, schema: str) -> list[int]:
    return [r[0] for r in query(url, f"SELECT tweet_id FROM {schema}.fact_tweet ORDER BY 1")]


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_quarantined_whole_and_the_others_load(
    spark: Any, pg_url: str, schema: str, lake: Lake, case: str
) -> None:
    content, reason_pattern = BAD_FILES[case]
    good_key = write_raw(lake, "tweets", DAY, [{"collected_at": DAY, "data": tweet("800")}])
    key = bad_key()
    lake.put_bytes(key, content())

    first = run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema), spark)
    assert (first.files, first.files_read, first.rows_loaded) == (2, 1, 1)
    assert tweet_ids(pg_url, schema) == [800]  # none of the bad file's lines, not even those before a cut
    ((path, status, reason, loaded),) = [e for e in ledger(pg_url, schema) if e[0] == key]
    assert (path, status, loaded) == (key, "quarantined", 0)
    assert re.search(reason_pattern, reason), reason
    assert [e[:2] for e in ledger(pg_url, schema) if e[0] == good_key] == [(good_key, "loaded")]
    assert first.quarantined_files == [(key, reason)]
    assert f"1 file quarantined whole: {key} ({reason})" in first.describe()
    marker = json.loads(lake.get_bytes(f"quarantine/tweets/_files/dt=2026-11-20/{key.rsplit('/', 1)[1]}.json"))
    assert (marker["path"], marker["reason"], marker["run_id"]) == (key, reason, first.run_id)
    assert query(pg_url, f"SELECT files, files_quarantined FROM {schema}.etl_run") == [(2, 1)]

    before = table_fingerprint(pg_url, schema)
    again = run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema), spark)
    assert (again.files, again.quarantined_files) == (0, [])
    assert table_fingerprint(pg_url, schema) == before

    lake.put_bytes(key, gzip.compress(lines("901", "902")))  # the file is replaced whole
    assert run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema), spark).files == 0  # not retried unless asked
    retried = run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema, retry_quarantined=True), spark)
    assert (retried.files, retried.files_retried, retried.rows_loaded, retried.quarantined_files) == (1, 1, 2, [])
    assert tweet_ids(pg_url, schema) == [800, 901, 902]
    assert [e[:4] for e in ledger(pg_url, schema) if e[0] == key] == [(key, "loaded", None, 2)]
    assert not lake.exists(f"quarantine/tweets/_files/dt=2026-11-20/{key.rsplit('/', 1)[1]}.json")


def test_a_run_of_only_bad_files_records_them_without_starting_spark(pg_url: str, schema: str, lake: Lake) -> None:
    def no_spark() -> Any:
        raise AssertionError("Spark started for a run with nothing readable")

    lake.put_bytes(bad_key(), b"")
    from common.warehouse.db import DbTarget
    from glue_jobs.runner import WarehouseJob

    with WarehouseJob("tweets", lake, DbTarget.from_url(pg_url), JobOptions(schema=schema)) as job:
        summary = job.run(no_spark)
    assert summary.quarantined_files == [(bad_key(), "empty file (0 bytes)")]
    assert ledger(pg_url, schema) == [(bad_key(), "quarantined", "empty file (0 bytes)", 0)]


def test_a_file_breaking_the_name_contract_is_reported(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    write_raw(lake, "tweets", DAY, [{"collected_at": DAY, "data": tweet("800")}])
    stray = "raw/tweets/dt=2026-11-20/copy of part.jsonl.gz"
    lake.put_bytes(stray, gzip.compress(lines("999")))
    summary = run_job("tweets", lake.uri, pg_url, JobOptions(schema=schema), spark)
    assert summary.misnamed_files == [stray]
    assert f"1 file not named <run_id>-<part, 5 digits>.jsonl.gz, not read: {stray}" in summary.describe()
    assert tweet_ids(pg_url, schema) == [800]


def test_tweetlake_job_with_a_truncated_and_a_non_gzip_file_exits_0_and_names_both(
    spark: Any, pg_url: str, schema: str, lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        write_raw(lake, "tweets", DAY, [{"collected_at": DAY, "data": tweet(str(800 + i))}])
    cut, plain = bad_key("cut"), bad_key("plain")
    lake.put_bytes(cut, truncated())
    lake.put_bytes(plain, lines("901"))
    argv = ["job", "tweets", "--lake", lake.uri, "--database-url", pg_url, "--schema", schema]
    assert tweetlake(argv) == 0
    out, err = capsys.readouterr()
    assert "5 new files in 1 partition" in out and "3 rows loaded" in out
    assert f"2 files quarantined whole: {cut} (truncated gzip" in out and f"{plain} (not a gzip file)" in out
    assert f"where: lake {lake.uri}, database postgresql://" in out and f"schema {schema}" in out
    assert "Traceback" not in err and "Exception" not in err
    assert tweet_ids(pg_url, schema) == [800, 801, 802]
    before = table_fingerprint(pg_url, schema)
    assert tweetlake(argv) == 0
    assert "0 new files" in capsys.readouterr().out
    assert table_fingerprint(pg_url, schema) == before
