"""The data lake: one interface over a local folder (``file://``) and S3 (``s3://bucket/prefix``).

Keys are always relative to the lake root and use ``/`` (``raw/tweets/dt=2026-11-22/…``).
Every write is atomic — an object appears whole or not at all: locally a temporary file in the
same folder is renamed into place; on S3 a PUT (or a completed multipart upload) is atomic.

Small state objects (the tracked-accounts registry, cursors) need read-modify-write without lost
updates, so the lake offers optimistic concurrency: :meth:`Lake.read_versioned` returns a version
token and :meth:`Lake.write_if` writes only if the object still has that version. On S3 this is a
conditional PUT (``If-Match`` / ``If-None-Match: *``); locally an exclusive ``fcntl`` lock makes the
compare-and-swap atomic across processes.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse


class LakeError(Exception):
    """A lake operation failed in a way the caller cannot fix by retrying."""


class ObjectNotFound(LakeError, KeyError):
    """The key does not exist in the lake."""


class ConflictError(LakeError):
    """A conditional write lost a race: the object changed since it was read."""


# The first botocore whose PutObject takes IfMatch (IfNoneMatch came a little earlier). Glue keeps
# its own older boto3 and never writes conditionally, so the wheel does not demand this version.
CONDITIONAL_WRITES_BOTOCORE = "1.35.69"


@dataclass(frozen=True)
class LakeObject:
    key: str
    size: int


class Lake:
    """Abstract lake; build one with :meth:`Lake.from_uri`."""

    uri: str

    @staticmethod
    def from_uri(uri: str, *, s3_client: Any = None) -> Lake:
        """``file:///abs/path``, a plain path, or ``s3://bucket[/prefix]``."""
        parsed = urlparse(uri)
        if parsed.scheme in ("s3", "s3a"):
            if not parsed.netloc:
                raise LakeError(f"S3 lake URI needs a bucket: {uri!r}")
            return S3Lake(parsed.netloc, parsed.path.strip("/"), client=s3_client)
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise LakeError(f"file:// lake URI must be absolute (file:///path): {uri!r}")
            return LocalLake(Path(unquote(parsed.path)))
        if parsed.scheme == "":
            return LocalLake(Path(uri).resolve())
        raise LakeError(f"unsupported lake URI scheme {parsed.scheme!r} in {uri!r} (use file:// or s3://)")

    # -- interface -------------------------------------------------------------------------
    def url(self, key: str) -> str:
        """The absolute URI of a key, as Spark and humans see it."""
        raise NotImplementedError

    def hadoop_url(self, key: str) -> str:
        """The path Spark (Hadoop) reads and writes: ``url`` percent-encodes ``=`` in ``file://``
        URIs, Hadoop wants it plain."""
        return unquote(self.url(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        """Upload a finished local file; the object appears whole or not at all."""
        raise NotImplementedError

    def get_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def open_read(self, key: str) -> IO[bytes]:
        """A streaming binary reader; memory does not grow with the object's size."""
        raise NotImplementedError

    def list(self, prefix: str) -> Iterator[LakeObject]:
        """Objects whose key starts with ``prefix``, in key order."""
        raise NotImplementedError

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        """Immediate sub-folder names under ``prefix`` (which should end in ``/``)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and a version token, or ``None`` if it does not exist."""
        raise NotImplementedError

    def write_if(self, key: str, data: bytes, expected_version: str | None) -> str:
        """Write only if the object still has ``expected_version`` (``None``: must not exist).

        Returns the new version token; raises :class:`ConflictError` when another writer won.
        """
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"


class LocalLake(Lake):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = root.as_uri()

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise LakeError(f"invalid lake key {key!r}")
        return self.root / key

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(local_path, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def open_read(self, key: str) -> IO[bytes]:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def list(self, prefix: str) -> Iterator[LakeObject]:
        # Walk only the deepest folder the prefix names, so listing one dt= partition does not
        # walk the whole lake.
        folder, _, _ = prefix.rpartition("/")
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return
        found: builtins.list[LakeObject] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):  # temporary files of writes in flight
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(LakeObject(key, full.stat().st_size))
        yield from sorted(found, key=lambda o: o.key)

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.parent / f".{path.name}.lock"
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _version(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return data, self._version(data)

    def write_if(self, key: str, data: bytes, expected_version: str | None) -> str:
        with self._locked(key):
            current = self.read_versioned(key)
            current_version = current[1] if current else None
            if current_version != expected_version:
                raise ConflictError(f"{key} changed since it was read")
            self.put_bytes(key, data)
        return self._version(data)


class S3Lake(Lake):
    def __init__(self, bucket: str, prefix: str, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.uri = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # imported lazily: a local lake never needs it

            self._client = boto3.client("s3")
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _strip(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        self.client.upload_file(str(local_path), self.bucket, self._key(key))

    def _is_missing(self, err: Exception) -> bool:
        code = getattr(err, "response", {}).get("Error", {}).get("Code")
        return code in ("NoSuchKey", "404", "NotFound")

    def get_bytes(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None

    def open_read(self, key: str) -> IO[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None
        return body._raw_stream  # type: ignore[no-any-return]  # a urllib3 stream: reads as it goes

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if self._is_missing(err):
                raise ObjectNotFound(key) from None
            raise
        return int(head["ContentLength"])

    def list(self, prefix: str) -> Iterator[LakeObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                yield LakeObject(self._strip(item["Key"]), int(item["Size"]))

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        full = self._key(prefix.rstrip("/")) + "/" if prefix.strip("/") else (f"{self.prefix}/" if self.prefix else "")
        paginator = self.client.get_paginator("list_objects_v2")
        names: builtins.list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(full) :].rstrip("/"))
        return sorted(names)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(obj["Body"].read()), str(obj["ETag"])

    def write_if(self, key: str, data: bytes, expected_version: str | None) -> str:
        from botocore.exceptions import ClientError, ParamValidationError

        condition = {"IfNoneMatch": "*"} if expected_version is None else {"IfMatch": expected_version}
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **condition)
        except ParamValidationError as err:  # an SDK from before S3's conditional writes (Nov 2024)
            raise LakeError(
                f"S3 conditional writes need boto3/botocore >= {CONDITIONAL_WRITES_BOTOCORE}: "
                f"pip install -U 'boto3>={CONDITIONAL_WRITES_BOTOCORE}' ({err})"
            ) from None
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            # 412 PreconditionFailed: another writer won; 409 ConditionalRequestConflict: a
            # concurrent conditional write is in flight. Both mean "read again and retry".
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                raise ConflictError(f"{self.url(key)} changed since it was read") from None
            raise
        return str(response["ETag"])
