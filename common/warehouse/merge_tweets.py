"""The tweets and tweet_metrics merges (run by :func:`~common.warehouse.merge.run_merge`).

* ``fact_tweet``: the latest collection of a tweet wins (``last_collected_at``), first/last
  collection times widen, ``edit_of_tweet_id`` comes from ``tweet_edit_link`` and ``is_deleted``
  from ``tweet_deletion`` (answers a day apart after the last collection) — tables both tweet
  jobs feed, so job order does not matter.
* entity bridges: replaced for a tweet when this run holds its latest collection, from that record alone
  (``record_key``: two records with one ``collected_at`` never mix their entities).
* ``fact_tweet_metrics``: every snapshot (the greatest ``record_key`` wins for one ``collected_at``),
  and, by its triggers, ``tweet_latest_metrics`` each tweet's latest (migration 0009, read by
  ``v_tweet_latest_metrics``) and the touched tweets' milestones and growth-curve points
  (migrations 0010 and 0011, also on ``fact_tweet``; read by ``v_tweet_metric_milestones``,
  ``v_metric_growth_share`` and the report's curves).

The two merges both read what the other writes (``tweet_deletion``, ``tweet_edit_link``,
``fact_tweet``). Under READ COMMITTED two of them running at once could each miss the other's
uncommitted rows and lose a deletion or an edit link, so both first take one transaction-level
advisory lock per schema (:attr:`~common.warehouse.merge.MergeSpec.shared_lock`): they run one
after the other, and the second one's statements see the first one's commit.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from common.warehouse.columns import METRIC_COUNTS, STAGED_COLUMNS, TWEET_ATTRIBUTES, Staging
from common.warehouse.merge import StagingTables, StepHook, ensure_dates, into_empty_table, no_step


def _bridge(table: str, kind: Staging, *key: str) -> tuple[str, Staging, tuple[str, ...], tuple[str, ...]]:
    """A bridge table fed by ``kind``: its columns after ``tweet_id`` (the staged ones after
    ``tweet_id, collected_at, record_key``) and the columns that key a row of a tweet."""
    return table, kind, STAGED_COLUMNS[kind][3:], key


BRIDGES: tuple[tuple[str, Staging, tuple[str, ...], tuple[str, ...]], ...] = (
    _bridge("tweet_hashtag", Staging.HASHTAG, "tag"),
    _bridge("tweet_cashtag", Staging.CASHTAG, "tag"),
    _bridge("tweet_mention", Staging.MENTION, "mentioned_username"),
    _bridge("tweet_url", Staging.URL, "url"),
    _bridge("tweet_reference", Staging.REFERENCE, "referenced_tweet_id", "reference_type"),
)


def _merge_metrics(cur: Any, m: str) -> None:
    """Every snapshot of ``m``; where two share a ``collected_at``, the greatest ``record_key`` wins.
    A bulk load into an empty table is a plain insert: nothing can conflict, and ``ON CONFLICT``'s
    speculative insertion of every row is skipped."""
    counts = ", ".join(METRIC_COUNTS)
    insert = (
        f"INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, {counts}, record_key)"
        f" SELECT DISTINCT ON (tweet_id, collected_at) tweet_id, collected_at, date_key, {counts}, record_key FROM {m}"
        " ORDER BY tweet_id, collected_at, record_key DESC"
    )
    upsert = (
        " ON CONFLICT (tweet_id, collected_at) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*METRIC_COUNTS, "record_key"))
        + " WHERE coalesce(EXCLUDED.record_key, '') >= coalesce(fact_tweet_metrics.record_key, '')"
        f" AND ({', '.join('fact_tweet_metrics.' + c for c in (*METRIC_COUNTS, 'record_key'))})"
        f" IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in (*METRIC_COUNTS, 'record_key'))})"
    )
    with into_empty_table(cur, "fact_tweet_metrics", m) as bulk:
        cur.execute(insert if bulk else insert + upsert)


def _merge_edit_links(cur: Any, e: str) -> None:
    cur.execute(
        f"INSERT INTO tweet_edit_link (tweet_id, latest_tweet_id) SELECT tweet_id, max(latest_tweet_id) FROM {e}"
        " GROUP BY tweet_id ON CONFLICT (tweet_id) DO UPDATE SET latest_tweet_id = EXCLUDED.latest_tweet_id"
        " WHERE EXCLUDED.latest_tweet_id > tweet_edit_link.latest_tweet_id"
    )


def _apply_edit_links(cur: Any, e: str) -> None:
    cur.execute(
        "UPDATE fact_tweet f SET edit_of_tweet_id = l.latest_tweet_id FROM tweet_edit_link l"
        f" WHERE l.tweet_id = f.tweet_id AND l.tweet_id IN (SELECT tweet_id FROM {e})"
        " AND f.edit_of_tweet_id IS DISTINCT FROM l.latest_tweet_id"
    )


def _judge_deletions(cur: Any, affected: str) -> None:
    """Set ``fact_tweet.is_deleted`` of the ``affected`` tweets by the rule of
    ``v_tweet_deletion_evidence``: "Not Found" on collections at least a day apart, all after the
    last collection that returned the tweet. Data collected later undeletes it.

    Only a tweet with a "Not Found" answer in ``tweet_deletion`` can be deleted, or have been (a
    full refresh of tweet_metrics empties both; a hand-deleted answer leaves a deleted tweet to
    judge again), so the rule is evaluated for those alone: a load of a million tweets none of
    which was ever missing judges none (it used to evaluate every one of them), and a warehouse
    with no answer and no deleted tweet at all is not asked."""
    cur.execute("SELECT EXISTS (SELECT FROM tweet_deletion) OR EXISTS (SELECT FROM fact_tweet WHERE is_deleted)")
    if not cur.fetchone()[0]:
        return
    cur.execute(
        "UPDATE fact_tweet f SET is_deleted = e.is_deleted FROM v_tweet_deletion_evidence e"
        " WHERE e.tweet_id = f.tweet_id AND e.tweet_id IN ("
        f"   SELECT tweet_id FROM tweet_deletion WHERE tweet_id IN ({affected})"
        f"   UNION SELECT tweet_id FROM fact_tweet WHERE is_deleted AND tweet_id IN ({affected}))"
        " AND f.is_deleted IS DISTINCT FROM e.is_deleted"
    )


def _write_tweets(cur: Any, any_existed: bool, *, in_order: bool) -> None:
    """``w_tweet`` into ``fact_tweet``: the tweets new to the warehouse by a plain INSERT (the merges
    of a schema run one at a time: nothing else inserts them meanwhile), the others by an upsert
    where the newer collection wins. ``in_order`` sorts them by id first (a ``w_tweet`` that is not
    sorted already): inserted in key order, the rows and the primary key stay ordered, and the load and
    everything that reads the table later are faster (a million tweets inserted in the files' order
    made the 1 M benchmark's merge 10 % slower, and its COPY of the same final rows 16 %)."""
    attributes = (*TWEET_ATTRIBUTES, "last_record_key")
    insert = (
        f"INSERT INTO fact_tweet (tweet_id, {', '.join(attributes)}, edit_of_tweet_id,"
        " first_collected_at, last_collected_at)"
        f" SELECT w.tweet_id, {', '.join('w.' + c for c in TWEET_ATTRIBUTES)}, w.record_key, l.latest_tweet_id,"
        "        w.first_collected_at, w.collected_at"
        " FROM w_tweet w LEFT JOIN tweet_edit_link l ON l.tweet_id = w.tweet_id"
    )
    cur.execute(insert + " WHERE NOT w.existed" + (" ORDER BY w.tweet_id" if in_order else ""))
    if not any_existed:
        return
    is_newer = (
        "(EXCLUDED.last_collected_at, coalesce(EXCLUDED.last_record_key, ''))"
        " >= (fact_tweet.last_collected_at, coalesce(fact_tweet.last_record_key, ''))"
    )
    cur.execute(
        insert
        + " WHERE w.existed ON CONFLICT (tweet_id) DO UPDATE SET "
        + ", ".join(f"{c} = CASE WHEN {is_newer} THEN EXCLUDED.{c} ELSE fact_tweet.{c} END" for c in attributes)
        + ", edit_of_tweet_id = EXCLUDED.edit_of_tweet_id,"
        " first_collected_at = LEAST(fact_tweet.first_collected_at, EXCLUDED.first_collected_at),"
        " last_collected_at = GREATEST(fact_tweet.last_collected_at, EXCLUDED.last_collected_at)"
    )


def _latest_collections(cur: Any, t: str) -> tuple[bool, bool, bool]:
    """``w_tweet``: the latest collection of each tweet in the staging table ``t``, whether the
    warehouse had the tweet, and whether this collection beats what is loaded. Returns whether
    every staged record is its tweet's winner (a backfill, a run of new posts: no bridge needs to
    join ``w_tweet``), whether any tweet was loaded before, and whether ``w_tweet`` is a view.

    A run that holds each tweet once, none of them loaded, gets ``w_tweet`` as a view of ``t``
    (nothing to sort or copy: 1.8 s of a million-tweet first load); the check sorts ids alone."""
    cur.execute(
        "SELECT count(*) = count(DISTINCT s.tweet_id), coalesce(bool_or(f.tweet_id IS NOT NULL), false)"
        f" FROM {t} s LEFT JOIN fact_tweet f ON f.tweet_id = s.tweet_id"
    )
    unique, any_existed = cur.fetchone()
    if unique and not any_existed:
        cur.execute(
            "CREATE TEMP VIEW w_tweet AS SELECT s.*, s.collected_at AS first_collected_at,"
            f" false AS existed, true AS is_winner FROM {t} s"
        )
        return True, False, True
    cur.execute(
        "CREATE TEMP TABLE w_tweet ON COMMIT DROP AS"
        " SELECT DISTINCT ON (s.tweet_id) s.*,"
        "        min(s.collected_at) OVER (PARTITION BY s.tweet_id) AS first_collected_at,"
        "        f.tweet_id IS NOT NULL AS existed,"
        "        (f.tweet_id IS NULL OR (s.collected_at, coalesce(s.record_key, ''))"
        "            >= (f.last_collected_at, coalesce(f.last_record_key, ''))) AS is_winner"
        f" FROM {t} s LEFT JOIN fact_tweet f ON f.tweet_id = s.tweet_id"
        " ORDER BY s.tweet_id, s.collected_at DESC, s.record_key DESC"
    )
    cur.execute("SELECT coalesce(bool_and(is_winner), true) FROM w_tweet")
    all_win = cur.fetchone()[0]
    return unique and all_win, any_existed, False


def merge_tweets(cur: Any, stg: StagingTables, step: StepHook = no_step) -> None:
    # Each staging table is named as late as it is read: it may still be filling (glue_jobs/staged.py).
    t = stg[Staging.TWEET]
    ensure_dates(cur, t)
    step("dates")
    only_winners, any_existed, is_view = _latest_collections(cur, t)
    e = stg[Staging.EDIT_LINK]
    _merge_edit_links(cur, e)  # before the tweets: their edit_of_tweet_id comes from tweet_edit_link
    step("edit_links")
    with into_empty_table(cur, "fact_tweet", t):
        _write_tweets(cur, any_existed, in_order=is_view)
    step("fact_tweet")
    _apply_edit_links(cur, e)
    _judge_deletions(cur, "SELECT tweet_id FROM w_tweet")
    for table, kind, columns, key_columns in BRIDGES:
        cols = ", ".join(columns)
        held_rows = False
        if any_existed:  # a tweet new to the warehouse has no bridge rows (their foreign key)
            cur.execute(
                f"DELETE FROM {table} b USING w_tweet w WHERE b.tweet_id = w.tweet_id AND w.is_winner AND w.existed"
            )
            held_rows = cur.rowcount > 0  # then empty to this transaction only: not a first load
        # The winners' old rows are gone, so only duplicates within this run can collide: DISTINCT ON
        # (one in-memory sort) is cheaper than ON CONFLICT's speculative insertion of every row.
        winners = (
            ""
            if only_winners
            else " JOIN w_tweet w ON w.tweet_id = s.tweet_id AND w.collected_at = s.collected_at"
            " AND w.record_key IS NOT DISTINCT FROM s.record_key AND w.is_winner"
        )
        with nullcontext(False) if held_rows else into_empty_table(cur, table, stg[kind]):
            cur.execute(
                f"INSERT INTO {table} (tweet_id, {cols})"
                f" SELECT DISTINCT ON (s.tweet_id, {', '.join('s.' + c for c in key_columns)})"
                f" s.tweet_id, {', '.join('s.' + c for c in columns)} FROM {stg[kind]} s{winners}"
            )
        step(table)
    if is_view:  # a view outlives the transaction, and the staging table is dropped at its end
        cur.execute("DROP VIEW w_tweet")
    m = stg[Staging.METRIC]
    ensure_dates(cur, m)
    _merge_metrics(cur, m)
    step("fact_tweet_metrics")


def merge_tweet_metrics(cur: Any, stg: StagingTables, step: StepHook = no_step) -> None:
    m = stg[Staging.METRIC]  # each table named as late as it is read (glue_jobs/staged.py)
    ensure_dates(cur, m)
    step("dates")
    _merge_metrics(cur, m)
    step("fact_tweet_metrics")
    e = stg[Staging.EDIT_LINK]
    _merge_edit_links(cur, e)
    _apply_edit_links(cur, e)
    step("edit_links")
    d = stg[Staging.DELETION]
    cur.execute(
        "INSERT INTO tweet_deletion (tweet_id, detected_at, title, detail)"
        f" SELECT DISTINCT ON (tweet_id, detected_at) tweet_id, detected_at, title, detail FROM {d}"
        " ORDER BY tweet_id, detected_at, title, detail"
        " ON CONFLICT (tweet_id, detected_at) DO NOTHING"
    )
    step("tweet_deletion")
    _judge_deletions(cur, f"SELECT tweet_id FROM {d} UNION SELECT tweet_id FROM {m}")
    step("is_deleted")
