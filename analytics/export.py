"""``tweetlake export``: the star schema and the views as Parquet or CSV files, with a manifest.

Every relation streams: CSV through PostgreSQL's own ``COPY (…) TO STDOUT`` as it arrives;
Parquet through ADBC's binary COPY into Arrow (:mod:`analytics.parquet`), each :data:`BATCH_ROWS`
rows one row group; nothing holds a whole table. Parquet columns keep the warehouse's types:
ids are int64, timestamps are UTC instants (``timestamp[us, tz=UTC]``), dates are dates, booleans
booleans; ``numeric`` (ratios in the views) becomes float64. All relations are read in one
REPEATABLE READ snapshot, so the files agree with each other.

``--since DAY`` keeps rows of that UTC day or later: by ``date_key`` where a relation has one, by
the tweet's day (``fact_tweet.date_key``) where it has a ``tweet_id`` but no day (the entity
bridges); dimensions and the ledger are exported whole. The manifest says which filter each got.

The manifest is the commit (see :func:`export`): removed first, written last with each file's
rows and SHA-256. An ``s3://bucket/prefix`` destination is written file by file through a local
temporary file (boto3 uploads it in parts). CSV cells that would run as spreadsheet formulas are
neutralised unless asked not to (:func:`_csv_select`; docs/analysts.md says why).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from analytics.parquet import ArrowReader, arrow_type, plain_columns, write_parquet_copy
from common.lake import Lake, LakeError, LocalLake
from common.warehouse.db import check_identifier

BATCH_ROWS = 50_000
FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"

TABLES: tuple[str, ...] = (
    "dim_date",
    "dim_user",
    "fact_user_daily",
    "fact_tweet",
    "fact_tweet_metrics",
    "tweet_hashtag",
    "tweet_cashtag",
    "tweet_mention",
    "tweet_url",
    "tweet_reference",
    "tweet_deletion",
    "tweet_edit_link",
    "etl_file_ledger",
    "etl_run",
)
VIEWS: tuple[str, ...] = (
    "v_user_current",
    "v_user_growth",
    "v_tweet_latest_metrics",
    "v_tweet_engagement",
    "v_engagement_by_type",
    "v_posting_activity",
    "v_tweet_entity",
    "v_entity_daily",
    "v_tweet_metric_curve",
    "v_tweet_metric_milestones",
    "v_metric_growth_share",
    "v_sentiment_daily",
)
DEFAULT_RELATIONS = TABLES + VIEWS


class ExportError(ValueError):
    """An export that cannot run as asked (an unknown relation, a bad destination)."""


@dataclass
class ExportedFile:
    table: str
    file: str
    rows: int
    bytes: int
    sha256: str
    seconds: float
    filter: str
    schema: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ExportResult:
    destination: str
    format: str
    files: list[ExportedFile]
    manifest: str

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def _columns(conn: Any, schema: str, relation: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (schema, relation),
    ).fetchall()
    return [(name, pg_type) for name, pg_type in rows]


def _select(schema: str, relation: str, columns: Sequence[str], since: date | None) -> tuple[str, str, dict[str, Any]]:
    """The relation's SELECT, the filter it got (for the manifest), and its parameters."""
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"SELECT {cols} FROM {schema}.{relation}"
    if since is None:
        return sql, "none", {}
    key = int(since.strftime("%Y%m%d"))
    if "date_key" in columns:
        return f"{sql} WHERE date_key >= %(since)s", f"date_key >= {key}", {"since": key}
    if "tweet_id" in columns and relation != "fact_tweet":
        return (
            f"{sql} WHERE tweet_id IN (SELECT tweet_id FROM {schema}.fact_tweet WHERE date_key >= %(since)s)",
            f"tweet_id of fact_tweet.date_key >= {key}",
            {"since": key},
        )
    return sql, "none (no day column)", {}


def _page_halves(conn: Any, schema: str, relation: str, sql: str) -> list[str]:
    """A plain table's SELECT as two, each reading half of its pages (a TID range scan: no page
    read twice, no row left out); a view, or a table of a page or none, as itself."""
    kind, pages = conn.execute(
        "SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::int FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, relation),
    ).fetchone()
    if kind != "r" or pages < 2:
        return [sql]
    head, _, condition = sql.partition(" WHERE ")  # the relation's own filter (``_select``), kept whole
    where = f" WHERE ({condition}) AND" if condition else " WHERE"
    half = f"'({pages // 2},0)'::tid"
    return [f"{head}{where} ctid < {half}", f"{head}{where} ctid >= {half}"]


def _csv_select(sql: str, columns: list[tuple[str, str]], neutralise: bool) -> str:
    """The relation's SELECT for CSV: with ``neutralise``, every text cell a spreadsheet would run
    as a formula (OWASP's rule: it starts with ``=``, ``+``, ``-``, ``@``, a tab or a CR) gets a
    leading ``'``, which spreadsheets show as text. Typed columns (numbers, days, times) are left
    as they are: a negative number is a number, not a formula."""
    if not neutralise or not any(_is_text(t) for _, t in columns):
        return sql
    exprs = []
    for name, pg_type in columns:
        quoted = f'"{name}"'
        if _is_text(pg_type):
            exprs.append(
                f"CASE WHEN ascii({quoted}::text) IN (9, 13, 43, 45, 61, 64)"  # tab, CR, +, -, =, @
                f" THEN chr(39) || {quoted}::text ELSE {quoted}::text END AS {quoted}"
            )
        else:
            exprs.append(quoted)
    return f"SELECT {', '.join(exprs)} FROM ({sql}) AS r"


def _is_text(pg_type: str) -> bool:
    import pyarrow as pa

    return bool(arrow_type(pg_type) == pa.string())


def _write_csv(conn: Any, sql: str, params: dict[str, Any], path: Path) -> int:
    with path.open("wb") as out, conn.cursor() as cur:
        cur.execute("SET LOCAL TimeZone TO 'UTC'")  # timestamps in UTC, spelled +00
        with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)", params or None) as copy:
            for chunk in copy:
                out.write(chunk)
        return int(cur.rowcount)  # COPY's own count (its command tag), whatever newlines the values hold


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how (``tweetlake export``'s options)."""

    fmt: str = "parquet"
    relations: Sequence[str] = DEFAULT_RELATIONS
    since: date | None = None
    neutralise_formulas: bool = True
    """CSV only: prefix cells that start like a formula with ``'`` (see :func:`_csv_select`)."""
    batch_rows: int = BATCH_ROWS
    use_adbc: bool = True
    """Parquet: read through ADBC's PostgreSQL driver when it is installed (else text COPY)."""


def export(
    conn: Any, schema: str, destination: str, options: ExportOptions | None = None, *, s3_client: Any = None
) -> ExportResult:
    """Write each relation to ``<destination>/<relation>.<fmt>`` and then the manifest.

    The manifest is the commit: the old one is removed before anything is written, each file
    appears whole (written beside, then renamed or uploaded), and the new manifest, with each
    file's rows and SHA-256, is written last. A reader that finds a manifest can trust every file
    it lists; an export that fails half-way leaves no manifest. ``destination``: a folder,
    ``file:///absolute/path`` or ``s3://bucket/prefix``; a folder that cannot be written raises
    :class:`~common.lake.LakeError`."""
    opts = options or ExportOptions()
    check_identifier(schema)
    if opts.fmt not in FORMATS:
        raise ExportError(f"unknown format {opts.fmt!r} (parquet or csv)")
    for relation in opts.relations:
        check_identifier(relation)
    lake = Lake.from_uri(destination, s3_client=s3_client)
    try:
        return _export(conn, schema, lake, opts)
    except OSError as err:  # the local destination (or the temporary folder) failed
        raise LakeError(f"cannot write the export to {lake.url('')}: {err.strerror or err}") from err


def _export(conn: Any, schema: str, lake: Lake, opts: ExportOptions) -> ExportResult:
    lake.delete(MANIFEST)  # from here until the new manifest, the folder holds no promise
    if isinstance(lake, LocalLake):
        lake.root.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=".tweetlake-export-", dir=lake.root if isinstance(lake, LocalLake) else None)
    )
    files: list[ExportedFile] = []
    started = datetime.now(UTC)
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            known = {
                r[0]
                for r in conn.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p')",
                    (schema,),
                ).fetchall()
            }
            missing = [r for r in opts.relations if r not in known]
            if missing:
                raise ExportError(f"no such table or view in schema {schema}: {', '.join(missing)}")
            arrow = ArrowReader.join(conn) if opts.fmt == "parquet" and opts.use_adbc else None
            try:
                for relation in opts.relations:
                    files.append(_export_one(conn, schema, relation, lake, staging, opts, arrow))
            finally:
                if arrow is not None:
                    arrow.close()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = {
        "format": opts.fmt,
        "schema": schema,
        "since": opts.since.isoformat() if opts.since else None,
        "csv_formulas": ("neutralised" if opts.neutralise_formulas else "raw") if opts.fmt == "csv" else None,
        "exported_at": started.isoformat().replace("+00:00", "Z"),
        "finished_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tables": [asdict(f) for f in files],
    }
    lake.put_bytes(MANIFEST, json.dumps(manifest, indent=2).encode())
    manifest_at = str(lake.root / MANIFEST) if isinstance(lake, LocalLake) else lake.url(MANIFEST)
    return ExportResult(destination=lake.url(""), format=opts.fmt, files=files, manifest=manifest_at)


def _export_one(
    conn: Any, schema: str, relation: str, lake: Lake, staging: Path, opts: ExportOptions, arrow: ArrowReader | None
) -> ExportedFile:
    columns = _columns(conn, schema, relation)
    sql, applied, params = _select(schema, relation, [c for c, _ in columns], opts.since)
    name = f"{relation}.{opts.fmt}"
    path = staging / name
    clock = time.perf_counter()
    if opts.fmt == "parquet":
        if arrow is not None:
            parts = _page_halves(conn, schema, relation, sql) if arrow.readers > 1 else [sql]
            rows = arrow.write(
                conn, parts, params, columns, path, opts.batch_rows, plain_columns(conn, schema, relation)
            )
        else:
            rows = write_parquet_copy(
                conn, sql, params, columns, path, opts.batch_rows, plain_columns(conn, schema, relation)
            )
    else:
        rows = _write_csv(conn, _csv_select(sql, columns, opts.neutralise_formulas), params, path)
    size = path.stat().st_size
    digest = sha256_of(path)
    if isinstance(lake, LocalLake):
        os.replace(path, lake.root / name)  # the same folder: a rename, whole or not at all
    else:
        lake.put_file(name, path)
        path.unlink()
    return ExportedFile(
        table=relation,
        file=name,
        rows=rows,
        bytes=size,
        sha256=digest,
        seconds=round(time.perf_counter() - clock, 3),
        filter=applied,
        schema=[
            {"name": c, "postgres": t, **({"parquet": str(arrow_type(t))} if opts.fmt == "parquet" else {})}
            for c, t in columns
        ],
    )
