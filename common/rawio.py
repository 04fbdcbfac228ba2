"""Writing and reading raw lake files (gzip JSON lines) without holding a dataset in memory.

:class:`RawPartWriter` streams records into a gzip file on local disk and publishes it to the
lake as one atomic object when it is *flushed*: at a size or age limit, or when the caller needs
everything so far to be durable (the tweets collector flushes before it moves a cursor). Memory
stays bounded by one record, not by the number of records. ``before_publish`` runs just before a
part is uploaded and ``on_publish`` just after, so a caller can make its own state change exactly
once with the part (the tweets collector records an intent first, then commits it).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from common.lake import Lake
from common.layout import isoformat_z, raw_key


class RawPartWriter:
    """Rolling writer of ``raw/<dataset>/dt=…/<run_id>-<part>.jsonl.gz`` parts."""

    def __init__(
        self,
        lake: Lake,
        dataset: str,
        run_id: str,
        started_at: datetime,
        *,
        max_records: int = 100_000,
        max_seconds: float = 300.0,
        on_publish: Callable[[str, int], None] | None = None,
        before_publish: Callable[[str, int], None] | None = None,
    ) -> None:
        self.lake = lake
        self.dataset = dataset
        self.run_id = run_id
        self.dt = started_at.date()
        self.max_records = max_records
        self.max_seconds = max_seconds
        self.on_publish = on_publish
        self.before_publish = before_publish  # e.g. record what the part will make true, before it exists
        self.published: list[str] = []
        self.records_written = 0
        self.failed = False  # a part failed to publish: its records are lost to this run
        self._part = 0
        self._tmp: Any = None
        self._gz: gzip.GzipFile | None = None
        self._count = 0
        self._opened_at = 0.0

    def _open(self) -> gzip.GzipFile:
        self._tmp = tempfile.NamedTemporaryFile(prefix="tweetlake-", suffix=".jsonl.gz", delete=False)
        # mtime=0: the same records give the same bytes, whatever the hour.
        self._gz = gzip.GzipFile(fileobj=self._tmp, mode="wb", compresslevel=6, mtime=0)
        self._count = 0
        self._opened_at = time.monotonic()
        return self._gz

    def write(self, collected_at: datetime, source: str, *, data: Any = None, error: Any = None) -> None:
        """Append one record; exactly one of ``data`` / ``error`` is given."""
        if (data is None) == (error is None):
            raise ValueError("a raw record holds either data or error")
        line: dict[str, Any] = {"collected_at": isoformat_z(collected_at), "run_id": self.run_id, "source": source}
        if data is not None:
            line["data"] = data
        else:
            line["error"] = error
        gz = self._gz or self._open()
        gz.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        gz.write(b"\n")
        self._count += 1

    @property
    def pending(self) -> int:
        """Records written but not yet durable in the lake."""
        return self._count

    def should_roll(self) -> bool:
        return self._count >= self.max_records or (
            self._count > 0 and time.monotonic() - self._opened_at >= self.max_seconds
        )

    def flush(self) -> str | None:
        """Publish what is buffered as one lake object; returns its key (``None`` if nothing)."""
        if self._gz is None:
            return None
        gz, tmp, count = self._gz, self._tmp, self._count
        self._gz, self._tmp, self._count = None, None, 0
        if count == 0:
            gz.close()
            tmp.close()
            os.unlink(tmp.name)
            return None
        try:
            gz.close()
            tmp.flush()
            tmp.close()
            key = raw_key(self.dataset, self.dt, self.run_id, self._part)
            if self.before_publish is not None:
                self.before_publish(key, count)
            self.lake.put_file(key, tmp.name)
        except BaseException:
            self.failed = True
            raise
        finally:
            os.unlink(tmp.name)
        self._part += 1
        self.records_written += count
        self.published.append(key)
        if self.on_publish is not None:
            self.on_publish(key, count)
        return key

    def discard(self) -> None:
        """Drop what is buffered (used when a run aborts: nothing half-written reaches the lake)."""
        if self._gz is not None:
            self._gz.close()
            self._tmp.close()
            os.unlink(self._tmp.name)
        self._gz, self._tmp, self._count = None, None, 0

    def close(self) -> None:
        self.flush()


def iter_raw_records(lake: Lake, key: str) -> Iterator[dict[str, Any]]:
    """Stream the records of one raw file (a line that is not JSON raises ``ValueError``)."""
    with lake.open_read(key) as raw, gzip.GzipFile(fileobj=raw) as gz:
        for number, line in enumerate(io.BufferedReader(gz), start=1):  # type: ignore[arg-type]
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{key}:{number}: not a JSON line ({err.msg})") from None
