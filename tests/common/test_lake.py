from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.lake import ConflictError, Lake, LakeError, ObjectNotFound
from common.layout import parse_raw_key, raw_key
from common.rawio import RawPartWriter, iter_raw_records


def test_put_get_list_delete(any_lake: Lake) -> None:
    any_lake.put_bytes("raw/tweets/dt=2026-11-22/a.jsonl.gz", b"one")
    any_lake.put_bytes("raw/tweets/dt=2026-11-23/b.jsonl.gz", b"three")
    any_lake.put_bytes("raw/users/dt=2026-11-22/c.jsonl.gz", b"x")
    keys = [(o.key, o.size) for o in any_lake.list("raw/tweets/")]
    assert keys == [("raw/tweets/dt=2026-11-22/a.jsonl.gz", 3), ("raw/tweets/dt=2026-11-23/b.jsonl.gz", 5)]
    assert any_lake.list_dirs("raw/tweets/") == ["dt=2026-11-22", "dt=2026-11-23"]
    assert any_lake.list_dirs("raw/") == ["tweets", "users"]
    assert any_lake.get_bytes("raw/users/dt=2026-11-22/c.jsonl.gz") == b"x"
    assert any_lake.exists("raw/users/dt=2026-11-22/c.jsonl.gz")
    any_lake.delete("raw/users/dt=2026-11-22/c.jsonl.gz")
    assert not any_lake.exists("raw/users/dt=2026-11-22/c.jsonl.gz")
    with pytest.raises(ObjectNotFound):
        any_lake.get_bytes("raw/users/dt=2026-11-22/c.jsonl.gz")


def test_conditional_writes(any_lake: Lake) -> None:
    assert any_lake.read_versioned("state/x.json") is None
    v1 = any_lake.write_if("state/x.json", b"1", None)
    with pytest.raises(ConflictError):
        any_lake.write_if("state/x.json", b"2", None)  # must not exist, but does
    v2 = any_lake.write_if("state/x.json", b"2", v1)
    with pytest.raises(ConflictError):
        any_lake.write_if("state/x.json", b"3", v1)  # stale version
    assert any_lake.read_versioned("state/x.json") == (b"2", v2)


def test_local_lake_rejects_escaping_keys(local_lake: Lake) -> None:
    with pytest.raises(LakeError):
        local_lake.put_bytes("../outside", b"x")


def test_bad_uris() -> None:
    with pytest.raises(LakeError, match="unsupported"):
        Lake.from_uri("hdfs://x/y")
    with pytest.raises(LakeError, match="bucket"):
        Lake.from_uri("s3:///nobucket")


def test_local_writes_leave_no_partial_object(local_lake: Lake, tmp_path) -> None:
    """A failing upload leaves neither the object nor a visible temporary file."""
    with pytest.raises(FileNotFoundError):
        local_lake.put_file("raw/tweets/dt=2026-11-22/x.jsonl.gz", tmp_path / "missing")
    assert list(local_lake.list("raw/")) == []


def test_raw_writer_rolls_parts_and_round_trips(any_lake: Lake) -> None:
    started = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    published: list[tuple[str, int]] = []
    writer = RawPartWriter(any_lake, "tweets", "run1", started, max_records=3,
                           on_publish=lambda k, n: published.append((k, n)))
    for i in range(7):
        writer.write(started, "GET /2/users/:id/tweets", data={"id": str(i), "text": "ü 🎉"})
        if writer.should_roll():
            writer.flush()
    writer.write(started, "GET /2/users/:id/tweets", error={"title": "Not Found Error", "resource_id": "9"})
    writer.close()
    assert [n for _, n in published] == [3, 3, 2]
    assert published[0][0] == raw_key("tweets", started.date(), "run1", 0)
    assert parse_raw_key(published[2][0]) == {"dataset": "tweets", "dt": "2026-11-22", "run_id": "run1",
                                              "part": "00002"}
    records = [r for key, _ in published for r in iter_raw_records(any_lake, key)]
    assert [r["data"]["id"] for r in records if "data" in r] == [str(i) for i in range(7)]
    assert records[-1] == {"collected_at": "2026-11-22T10:00:00Z", "run_id": "run1",
                           "source": "GET /2/users/:id/tweets", "error": {"title": "Not Found Error",
                                                                          "resource_id": "9"}}
    assert records[0]["data"]["text"] == "ü 🎉"


def test_raw_writer_discard_publishes_nothing(local_lake: Lake) -> None:
    started = datetime(2026, 11, 22, tzinfo=UTC)
    writer = RawPartWriter(local_lake, "users", "r", started)
    writer.write(started, "GET /2/users/by", data={"id": "1"})
    writer.discard()
    writer.close()
    assert list(local_lake.list("raw/")) == []


def test_iter_raw_records_reports_bad_line(local_lake: Lake) -> None:
    local_lake.put_bytes("raw/users/dt=2026-11-22/r-00000.jsonl.gz", gzip.compress(b'{"a":1}\n{broken\n'))
    records = iter_raw_records(local_lake, "raw/users/dt=2026-11-22/r-00000.jsonl.gz")
    assert next(records) == {"a": 1}
    with pytest.raises(ValueError, match=":2: not a JSON line"):
        next(records)


def test_local_conditional_writes_from_threads_lose_nothing(local_lake: Lake) -> None:
    def bump() -> None:
        for _ in range(20):
            while True:
                found = local_lake.read_versioned("state/counter.json")
                value = json.loads(found[0]) if found else 0
                try:
                    version = found[1] if found else None
                    local_lake.write_if("state/counter.json", json.dumps(value + 1).encode(), version)
                    break
                except ConflictError:
                    continue

    threads = [threading.Thread(target=bump) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert json.loads(local_lake.get_bytes("state/counter.json")) == 100


def test_an_sdk_without_conditional_puts_gets_a_clear_error(tmp_path: Path, s3_lake: Lake) -> None:
    """An S3 model from before If-Match on PutObject (botocore < 1.35.69): real client-side
    validation, answered with the version to install instead of a bare ParamValidationError."""
    import botocore.session
    from botocore.loaders import Loader

    model = Loader().load_service_model("s3", "service-2")
    del model["shapes"]["PutObjectRequest"]["members"]["IfMatch"]
    folder = tmp_path / "models" / "s3" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models"))
    old_client = session.create_client("s3", region_name="us-east-1")
    old_lake = Lake.from_uri(s3_lake.uri, s3_client=old_client)
    version = old_lake.write_if("state/registry.json", b"{}", None)  # If-None-Match is older: fine
    with pytest.raises(LakeError, match=r"boto3/botocore >= 1\.35\.69"):
        old_lake.write_if("state/registry.json", b"{}", version)
