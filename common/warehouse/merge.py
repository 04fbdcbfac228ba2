"""The merge: staging tables → star schema, and the loaded files → ``etl_file_ledger``, in ONE transaction.

Every statement here is set-based SQL over the staging tables (no row loops), and every merge is
an upsert whose outcome does not depend on the order in which files arrive:

* ``fact_tweet``: the latest collection of a tweet wins (``last_collected_at``), first/last
  collection times widen, ``edit_of_tweet_id`` comes from ``tweet_edit_link`` and ``is_deleted``
  from ``tweet_deletion`` (answers a day apart after the last collection) — tables both tweet
  jobs feed, so job order does not matter.
* entity bridges: replaced for a tweet when this run holds its latest collection, from that record alone
  (``record_key``: two records with one ``collected_at`` never mix their entities).
* ``fact_tweet_metrics``: every snapshot (the greatest ``record_key`` wins for one ``collected_at``),
  and, by its triggers, ``tweet_latest_metrics`` each tweet's latest (migration 0009, read by
  ``v_tweet_latest_metrics``) and the touched tweets' milestones and growth-curve points
  (migration 0010, also on ``fact_tweet``; read by ``v_tweet_metric_milestones``,
  ``v_metric_growth_share`` and the report's curves).
* ``dim_user``: the history of every user in the run is recomputed from all of that user's
  snapshots (``user_profile_snapshot``), collapsed into runs of identical profile attributes,
  then reconciled with the existing versions (keeping their ``user_key``).
* ``fact_user_daily``: the last snapshot of a day wins, also across runs.

The tweets and tweet_metrics merges both read what the other writes (``tweet_deletion``,
``tweet_edit_link``, ``fact_tweet``). Under READ COMMITTED two of them running at once could each
miss the other's uncommitted rows and lose a deletion or an edit link, so both first take one
transaction-level advisory lock per schema (:attr:`MergeSpec.shared_lock`): they run one after the other,
and the second one's statements see the first one's commit.

Which merge, lock and full-refresh reset a dataset has is its :class:`MergeSpec`, given by the
dataset's spec (``glue_jobs/datasets.py``); this module knows the SQL, not the datasets.

Each merge names its steps as it goes (``on_step("fact_tweet")``, see :data:`StepHook`): the caller
may pass a hook (progress, tracing; the tests inject failures and kills there to prove that a merge
stopped at any step leaves the warehouse and the ledger as they were).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from common.warehouse.columns import (
    METRIC_COUNTS,
    PROFILE_COLUMNS,
    STAGED_COLUMNS,
    TWEET_ATTRIBUTES,
    USER_COUNT_COLUMNS,
    Staging,
)
from common.warehouse.db import check_identifier, lock_key

StepHook = Callable[[str], None]
"""Called with the name of each step of the merge once it is done (and ``"staged"`` before it
begins, ``"commit"`` just before COMMIT); whatever it raises rolls the whole merge back."""


def no_step(_: str) -> None:
    """The default :data:`StepHook`: nothing."""


StagingTables = Mapping[Staging, str]
"""This run's staging table of each kind the merge reads."""


@dataclass(frozen=True)
class MergeSpec:
    """How one dataset's staged rows reach the star schema, inside :func:`run_merge`'s transaction."""

    merge: Callable[[Any, StagingTables, StepHook], None]
    """Set-based SQL from the staging tables (a cursor, the tables, the step hook) into the star schema."""
    reset: tuple[str, ...]
    """What ``--full-refresh`` runs first: empties the dataset's own tables (the ledger too, always)."""
    shared_lock: str | None = None
    """An advisory lock (a name, keyed per schema) held for the whole transaction by every merge
    that names it: merges reading what another writes run one after the other."""


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


@dataclass(frozen=True)
class LedgerEntry:
    path: str
    dt: date
    size_bytes: int
    rows_loaded: int
    rows_quarantined: int
    rows_api_errors: int
    reason: str | None = None
    """Why the file was quarantined whole (none of its lines loaded); ``None`` when it was read."""

    @property
    def status(self) -> str:
        return "loaded" if self.reason is None else "quarantined"


def _ensure_dates(cur: Any, *tables: str) -> None:
    ranges = " UNION ALL ".join(f"SELECT min(date_key) AS lo, max(date_key) AS hi FROM {t}" for t in tables)
    cur.execute(
        f"WITH r AS ({ranges}) SELECT ensure_dim_date(to_date(min(lo)::text, 'YYYYMMDD'),"
        " to_date(max(hi)::text, 'YYYYMMDD')) FROM r"
    )


# -- users -------------------------------------------------------------------------------------
def merge_users(cur: Any, stg: StagingTables, step: StepHook = no_step) -> None:
    u = stg[Staging.USER]
    profile = ", ".join(PROFILE_COLUMNS)
    counts = ", ".join(USER_COUNT_COLUMNS)
    _ensure_dates(cur, u)
    step("dates")
    cur.execute(
        f"INSERT INTO user_profile_snapshot (user_id, collected_at, {profile})"
        f" SELECT DISTINCT ON (user_id, collected_at) user_id, collected_at, {profile} FROM {u}"
        " ORDER BY user_id, collected_at"
        " ON CONFLICT (user_id, collected_at) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in PROFILE_COLUMNS)
    )
    step("user_profile_snapshot")
    cur.execute(
        f"INSERT INTO fact_user_daily (user_id, date_key, {counts}, collected_at)"
        f" SELECT DISTINCT ON (user_id, date_key) user_id, date_key, {counts}, collected_at FROM {u}"
        f" WHERE num_nonnulls({counts}) > 0"
        " ORDER BY user_id, date_key, collected_at DESC"
        " ON CONFLICT (user_id, date_key) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*USER_COUNT_COLUMNS, "collected_at"))
        + " WHERE EXCLUDED.collected_at > fact_user_daily.collected_at"
    )
    step("fact_user_daily")
    # Recompute the SCD2 history of every user this run touches, from all their snapshots.
    cur.execute(
        "CREATE TEMP TABLE w_user_version ON COMMIT DROP AS"
        f" WITH affected AS (SELECT DISTINCT user_id FROM {u}),"
        f" snap AS (SELECT s.*, md5(ROW({', '.join('s.' + c for c in PROFILE_COLUMNS)})::text) AS attr_hash"
        "           FROM user_profile_snapshot s JOIN affected a ON a.user_id = s.user_id),"
        " marked AS (SELECT snap.*, lag(attr_hash) OVER (PARTITION BY user_id ORDER BY collected_at) AS prev_hash"
        "            FROM snap)"
        f" SELECT user_id, {profile}, collected_at AS valid_from,"
        "        lead(collected_at) OVER (PARTITION BY user_id ORDER BY collected_at) AS valid_to"
        " FROM marked WHERE prev_hash IS NULL OR prev_hash <> attr_hash"
    )
    cur.execute(
        "UPDATE dim_user d SET is_current = false, valid_to = w.valid_to FROM w_user_version w"
        " WHERE d.user_id = w.user_id AND d.valid_from = w.valid_from AND d.is_current AND w.valid_to IS NOT NULL"
    )
    step("dim_user_close")
    cur.execute(
        f"DELETE FROM dim_user d USING (SELECT DISTINCT user_id FROM {u}) a WHERE d.user_id = a.user_id"
        " AND NOT EXISTS (SELECT 1 FROM w_user_version w WHERE w.user_id = d.user_id AND w.valid_from = d.valid_from)"
    )
    step("dim_user_delete")
    versioned = (*PROFILE_COLUMNS, "valid_to", "is_current")
    cur.execute(
        f"INSERT INTO dim_user (user_id, {profile}, valid_from, valid_to, is_current)"
        f" SELECT user_id, {profile}, valid_from, valid_to, valid_to IS NULL FROM w_user_version"
        " ON CONFLICT (user_id, valid_from) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in versioned)
        + f" WHERE ({', '.join('dim_user.' + c for c in versioned)})"
        f" IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in versioned)})"
    )
    step("dim_user_insert")


# -- tweets --------------------------------------------------------------------------------------
def _merge_metrics(cur: Any, m: str) -> None:
    counts = ", ".join(METRIC_COUNTS)
    cur.execute(
        f"INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, {counts}, record_key)"
        f" SELECT DISTINCT ON (tweet_id, collected_at) tweet_id, collected_at, date_key, {counts}, record_key FROM {m}"
        " ORDER BY tweet_id, collected_at, record_key DESC"
        " ON CONFLICT (tweet_id, collected_at) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*METRIC_COUNTS, "record_key"))
        + " WHERE coalesce(EXCLUDED.record_key, '') >= coalesce(fact_tweet_metrics.record_key, '')"
        f" AND ({', '.join('fact_tweet_metrics.' + c for c in (*METRIC_COUNTS, 'record_key'))})"
        f" IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in (*METRIC_COUNTS, 'record_key'))})"
    )


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
    which was ever missing judges none (it used to evaluate every one of them)."""
    cur.execute(
        "UPDATE fact_tweet f SET is_deleted = e.is_deleted FROM v_tweet_deletion_evidence e"
        " WHERE e.tweet_id = f.tweet_id AND e.tweet_id IN ("
        f"   SELECT tweet_id FROM tweet_deletion WHERE tweet_id IN ({affected})"
        f"   UNION SELECT tweet_id FROM fact_tweet WHERE is_deleted AND tweet_id IN ({affected}))"
        " AND f.is_deleted IS DISTINCT FROM e.is_deleted"
    )


def _write_tweets(cur: Any, any_existed: bool) -> None:
    """``w_tweet`` into ``fact_tweet``: the tweets new to the warehouse by a plain INSERT (the merges
    of a schema run one at a time: nothing else inserts them meanwhile), the others by an upsert
    where the newer collection wins."""
    attributes = (*TWEET_ATTRIBUTES, "last_record_key")
    insert = (
        f"INSERT INTO fact_tweet (tweet_id, {', '.join(attributes)}, edit_of_tweet_id,"
        " first_collected_at, last_collected_at)"
        f" SELECT w.tweet_id, {', '.join('w.' + c for c in TWEET_ATTRIBUTES)}, w.record_key, l.latest_tweet_id,"
        "        w.first_collected_at, w.collected_at"
        " FROM w_tweet w LEFT JOIN tweet_edit_link l ON l.tweet_id = w.tweet_id"
    )
    cur.execute(insert + " WHERE NOT w.existed")
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


def merge_tweets(cur: Any, stg: StagingTables, step: StepHook = no_step) -> None:
    t, m, e = stg[Staging.TWEET], stg[Staging.METRIC], stg[Staging.EDIT_LINK]
    _ensure_dates(cur, t, m)
    step("dates")
    _merge_edit_links(cur, e)
    step("edit_links")
    # The latest collection of each tweet in this run, whether the warehouse had the tweet, and
    # whether this collection beats what is loaded.
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
    # A run whose every tweet it holds once, and newer than what is loaded (a backfill, a run of new
    # posts): every staged entity belongs to a winning record, and no bridge needs the join below.
    cur.execute(
        f"SELECT count(*) = (SELECT count(*) FROM {t}) AND coalesce(bool_and(is_winner), true),"
        " coalesce(bool_or(existed), false) FROM w_tweet"
    )
    only_winners, any_existed = cur.fetchone()
    _write_tweets(cur, any_existed)
    step("fact_tweet")
    _apply_edit_links(cur, e)
    _judge_deletions(cur, "SELECT tweet_id FROM w_tweet")
    for table, kind, columns, key_columns in BRIDGES:
        cols = ", ".join(columns)
        if any_existed:  # a tweet new to the warehouse has no bridge rows (their foreign key)
            cur.execute(
                f"DELETE FROM {table} b USING w_tweet w WHERE b.tweet_id = w.tweet_id AND w.is_winner AND w.existed"
            )
        # The winners' old rows are gone, so only duplicates within this run can collide: DISTINCT ON
        # (one in-memory sort) is cheaper than ON CONFLICT's speculative insertion of every row.
        winners = (
            ""
            if only_winners
            else " JOIN w_tweet w ON w.tweet_id = s.tweet_id AND w.collected_at = s.collected_at"
            " AND w.record_key IS NOT DISTINCT FROM s.record_key AND w.is_winner"
        )
        cur.execute(
            f"INSERT INTO {table} (tweet_id, {cols})"
            f" SELECT DISTINCT ON (s.tweet_id, {', '.join('s.' + c for c in key_columns)})"
            f" s.tweet_id, {', '.join('s.' + c for c in columns)} FROM {stg[kind]} s{winners}"
        )
        step(table)
    _merge_metrics(cur, m)
    step("fact_tweet_metrics")


def merge_tweet_metrics(cur: Any, stg: StagingTables, step: StepHook = no_step) -> None:
    m, e, d = stg[Staging.METRIC], stg[Staging.EDIT_LINK], stg[Staging.DELETION]
    _ensure_dates(cur, m)
    step("dates")
    _merge_metrics(cur, m)
    step("fact_tweet_metrics")
    _merge_edit_links(cur, e)
    _apply_edit_links(cur, e)
    step("edit_links")
    cur.execute(
        "INSERT INTO tweet_deletion (tweet_id, detected_at, title, detail)"
        f" SELECT DISTINCT ON (tweet_id, detected_at) tweet_id, detected_at, title, detail FROM {d}"
        " ORDER BY tweet_id, detected_at, title, detail"
        " ON CONFLICT (tweet_id, detected_at) DO NOTHING"
    )
    step("tweet_deletion")
    _judge_deletions(cur, f"SELECT tweet_id FROM {d} UNION SELECT tweet_id FROM {m}")
    step("is_deleted")


def record_files(cur: Any, dataset: str, run_id: str, entries: Sequence[LedgerEntry]) -> None:
    """The run's files into the ledger. A file already there is one quarantined before and read
    again (``--retry-quarantined``): its entry is replaced."""
    columns = ("dt", "size_bytes", "rows_loaded", "rows_api_errors", "rows_quarantined", "status", "reason", "run_id")
    cur.executemany(
        f"INSERT INTO etl_file_ledger (dataset, path, {', '.join(columns)})"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (dataset, path) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
        + ", loaded_at = now()",
        [
            (
                dataset,
                e.path,
                e.dt,
                e.size_bytes,
                e.rows_loaded,
                e.rows_api_errors,
                e.rows_quarantined,
                e.status,
                e.reason,
                run_id,
            )
            for e in entries
        ],
    )


def run_merge(
    conn: Any,
    spec: MergeSpec,
    *,
    schema: str,
    dataset: str,
    run_id: str,
    started_at: datetime,
    staging: StagingTables,
    entries: Sequence[LedgerEntry],
    full_refresh: bool,
    on_step: StepHook = no_step,
) -> None:
    """The one transaction: (reset,) merge, ledger, run record, drop staging. All or nothing."""
    check_identifier(schema)
    with conn.transaction(), conn.cursor() as cur:
        if spec.shared_lock:  # first, so that every read below sees the other job's commit
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("merge", schema, spec.shared_lock),))
        cur.execute(f"SET LOCAL search_path TO {schema}, public")
        cur.execute("SET LOCAL work_mem TO '256MB'")
        if full_refresh:
            for statement in spec.reset:
                cur.execute(statement)
            cur.execute("DELETE FROM etl_file_ledger WHERE dataset = %s", (dataset,))
            on_step("reset")
        if staging:
            spec.merge(cur, staging, on_step)
        record_files(cur, dataset, run_id, entries)
        on_step("ledger")
        cur.execute(
            "INSERT INTO etl_run (run_id, dataset, started_at, files, rows_loaded, rows_api_errors, rows_quarantined,"
            " full_refresh, files_quarantined) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                run_id,
                dataset,
                started_at,
                len(entries),
                sum(e.rows_loaded for e in entries),
                sum(e.rows_api_errors for e in entries),
                sum(e.rows_quarantined for e in entries),
                full_refresh,
                sum(e.reason is not None for e in entries),
            ),
        )
        for table in staging.values():
            cur.execute(f"DROP TABLE {check_identifier(table)}")
        on_step("commit")
