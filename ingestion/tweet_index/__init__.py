"""The index of known tweets that the metrics collector refreshes: ``state/tweet_index/index.v3.bin``.

It is derived from the lake, not written beside it: each metrics run reads the ``raw/tweets`` files
it has not indexed yet (only in ``dt=`` partitions at or after ``complete_before``), so it can never
disagree with what the tweets collector published, whatever crashed where. It also keeps what the
metrics runs learn: when each tweet was last refreshed (the refresh policy asks it:
:mod:`ingestion.policy`), the latest version of an edited tweet, and tweets the API reports deleted
(never asked for again, once confirmed: see :meth:`TweetIndex.mark_not_found`).

**Compact, columnar.** 10,000,000 known tweets must fit a metrics run under 1 GB, so a tweet is not
a Python object: the index is five parallel ``array`` columns sorted by tweet id — id and author
(8 bytes each), created and last refresh (epoch seconds, 4 bytes each), deleted (1 byte): 25 bytes
a tweet — and two small maps for the rare cases (an edited tweet's newest version; the first
unconfirmed "Not Found"). A lookup by id is a binary search; tweets learned during a run wait in
a small dict and are merged into the columns (a C-speed append when they are newer than all, as new
tweets are) before a selection or a save.

**Stored form** (version 3): a line ``tweetlake-tweet-index 3``, a JSON header line
(``complete_before``, ``covered``, ``count``, the columns' byte lengths), then each column's bytes,
zlib-compressed. An index written before version 3 (``state/tweet_index/index.jsonl.gz``, one JSON
list a tweet) is read once and migrated: the next save writes version 3 and deletes it. Only this
module knows these shapes (other readers ask :meth:`TweetIndex.author_counts`).
"""

from ingestion.tweet_index.index import TweetIndex
from ingestion.tweet_index.storage import (
    CONFIRM_DELETION_AFTER,
    EDIT_WINDOW,
    INDEX_KEY,
    LATE_FILE_DAYS,
    LEGACY_INDEX_KEY,
    SNOWFLAKE_EPOCH_MS,
    IndexEntry,
    edit_chain,
    snowflake_time,
)

__all__ = [
    "CONFIRM_DELETION_AFTER",
    "EDIT_WINDOW",
    "INDEX_KEY",
    "LATE_FILE_DAYS",
    "LEGACY_INDEX_KEY",
    "SNOWFLAKE_EPOCH_MS",
    "IndexEntry",
    "TweetIndex",
    "edit_chain",
    "snowflake_time",
]
