"""tweets (every 4 h): every tweet of every tracked account since ``--since``, incrementally.

Per account, ``GET /2/users/:id/tweets`` pages from the newest tweet down to the lower bound:
``since_id`` = the newest tweet already in the lake, else ``start_time`` = ``--since``.

**The cursor never runs ahead of the lake, and moves exactly once with it** (see
:mod:`ingestion.cursors`: an intent recorded before each part is published, committed after it).
So a crash re-fetches exactly the records that never reached the lake: no gap, no duplicate. An
account whose pass was interrupted after some parts were published keeps a ``pending`` marker
``{lower bound, until_id = oldest tweet written, top_id = newest tweet written}``: the next run
first fetches the rest of that backlog (``until_id``), then what is new above ``top_id``.

**One account's failure is its own.** A timeline that keeps failing past the client's retries
(5xx, timeouts), answers a 400 about its own cursor, or repeats a ``next_token`` stops only that
account: its cursor stays where the published parts put it, the summary names it under ``failed``
and the run goes on (``tweetlake ingest`` then exits 6). What no account can get past (a bad
token, the usage cap, an app without access, a rate limit that stays spent, a 400 about a shared
parameter) stops the run at once; what was fetched is still published and committed. Three
accounts failing in a row with retriable errors mean the API is down: that stops the run too.

**A cursor knows what it left out.** It records the ``exclude`` kinds of the passes that moved it
and the tweet where that began (``exclude_from``; none when the backfill itself excluded them). A
run that wants a kind an earlier run excluded (``--exclude replies``, then a run without it) pages
that account down to there again instead of continuing above ``since_id``, so what the earlier runs
skipped is not lost for good. A narrower run continues the cursor. Cursors from before this was
recorded count as having excluded nothing.

The timeline serves only an account's newest 3,200 posts (800 with ``exclude=replies``), counted
before ``exclude`` filters. A pass has met that cap when the positions it paged through come to it
(a page with a ``next_token`` spans ``max_results`` positions, however few tweets survive the
filter). The summary then says how many tweets the endpoint could not reach: for a backfill, the
profile's ``tweet_count`` minus the cap (which also counts tweets before ``--since``); for an
incremental pass, the posts since the last run (``tweet_count`` now minus then) minus the cap.
``tweet_count`` rides on the timeline pages (``expansions=author_id`` with
``user.fields=public_metrics`` puts the author in ``includes.users``); only a server that leaves
``includes`` out costs one ``GET /2/users/:id`` per capped account.

**Beyond the cap: full-archive search** (``backfill``, ``--backfill auto|search|off``). A pass that
met the cap leaves a :class:`~ingestion.cursors.Gap` in the cursor: below the oldest tweet it reached,
down to its lower bound. With ``auto`` (the default) the run then fills it with
``GET /2/tweets/search/all`` (``from:<user id>`` plus ``-is:retweet``/``-is:reply`` for ``exclude``,
the gap's ``start_time``/``since_id`` and ``until_id``, 500 a page, the timeline's fields and
expansions): the timeline's pages plus ⌈unreached / 500⌉ search pages. Search pages land in
``raw/tweets`` like timeline pages (their ``source`` says search), and the gap's ``until_id`` moves
down with each published part through the same intent and commit, so a killed run resumes where
its last part ended, with no gap and no duplicate. ``search`` also collects a first backfill (no
cursor yet) by search alone, 500 tweets a request instead of 100, then pages the timeline for what
is newer. ``off`` pages only the timeline and keeps the gap for a later run. The client paces
search to 1 request a second and its 15-minute window, so none of it collects a 429. A 403 from
search (a plan without full-archive access) turns the backfill off for the rest of the run with one
warning; the summary names the gap as without search, and the gap stays for a run that has access.
"""

from ingestion.collectors.tweets.collector import TweetsCollector
from ingestion.collectors.tweets.passes import (
    BACKFILL_MODES,
    DEFAULT_SINCE,
    TIMELINE_CAP,
    TIMELINE_CAP_NO_REPLIES,
)

__all__ = ["BACKFILL_MODES", "DEFAULT_SINCE", "TIMELINE_CAP", "TIMELINE_CAP_NO_REPLIES", "TweetsCollector"]
