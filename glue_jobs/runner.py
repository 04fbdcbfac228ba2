"""One warehouse load, in the steps every run takes: plan, read, transform, load.

:class:`WarehouseJob` holds a run's state: the advisory lock (two runs of the same job never
overlap), the files to read (``glue_jobs/plan.py``), and the staging tables. What a dataset reads,
stages and merges is its spec (``glue_jobs/datasets.py``). :meth:`WarehouseJob.run` chains the
steps for the Glue entry scripts (``glue_jobs/entry.py``); :func:`run_job` is the same run for
the ``tweetlake job`` command, the demo, the tests and the benchmark.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.lake import Lake, LakeError
from common.layout import isoformat_z, new_run_id, quarantine_prefix, quarantined_file_marker
from common.warehouse.columns import STAGED_COLUMNS, Staging
from common.warehouse.db import DatabaseUnavailable, DbTarget, lock_key
from common.warehouse.merge import LedgerEntry, run_merge
from common.warehouse.migrate import ensure_migrated
from glue_jobs.datasets import DATASETS, dataset_spec
from glue_jobs.filecheck import REASON_EMPTY
from glue_jobs.options import JobOptions
from glue_jobs.plan import PlannedFile, plan_files
from glue_jobs.staged import BackgroundStaging, StagedTables, WhenStaged
from glue_jobs.staging import (
    StagingFrame,
    create_staging_table,
    drop_orphaned_staging_tables,
    drop_staging_tables,
    new_work_dir,
    remove_stale_work_dirs,
    stage_copy_many,
    stage_files_many,
    stage_jdbc_many,
)
from glue_jobs.summary import JobSummary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

log = logging.getLogger("tweetlake.glue")


class WarehouseJob:
    """A run of one dataset's job. Use as a context manager: it holds the job's advisory lock."""

    def __init__(self, dataset: str, lake: Lake, target: DbTarget, options: JobOptions | None = None) -> None:
        self.options = options = options or JobOptions()
        self.spec = dataset_spec(dataset)
        self.dataset = self.spec.name
        self.lake = lake
        self.target = target
        self.schema = options.schema
        self.full_refresh = options.full_refresh
        self.started_at = datetime.now(UTC)
        self.run_id = options.run_id or new_run_id(self.started_at)
        self.summary = JobSummary(
            self.dataset,
            self.run_id,
            full_refresh=options.full_refresh,
            lake=lake.uri,
            database=target.safe_url,
            schema=self.schema,
        )
        self.files: list[PlannedFile] = []  # the readable ones, read by Spark
        self.rejected: list[LedgerEntry] = []  # quarantined whole: none of their lines load
        self.entries: list[LedgerEntry] = []
        self.staging: Mapping[Staging, str] = {}
        self._conn: Any = None  # a psycopg connection in autocommit mode, held for the whole run
        self._persisted: list[DataFrame] = []
        self._merging = False
        self._clock = time.perf_counter()

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> WarehouseJob:
        self._conn = self.target.connect(autocommit=True)
        try:
            self.summary.migrations_applied = ensure_migrated(self._conn, self.schema)
            # Session-level lock: a second run of the same job waits here, then sees this run's ledger.
            self._conn.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
            drop_staging_tables(self._conn, self.schema, self._staging_prefix)
            # and what killed runs of the other jobs left: their tables (no run holds their lock) and
            # this machine's staging folders of processes that are gone
            others = {f"stg_{name}_": lock_key("job", self.schema, name) for name in DATASETS if name != self.dataset}
            for table in drop_orphaned_staging_tables(self._conn, self.schema, others):
                log.info("dropped %s.%s, left by a run that is gone", self.schema, table)
            for folder in remove_stale_work_dirs():
                log.info("removed %s, left by a run that is gone", folder)
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
            gone = exc_type is not None and issubclass(exc_type, DatabaseUnavailable)
            log.log(
                logging.DEBUG if gone else logging.WARNING,
                "%s run %s: cleanup after the failed run failed too",
                self.dataset,
                self.run_id,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
        finally:
            if self._conn is not None:
                self._conn.close()

    def cancel_statement(self) -> None:
        """Ask the server to cancel the merge's running statement (from any thread): its transaction
        fails and rolls back. Outside the merge (e.g. the cleanup's DROPs) it does nothing."""
        conn = self._conn
        if self._merging and conn is not None and not conn.closed:
            try:
                conn.cancel()
            except Exception:
                log.debug("cancelling the running statement failed", exc_info=True)

    def _release(self) -> None:
        for df in self._persisted:
            df.unpersist()
        if self._conn is not None and not self._conn.closed:
            drop_staging_tables(self._conn, self.schema, self._staging_prefix)
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))

    @property
    def _lock_key(self) -> int:
        return lock_key("job", self.schema, self.dataset)

    @property
    def _staging_prefix(self) -> str:
        return f"stg_{self.dataset}_"

    def _lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.summary.timings[phase] = round(now - self._clock, 3)
        self._clock = now

    # -- the run -------------------------------------------------------------------------------
    def run(self, spark: SparkSession | Callable[[], SparkSession]) -> JobSummary:
        """Plan, then read, transform and load the new files; with nothing new, a full refresh still
        runs its merge (it empties the dataset's tables). ``spark`` may be a factory: a run with
        nothing to read never starts Spark."""
        try:
            if self.plan():
                session = spark() if callable(spark) else spark
                parsed_df = self.read(session)
                self.load(self.transform(parsed_df))
            elif self.full_refresh or self.rejected:  # the ledger entries of files quarantined whole
                self.entries = list(self.rejected)
                self.merge()
        except Exception as err:
            self._raise_if_database_gone(err)
            raise
        self._forget_released_markers()
        return self.summary

    def _raise_if_database_gone(self, err: Exception) -> None:
        """A run whose database went away (stopped, restarted, a dropped connection) fails in many
        shapes: psycopg's errors, a Spark task's, a JDBC write's. Say it plainly when it is so."""
        if isinstance(err, DatabaseUnavailable):
            return
        try:
            with self.target.connect(autocommit=True, connect_timeout=5) as probe:
                probe.execute("SELECT 1")
            alive = self._conn is not None and not self._conn.closed and not self._conn.broken
        except Exception:
            alive = False
        if not alive:
            raise DatabaseUnavailable(
                f"the database {self.target.safe_url} went away during the {self.dataset} run"
                f" ({_first_line(err)}); nothing of this run was committed: run the job again"
            ) from err

    def plan(self) -> list[PlannedFile]:
        """The lake files this run reads: those of the partitions it needs that the ledger lacks."""
        self._clock = time.perf_counter()
        planned = plan_files(
            self._conn,
            self.lake,
            self.dataset,
            schema=self.schema,
            full_refresh=self.full_refresh,
            safety_window_days=self.options.safety_window_days,
            retry_quarantined=self.options.retry_quarantined,
        )
        self.summary.partitions_listed = planned.partitions_listed
        self.summary.partitions_skipped = planned.partitions_skipped
        self.summary.files = len(planned.files)
        self.summary.misnamed_files = planned.misnamed
        self.summary.files_retried = planned.retried
        self._lap("plan")
        # An empty object is known from the listing: quarantined without a read (a run of nothing
        # else never starts Spark). Every other check happens as Spark reads the file (``read``).
        self.files = [f for f in planned.files if f.size > 0]
        self._reject([(f, REASON_EMPTY) for f in planned.files if f.size == 0])
        return self.files

    def _reject(self, files: list[tuple[PlannedFile, str]]) -> None:
        """Quarantine files whole: a ledger entry with the reason, a marker, a warning."""
        for planned_file, reason in files:
            entry = LedgerEntry(planned_file.key, planned_file.dt, planned_file.size, 0, 0, 0, reason=reason)
            self.rejected.append(entry)
            self.summary.quarantined_files.append((entry.path, reason))
            log.warning("%s: quarantined %s whole: %s", self.dataset, entry.path, reason)
            self._write_marker(entry)

    def _write_marker(self, entry: LedgerEntry) -> None:
        """``quarantine/<dataset>/_files/dt=…/<name>.json``: the file, why, and how to retry it.
        Written before the merge (a rerun after a failed merge writes the same marker again)."""
        marker = {
            "path": entry.path,
            "uri": self.lake.url(entry.path),
            "dataset": self.dataset,
            "dt": entry.dt.isoformat(),
            "size_bytes": entry.size_bytes,
            "reason": entry.reason,
            "run_id": self.run_id,
            "quarantined_at": isoformat_z(datetime.now(UTC)),
            "retry": f"tweetlake job {self.dataset} --retry-quarantined (after the file is replaced)",
        }
        self.lake.put_bytes(quarantined_file_marker(entry.path), (json.dumps(marker, indent=2) + "\n").encode())

    def _forget_released_markers(self) -> None:
        """After the commit: a file quarantined before that now loaded (a retry, or a full refresh
        after it was replaced) has no marker any more. One listing of the markers, not a request per file."""
        if not (self.options.retry_quarantined or self.full_refresh):
            return
        loaded = {quarantined_file_marker(e.path) for e in self.entries if e.reason is None}
        for obj in list(self.lake.list(f"{quarantine_prefix(self.dataset)}_files/")):
            if obj.key in loaded:
                self.lake.delete(obj.key)

    def read(self, spark: SparkSession) -> DataFrame:
        """The planned files as parsed records (cached), with per-file counts for the ledger. Each
        file is read once (``glue_jobs/filecheck.py``): its lines, and whether it may load at all;
        the lines of a file that may not are left out, and the file is quarantined whole."""
        import pyspark.sql.functions as F

        from glue_jobs.filecheck import LAKE_FAILED, raw_lines
        from glue_jobs.transforms.raw import file_counts, parse_raw_lines, quarantined_lines

        lines_df = raw_lines(spark, self.lake, [(f.key, f.size) for f in self.files])
        parsed_df = parse_raw_lines(lines_df, self.spec.data_schema()).persist()
        self._persisted.append(parsed_df)
        counts = {row["source_file"]: row for row in file_counts(parsed_df).collect()}  # one row per file
        failed = [row["file_reason"] for row in counts.values() if (row["file_reason"] or "").startswith(LAKE_FAILED)]
        if failed:
            raise LakeError(f"reading the lake failed: {failed[0][len(LAKE_FAILED) :]}")
        bad = {key: row["file_reason"] for key, row in counts.items() if row["file_reason"] is not None}
        if bad:
            self._reject([(f, bad[f.key]) for f in self.files if f.key in bad])
            self.files = [f for f in self.files if f.key not in bad]
            parsed_df = parsed_df.filter(~F.col("source_file").isin(list(bad)))
        self.entries = list(self.rejected) + [
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

    def transform(self, parsed_df: DataFrame) -> dict[Staging, DataFrame]:
        """The staging frames of the dataset's outputs (lazy). ``materialize`` caches and counts them,
        so that a benchmark can time the transform apart from the load (one more pass; off in production)."""
        outputs = {out.kind: out.apply(parsed_df) for out in self.spec.outputs}
        if self.options.materialize:
            for kind, df in outputs.items():
                outputs[kind] = df.persist()
                self._persisted.append(outputs[kind])
                self.summary.staged[kind] = outputs[kind].count()
        self._lap("transform")
        return outputs

    def stage(self, outputs: dict[Staging, DataFrame]) -> BackgroundStaging:
        """Each frame into its own staging table (its kind's column contract, in order), in the
        background (``glue_jobs/staged.py``): ``self.staging`` hands out each table once it is full."""
        suffix = self.run_id.lower().replace("-", "_")
        frames: dict[Staging, StagingFrame] = {}
        for kind, df in outputs.items():
            table = f"{self._staging_prefix}{kind}_{suffix}"[:63]
            create_staging_table(self._conn, self.schema, table, STAGED_COLUMNS[kind])
            frames[kind] = StagingFrame(df, STAGED_COLUMNS[kind], table)
        self.staging = tables = StagedTables({kind: frame.table for kind, frame in frames.items()})
        on_staged = WhenStaged(self.target, self.schema, tables, self.summary.staged)
        spark_context = next(iter(outputs.values())).sparkSession.sparkContext
        method = self.options.staging_method
        is_local = (spark_context.master or "").startswith("local")
        if method == "auto":  # files need a folder the executors and the driver share
            method = "files" if self.options.staging_uri or is_local else "copy"
        # beside the merge, local Spark leaves half the cores to it (glue_jobs/staging.py)
        later_lanes = max(1, spark_context.defaultParallelism // 2) if is_local else None

        def run_method() -> object:
            if method == "copy":
                return stage_copy_many(frames, self.target, self.schema, on_staged=on_staged)
            if method == "files":
                work, lanes = self._staging_work(), later_lanes
                return stage_files_many(frames, self.target, self.schema, work, later_lanes=lanes, on_staged=on_staged)
            return stage_jdbc_many(frames, self.target, self.schema, on_staged=on_staged)  # JobOptions checked it

        return BackgroundStaging(tables, run_method, spark_context, cleanup=on_staged.close)

    def _staging_work(self) -> Lake:
        """This run's own folder for ``files`` staging: under ``staging_uri`` (on Glue, the job's
        ``--TempDir``), else a fresh local temp folder."""
        if self.options.staging_uri is None:
            return Lake.from_uri(new_work_dir().as_uri())
        return Lake.from_uri(f"{self.options.staging_uri.rstrip('/')}/{self.dataset}/{self.run_id}")

    def merge(self) -> None:
        """The one merge transaction (with the ledger), begun once its first table is full."""
        if self.staging:
            self.staging[next(iter(self.staging))]  # the first staged kind is the merge's first read
            self._lap("stage")
        self.options.on_merge_step("staged")  # the merge has not begun
        self._merging = True
        try:
            run_merge(
                self._conn,
                self.spec.merge,
                schema=self.schema,
                dataset=self.dataset,
                run_id=self.run_id,
                started_at=self.started_at,
                staging=self.staging,
                entries=self.entries,
                full_refresh=self.full_refresh,
                on_step=self.options.on_merge_step,
            )
        finally:
            self._merging = False
        self.staging = {}
        self._lap("merge")

    def load(self, outputs: dict[Staging, DataFrame]) -> None:
        """Staging, and the one merge transaction beside it."""
        with self.stage(outputs) as staging:
            self.merge()
        self.summary.staging_seconds = round(staging.seconds or 0.0, 3)
        self.summary.merge_waited_seconds = round(staging.tables.waited_after_first, 3)


def _count(counts: dict[str, Row], key: str, column: str) -> int:
    """A file's count from :func:`file_counts` (a file whose lines were all blank has no row)."""
    return int(counts[key][column]) if key in counts else 0


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


def run_job(
    dataset: str,
    lake_uri: str,
    database_url: str | DbTarget,
    options: JobOptions | None = None,
    spark: SparkSession | Callable[[], SparkSession] | None = None,
) -> JobSummary:
    """Run one dataset's job end to end (the local face of the Glue jobs). Reuses ``spark`` if given
    (or calls it, when it is a factory, only if there is something to read), else starts a local
    session when there is something to read."""
    from common.spark import build_local_spark

    target = database_url if isinstance(database_url, DbTarget) else DbTarget.from_url(database_url)
    with WarehouseJob(dataset, Lake.from_uri(lake_uri), target, options) as job:
        summary = job.run(spark if spark is not None else build_local_spark)
    log.debug(summary.describe())
    return summary
