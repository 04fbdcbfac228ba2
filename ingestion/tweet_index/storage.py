"""The tweet index's stored form, version 3 (see :mod:`ingestion.tweet_index`), and the reader of versions 1-2.

A line ``tweetlake-tweet-index 3``, a JSON header line (``complete_before``, ``covered``, ``count``,
the columns' byte lengths), then each column's bytes, zlib-compressed.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

from common.lake import Lake
from ingestion.errors import StateCorrupt

A = TypeVar("A")
R = TypeVar("R")

INDEX_KEY = "state/tweet_index/index.v3.bin"
LEGACY_INDEX_KEY = "state/tweet_index/index.jsonl.gz"
MAGIC = b"tweetlake-tweet-index 3\n"
# A tweets run that started on day D publishes into dt=D even if it ends later; three days of
# partitions are re-listed so that such late files are still found.
LATE_FILE_DAYS = 3

SNOWFLAKE_EPOCH_MS = 1288834974657
CONFIRM_DELETION_AFTER = 24 * 3600
"""A tweet is deleted when "Not Found" answers this many seconds apart (or more) say so."""
EDIT_WINDOW = 3600 + 300
"""X allows edits within an hour of posting: every version of an edit chain is at most this many
seconds (an hour and a margin for clocks) newer than the original, by the times their ids encode."""

COLUMNS = (
    ("ids", "q"),
    ("authors", "q"),
    ("created", "I"),
    ("refreshed", "I"),
    ("deleted", "B"),
    ("edited_ids", "q"),
    ("edited_latest", "q"),
    ("doubt_ids", "q"),
    ("doubt_since", "I"),
)


def edit_chain(history: list[int]) -> list[int]:
    """The versions of ``history`` an edit could have made: the original (the oldest id) and those
    within :data:`EDIT_WINDOW` after it. An answer claiming more (a post of another year as an
    edit) redirects no refresh."""
    if not history:
        return []
    original = min(history)
    return [v for v in history if 0 <= snowflake_time(v) - snowflake_time(original) <= EDIT_WINDOW]


def snowflake_time(tweet_id: int) -> int:
    """Epoch seconds a tweet id encodes."""
    return ((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) // 1000


class IndexEntry(NamedTuple):
    """One known tweet, as the index knows it."""

    tweet_id: int
    author_id: int  # 0 when unknown (a deleted tweet the index never saw whole)
    created_epoch: int  # epoch seconds
    latest_id: int  # the newest version of its edit chain: what a refresh asks for
    deleted: bool
    not_found_since: int = 0  # epoch seconds of the first "Not Found" not yet confirmed (0: none)
    refreshed_epoch: int = 0  # epoch seconds of the last metrics refresh (0: never)


def legacy_entries(data: bytes) -> tuple[dict[str, Any], Iterator[IndexEntry]]:
    """The header and entries of a version 1/2 index (one JSON list a line)."""
    gz = gzip.GzipFile(fileobj=io.BytesIO(data))
    header = json.loads(gz.readline())

    def entries() -> Iterator[IndexEntry]:
        with gz:
            for line in gz:
                tweet_id, author, created, latest, deleted, *rest = json.loads(line)
                yield IndexEntry(
                    tweet_id,
                    author,
                    created,
                    latest,
                    bool(deleted),
                    rest[0] if rest else 0,
                    rest[1] if len(rest) > 1 else 0,
                )

    return header, entries()


def read_v3(data: bytes) -> tuple[dict[str, Any], dict[str, array[int]]]:
    if not data.startswith(MAGIC):
        raise ValueError("not a version 3 tweet index")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    offset = end + 1
    columns: dict[str, array[int]] = {}
    for name, code in COLUMNS:
        size = header["column_bytes"][name]
        column = array(code)
        column.frombytes(zlib.decompress(data[offset : offset + size]))
        columns[name] = column
        offset += size
    return header, columns


def encode(header: dict[str, Any], columns: dict[str, array[int]]) -> bytes:
    """The stored bytes of an index: ``header`` gains the columns' byte lengths."""
    blobs = [zlib.compress(columns[name].tobytes(), 1) for name, _ in COLUMNS]
    header = {**header, "column_bytes": {name: len(b) for (name, _), b in zip(COLUMNS, blobs, strict=True)}}
    return b"".join([MAGIC, json.dumps(header).encode(), b"\n", *blobs])


def corrupt_as_state(lake: Lake, key: str, read: Callable[[A], R], argument: A) -> R:
    """``read(argument)``; a stored index that cannot be read raises :class:`StateCorrupt` naming it."""
    try:
        return read(argument)
    except (ValueError, KeyError, TypeError, IndexError, EOFError, OSError, zlib.error) as err:
        raise StateCorrupt(
            f"the tweet index {lake.uri.rstrip('/')}/{key} cannot be read ({type(err).__name__}: {err}): delete it; "
            "the next metrics run rebuilds it from the lake (each tweet's last refresh from its newest collection)"
        ) from None
