"""Staging tables: each run's rows land in per-run UNLOGGED tables before the merge.

Three ways to fill them:

``files`` (the default where there is a shared folder: local Spark, or Glue's ``--TempDir``)
    Spark writes every staging frame as CSV files (rendered in the JVM: no Python per row) under
    the run's own work folder (a local folder, or the job's ``--TempDir`` on S3), and the driver
    streams the committed part files through ``COPY … FROM STDIN`` on two connections. A failed
    task's attempt never reaches the committed files; the folder is deleted afterwards.
``copy``
    Every Spark task renders its rows as CSV in the JVM (``to_csv``) and streams them with
    ``COPY … FROM STDIN`` over its own psycopg connection, one transaction per task. No work
    folder, but each row crosses into a Python worker (slower: see bench/README.md).
``jdbc``
    Spark's JDBC writer with ``reWriteBatchedInserts=true`` and a large ``batchsize``.

Either way the staging tables are only an input of the merge: the merge de-duplicates what it
reads, and nothing reaches the warehouse's tables or the ledger unless the merge commits.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from common.lake import Lake, LocalLake
from common.warehouse.db import DbTarget, check_identifier

# PostgreSQL types of the staged columns, by column name.
COLUMN_TYPES: dict[str, str] = {
    "user_id": "bigint",
    "tweet_id": "bigint",
    "author_id": "bigint",
    "conversation_id": "bigint",
    "in_reply_to_user_id": "bigint",
    "mentioned_user_id": "bigint",
    "referenced_tweet_id": "bigint",
    "latest_tweet_id": "bigint",
    "collected_at": "timestamptz",
    "created_at": "timestamptz",
    "account_created_at": "timestamptz",
    "detected_at": "timestamptz",
    "date_key": "integer",
    "verified": "boolean",
    "protected": "boolean",
    "possibly_sensitive": "boolean",
    "followers_count": "bigint",
    "following_count": "bigint",
    "tweet_count": "bigint",
    "listed_count": "bigint",
    "like_count": "bigint",
    "retweet_count": "bigint",
    "reply_count": "bigint",
    "quote_count": "bigint",
    "bookmark_count": "bigint",
    "impression_count": "bigint",
}
CSV_OPTIONS = {
    "escape": '"',
    "timestampFormat": "yyyy-MM-dd HH:mm:ss.SSSSSSXXX",
    "dateFormat": "yyyy-MM-dd",
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
}
_CHUNK_ROWS = 4000


def create_staging_table(conn: Any, schema: str, table: str, columns: Sequence[str]) -> None:
    check_identifier(schema)
    check_identifier(table)
    cols = ", ".join(f"{check_identifier(c)} {COLUMN_TYPES.get(c, 'text')}" for c in columns)
    conn.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
    conn.execute(f"CREATE UNLOGGED TABLE {schema}.{table} ({cols})")


def drop_staging_tables(conn: Any, schema: str, prefix: str) -> list[str]:
    """Drop every table of ``schema`` whose name starts with ``prefix`` (leftovers of crashed runs)."""
    check_identifier(schema)
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND starts_with(tablename, %s)", (schema, prefix)
    ).fetchall()
    for (name,) in rows:
        conn.execute(f"DROP TABLE IF EXISTS {schema}.{check_identifier(name)}")
    return [name for (name,) in rows]


def _copy_partition(url: str, statement: str) -> Any:
    def write(lines: Iterable[Any]) -> Iterator[int]:
        import psycopg

        count = 0
        with psycopg.connect(url, application_name="tweetlake-staging") as conn:
            conn.execute("SET synchronous_commit TO off")
            with conn.cursor() as cur, cur.copy(statement) as copy:
                chunk: list[str] = []
                for row in lines:
                    chunk.append(row[0])
                    if len(chunk) >= _CHUNK_ROWS:
                        copy.write("\n".join(chunk) + "\n")
                        count += len(chunk)
                        chunk.clear()
                if chunk:
                    copy.write("\n".join(chunk) + "\n")
                    count += len(chunk)
        yield count

    return write


def stage_copy(df: Any, target: DbTarget, schema: str, table: str, columns: Sequence[str]) -> int:
    """COPY ``df``'s ``columns`` into ``schema.table`` from the executors; returns the rows written."""
    import pyspark.sql.functions as F

    check_identifier(schema)
    check_identifier(table)
    statement = f"COPY {schema}.{table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    csv_df = df.select(F.to_csv(F.struct(*columns), CSV_OPTIONS).alias("line"))
    # mapPartitions + sum: an action whose only result is one count per task (never the data).
    counts = csv_df.rdd.mapPartitions(_copy_partition(target.url, statement)).collect()
    return int(sum(counts))


def _copy_tagged_partition(url: str, statements: dict[str, str], chunk_rows: int = _CHUNK_ROWS) -> Any:
    """A task of a union of tagged frames: all its rows belong to one staging table (UnionRDD keeps
    each child's partitions apart), so one connection and one COPY serve the whole task."""

    def write(rows: Iterable[Any]) -> Iterator[tuple[str, int]]:
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
    frames: dict[str, tuple[Any, Sequence[str], str]], target: DbTarget, schema: str, *, chunk_rows: int = _CHUNK_ROWS
) -> dict[str, int]:
    """COPY several frames into their staging tables in ONE Spark job; ``frames`` maps a kind to
    ``(df, columns, table)``. Returns the rows written per kind."""
    import functools

    import pyspark.sql.functions as F

    check_identifier(schema)
    statements = {
        kind: f"COPY {schema}.{check_identifier(table)} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
        for kind, (_, columns, table) in frames.items()
    }
    tagged = [
        df.select(F.lit(kind).alias("kind"), F.to_csv(F.struct(*columns), CSV_OPTIONS).alias("line"))
        for kind, (df, columns, _) in frames.items()
    ]
    union_df = functools.reduce(lambda a, b: a.unionAll(b), tagged)
    written = dict.fromkeys(frames, 0)
    for kind, count in union_df.rdd.mapPartitions(_copy_tagged_partition(target.url, statements, chunk_rows)).collect():
        written[kind] += count
    return written


def stage_jdbc(
    df: Any,
    target: DbTarget,
    schema: str,
    table: str,
    columns: Sequence[str],
    *,
    batch_size: int = 10_000,
    partitions: int | None = None,
) -> int:
    """Spark's JDBC writer (batched, rewritten multi-row inserts)."""
    out = df.select(*columns)
    if partitions:
        out = out.repartition(partitions)
    (
        out.write.format("jdbc")
        .option("url", target.jdbc_url)
        .option("dbtable", f"{schema}.{table}")
        .option("batchsize", batch_size)
        .option("isolationLevel", "NONE")
        .option("truncate", "true")
        .options(**target.jdbc_properties())
        .mode("append")
        .save()
    )
    return -1  # unknown without another pass; the merge counts what it reads


def stage(df: Any, target: DbTarget, schema: str, table: str, columns: Sequence[str], method: str = "copy") -> int:
    if method == "copy":
        return stage_copy(df, target, schema, table, columns)
    if method == "jdbc":
        return stage_jdbc(df, target, schema, table, columns)
    raise ValueError(f"unknown staging method {method!r} (copy or jdbc)")


def stage_files_many(
    frames: dict[str, tuple[Any, Sequence[str], str]], target: DbTarget, schema: str, work: Lake, *, threads: int = 2
) -> dict[str, int]:
    """Spark writes each frame as CSV files under ``work`` (a folder or an S3 prefix: JVM only, no
    Python per row), then the driver streams the files through ``COPY … FROM STDIN`` on ``threads``
    connections and deletes them. ``work`` must be a place for this run alone."""
    from concurrent.futures import ThreadPoolExecutor

    check_identifier(schema)
    jobs: list[tuple[str, str, str]] = []
    try:
        for kind, (df, columns, table) in frames.items():
            df.select(*columns).write.mode("overwrite").options(**CSV_OPTIONS).csv(work.hadoop_url(kind))
            statement = f"COPY {schema}.{check_identifier(table)} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
            jobs += [(kind, statement, key) for key in committed_parts(work, kind)]
        written = dict.fromkeys(frames, 0)
        with ThreadPoolExecutor(threads) as pool:
            for kind, rows in pool.map(lambda job: _copy_file(target, work, *job), jobs):
                written[kind] += rows
        return written
    finally:
        if isinstance(work, LocalLake):  # Hadoop's local writes leave .crc files beside the parts
            shutil.rmtree(work.root, ignore_errors=True)
        else:
            for obj in list(work.list("")):
                work.delete(obj.key)


def committed_parts(work: Lake, folder: str) -> list[str]:
    """The part files a Spark write committed to ``folder`` (not ``_temporary/`` attempts, not ``.crc``)."""
    prefix = f"{folder}/"
    return [
        obj.key
        for obj in work.list(prefix)
        if "/" not in obj.key[len(prefix) :] and obj.key[len(prefix) :].startswith("part-")
    ]


def _copy_file(target: DbTarget, work: Lake, kind: str, statement: str, key: str) -> tuple[str, int]:
    import psycopg

    with psycopg.connect(target.url, application_name="tweetlake-staging") as conn:
        conn.execute("SET synchronous_commit TO off")
        with conn.cursor() as cur, work.open_read(key) as f:
            with cur.copy(statement) as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
            return kind, max(cur.rowcount, 0)
