"""Raw lake files, read once: their lines for Spark, and whole-file checks on the way.

Spark's own text reader reads a gzip file in one task and fails the whole job on the first broken
byte (``java.io.EOFException: Unexpected end of input stream``, ``not a gzip file``), so one
half-copied object would stop a dataset's loads for good. The jobs therefore read raw files with
:func:`read_raw_files` instead: a Spark task per file streams it once through zlib (memory stays at
a block), hands its lines to Spark in Arrow batches, and checks the file whole as it goes. A file
that is not what the ingestion publishes is *quarantined whole*: the runner leaves its lines out,
records it in ``etl_file_ledger`` with its reason, and writes its marker. A file is refused when it

* is empty (0 bytes; known from the listing, so such a file never starts Spark), is not gzip, is a
  truncated or corrupt gzip stream (bad deflate data, CRC);
* holds bytes that are not UTF-8 (the ingestion writes UTF-8 only: such bytes mean damage);
* has a line longer than :data:`~common.layout.MAX_LINE_BYTES` (no X API object comes near it:
  a file without line breaks, or not ours);
* has no lines at all (the ingestion never publishes an empty part).

The same pass numbers each file's non-blank lines (``line_order``, the record key's second half):
no second scan and no shuffle to find where each file starts.

Valid lines before a truncation point are *not* loaded: the file is the unit of publication and of
the ledger. Loading its first half would record the file as loaded, and its other half (after a
re-upload) would never be read; quarantined whole, the re-uploaded file loads complete with
``tweetlake job <dataset> --retry-quarantined``.

Lines of a readable file that are bad one by one (malformed JSON, no id, …) are still quarantined
line by line by the transforms (``glue_jobs/transforms/raw.py``).
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator
from typing import Any

from common.lake import Lake, LakeError
from common.layout import MAX_LINE_BYTES

BLOCK_BYTES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"

REASON_EMPTY = "empty file (0 bytes)"
REASON_NOT_GZIP = "not a gzip file"
REASON_NO_LINES = "no lines (a gzip stream of nothing)"


def reason_truncated(text_bytes: int) -> str:
    return f"truncated gzip (the stream ends after {text_bytes:,} bytes of text, before its end marker)"


def reason_corrupt(detail: str) -> str:
    return f"corrupt gzip data ({detail})"


def reason_not_utf8(line: int) -> str:
    return f"not valid UTF-8 (line {line:,})"


def reason_line_too_long(line: int) -> str:
    return f"line {line:,} is longer than {MAX_LINE_BYTES:,} bytes"


class RawFileReader:
    """One raw file, streamed once: its lines for Spark, and whether the file as a whole may load.

    :meth:`blocks` yields the file's lines (``bytes``, in order, a list per block of text) as they
    are inflated; once it is exhausted, :attr:`reason` says why the file cannot be read as gzip
    UTF-8 JSON lines, or is ``None`` when it can. Lines are split as Spark's text reader splits
    them (at ``\\n``, ``\\r\\n`` or ``\\r``) and a line of spaces only is skipped, as Spark's
    ``trim`` does, so a line's place among its file's lines (the record key) is what it always was.

    Raises :class:`~common.lake.LakeError` (or ``OSError``) when the lake itself fails: that is not
    the file's fault, and the run stops rather than quarantine a good file."""

    def __init__(self, lake: Lake, key: str) -> None:
        self.lake = lake
        self.key = key
        self.reason: str | None = None

    def blocks(self) -> Iterator[list[bytes]]:
        lines = _Lines()
        with self.lake.open_read(self.key) as raw:
            head = raw.read(BLOCK_BYTES)
            if not head:
                self.reason = REASON_EMPTY
                return
            if not head.startswith(GZIP_MAGIC):
                self.reason = REASON_NOT_GZIP
                return
            inflate = zlib.decompressobj(wbits=31)  # gzip: header, deflate data, CRC-32 and size checked
            fed = False  # bytes given to ``inflate`` since its stream began
            chunk = head
            while chunk:
                pending = chunk
                while pending:
                    try:
                        text = inflate.decompress(pending, BLOCK_BYTES)  # bounded output: memory stays at a block
                    except zlib.error as err:
                        self.reason = reason_corrupt(str(err))
                        return
                    fed = True
                    complete = lines.feed(text)
                    if complete is None:
                        self.reason = lines.reason
                        return
                    if complete:
                        yield complete
                    if inflate.eof:  # a member ended: another may follow (``cat a.gz b.gz`` is gzip too)
                        pending = inflate.unused_data
                        inflate, fed = zlib.decompressobj(wbits=31), False
                        if not pending.strip(b"\0"):  # zero padding after the last member is allowed
                            pending = b""
                    else:
                        pending = inflate.unconsumed_tail
                chunk = raw.read(BLOCK_BYTES)
        if fed and not inflate.eof:
            self.reason = reason_truncated(lines.text_bytes)
            return
        last = lines.end()
        if last is None:
            self.reason = lines.reason
        elif last:
            yield last


def check_raw_file(lake: Lake, key: str) -> str | None:
    """Why the file at ``key`` cannot be read as gzip UTF-8 JSON lines, or ``None`` when it can
    (:class:`RawFileReader`, its lines left unused)."""
    reader = RawFileReader(lake, key)
    for _ in reader.blocks():
        pass
    return reader.reason


def _spark_lines(pieces: list[bytes]) -> list[bytes]:
    """The lines Spark's text reader gives of complete ``\\n``-ended pieces: ``\\r`` ends a line too,
    and lines of spaces only are left out (``trim`` in ``filter_blank_lines``)."""
    out: list[bytes] = []
    for piece in pieces:
        if b"\r" in piece:
            out.extend(part for part in piece.split(b"\r") if part.strip(b" "))
        elif piece.strip(b" "):
            out.append(piece)
    return out


class _Lines:
    """Splits a text stream fed in blocks into lines; finds bad UTF-8 and over-long lines."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text_bytes = 0
        self.line_no = 1  # the line in progress (1-based, blank lines included)
        self.carry = b""  # its text so far
        self.any_text = False
        self.reason: str | None = None

    def feed(self, block: bytes) -> list[bytes] | None:
        """The lines the block completes, or ``None`` when it breaks a rule (then :attr:`reason`)."""
        if not (block.isascii() and not self.decoder.getstate()[0]):  # ASCII needs no decoding
            try:
                self.decoder.decode(block)
            except UnicodeDecodeError as err:
                self.reason = reason_not_utf8(self.line_no + block.count(b"\n", 0, max(err.start, 0)))
                return None
        self.text_bytes += len(block)
        pieces = block.split(b"\n")
        pieces[0] = self.carry + pieces[0]
        self.carry = pieces.pop()
        if len(self.carry) > MAX_LINE_BYTES or (pieces and max(map(len, pieces)) > MAX_LINE_BYTES):
            over = next((i for i, piece in enumerate(pieces) if len(piece) > MAX_LINE_BYTES), len(pieces))
            self.reason = reason_line_too_long(self.line_no + over)
            return None
        self.line_no += len(pieces)
        self.any_text = self.any_text or bool(block.strip())
        return _spark_lines(pieces)

    def end(self) -> list[bytes] | None:
        """The last line (one without a line break), or ``None`` when the stream breaks a rule."""
        try:
            self.decoder.decode(b"", final=True)  # a multi-byte character cut at the end
        except UnicodeDecodeError:
            self.reason = reason_not_utf8(self.line_no)
            return None
        if not self.any_text:
            self.reason = REASON_NO_LINES
            return None
        return _spark_lines([self.carry])


# -- the Spark side: every planned file read once, by a Python task, as Arrow batches ------------
READ_SCHEMA = "source_file string, line_order long, value string, file_reason string"
"""The rows :func:`read_raw_files` gives Spark: a file's lines (``line_order`` 0, 1, … among its
non-blank lines), then, for a file that cannot load, one row with ``line_order`` −1, no ``value``
and its ``file_reason`` (the runner leaves that file's lines out and quarantines it whole)."""

LAKE_FAILED = "lake failure: "
"""A ``file_reason`` starting so is not the file's fault: the runner stops the run with it."""

ROWS_PER_BATCH = 8192


def read_raw_files(lake_uri: str, batches: Iterator[Any]) -> Iterator[Any]:
    """``DataFrame.mapInArrow`` over batches of lake keys (column ``key``): each file's lines and
    verdict (:data:`READ_SCHEMA`). Runs in Spark's Python workers, where the lake opens again."""
    import pyarrow as pa

    lake = Lake.from_uri(lake_uri)

    def batch(key: str, first: int, values: list[Any], reason: str | None) -> Any:
        n = len(values)
        return pa.RecordBatch.from_arrays(
            [
                pa.array([key] * n, pa.string()),
                pa.array(range(first, first + n), pa.int64()),
                pa.array(values, pa.binary()).view(pa.string()),  # checked UTF-8: no copy
                pa.array([reason] * n, pa.string()),
            ],
            names=["source_file", "line_order", "value", "file_reason"],
        )

    for keys in batches:
        for key in keys.column("key").to_pylist():
            reader = RawFileReader(lake, key)
            order, pending = 0, []
            try:
                for lines in reader.blocks():
                    pending.extend(lines)
                    if len(pending) >= ROWS_PER_BATCH:
                        yield batch(key, order, pending, None)
                        order, pending = order + len(pending), []
            except (LakeError, OSError) as err:
                yield batch(key, -1, [None], f"{LAKE_FAILED}{type(err).__name__}: {err}")
                continue
            if pending:
                yield batch(key, order, pending, None)
            if reader.reason is not None:
                yield batch(key, -1, [None], reader.reason)


def raw_lines(spark: Any, lake: Lake, files: list[tuple[str, int]]) -> Any:
    """The lines of ``files`` (lake key, size) as a DataFrame of :data:`READ_SCHEMA`: a task per file,
    or, with more files than four per core, that many tasks, the files dealt out biggest first (the
    first task gets the 1st, 5th, 9th… biggest), so that the tasks even out across the cores."""
    import functools

    biggest_first = [key for key, _ in sorted(files, key=lambda f: -f[1])]
    slices = max(1, min(len(biggest_first), 4 * max(1, spark.sparkContext.defaultParallelism)))
    dealt = [biggest_first[i::slices] for i in range(slices)]
    tasks = spark.sparkContext.parallelize(range(slices), slices)  # one number a task: task i deals out dealt[i]
    keys_df = spark.createDataFrame(tasks.flatMap(lambda i: [(key,) for key in dealt[i]]), "key string")
    return keys_df.mapInArrow(functools.partial(read_raw_files, lake.uri), READ_SCHEMA)
