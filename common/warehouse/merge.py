"""The merge: staging tables → star schema, and the loaded files → ``etl_file_ledger``, in ONE transaction.

Every merge is set-based SQL over the staging tables (no row loops), an upsert whose outcome does
not depend on the order in which files arrive. The rules of each dataset are in its own module:
``merge_tweets.py`` (tweets and tweet_metrics: facts, bridges, snapshots, edits, deletions) and
``merge_users.py`` (the users' SCD2 history and daily counts). This module is the frame they run
in: :func:`run_merge` (lock, reset, merge, ledger, run record, staging DROP, commit), the
:class:`MergeSpec` each dataset's spec gives (``glue_jobs/datasets.py``), and the ledger.

Each merge names its steps as it goes (``on_step("fact_tweet")``, see :data:`StepHook`): the caller
may pass a hook (progress, tracing; the tests inject failures and kills there to prove that a merge
stopped at any step leaves the warehouse and the ledger as they were).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from common.warehouse.columns import (
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


def ensure_dates(cur: Any, *tables: str) -> None:
    """``dim_date`` covers every ``date_key`` of the staging ``tables``, and every day between its
    first and its last (a merge calls this once per table it reads: the calendar stays whole)."""
    ranges = " UNION ALL ".join(
        ["SELECT min(date_key) AS lo, max(date_key) AS hi FROM dim_date"]
        + [f"SELECT min(date_key) AS lo, max(date_key) AS hi FROM {t}" for t in tables]
    )
    cur.execute(
        f"WITH r AS ({ranges}) SELECT ensure_dim_date(to_date(min(lo)::text, 'YYYYMMDD'),"
        " to_date(max(hi)::text, 'YYYYMMDD')) FROM r"
    )


@contextmanager
def into_empty_table(cur: Any, table: str, source: str) -> Iterator[bool]:
    """Around the statements that write ``table`` from the staging table ``source``; yields whether
    this is a bulk load into an empty table (docs/warehouse.md, "A first load is a bulk load").

    When ``table`` is empty, ``source`` is not, the merge's role may alter ``table`` and nobody is
    reading it: the table is locked (ACCESS EXCLUSIVE, until the merge commits), and loses its
    secondary indexes and its foreign keys to a table this transaction already holds alone (the
    bridges' to ``fact_tweet``); the body inserts; the indexes are built again and the keys checked
    once. Row by row, the index entries and key lookups were most of a first load. Everything else
    (a table that holds rows, or whose lock would have to wait) takes the row path: nothing is
    locked or altered. A failed merge rolls indexes and keys back; when the body raises, nothing is
    rebuilt."""
    import psycopg

    check_identifier(table)
    empty = f"SELECT NOT EXISTS (SELECT FROM {table})"
    cur.execute(
        f"{empty} AND EXISTS (SELECT FROM {check_identifier(source)})"
        " AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = %s::regclass), 'USAGE')",
        (table,),
    )
    if not cur.fetchone()[0]:
        yield False
        return
    try:  # never wait: a reader's snapshot may be waiting on this merge (two report lanes, an export)
        with cur.connection.transaction():
            cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT")
    except psycopg.errors.LockNotAvailable:
        yield False
        return
    cur.execute(empty)  # a hand insert may have committed between the two
    if not cur.fetchone()[0]:
        yield False
        return
    cur.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = %s::regclass AND NOT indisunique AND NOT indisprimary AND NOT indisexclusion"
        " ORDER BY indexrelid",
        (table,),
    )
    indexes = cur.fetchall()
    cur.execute(  # a key to a table not held would lock that one too (dim_date: every day's reads)
        "SELECT quote_ident(k.conname), pg_get_constraintdef(k.oid) FROM pg_constraint k"
        " WHERE k.conrelid = %s::regclass AND k.contype = 'f' AND EXISTS (SELECT FROM pg_locks l"
        "   WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation = k.confrelid"
        "   AND l.mode = 'AccessExclusiveLock' AND l.granted)"
        " ORDER BY k.conname",
        (table,),
    )
    keys = cur.fetchall()
    for name, _ in keys:
        cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    yield True
    cur.execute(  # each index is one sort: 256 MB, or the server's setting if larger
        "SELECT set_config('maintenance_work_mem', greatest(setting::bigint, 262144)::text || 'kB', true)"
        " FROM pg_settings WHERE name = 'maintenance_work_mem'"
    )
    for _, definition in indexes:
        cur.execute(definition)
    for name, definition in keys:
        cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


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
        # READ COMMITTED whatever the server's default: staging may still fill the later tables while
        # the merge runs (glue_jobs/staged.py), and each statement must see them as they are when it
        # starts, not as they were at the first one; waiting for them is not an idle session to end.
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cur.execute("SET LOCAL idle_in_transaction_session_timeout TO 0")
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
