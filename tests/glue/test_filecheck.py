"""Whole-file checks of raw files (``glue_jobs/filecheck.py``): no Spark, a real lake folder."""

from __future__ import annotations

import gzip
import re
import zlib
from typing import Any

import pytest

from common.lake import Lake
from common.layout import MAX_LINE_BYTES
from glue_jobs.filecheck import LAKE_FAILED, RawFileReader, check_raw_file, read_raw_files

KEY = "raw/tweets/dt=2026-11-20/20261120T100000Z-abc123-00000.jsonl.gz"
GOOD = b'{"collected_at": "2026-11-20T10:00:00Z", "data": {"id": "1"}}\n' * 50


def _crc_broken() -> bytes:
    data = bytearray(gzip.compress(GOOD, mtime=0))
    data[-8] ^= 0xFF  # the CRC-32 of the trailer
    return bytes(data)


CASES = [
    ("good", gzip.compress(GOOD), None),
    ("two gzip members (cat a.gz b.gz)", gzip.compress(GOOD) + gzip.compress(GOOD), None),
    ("blank lines around records", gzip.compress(b"\n\n" + GOOD + b"\n\n"), None),
    ("no newline at the end", gzip.compress(GOOD.rstrip(b"\n")), None),
    ("a line exactly at the limit", gzip.compress(b"x" * MAX_LINE_BYTES + b"\n"), None),
    ("empty file", b"", r"^empty file \(0 bytes\)$"),
    ("plain text", GOOD, r"^not a gzip file$"),
    ("truncated", gzip.compress(GOOD * 40)[:300], r"^truncated gzip \(the stream ends after [\d,]+ bytes of text"),
    ("cut before the trailer", gzip.compress(GOOD)[:-4], r"^truncated gzip"),
    ("CRC mismatch", _crc_broken(), r"^corrupt gzip data \(.*incorrect data check"),
    ("garbage after the stream", gzip.compress(GOOD) + b"garbage!", r"^corrupt gzip data \(.*incorrect header check"),
    ("zero lines", gzip.compress(b""), r"^no lines"),
    ("only blank lines", gzip.compress(b"\n \n\t\n"), r"^no lines"),
    (
        "latin-1 on line 3",
        gzip.compress(GOOD[:124] + "café\n".encode("latin-1") + GOOD),
        r"^not valid UTF-8 \(line 3\)$",
    ),
    ("a character cut at the end", gzip.compress(GOOD + "é".encode()[:1]), r"^not valid UTF-8 \(line 51\)$"),
    ("a 10 MB line", gzip.compress(GOOD + b"x" * 10_000_000 + b"\n"), r"^line 51 is longer than 1,048,576 bytes$"),
]


@pytest.mark.parametrize(("content", "expected"), [(c, e) for _, c, e in CASES], ids=[n for n, _, _ in CASES])
def test_each_kind_of_damage_has_its_reason(local_lake: Lake, content: bytes, expected: str | None) -> None:
    local_lake.put_bytes(KEY, content)
    reason = check_raw_file(local_lake, KEY)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert re.search(expected, reason), reason


def test_memory_stays_bounded_on_a_highly_compressible_file(local_lake: Lake) -> None:
    # 256 MiB of newlines-separated zeros compress to ~250 KB; the check must stream them
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    line = b"0" * 1023 + b"\n"
    body = b"".join(compressor.compress(line * 1024) for _ in range(256)) + compressor.flush()
    local_lake.put_bytes(KEY, body)
    assert check_raw_file(local_lake, KEY) is None


def test_many_files_are_read_with_their_verdicts_and_a_lake_failure_is_not_a_reason(any_lake: Lake) -> None:
    import pyarrow as pa

    keys = [KEY.replace("00000", f"{i:05d}") for i in range(6)]
    for i, key in enumerate(keys):
        any_lake.put_bytes(key, gzip.compress(GOOD) if i % 2 == 0 else GOOD)
    gone = "raw/tweets/dt=2026-11-20/gone-00000.jsonl.gz"
    asked = [
        pa.record_batch([pa.array(keys[:4])], names=["key"]),
        pa.record_batch([pa.array([*keys[4:], gone])], names=["key"]),
    ]
    rows = pa.Table.from_batches(list(read_raw_files(any_lake.uri, iter(asked)))).to_pylist()
    for i, key in enumerate(keys):
        mine = [r for r in rows if r["source_file"] == key]
        if i % 2 == 0:  # every line, numbered in order, no verdict
            assert [r["line_order"] for r in mine] == list(range(50))
            assert {(r["value"], r["file_reason"]) for r in mine} == {(GOOD.splitlines()[0].decode(), None)}
        else:
            assert [(r["line_order"], r["value"], r["file_reason"]) for r in mine] == [(-1, None, "not a gzip file")]
    ((lost,),) = [[r["file_reason"] for r in rows if r["source_file"] == gone]]
    assert lost.startswith(LAKE_FAILED) and "gone-00000" in lost  # the runner stops on it, quarantines nothing
    with pytest.raises(KeyError):  # a file gone between the listing and the check: the lake's error, raised
        check_raw_file(any_lake, gone)


def test_a_truncated_file_gives_its_lines_then_its_reason(local_lake: Lake) -> None:
    local_lake.put_bytes(KEY, gzip.compress(GOOD * 400, mtime=0)[:2000])
    reader = RawFileReader(local_lake, KEY)
    lines = [line for block in reader.blocks() for line in block]
    assert lines and set(lines) == {GOOD.splitlines()[0]}  # the runner leaves them out: the file fails whole
    assert reader.reason is not None and reader.reason.startswith("truncated gzip")


@pytest.mark.slow
def test_spark_reads_each_file_in_one_task_and_deals_the_biggest_out_first(spark: Any, local_lake: Lake) -> None:
    import pyspark.sql.functions as F

    from glue_jobs.filecheck import raw_lines

    parallelism = spark.sparkContext.defaultParallelism
    count = 4 * parallelism * 2 + 3  # more files than tasks
    files = []
    for i in range(count):
        key = KEY.replace("00000", f"{i:05d}")
        local_lake.put_bytes(key, gzip.compress(GOOD * (i + 1)))
        files.append((key, i + 1))
    tasks = raw_lines(spark, local_lake, files).withColumn("task", F.spark_partition_id())
    per_task: dict[int, set[str]] = {}
    for row in tasks.select("task", "source_file").distinct().collect():
        per_task.setdefault(row["task"], set()).add(row["source_file"])
    assert len(per_task) == 4 * parallelism
    assert sum(len(keys) for keys in per_task.values()) == count  # each file in one task
    biggest = sorted(files, key=lambda f: -f[1])[: 4 * parallelism]
    assert all(sum(k in keys for k, _ in biggest) == 1 for keys in per_task.values())  # one of the biggest each
    assert tasks.filter("file_reason IS NULL").count() == 50 * sum(size for _, size in files)
