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
    """A lake operation failed. S3's SDK errors are translated into these (a local lake's folder
    raises ``OSError`` too), so a caller tells a lake failure by its type, never by the module an
    error comes from."""


class LakeUriError(LakeError, ValueError):
    """The lake URI is not one tweetlake can use (a typo in the scheme, ``file://`` without the
    third slash, ``s3:/`` without a bucket, a relative path); the message shows what to write."""


class ObjectNotFound(LakeError, KeyError):
    """The key does not exist in the lake."""


class ConflictError(LakeError):
    """A conditional write lost a race: the object changed since it was read."""


class LakeAccessDenied(LakeError):
    """The lake refused the request: the credentials may not read or write there (HTTP 403)."""


class LakeUnavailable(LakeError):
    """The lake could not be reached or asked to slow down: no connection, a timeout, a 5xx,
    throttling, no credentials to sign with. Trying again later may work."""


@dataclass(frozen=True)
class LakeObject:
    key: str
    size: int


class Lake:
    """Abstract lake; build one with :meth:`Lake.from_uri`."""

    uri: str

    @staticmethod
    def from_uri(uri: str, *, s3_client: Any = None) -> Lake:
        """``file:///abs/path``, a plain path (resolved), or ``s3://bucket[/prefix]``."""
        parsed = urlparse(uri)
        if parsed.scheme in ("s3", "s3a"):
            if not parsed.netloc:
                raise LakeUriError(f"an S3 lake URI is s3://bucket[/prefix], not {uri!r}")
            from common.s3lake import S3Lake  # lazily: a local lake never loads the AWS SDK

            return S3Lake(parsed.netloc, parsed.path.strip("/"), client=s3_client)
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                guess = Path("/" + parsed.netloc + parsed.path).as_uri()
                raise LakeUriError(
                    f"a file:// lake URI is file:///absolute/path ({uri!r} names the host {parsed.netloc!r});"
                    f" did you mean {guess}?"
                )
            if not parsed.path.startswith("/"):
                raise LakeUriError(f"a file:// lake URI must be absolute: {uri!r}")
            return LocalLake(Path(unquote(parsed.path)))
        if parsed.scheme == "":
            return LocalLake(Path(uri).resolve())
        raise LakeUriError(f"unsupported lake URI scheme {parsed.scheme!r} in {uri!r} (use file:///… or s3://…)")

    @staticmethod
    def from_user_uri(uri: str, *, s3_client: Any = None) -> Lake:
        """A lake URI a person typed (``--lake``, ``TWEETLAKE_LAKE``): as :meth:`from_uri`, but a plain
        path is refused with the absolute ``file://`` URI to use instead, so a lake never lands in
        whatever folder the command happens to run from."""
        if urlparse(uri).scheme == "" or len(urlparse(uri).scheme) == 1:  # ``c:`` is a drive, not a scheme
            raise LakeUriError(
                f"a lake is a URI, not a path: use {Path(uri).resolve().as_uri()} (or s3://bucket/prefix)"
            )
        return Lake.from_uri(uri, s3_client=s3_client)

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
