"""The lake on S3 (``s3://bucket/prefix``), speaking in the lake's own errors.

Every call to S3 — listings and their paginators, streamed reads, uploads — goes through
:meth:`S3Lake._errors`, which turns what the SDK raises into a :class:`~common.lake.LakeError`:
a missing key is :class:`~common.lake.ObjectNotFound`, a 403 :class:`~common.lake.LakeAccessDenied`,
a lost conditional write :class:`~common.lake.ConflictError`; no connection, a timeout, a 5xx,
throttling or no credentials to sign with :class:`~common.lake.LakeUnavailable`; anything else the
base :class:`~common.lake.LakeError`. So no caller needs to know botocore (nor import it: a local
lake never loads the SDK, and neither does this module until it talks to S3).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
from collections.abc import Iterator
from typing import IO, Any

from common.lake import (
    ConflictError,
    Lake,
    LakeAccessDenied,
    LakeError,
    LakeObject,
    LakeUnavailable,
    ObjectNotFound,
)

# The first botocore whose PutObject takes IfMatch (IfNoneMatch came a little earlier). Glue keeps
# its own older boto3 and never writes conditionally, so the wheel does not demand this version.
CONDITIONAL_WRITES_BOTOCORE = "1.35.69"

# HeadObject has no body, so its error code is the bare status ("404") — for a missing key and a
# missing bucket alike; the other calls name NoSuchKey (and NoSuchBucket, which is not a missing key).
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
    }
)
# 412 PreconditionFailed: another writer won; 409 ConditionalRequestConflict: a concurrent
# conditional write is in flight. Both mean "read again and retry".
_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_UNAVAILABLE = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
    }
)


def lake_error(err: BaseException, where: str, key: str = "") -> LakeError | None:
    """The lake's error for what the AWS SDK (or the stream under a read) raised at ``where``;
    ``None`` for anything else (a bug is not a lake failure)."""
    from boto3.exceptions import S3UploadFailedError
    from botocore import exceptions as sdk
    from urllib3.exceptions import HTTPError as StreamError

    if isinstance(err, S3UploadFailedError) and isinstance(err.__context__, sdk.ClientError):
        err = err.__context__  # upload_file wraps the ClientError of the part that failed
    if isinstance(err, sdk.ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = f"{where}: {code or status}: {error.get('Message') or 'no message'}"
        if code in _NOT_FOUND:
            return ObjectNotFound(key or where)
        if code == "NoSuchBucket":
            return LakeError(f"{where}: the bucket does not exist (NoSuchBucket)")
        if code in _DENIED or status == 403:
            return LakeAccessDenied(text)
        if code in _CONFLICT or status in (409, 412):
            return ConflictError(text)
        if code in _UNAVAILABLE or status == 429 or status >= 500:
            return LakeUnavailable(text)
        return LakeError(text)
    unreachable = (
        sdk.ConnectionError,
        sdk.HTTPClientError,
        sdk.IncompleteReadError,
        sdk.NoCredentialsError,
        sdk.PartialCredentialsError,
        sdk.CredentialRetrievalError,
        sdk.MetadataRetrievalError,
        sdk.TokenRetrievalError,
        StreamError,
        ConnectionError,
        TimeoutError,
    )
    if isinstance(err, unreachable):
        return LakeUnavailable(f"{where}: {type(err).__name__}: {err}")
    if isinstance(err, (sdk.BotoCoreError, S3UploadFailedError)):
        return LakeError(f"{where}: {type(err).__name__}: {err}")
    return None


class _BodyReader(io.RawIOBase):
    """An object's body, read as it streams: memory does not grow with the object. The SDK's body
    checks that every promised byte came; a short body, a reset or a timeout is a lake error."""

    def __init__(self, body: Any, where: str) -> None:
        self._body = body  # botocore's StreamingBody
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as err:
            translated = lake_error(err, self._where)
            if translated is None:
                raise
            raise translated from err
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


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
            from botocore.config import Config

            with self._errors(self.uri):
                # a pool as wide as the lake's widest parallel read (the registry's shards: 16 readers)
                self._client = boto3.client("s3", config=Config(max_pool_connections=32))
        return self._client

    @contextlib.contextmanager
    def _errors(self, where: str, key: str = "") -> Iterator[None]:
        """Translate what the SDK raises inside the block into the lake's errors."""
        try:
            yield
        except LakeError:
            raise
        except Exception as err:
            translated = lake_error(err, where, key)
            if translated is None:
                raise
            raise translated from err

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _strip(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(self.url(key), key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        with self._errors(self.url(key), key):
            self.client.upload_file(str(local_path), self.bucket, self._key(key))

    def get_bytes(self, key: str) -> bytes:
        with self._errors(self.url(key), key):
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())

    def open_read(self, key: str) -> IO[bytes]:
        with self._errors(self.url(key), key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        return io.BufferedReader(_BodyReader(body, self.url(key)))

    def size(self, key: str) -> int:
        with self._errors(self.url(key), key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return int(head["ContentLength"])

    def list(self, prefix: str) -> Iterator[LakeObject]:
        with self._errors(self.url(prefix)):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for item in page.get("Contents", []):
                    yield LakeObject(self._strip(item["Key"]), int(item["Size"]))

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        full = self._key(prefix.rstrip("/")) + "/" if prefix.strip("/") else (f"{self.prefix}/" if self.prefix else "")
        names: builtins.list[str] = []
        with self._errors(self.url(prefix)):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    names.append(common["Prefix"][len(full) :].rstrip("/"))
        return sorted(names)

    def delete(self, key: str) -> None:
        with self._errors(self.url(key), key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            with self._errors(self.url(key), key):
                obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
                return bytes(obj["Body"].read()), str(obj["ETag"])
        except ObjectNotFound:
            return None

    def write_if(self, key: str, data: bytes, expected_version: str | None) -> str:
        from botocore.exceptions import ParamValidationError

        condition = {"IfNoneMatch": "*"} if expected_version is None else {"IfMatch": expected_version}
        try:
            with self._errors(self.url(key), key):
                try:
                    response = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **condition)
                except ParamValidationError as err:  # an SDK from before S3's conditional writes (Nov 2024)
                    raise LakeError(
                        f"S3 conditional writes need boto3/botocore >= {CONDITIONAL_WRITES_BOTOCORE}: "
                        f"pip install -U 'boto3>={CONDITIONAL_WRITES_BOTOCORE}' ({err})"
                    ) from None
        except ConflictError:
            raise ConflictError(f"{self.url(key)} changed since it was read") from None
        return str(response["ETag"])
