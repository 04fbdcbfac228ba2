"""Whole-file checks of raw lake files, before Spark reads them.

Spark reads a gzip file in one task and fails the whole job on the first broken byte
(``java.io.EOFException: Unexpected end of input stream``, ``not a gzip file``), so one half-copied
object would stop a dataset's loads for good. Every file a run planned is therefore streamed once
here (in a few driver threads; memory stays at one block) and a file that is not what the
ingestion publishes is *quarantined whole*: recorded in ``etl_file_ledger`` with its reason and
never read by Spark. A file is refused when it

* is empty (0 bytes), is not gzip, is a truncated or corrupt gzip stream (bad deflate data, CRC);
* holds bytes that are not UTF-8 (the ingestion writes UTF-8 only: such bytes mean damage);
* has a line longer than :data:`~common.layout.MAX_LINE_BYTES` (no X API object comes near it:
  a file without line breaks, or not ours);
* has no lines at all (the ingestion never publishes an empty part).

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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from common.lake import Lake
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


def check_raw_file(lake: Lake, key: str) -> str | None:
    """Why the file at ``key`` cannot be read as gzip UTF-8 JSON lines, or ``None`` when it can.

    Raises :class:`~common.lake.LakeError` (or ``OSError``) when the lake itself fails: that is not
    the file's fault, and the run stops rather than quarantine a good file."""
    if lake.size(key) == 0:
        return REASON_EMPTY
    lines = _Lines()
    with lake.open_read(key) as raw:
        head = raw.read(BLOCK_BYTES)
        if not head.startswith(GZIP_MAGIC):
            return REASON_NOT_GZIP
        inflate = zlib.decompressobj(wbits=31)  # gzip: header, deflate data, CRC-32 and size checked
        fed = False  # bytes given to ``inflate`` since its stream began
        chunk = head
        while chunk:
            pending = chunk
            while pending:
                try:
                    text = inflate.decompress(pending, BLOCK_BYTES)  # bounded output: memory stays at a block
                except zlib.error as err:
                    return reason_corrupt(str(err))
                fed = True
                reason = lines.feed(text)
                if reason:
                    return reason
                if inflate.eof:  # a member ended: another may follow (``cat a.gz b.gz`` is gzip too)
                    pending = inflate.unused_data
                    inflate, fed = zlib.decompressobj(wbits=31), False
                    if not pending.strip(b"\0"):  # zero padding after the last member is allowed
                        pending = b""
                else:
                    pending = inflate.unconsumed_tail
            chunk = raw.read(BLOCK_BYTES)
    if fed and not inflate.eof:
        return reason_truncated(lines.text_bytes)
    return lines.end()


class _Lines:
    """Counts lines of a text stream fed in blocks; finds bad UTF-8 and over-long lines."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text_bytes = 0
        self.lines = 0  # lines with text, ended so far
        self.line_no = 1  # the line in progress (1-based, blank lines included)
        self.line_len = 0
        self.has_text = False

    def feed(self, block: bytes) -> str | None:
        try:
            self.decoder.decode(block)
        except UnicodeDecodeError as err:
            return reason_not_utf8(self.line_no + block.count(b"\n", 0, max(err.start, 0)))
        self.text_bytes += len(block)
        pieces = block.split(b"\n")
        for index, piece in enumerate(pieces):
            self.line_len += len(piece)
            if self.line_len > MAX_LINE_BYTES:
                return reason_line_too_long(self.line_no)
            self.has_text = self.has_text or bool(piece.strip())
            if index < len(pieces) - 1:  # the line ends in this block
                self.lines += self.has_text
                self.line_no += 1
                self.line_len = 0
                self.has_text = False
        return None

    def end(self) -> str | None:
        try:
            self.decoder.decode(b"", final=True)  # a multi-byte character cut at the end
        except UnicodeDecodeError:
            return reason_not_utf8(self.line_no)
        self.lines += self.has_text
        return None if self.lines else REASON_NO_LINES


def check_raw_files(lake: Lake, keys: Sequence[str], *, threads: int = 4) -> dict[str, str | None]:
    """:func:`check_raw_file` of every key (in a few threads: zlib and the lake's reads release the
    GIL), as ``{key: reason or None}``."""
    if not keys:
        return {}
    with ThreadPoolExecutor(min(threads, len(keys))) as pool:
        return dict(zip(keys, pool.map(lambda key: check_raw_file(lake, key), keys), strict=True))
