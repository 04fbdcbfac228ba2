"""Parquet out of PostgreSQL at the database's speed, in bounded memory.

Two readers feed the same writer (one Parquet row group per ``batch_rows`` rows, zstd, the
column types of :func:`arrow_type`):

- :class:`ArrowReader`: ADBC's PostgreSQL driver (``adbc-driver-postgresql``), which reads
  PostgreSQL's binary ``COPY`` straight into Arrow batches in C. It runs on connections of its own,
  joined to the export's REPEATABLE READ snapshot (``pg_export_snapshot``), so its files agree with
  the rest; a table is read in two halves of its pages at once (two backends decoding, two
  threads reading; ``bench/analytics_bench.py``). The ecosystem's path; used whenever the driver
  is installed.
- :func:`write_parquet_copy`: PostgreSQL's text ``COPY`` (CSV) parsed by Arrow's streaming CSV
  reader; the fallback without ADBC.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def arrow_type(pg_type: str) -> Any:
    """The Parquet (Arrow) type of a PostgreSQL column type (``format_type`` spelling)."""
    import pyarrow as pa

    base = pg_type.split("(")[0].strip()
    return {
        "bigint": pa.int64(),
        "integer": pa.int32(),
        "smallint": pa.int16(),
        "double precision": pa.float64(),
        "real": pa.float32(),
        "numeric": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
        "timestamp without time zone": pa.timestamp("us"),
    }.get(base, pa.string())


class _CopyStream(io.RawIOBase):
    """``COPY … TO STDOUT`` chunks as a readable binary stream (for Arrow's CSV reader)."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = bytes(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US'


def _csv_expression(name: str, pg_type: str) -> str:
    """How a column is spelled in the COPY feeding Parquet: timestamps as ISO 8601 in UTC with a Z
    (which Arrow parses as UTC instants), everything else as PostgreSQL writes it."""
    quoted = f'"{name}"'
    if pg_type.startswith("timestamp with time zone"):
        return f"to_char({quoted} AT TIME ZONE 'UTC', '{_ISO}\"Z\"') AS {quoted}"
    if pg_type.startswith("timestamp without time zone"):
        return f"to_char({quoted}, '{_ISO}') AS {quoted}"
    return quoted


def write_parquet_copy(
    conn: Any,
    sql: str,
    params: dict[str, Any],
    columns: list[tuple[str, str]],
    path: Path,
    batch_rows: int,
    plain: frozenset[str] = frozenset(),
) -> int:
    """PostgreSQL's COPY (CSV) parsed by Arrow's streaming CSV reader (C++, typed by the column
    contract): no Python object per value."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrow_schema = pa.schema([pa.field(name, arrow_type(pg_type)) for name, pg_type in columns])
    names = [name for name, _ in columns]
    select = ", ".join(_csv_expression(name, pg_type) for name, pg_type in columns)
    statement = f"COPY (SELECT {select} FROM ({sql}) AS r) TO STDOUT (FORMAT csv)"
    with conn.cursor() as cur, cur.copy(statement, params or None) as copy:
        chunks = iter(copy)
        first = next(chunks, None)
        if first is None:  # no rows: the file is the schema alone
            return _write_batches([], arrow_schema, path, batch_rows, plain)
        reader = pacsv.open_csv(
            io.BufferedReader(_CopyStream(itertools.chain([first], chunks)), buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=arrow_schema,
                null_values=[""],
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        return _write_batches(reader, arrow_schema, path, batch_rows, plain)


def plain_columns(conn: Any, schema: str, relation: str) -> frozenset[str]:
    """A table's columns that are mostly distinct values by PostgreSQL's statistics (``pg_stats``:
    more than 5 % distinct, or over 100,000 values): dictionary encoding would only be built and
    thrown away for every row group (free text, ids, times), which costs more than the rest of the
    write. Views have no statistics: every column keeps its dictionary."""
    rows = conn.execute(
        "SELECT attname FROM pg_stats WHERE schemaname = %s AND tablename = %s"
        " AND (n_distinct < -0.05 OR n_distinct > 100000)",
        (schema, relation),
    ).fetchall()
    return frozenset(r[0] for r in rows)


def _write_batches(
    batches: Iterable[Any], arrow_schema: Any, path: Path, batch_rows: int, plain: frozenset[str] = frozenset()
) -> int:
    """``batches`` as one Parquet file, exactly ``batch_rows`` rows a row group; returns the rows.
    Columns in ``plain`` are written without dictionary encoding (see :func:`plain_columns`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    pending: list[Any] = []
    pending_rows = 0
    dictionary = [f.name for f in arrow_schema if f.name not in plain]
    with pq.ParquetWriter(path, arrow_schema, compression="zstd", use_dictionary=dictionary) as writer:
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= batch_rows:
                table = pa.Table.from_batches(pending, schema=arrow_schema)
                writer.write_table(table.slice(0, batch_rows), row_group_size=batch_rows)
                rest = table.slice(batch_rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
                rows += batch_rows
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending, schema=arrow_schema), row_group_size=batch_rows)
            rows += pending_rows
    return rows


def _adbc_expression(name: str, pg_type: str) -> str:
    """How a column is read through ADBC: typed columns as they are (the driver maps them to the
    same Arrow types), ``numeric`` as float8, anything else (json, arrays, intervals) as text."""
    import pyarrow as pa

    quoted = f'"{name}"'
    base = pg_type.split("(")[0].strip()
    if base == "numeric":
        return f"{quoted}::float8 AS {quoted}"
    if arrow_type(pg_type) == pa.string() and base not in ("text", "character varying"):
        return f"{quoted}::text AS {quoted}"
    return quoted


class ArrowReader:
    """ADBC connections reading in the snapshot of ``conn``'s open REPEATABLE READ transaction: one
    per part of a table read in parallel (see :meth:`write`)."""

    def __init__(self, connections: list[Any]) -> None:
        self._connections = connections
        self._cursors = [c.cursor() for c in connections]

    @property
    def readers(self) -> int:
        return len(self._connections)

    @classmethod
    def join(cls, conn: Any, readers: int = 2) -> ArrowReader | None:
        """``readers`` connections in ``conn``'s snapshot (``conn`` is inside its transaction);
        ``None`` when the ADBC driver is not installed."""
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError:
            return None
        from psycopg.conninfo import make_conninfo

        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        password = conn.info.password
        conninfo = make_conninfo(conn.info.dsn, **({"password": password} if password else {}))
        reader = cls([])
        try:
            for _ in range(max(1, readers)):
                connection = adbc.connect(conninfo)  # autocommit off: the driver opens a transaction
                reader._connections.append(connection)
                cursor = connection.cursor()
                reader._cursors.append(cursor)
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        except BaseException:
            reader.close()
            raise
        return reader

    def close(self) -> None:
        for cursor, connection in zip(self._cursors, self._connections, strict=False):
            try:
                cursor.close()
                connection.rollback()
            finally:
                connection.close()

    def write(
        self,
        conn: Any,
        parts: list[str],
        params: dict[str, Any],
        columns: list[tuple[str, str]],
        path: Path,
        batch_rows: int,
        plain: frozenset[str] = frozenset(),
    ) -> int:
        """The rows of the ``parts`` (SELECTs with psycopg's parameters, rendered by ``conn``; at most
        one per connection, read at once) into ``path``, in the order their batches arrive."""
        import psycopg
        import pyarrow as pa

        assert 0 < len(parts) <= self.readers, "one part a connection"
        arrow_schema = pa.schema([pa.field(name, arrow_type(pg_type)) for name, pg_type in columns])
        select = ", ".join(_adbc_expression(name, pg_type) for name, pg_type in columns)
        streams = []
        for cursor, sql in zip(self._cursors, parts, strict=False):
            query = f"SELECT {select} FROM ({sql}) AS r"
            if params:
                query = psycopg.ClientCursor(conn).mogrify(query, params)
            with _database_errors():
                cursor.execute(query)
                streams.append(cursor.fetch_record_batch())

        def typed() -> Iterator[Any]:
            for batch in _read_ahead(streams):
                if batch.schema.types == arrow_schema.types:
                    yield pa.RecordBatch.from_arrays(batch.columns, schema=arrow_schema)
                else:
                    yield from pa.Table.from_batches([batch]).cast(arrow_schema).to_batches()

        return _write_batches(typed(), arrow_schema, path, batch_rows, plain)


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """ADBC's errors (and Arrow's, reading its stream) as psycopg's, which the command's boundary
    reports as the database's: one error type for a failed query, whichever reader ran it."""
    import adbc_driver_manager
    import psycopg

    try:
        yield
    except (adbc_driver_manager.Error, OSError) as err:
        text = str(err)
        message = text.split("ERROR: ", 1)[-1].strip().splitlines()[0] if text.strip() else type(err).__name__
        raise psycopg.DatabaseError(message) from err


_DONE = object()


def _read_ahead(streams: list[Any], depth: int = 2) -> Iterator[Any]:
    """The streams' batches, read by a thread each up to ``depth`` batches ahead (in all) while this
    one encodes and compresses the last (all release the GIL): the export takes about as long as
    the slowest of them, not their sum, and holds at most ``depth`` + one batch a stream. The
    streams read from the database as they go: their errors are the database's."""
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(stream: Any) -> None:
        try:
            with _database_errors():
                for batch in stream:
                    if not put(batch):
                        return
            put(_DONE)
        except BaseException as err:  # handed to the consumer, raised there
            put(err)

    readers = [
        threading.Thread(target=read, args=(stream,), name=f"tweetlake-export-read-{i}", daemon=True)
        for i, stream in enumerate(streams)
    ]
    for reader in readers:
        reader.start()
    try:
        running = len(readers)
        while running:
            item = ahead.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        for reader in readers:
            reader.join()
