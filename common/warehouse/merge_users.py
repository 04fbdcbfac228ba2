"""The users merge (run by :func:`~common.warehouse.merge.run_merge`).

* ``dim_user``: the history of every user in the run is recomputed from all of that user's
  snapshots (``user_profile_snapshot``), collapsed into runs of identical profile attributes,
  then reconciled with the existing versions (keeping their ``user_key``).
* ``fact_user_daily``: the last snapshot of a day wins, also across runs.
"""

from __future__ import annotations

from typing import Any

from common.warehouse.columns import PROFILE_COLUMNS, USER_COUNT_COLUMNS, Staging
from common.warehouse.merge import StagingTables, StepHook, ensure_dates, no_step


def merge_users(cur: Any, stg: StagingTables, step: StepHook = no_step) -> None:
    u = stg[Staging.USER]
    profile = ", ".join(PROFILE_COLUMNS)
    counts = ", ".join(USER_COUNT_COLUMNS)
    ensure_dates(cur, u)
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
