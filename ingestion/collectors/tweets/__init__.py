"""tweets (every 4 h): every tweet of every tracked account since ``--since``, incrementally.

Per account, ``GET /2/users/:id/tweets`` pages from the newest tweet down to the lower bound
(``since_id`` = the newest tweet already in the lake, else ``start_time`` = ``--since``); what the
timeline's 3,200 cap hides is a gap in the cursor, filled by ``GET /2/tweets/search/all``
(``--backfill auto|search|off``). The cursor never runs ahead of the lake: an intent is recorded
before each part is published and committed after it (:mod:`ingestion.cursors`), so a crash
re-fetches exactly what never reached the lake. Only posts inside the window a request asked for
move a position (:mod:`.window`). One account's failure is its own; what no account can get past
stops the run. The rules, and why: ``docs/ingestion.md``.

Layers: :mod:`.staging` (cursor state) ← :mod:`.search` (gaps) and :mod:`.caps` (the summary's
notes on the cap) ← :mod:`.collector` (the passes).
"""

from ingestion.collectors.tweets.collector import TweetsCollector
from ingestion.collectors.tweets.passes import (
    BACKFILL_MODES,
    DEFAULT_SINCE,
    TIMELINE_CAP,
    TIMELINE_CAP_NO_REPLIES,
)

__all__ = ["BACKFILL_MODES", "DEFAULT_SINCE", "TIMELINE_CAP", "TIMELINE_CAP_NO_REPLIES", "TweetsCollector"]
