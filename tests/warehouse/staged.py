"""Hand-built staging rows and a warehouse to merge them into, the way a job's merge step does it
(``run_merge`` with the dataset's ``MergeSpec``), without Spark."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from common.warehouse.columns import STAGED_COLUMNS, Staging
from common.warehouse.merge import LedgerEntry, StepHook, no_step, run_merge
from common.warehouse.migrate import migrate
from glue_jobs.datasets import dataset_spec
from glue_jobs.staging import create_staging_table

_runs = itertools.count(1)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def date_key(when: datetime) -> int:
    return int(when.strftime("%Y%m%d"))


def record(file: str, line: int = 0) -> str:
    """A record key as the transforms build it: ``<file>:<line, 20 digits>``."""
    return f"{file}:{line:020d}"


def tweet(tweet_id: int, when: datetime, key: str = "", **attrs: Any) -> dict[str, Any]:
    """A staged ``fact_tweet`` row: one collection of a tweet."""
    return {
        "tweet_id": tweet_id,
        "author_id": 42,
        "created_at": at(1),
        "date_key": 20261101,
        "text": f"tweet {tweet_id}",
        "tweet_type": "original",
        "lang": "en",
        "collected_at": when,
        "record_key": key or record(f"f{when:%d%H}"),
        **attrs,
    }


def metric(tweet_id: int, when: datetime, likes: int, key: str = "") -> dict[str, Any]:
    return {
        "tweet_id": tweet_id,
        "collected_at": when,
        "date_key": date_key(when),
        "like_count": likes,
        "retweet_count": 0,
        "record_key": key or record(f"f{when:%d%H}"),
    }


def entity(tweet_id: int, when: datetime, key: str = "", **columns: Any) -> dict[str, Any]:
    return {"tweet_id": tweet_id, "collected_at": when, "record_key": key or record(f"f{when:%d%H}"), **columns}


def not_found(tweet_id: int, when: datetime) -> dict[str, Any]:
    return {"tweet_id": tweet_id, "detected_at": when, "title": "Not Found Error", "detail": "gone"}


def snapshot(user_id: int, when: datetime, description: str, followers: int = 1, **profile: Any) -> dict[str, Any]:
    """A staged ``user_profile_snapshot`` / ``fact_user_daily`` row."""
    return {
        "user_id": user_id,
        "collected_at": when,
        "date_key": date_key(when),
        "username": f"user{user_id}",
        "name": f"User {user_id}",
        "description": description,
        "followers_count": followers,
        **profile,
    }


@dataclass
class Warehouse:
    """A migrated schema and a connection (autocommit) with its search_path."""

    conn: Any
    schema: str
    runs: list[str] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def open(cls, url: str, schema: str) -> Iterator[Warehouse]:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn, schema)
            conn.execute(f"SET search_path TO {schema}, public")
            yield cls(conn, schema)

    def merge(
        self,
        dataset: str,
        staged: dict[Staging, Sequence[dict[str, Any]]],
        *,
        files: Sequence[str] = (),
        full_refresh: bool = False,
        on_step: StepHook = no_step,
    ) -> str:
        """Stage ``staged`` (every kind the dataset reads; a kind not given is empty) and run the
        dataset's merge with ``files`` as its ledger entries. Returns the run id."""
        spec = dataset_spec(dataset)
        run_id = f"run{next(_runs):04d}"
        tables = {}
        for out in spec.outputs:
            table = f"stg_{dataset}_{out.kind}_{run_id}"
            columns = STAGED_COLUMNS[out.kind]
            create_staging_table(self.conn, self.schema, table, columns)
            rows = [tuple(row.get(c) for c in columns) for row in staged.get(out.kind, ())]
            unknown = {c for row in staged.get(out.kind, ()) for c in row} - set(columns)
            assert not unknown, f"{out.kind} has no column {unknown}"
            if rows:
                with self.conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {self.schema}.{table} VALUES ({', '.join(['%s'] * len(columns))})", rows
                    )
            tables[out.kind] = table
        entries = [LedgerEntry(path, date(2026, 11, 20), 1, 1, 0, 0) for path in files]
        run_merge(
            self.conn,
            spec.merge,
            schema=self.schema,
            dataset=dataset,
            run_id=run_id,
            started_at=datetime.now(UTC),
            staging=tables,
            entries=entries,
            full_refresh=full_refresh,
            on_step=on_step,
        )
        self.runs.append(run_id)
        return run_id

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, params).fetchall())

    def staging_tables(self) -> list[str]:
        return [
            name
            for (name,) in self.rows(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'stg%%'", (self.schema,)
            )
        ]


def content(wh: Warehouse, *, skip: Sequence[str] = ("etl_file_ledger", "etl_run", "schema_migrations")) -> dict:
    """Each table's row count and an md5 of its rows (sorted), but the run records."""
    tables = [
        name
        for (name,) in wh.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename NOT LIKE 'stg%%' ORDER BY 1",
            (wh.schema,),
        )
        if name not in skip
    ]
    return {
        table: wh.rows(f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t")[
            0
        ]
        for table in tables
    }
