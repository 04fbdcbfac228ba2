"""Staging tables: each run's rows land in per-run UNLOGGED tables before the merge.

Three ways to fill them (``--staging-method``; ``auto`` picks ``files`` where there is a shared folder):

``files`` (local Spark, or Glue's ``--TempDir``)
    Spark writes every staging frame as CSV files (rendered in the JVM: no Python per row) under
    the run's own work folder (a local folder, or the job's ``--TempDir`` on S3), and the driver
    streams the committed part files of each frame through ``COPY … FROM STDIN`` (on two
    connections) while Spark writes the next frame. A failed task's attempt never reaches the
    committed files; the folder is deleted afterwards.
``copy``
    Every Spark task renders its rows as CSV in the JVM (``to_csv``) and streams them with
    ``COPY … FROM STDIN`` over its own psycopg connection, one transaction per task. No work
    folder, but each row crosses into a Python worker (slower: see bench/README.md).
``jdbc``
    Spark's JDBC writer with ``reWriteBatchedInserts=true`` and a large ``batchsize``.

Each method calls ``on_staged(kind, rows)`` once a kind's table holds all its rows (``rows`` is
``-1`` where the method cannot count): the job's merge begins on the first tables while Spark
still writes the others (``glue_jobs/staged.py``).

Every table's columns and their types are the contract of ``common/warehouse/columns.py``.
Either way the staging tables are only an input of the merge: the merge de-duplicates what it
reads, and nothing reaches the warehouse's tables or the ledger unless the merge commits.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from common.lake import Lake, LocalLake
from common.warehouse.columns import column_type
from common.warehouse.db import DbTarget, check_identifier

if TYPE_CHECKING:  # pyspark is an extra: cmd_job imports this module for its choices
    from pyspark.sql import DataFrame, Row

STAGING_METHODS: tuple[str, ...] = ("auto", "files", "copy", "jdbc")
CSV_OPTIONS = {
    "escape": '"',
    "timestampFormat": "yyyy-MM-dd HH:mm:ss.SSSSSSXXX",
    "dateFormat": "yyyy-MM-dd",
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
}
_CHUNK_ROWS = 4000

K = TypeVar("K", bound=str)  # a staging kind (``common.warehouse.columns.Staging``, or any name)
OnStaged = Callable[[Any, int], None]
"""Called with a kind and its row count (``-1``: not counted) once the kind's table is full."""


def _nothing(_kind: Any, _rows: int) -> None:
    """The default :data:`OnStaged`."""


class StagingFrame(NamedTuple):
    """A frame bound for one staging table: its ``columns`` (in this order) go to ``table``."""

    df: DataFrame
    columns: Sequence[str]
    table: str


def create_staging_table(conn: Any, schema: str, table: str, columns: Sequence[str]) -> None:
    check_identifier(schema)
    check_identifier(table)
    cols = ", ".join(f"{check_identifier(c)} {column_type(c)}" for c in columns)
    conn.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
    # autovacuum off: an analyze of a freshly filled staging table holds a lock that the merge's
    # DROP waits on until the deadlock timeout (1 s) cancels it, for each table (bench/merge_bench.py)
    conn.execute(f"CREATE UNLOGGED TABLE {schema}.{table} ({cols}) WITH (autovacuum_enabled = false)")


def drop_staging_tables(conn: Any, schema: str, prefix: str) -> list[str]:
    """Drop every table of ``schema`` whose name starts with ``prefix`` (leftovers of crashed runs)."""
    check_identifier(schema)
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND starts_with(tablename, %s)", (schema, prefix)
    ).fetchall()
    for (name,) in rows:
        conn.execute(f"DROP TABLE IF EXISTS {schema}.{check_identifier(name)}")
    return [name for (name,) in rows]


STAGE_DIR_PREFIX = "tweetlake-stage-"


def new_work_dir() -> Path:
    """A fresh local folder for one run's ``files`` staging, named after this process
    (``tweetlake-stage-<pid>-…``) so that a later run can tell a dead run's leftovers."""
    return Path(tempfile.mkdtemp(prefix=f"{STAGE_DIR_PREFIX}{os.getpid()}-"))


def remove_stale_work_dirs(root: Path | None = None, *, max_age_without_owner: float = 86_400) -> list[Path]:
    """Delete the staging folders of runs that are gone: a killed job leaves its CSV files behind
    (18 MB in one case). A folder names its process; one without a name (older versions) goes when
    it is a day old. Returns what was removed."""
    base = root or Path(tempfile.gettempdir())
    removed: list[Path] = []
    for folder in base.glob(f"{STAGE_DIR_PREFIX}*"):
        owner = folder.name[len(STAGE_DIR_PREFIX) :].split("-", 1)[0]
        try:
            if owner.isdigit():
                if _is_alive(int(owner)):
                    continue
            elif time.time() - folder.stat().st_mtime < max_age_without_owner:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def drop_orphaned_staging_tables(conn: Any, schema: str, owners: Mapping[str, int]) -> list[str]:
    """Drop the staging tables of every run that is gone: ``owners`` maps a table prefix to the
    advisory lock its runs hold; a lock nobody holds means no run of that job is alive, and its
    tables (UNLOGGED, left by a killed run) are dropped. Returns the tables dropped."""
    dropped: list[str] = []
    for prefix, key in owners.items():
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            try:
                dropped += drop_staging_tables(conn, schema, prefix)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    return dropped


def copy_statement(schema: str, table: str, columns: Sequence[str]) -> str:
    """``COPY schema.table (columns) FROM STDIN`` for CSV rendered with :data:`CSV_OPTIONS`."""
    names = ", ".join(check_identifier(c) for c in columns)
    return f"COPY {check_identifier(schema)}.{check_identifier(table)} ({names}) FROM STDIN (FORMAT csv)"


def _copy_tagged_partition(
    url: str, statements: Mapping[str, str], chunk_rows: int = _CHUNK_ROWS
) -> Callable[[Iterable[Row]], Iterator[tuple[str, int]]]:
    """A task of a union of tagged frames: all its rows belong to one staging table (UnionRDD keeps
    each child's partitions apart), so one connection and one COPY serve the whole task."""

    def write(rows: Iterable[Row]) -> Iterator[tuple[str, int]]:
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return
        import psycopg

        kind = first[0]
        count = 0
        with psycopg.connect(url, application_name="tweetlake-staging") as conn:
            conn.execute("SET synchronous_commit TO off")
            with conn.cursor() as cur, cur.copy(statements[kind]) as copy:
                chunk: list[str] = [first[1]]
                for row in iterator:
                    if row[0] != kind:  # never happens with a union; refuse rather than misfile rows
                        raise RuntimeError("a staging task received rows of two tables")
                    chunk.append(row[1])
                    if len(chunk) >= chunk_rows:
                        copy.write("\n".join(chunk) + "\n")
                        count += len(chunk)
                        chunk.clear()
                if chunk:  # an empty write would be an empty line: a row with no columns
                    copy.write("\n".join(chunk) + "\n")
                    count += len(chunk)
        yield kind, count

    return write


def stage_copy_many(
    frames: Mapping[K, StagingFrame],
    target: DbTarget,
    schema: str,
    *,
    chunk_rows: int = _CHUNK_ROWS,
    on_staged: OnStaged = _nothing,
) -> dict[K, int]:
    """``copy``: COPY several frames into their staging tables from the Spark tasks, in ONE Spark
    job; ``frames`` maps a kind to its frame. Returns the rows written per kind."""
    import pyspark.sql.functions as F

    statements: dict[str, str] = {kind: copy_statement(schema, f.table, f.columns) for kind, f in frames.items()}
    tagged = [
        frame.df.select(F.lit(kind).alias("kind"), F.to_csv(F.struct(*frame.columns), CSV_OPTIONS).alias("line"))
        for kind, frame in frames.items()
    ]
    union_df = functools.reduce(lambda a, b: a.unionAll(b), tagged)
    written = dict.fromkeys(frames, 0)
    kind_of = {str(kind): kind for kind in frames}  # the tasks report a kind by its name
    # mapPartitions + collect: an action whose only result is one count per task (never the data).
    for name, count in union_df.rdd.mapPartitions(_copy_tagged_partition(target.url, statements, chunk_rows)).collect():
        written[kind_of[name]] += count
    for kind, count in written.items():  # one Spark job: every table is full at once
        on_staged(kind, count)
    return written


def stage_jdbc_many(
    frames: Mapping[K, StagingFrame],
    target: DbTarget,
    schema: str,
    *,
    batch_size: int = 10_000,
    partitions: int | None = None,
    on_staged: OnStaged = _nothing,
) -> dict[K, int]:
    """``jdbc``: Spark's JDBC writer (batched, rewritten multi-row inserts). It reports no count
    (``-1``) without another pass; the merge counts what it reads."""
    check_identifier(schema)
    for kind, frame in frames.items():
        out = frame.df.select(*frame.columns)
        if partitions:
            out = out.repartition(partitions)
        (
            out.write.format("jdbc")
            .option("url", target.jdbc_url)
            .option("dbtable", f"{schema}.{check_identifier(frame.table)}")
            .option("batchsize", batch_size)
            .option("isolationLevel", "NONE")
            .option("truncate", "true")
            .options(**target.jdbc_properties())
            .mode("append")
            .save()
        )
        on_staged(kind, -1)
    return dict.fromkeys(frames, -1)


def stage_files_many(
    frames: Mapping[K, StagingFrame],
    target: DbTarget,
    schema: str,
    work: Lake,
    *,
    threads: int = 2,
    later_lanes: int | None = None,
    on_staged: OnStaged = _nothing,
) -> dict[K, int]:
    """``files``: Spark writes each frame as CSV files under ``work`` (a folder or an S3 prefix: JVM
    only, no Python per row), and the driver streams each frame's files through ``COPY … FROM STDIN``
    on ``threads`` connections as soon as the frame is written, while Spark writes the next one;
    then deletes them. ``work`` must be a place for this run alone. A kind is reported staged (in
    the frames' order) as soon as its last file is in; a failed COPY stops the writes that follow.

    ``later_lanes``: the frames after the first are written by that many Spark tasks and COPYed on
    as many connections (``threads`` at most). They are staged beside the merge, and on one machine (local Spark, the
    embedded database) a merge that shares every core with them took 4 % longer (bench/README.md)."""
    written = dict.fromkeys(frames, 0)
    try:
        with (
            ThreadPoolExecutor(threads) as first_pool,
            ThreadPoolExecutor(min(later_lanes or threads, threads)) as later_pool,
            ThreadPoolExecutor(1) as finisher,
        ):
            finished: list[Future[tuple[K, int]]] = []
            for kind, frame in frames.items():
                for done in finished:
                    if done.done() and done.exception() is not None:
                        done.result()  # raises: no point writing more
                df, pool = frame.df, first_pool
                if finished and later_lanes:
                    df, pool = df.coalesce(later_lanes), later_pool
                df.select(*frame.columns).write.mode("overwrite").options(**CSV_OPTIONS).csv(work.hadoop_url(kind))
                statement = copy_statement(schema, frame.table, frame.columns)
                copies = [pool.submit(_copy_file, target, work, statement, key) for key in committed_parts(work, kind)]
                finished.append(finisher.submit(_finish, kind, copies, on_staged))
            for done in finished:
                kind, rows = done.result()
                written[kind] = rows
        return written
    finally:
        if isinstance(work, LocalLake):  # Hadoop's local writes leave .crc files beside the parts
            shutil.rmtree(work.root, ignore_errors=True)
        else:
            for obj in list(work.list("")):
                work.delete(obj.key)


def _finish(kind: K, copies: Sequence[Future[int]], on_staged: OnStaged) -> tuple[K, int]:
    """A kind's rows once all its files are in (the first failed COPY raises)."""
    rows = sum(copy.result() for copy in copies)
    on_staged(kind, rows)
    return kind, rows


def committed_parts(work: Lake, folder: str) -> list[str]:
    """The part files a Spark write committed to ``folder`` (not ``_temporary/`` attempts, not ``.crc``)."""
    prefix = f"{folder}/"
    return [
        obj.key
        for obj in work.list(prefix)
        if "/" not in obj.key[len(prefix) :] and obj.key[len(prefix) :].startswith("part-")
    ]


def _copy_file(target: DbTarget, work: Lake, statement: str, key: str) -> int:
    import psycopg

    with psycopg.connect(target.url, application_name="tweetlake-staging") as conn:
        conn.execute("SET synchronous_commit TO off")
        with conn.cursor() as cur, work.open_read(key) as f:
            with cur.copy(statement) as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
            return max(cur.rowcount, 0)
