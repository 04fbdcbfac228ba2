from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from common.lake import ConflictError, Lake, LakeAccessDenied, LakeError, LakeUnavailable, ObjectNotFound
from common.layout import parse_raw_key, raw_key
from common.rawio import RawPartWriter, iter_raw_records
from tests.common.iam import limited_s3_client


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
    writer = RawPartWriter(
        any_lake, "tweets", "run1", started, max_records=3, on_publish=lambda k, n: published.append((k, n))
    )
    for i in range(7):
        writer.write(started, "GET /2/users/:id/tweets", data={"id": str(i), "text": "ü 🎉"})
        if writer.should_roll():
            writer.flush()
    writer.write(started, "GET /2/users/:id/tweets", error={"title": "Not Found Error", "resource_id": "9"})
    writer.close()
    assert [n for _, n in published] == [3, 3, 2]
    assert published[0][0] == raw_key("tweets", started.date(), "run1", 0)
    assert parse_raw_key(published[2][0]) == {
        "dataset": "tweets",
        "dt": "2026-11-22",
        "run_id": "run1",
        "part": "00002",
    }
    records = [r for key, _ in published for r in iter_raw_records(any_lake, key)]
    assert [r["data"]["id"] for r in records if "data" in r] == [str(i) for i in range(7)]
    assert records[-1] == {
        "collected_at": "2026-11-22T10:00:00Z",
        "run_id": "run1",
        "source": "GET /2/users/:id/tweets",
        "error": {"title": "Not Found Error", "resource_id": "9"},
    }
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


# -- S3 speaks in the lake's errors -------------------------------------------------------------------
def every_call(lake: Lake, tmp_path: Path) -> dict[str, Callable[[], object]]:
    """Each lake method once, listings and streamed reads consumed to the end."""
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"x")
    key = "state/registry.json"
    return {
        "put_bytes": lambda: lake.put_bytes(key, b"{}"),
        "put_file": lambda: lake.put_file("raw/users/dt=2026-11-22/r-00000.jsonl.gz", upload),
        "get_bytes": lambda: lake.get_bytes(key),
        "open_read": lambda: lake.open_read(key).read(),
        "size": lambda: lake.size(key),
        "exists": lambda: lake.exists(key),
        "list": lambda: list(lake.list("raw/")),
        "list_dirs": lambda: lake.list_dirs("raw/users/"),
        "delete": lambda: lake.delete(key),
        "read_versioned": lambda: lake.read_versioned(key),
        "write_if": lambda: lake.write_if(key, b"{}", None),
    }


def test_a_bucket_that_does_not_exist_is_a_lake_error_not_a_missing_key(tmp_path: Path) -> None:
    with mock_aws():
        lake = Lake.from_uri("s3://no-such-bucket-here/lake", s3_client=boto3.client("s3", region_name="us-east-1"))
        for name, call in every_call(lake, tmp_path).items():
            with pytest.raises(LakeError, match="bucket does not exist") as caught:
                call()
            assert type(caught.value) is LakeError, name  # not ObjectNotFound: read_versioned must not say "empty"


def test_an_endpoint_where_nothing_listens_is_unavailable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    lake = Lake.from_uri("s3://lake-bucket/lake", s3_client=client)
    for name, call in every_call(lake, tmp_path).items():
        with pytest.raises(LakeUnavailable, match="Could not connect") as caught:
            call()
        assert "lake-bucket" in str(caught.value), name


def test_no_credentials_is_unavailable(tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.Session().client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    lake = Lake.from_uri("s3://lake-bucket/lake", s3_client=client)
    for call in every_call(lake, tmp_path).values():
        with pytest.raises(LakeUnavailable, match="NoCredentialsError"):
            call()


def test_access_denied_by_iam_is_its_own_error(tmp_path: Path) -> None:
    """moto enforcing IAM: a user that may read and write only ``state/`` objects."""
    with mock_aws():
        admin = boto3.client("s3", region_name="us-east-1")
        admin.create_bucket(Bucket="lake-bucket")
        admin.put_object(Bucket="lake-bucket", Key="lake/raw/users/dt=2026-11-22/r-00000.jsonl.gz", Body=b"x")
        limited = limited_s3_client(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::lake-bucket/lake/state/*",
            }
        )
        lake = Lake.from_uri("s3://lake-bucket/lake", s3_client=limited)
        with enable_iam_authentication():
            lake.put_bytes("state/registry.json", b"{}")  # allowed
            assert lake.get_bytes("state/registry.json") == b"{}"
            with pytest.raises(ObjectNotFound):
                lake.get_bytes("state/missing.json")
            for name in ("list", "list_dirs"):
                with pytest.raises(LakeAccessDenied, match="AccessDenied"):
                    every_call(lake, tmp_path)[name]()
            with pytest.raises(LakeAccessDenied):
                lake.get_bytes("raw/users/dt=2026-11-22/r-00000.jsonl.gz")
            with pytest.raises(LakeAccessDenied):
                lake.size("raw/users/dt=2026-11-22/r-00000.jsonl.gz")
            upload = tmp_path / "part.bin"
            upload.write_bytes(b"part")
            with pytest.raises(LakeAccessDenied):  # upload_file wraps the ClientError in S3UploadFailedError
                lake.put_file("raw/users/dt=2026-11-22/r-00001.jsonl.gz", upload)
            with pytest.raises(LakeAccessDenied):
                lake.delete("state/registry.json")
            assert lake.read_versioned("state/registry.json") is not None


class ScriptedS3(BaseHTTPRequestHandler):
    """Answers every request with ``status`` and an S3 error body naming ``code``; a GET with
    ``code == "cut"`` sends the first half of a raw file and drops the connection."""

    status = 500
    code = "InternalError"

    def _answer(self) -> None:
        if self.command == "GET" and self.code == "cut":
            lines = "".join(json.dumps({"run_id": "r", "data": {"id": str(i)}}) + "\n" for i in range(20_000))
            part = gzip.compress(lines.encode(), compresslevel=1)
            self.send_response(200)
            self.send_header("Content-Length", str(len(part)))
            self.send_header("ETag", '"abc"')
            self.end_headers()
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code><Message>scripted</Message></Error>'
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def scripted_s3() -> Iterator[Callable[[int, str], Lake]]:
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, code: str) -> Lake:
        handler = type("Handler", (ScriptedS3,), {"status": status, "code": code})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{server.server_port}",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )
        return Lake.from_uri("s3://lake-bucket/lake", s3_client=client)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (503, "SlowDown", LakeUnavailable),
        (500, "InternalError", LakeUnavailable),
        (400, "RequestTimeout", LakeUnavailable),
        (403, "AccessDenied", LakeAccessDenied),
        (403, "InvalidAccessKeyId", LakeAccessDenied),
        (409, "OperationAborted", ConflictError),
        (412, "PreconditionFailed", ConflictError),
        (404, "NoSuchKey", ObjectNotFound),
        (400, "InvalidArgument", LakeError),
    ],
)
def test_s3_error_responses_become_lake_errors(
    scripted_s3: Callable[[int, str], Lake], status: int, code: str, error: type[LakeError]
) -> None:
    lake = scripted_s3(status, code)
    for call in (
        lambda: lake.get_bytes("state/x.json"),
        lambda: list(lake.list("raw/")),
        lambda: lake.put_bytes("state/x.json", b"{}"),
    ):
        with pytest.raises(error) as caught:
            call()
        if error is LakeError:
            assert type(caught.value) is LakeError
        if error is not ObjectNotFound:
            assert code in str(caught.value)


def test_a_read_cut_mid_object_is_unavailable(scripted_s3: Callable[[int, str], Lake]) -> None:
    lake = scripted_s3(200, "cut")
    with pytest.raises(LakeUnavailable, match=r"lake-bucket/lake/raw/users/.*IncompleteReadError"):
        list(iter_raw_records(lake, "raw/users/dt=2026-11-22/r-00000.jsonl.gz"))
