"""The merge beside staging (glue_jobs/staged.py): a table filled while the merge transaction
already runs is read whole, whatever isolation the server or role gives a transaction by default."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg

from common.warehouse.columns import STAGED_COLUMNS, Staging
from common.warehouse.merge import LedgerEntry, run_merge
from common.warehouse.migrate import migrate
from glue_jobs.datasets import dataset_spec
from glue_jobs.staged import StagedTables
from glue_jobs.staging import create_staging_table
from tests.warehouse.staged import at, metric, tweet


def _insert(conn: Any, table: str, kind: Staging, rows: list[dict[str, Any]]) -> None:
    columns = STAGED_COLUMNS[kind]
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(columns))})",
            [tuple(row.get(c) for c in columns) for row in rows],
        )


def test_a_table_filled_after_the_merge_began_is_read_whole_under_a_repeatable_read_default(
    pg_url: str, schema: str
) -> None:
    spec = dataset_spec("tweets")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, schema)
        conn.execute(f"SET search_path TO {schema}, public")
        # a server, database or role may make every transaction REPEATABLE READ: its snapshot would
        # be taken at the merge's first statement, before the later tables were full
        conn.execute("SET default_transaction_isolation TO 'repeatable read'")
        names = {out.kind: f"stg_tweets_{out.kind}_late" for out in spec.outputs}
        for kind, table in names.items():
            create_staging_table(conn, schema, table, STAGED_COLUMNS[kind])
        _insert(conn, names[Staging.TWEET], Staging.TWEET, [tweet(100, at(20)), tweet(200, at(20))])
        tables = StagedTables(names)
        for kind in names:
            if kind != Staging.METRIC:
                tables.mark_staged(kind)

        def on_step(step: str) -> None:
            if step == "dates":  # the merge has begun; the snapshots arrive now, from another connection
                with psycopg.connect(pg_url, autocommit=True) as other:
                    other.execute(f"SET search_path TO {schema}")
                    _insert(
                        other, names[Staging.METRIC], Staging.METRIC, [metric(100, at(20), 3), metric(200, at(20), 5)]
                    )
                tables.mark_staged(Staging.METRIC)

        run_merge(
            conn,
            spec.merge,
            schema=schema,
            dataset="tweets",
            run_id="late",
            started_at=datetime.now(UTC),
            staging=tables,
            entries=[LedgerEntry("raw/tweets/dt=2026-11-20/a.jsonl.gz", date(2026, 11, 20), 1, 2, 0, 0)],
            full_refresh=False,
            on_step=on_step,
        )
        got = conn.execute("SELECT tweet_id, like_count FROM fact_tweet_metrics ORDER BY 1").fetchall()
        assert got == [(100, 3), (200, 5)]
        # the tweets' day (Nov 1) and the snapshots' (Nov 20) are ensured apart: the days between too
        assert conn.execute("SELECT count(*) FROM dim_date").fetchone() == (20,)
