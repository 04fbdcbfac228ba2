"""One warehouse load, in the steps every entry script shows: plan, read, transform, load.

:class:`WarehouseJob` holds a run's state: the advisory lock (two runs of the same job never
overlap), the files to read (lake files not yet in ``etl_file_ledger``), and the staging tables.
:func:`run_job` chains the steps for the ``tweetlake job`` command, the demo and the tests.

Which ``dt=`` partitions are listed: every partition newer than the newest one already loaded
minus a safety window (ingestion runs that cross midnight still publish into the day they
started, so recent partitions can gain files), and every partition with no loaded file at all
(a backfill). Older, already loaded partitions are not listed again — a file added to one later
is not read until a run with a wider ``safety_window_days`` (or ``full_refresh``, which lists
all); the run summary says how many partitions it did not list, the log which window reaches them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from common.lake import Lake
from common.layout import check_dataset, new_run_id, parse_raw_key, quarantine_prefix, raw_prefix
from common.warehouse.db import DEFAULT_SCHEMA, DbTarget, check_identifier
from common.warehouse.merge import LedgerEntry, run_merge
from common.warehouse.migrate import ensure_migrated, lock_key
from common.warehouse.staging import (
    create_staging_table,
    drop_staging_tables,
    stage,
    stage_copy_many,
    stage_files_many,
)

log = logging.getLogger("tweetlake.glue")

SAFETY_WINDOW_DAYS = 2


@dataclass
class JobSummary:
    dataset: str
    run_id: str
    full_refresh: bool = False
    partitions_listed: int = 0
    partitions_skipped: int = 0
    files: int = 0
    rows_loaded: int = 0  # data records; API error records are counted apart
    rows_api_errors: int = 0
    rows_quarantined: int = 0
    staged: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    migrations_applied: list[int] = field(default_factory=list)

    def describe(self) -> str:
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
        staged = ", ".join(f"{k}={v}" for k, v in self.staged.items())
        return (
            f"{self.dataset} run {self.run_id}: {self.files} new file(s) in {self.partitions_listed} partition(s), "
            f"{self.rows_loaded} row(s) loaded, {self.rows_api_errors} API error record(s), "
            f"{self.rows_quarantined} quarantined"
            + (f"; {self.partitions_skipped} older loaded partition(s) not listed" if self.partitions_skipped else "")
            + (f"; staged {staged}" if staged else "")
            + (f"; {phases}" if phases else "")
            + (" (full refresh)" if self.full_refresh else "")
        )


@dataclass(frozen=True)
class PlannedFile:
    key: str
    dt: date
    size: int


@dataclass(frozen=True)
class Output:
    """A transformed frame bound for one staging table."""

    df: Any
    columns: tuple[str, ...]


def _dataset_spec(dataset: str) -> tuple[Any, Callable[[Any], dict[str, Output]]]:
    """The raw data schema and the transform producing the staging outputs of ``dataset``."""
    from glue_jobs.transforms import tweets as tw
    from glue_jobs.transforms import users as us

    if dataset == "users":

        def users_outputs(parsed_df: Any) -> dict[str, Output]:
            return {"user": Output(us.user_snapshots(parsed_df), us.USER_SNAPSHOT_COLUMNS)}

        return us.USER_SCHEMA, users_outputs

    if dataset == "tweets":

        def tweets_outputs(parsed_df: Any) -> dict[str, Output]:
            tweets_df = parsed_df.transform(tw.with_tweet_keys)
            return {
                "tweet": Output(tweets_df.transform(tw.tweet_rows), tw.TWEET_COLUMNS),
                "metric": Output(tweets_df.transform(tw.metric_snapshots), tw.METRIC_COLUMNS),
                "hashtag": Output(tweets_df.transform(tw.explode_hashtags), tw.HASHTAG_COLUMNS),
                "cashtag": Output(tweets_df.transform(tw.explode_cashtags), tw.HASHTAG_COLUMNS),
                "mention": Output(tweets_df.transform(tw.explode_mentions), tw.MENTION_COLUMNS),
                "url": Output(tweets_df.transform(tw.explode_urls), tw.URL_COLUMNS),
                "reference": Output(tweets_df.transform(tw.explode_references), tw.REFERENCE_COLUMNS),
                "edit_link": Output(tweets_df.transform(tw.explode_edit_links), tw.EDIT_LINK_COLUMNS),
            }

        return tw.TWEET_SCHEMA, tweets_outputs

    def metrics_outputs(parsed_df: Any) -> dict[str, Output]:
        tweets_df = parsed_df.transform(tw.with_tweet_keys)
        return {
            "metric": Output(tweets_df.transform(tw.metric_snapshots), tw.METRIC_COLUMNS),
            "edit_link": Output(tweets_df.transform(tw.explode_edit_links), tw.EDIT_LINK_COLUMNS),
            "deletion": Output(parsed_df.transform(tw.deleted_tweets), tw.DELETION_COLUMNS),
        }

    return tw.TWEET_SCHEMA, metrics_outputs


class WarehouseJob:
    """A run of one dataset's job. Use as a context manager: it holds the job's advisory lock."""

    def __init__(
        self,
        dataset: str,
        lake: Lake,
        target: DbTarget,
        *,
        schema: str = DEFAULT_SCHEMA,
        full_refresh: bool = False,
        staging_method: str = "auto",
        staging_uri: str | None = None,
        safety_window_days: int = SAFETY_WINDOW_DAYS,
        run_id: str | None = None,
    ) -> None:
        self.dataset = check_dataset(dataset)
        self.lake = lake
        self.target = target
        self.schema = check_identifier(schema)
        self.full_refresh = full_refresh
        self.staging_method = staging_method
        self.staging_uri = staging_uri  # where ``files`` staging writes (default: a local temp folder)
        self.safety_window_days = safety_window_days
        self.started_at = datetime.now(UTC)
        self.run_id = run_id or new_run_id(self.started_at)
        self.summary = JobSummary(dataset, self.run_id, full_refresh=full_refresh)
        self.files: list[PlannedFile] = []
        self.entries: list[LedgerEntry] = []
        self.staging: dict[str, str] = {}
        self._conn: Any = None
        self._persisted: list[Any] = []
        self._clock = time.perf_counter()

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> WarehouseJob:
        self._conn = self.target.connect(autocommit=True)
        try:
            self.summary.migrations_applied = ensure_migrated(self._conn, self.schema)
            # Session-level lock: a second run of the same job waits here, then sees this run's ledger.
            self._conn.execute("SELECT pg_advisory_lock(%s)", (lock_key("job", self.schema, self.dataset),))
            drop_staging_tables(self._conn, self.schema, self._staging_prefix)
        except BaseException:
            self._conn.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            self._release()
        except Exception:
            if exc_type is None:
                raise
            # The run's own error matters more; a broken connection fails the cleanup too (the server
            # drops its session lock, and the next run drops the staging tables).
            log.warning("%s run %s: cleanup after the failed run failed too", self.dataset, self.run_id, exc_info=True)
        finally:
            if self._conn is not None:
                self._conn.close()

    def _release(self) -> None:
        for df in self._persisted:
            df.unpersist()
        if self._conn is not None and not self._conn.closed:
            drop_staging_tables(self._conn, self.schema, self._staging_prefix)
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key("job", self.schema, self.dataset),))

    @property
    def _staging_prefix(self) -> str:
        return f"stg_{self.dataset}_"

    def _lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.summary.timings[phase] = round(now - self._clock, 3)
        self._clock = now

    # -- plan ----------------------------------------------------------------------------------
    def plan(self) -> list[PlannedFile]:
        """The lake files this run reads: those of the partitions it needs that the ledger lacks."""
        self._clock = time.perf_counter()
        prefix = raw_prefix(self.dataset)
        days = sorted(date.fromisoformat(name[3:]) for name in self.lake.list_dirs(prefix) if _is_dt(name))
        loaded_days: dict[date, int] = {}
        if not self.full_refresh:
            rows = self._conn.execute(
                f"SELECT dt, count(*) FROM {self.schema}.etl_file_ledger WHERE dataset = %s GROUP BY dt",
                (self.dataset,),
            ).fetchall()
            loaded_days = {row[0]: row[1] for row in rows}
        if loaded_days and not self.full_refresh:
            horizon = max(loaded_days) - timedelta(days=self.safety_window_days)
            skipped = [d for d in days if d < horizon and d in loaded_days]
            if skipped:
                self._note_skipped(skipped, horizon, newest=days[-1])
            days = [d for d in days if d >= horizon or d not in loaded_days]
        loaded_paths: set[str] = set()
        if days and loaded_days:
            loaded_paths = {
                row[0]
                for row in self._conn.execute(
                    f"SELECT path FROM {self.schema}.etl_file_ledger WHERE dataset = %s AND dt = ANY(%s)",
                    (self.dataset, days),
                )
            }
        files: list[PlannedFile] = []
        for day in days:
            for obj in self.lake.list(raw_prefix(self.dataset, day)):
                parsed = parse_raw_key(obj.key)
                if parsed is None or parsed["dataset"] != self.dataset or obj.key in loaded_paths:
                    continue
                files.append(PlannedFile(obj.key, day, obj.size))
        self.files = files
        self.summary.partitions_listed = len(days)
        self.summary.files = len(files)
        self._lap("plan")
        return files

    def _note_skipped(self, skipped: list[date], horizon: date, newest: date) -> None:
        """Say which loaded partitions this run does not list, and the window that would list them:
        a file published there late is not read otherwise (finding one would mean listing them all)."""
        self.summary.partitions_skipped = len(skipped)
        log.info(
            "%s: not listing %d loaded partition(s) dt=%s..dt=%s (before %s); a file added there since is read"
            " only by a run with safety_window_days=%d (lists them, loads only files missing from the ledger)"
            " or by a full refresh",
            self.dataset,
            len(skipped),
            skipped[0],
            skipped[-1],
            horizon,
            (newest - skipped[0]).days,
        )

    # -- read ----------------------------------------------------------------------------------
    def read(self, spark: Any) -> Any:
        """The planned files as parsed records (cached), with per-file counts for the ledger."""
        import pyspark.sql.functions as F

        from glue_jobs.transforms.raw import file_counts, parse_raw_lines, quarantined_lines

        data_schema, _ = _dataset_spec(self.dataset)
        lines_df = spark.read.text([self.lake.hadoop_url(f.key) for f in self.files]).withColumn(
            "source_uri", F.input_file_name()
        )
        parallelism = max(1, spark.sparkContext.defaultParallelism)
        if len(self.files) > 2 * parallelism:
            lines_df = lines_df.coalesce(2 * parallelism)  # few, big tasks: one DB connection each
        parsed_df = parse_raw_lines(lines_df, data_schema).persist()
        self._persisted.append(parsed_df)
        counts = {row["source_file"]: row for row in file_counts(parsed_df).collect()}  # one row per file
        self.entries = [
            LedgerEntry(
                path=f.key,
                dt=f.dt,
                size_bytes=f.size,
                rows_loaded=_count(counts, f.key, "rows_loaded"),
                rows_quarantined=_count(counts, f.key, "rows_quarantined"),
                rows_api_errors=_count(counts, f.key, "rows_api_errors"),
            )
            for f in self.files
        ]
        self.summary.rows_loaded = sum(e.rows_loaded for e in self.entries)
        self.summary.rows_api_errors = sum(e.rows_api_errors for e in self.entries)
        self.summary.rows_quarantined = sum(e.rows_quarantined for e in self.entries)
        if self.summary.rows_quarantined:
            # One folder per source file (dt=…/source_hash=…/), replaced as a whole: a rerun after a
            # failed merge rewrites the same lines instead of adding a second copy.
            (
                quarantined_lines(parsed_df)
                .withColumn("run_id", F.lit(self.run_id))
                .write.mode("overwrite")
                .option("partitionOverwriteMode", "dynamic")
                .partitionBy("dt", "source_hash")
                .json(self.lake.hadoop_url(quarantine_prefix(self.dataset)))
            )
        self._lap("read_parse")
        return parsed_df

    # -- transform -------------------------------------------------------------------------------
    def transform(self, parsed_df: Any, *, materialize: bool = False) -> dict[str, Output]:
        """The staging outputs (lazy). ``materialize`` caches and counts them, so that a benchmark can
        time the transform apart from the load (costs one more pass; off in production)."""
        _, outputs_of = _dataset_spec(self.dataset)
        outputs = outputs_of(parsed_df)
        if materialize:
            for kind, out in outputs.items():
                df = out.df.persist()
                self._persisted.append(df)
                self.summary.staged[kind] = df.count()
                outputs[kind] = Output(df, out.columns)
        self._lap("transform")
        return outputs

    # -- load ------------------------------------------------------------------------------------
    def stage(self, outputs: dict[str, Output]) -> None:
        suffix = self.run_id.lower().replace("-", "_")
        tables = {kind: f"{self._staging_prefix}{kind}_{suffix}"[:63] for kind in outputs}
        for kind, out in outputs.items():
            create_staging_table(self._conn, self.schema, tables[kind], out.columns)
            self.staging[kind] = tables[kind]
        frames = {kind: (out.df, out.columns, tables[kind]) for kind, out in outputs.items()}
        method = self.staging_method
        if method == "auto":  # files need a folder the executors and the driver share
            spark_master = next(iter(outputs.values())).df.sparkSession.sparkContext.master
            method = "files" if self.staging_uri or spark_master.startswith("local") else "copy"
        if method == "copy":
            written = stage_copy_many(frames, self.target, self.schema)
        elif method == "files":
            written = stage_files_many(frames, self.target, self.schema, self._staging_work())
        else:
            written = {
                kind: stage(out.df, self.target, self.schema, tables[kind], out.columns, method)
                for kind, out in outputs.items()
            }
        for kind, count in written.items():
            expected = self.summary.staged.get(kind)
            if count >= 0 and expected is not None and count != expected:
                raise RuntimeError(f"staging {kind}: wrote {count} rows, expected {expected}")
            if count >= 0:  # the JDBC writer does not report a count
                self.summary.staged[kind] = count
        self._lap("stage")

    def _staging_work(self) -> Lake:
        """This run's own folder for ``files`` staging: under ``staging_uri`` (on Glue, the job's
        ``--TempDir``), else a fresh local temp folder."""
        if self.staging_uri is None:
            import tempfile

            return Lake.from_uri(Path(tempfile.mkdtemp(prefix="tweetlake-stage-")).as_uri())
        return Lake.from_uri(f"{self.staging_uri.rstrip('/')}/{self.dataset}/{self.run_id}")

    def merge(self) -> None:
        run_merge(
            self._conn,
            schema=self.schema,
            dataset=self.dataset,
            run_id=self.run_id,
            started_at=self.started_at,
            staging=self.staging,
            entries=self.entries,
            full_refresh=self.full_refresh,
        )
        self.staging = {}
        self._lap("merge")

    def load(self, outputs: dict[str, Output]) -> None:
        """Staging, then the one merge transaction (with the ledger)."""
        self.stage(outputs)
        self.merge()


def _count(counts: dict[str, Any], key: str, column: str) -> int:
    """A file's count from :func:`file_counts` (a file whose lines were all blank has no row)."""
    return int(counts[key][column]) if key in counts else 0


def _is_dt(name: str) -> bool:
    if not name.startswith("dt="):
        return False
    try:
        date.fromisoformat(name[3:])
    except ValueError:
        return False
    return True


def run_job(
    dataset: str,
    lake_uri: str,
    database_url: str | DbTarget,
    spark: Any = None,
    full_refresh: bool = False,
    *,
    schema: str = DEFAULT_SCHEMA,
    staging_method: str = "auto",
    staging_uri: str | None = None,
    safety_window_days: int = SAFETY_WINDOW_DAYS,
    materialize: bool = False,
) -> JobSummary:
    """Run one dataset's job end to end (the local face of the Glue jobs). Reuses ``spark`` if given."""
    target = database_url if isinstance(database_url, DbTarget) else DbTarget.from_url(database_url)
    lake = Lake.from_uri(lake_uri)
    with WarehouseJob(
        dataset,
        lake,
        target,
        schema=schema,
        full_refresh=full_refresh,
        staging_method=staging_method,
        staging_uri=staging_uri,
        safety_window_days=safety_window_days,
    ) as job:
        files = job.plan()
        if files:
            if spark is None:
                from common.spark import build_local_spark

                spark = build_local_spark()
            parsed_df = job.read(spark)
            outputs = job.transform(parsed_df, materialize=materialize)
            job.load(outputs)
        elif full_refresh:
            job.merge()  # nothing in the lake: the refresh still empties the dataset's tables
        log.debug(job.summary.describe())
        return job.summary


def run_jobs(
    datasets: Sequence[str], lake_uri: str, database_url: str | DbTarget, spark: Any = None, **kwargs: Any
) -> list[JobSummary]:
    return [run_job(d, lake_uri, database_url, spark, **kwargs) for d in datasets]
