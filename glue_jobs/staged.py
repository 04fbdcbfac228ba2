"""Staging that overlaps the merge: Spark writes the later frames while the merge works on the first.

The merge transaction reads the staging tables one after the other (the tweets first, the
metrics last), and on a local run one of the two cores idled through most of it while Spark had
nothing left to do (bench/README.md). So :class:`BackgroundStaging` runs the staging method in a
thread of its own and the merge starts at once: its :class:`StagedTables` hands out a table's name
only when that table holds all its rows and has been analyzed, and raises the staging's error
instead when staging failed. The frames are staged in the order the merge reads them
(``glue_jobs/datasets.py``), so the merge rarely waits after its first table.

Nothing changes for what is committed: the staging tables are only an input of the merge, which
reads each one whole after its COPYs committed, and a failure on either side rolls the merge
back (a merge that fails first cancels the staging's Spark jobs and waits for its thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from common.warehouse.columns import Staging
from common.warehouse.db import DbTarget, check_identifier

if TYPE_CHECKING:
    from pyspark import SparkContext

log = logging.getLogger("tweetlake.glue")


class StagedTables(Mapping[Staging, str]):
    """This run's staging tables by kind, while they fill: ``tables[kind]`` waits until the kind's
    table is full (or raises the error that stopped staging); iterating and ``len`` do not wait."""

    def __init__(self, names: Mapping[Staging, str]) -> None:
        self._names = dict(names)
        self._ready: dict[Staging, Future[None]] = {kind: Future() for kind in self._names}
        self._waited: dict[Staging, float] = {}

    def __getitem__(self, kind: Staging) -> str:
        ready, started = self._ready[kind], time.perf_counter()
        waits = not ready.done()
        try:
            ready.result()
        finally:
            if waits:
                self._waited[kind] = self._waited.get(kind, 0.0) + time.perf_counter() - started
        return self._names[kind]

    @property
    def waited_after_first(self) -> float:
        """Seconds its readers waited for the tables after the first (the merge, once it began)."""
        first = next(iter(self._names), None)
        return sum(seconds for kind, seconds in self._waited.items() if kind != first)

    def __iter__(self) -> Iterator[Staging]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def name(self, kind: Staging) -> str:
        """The table's name without waiting for it (for dropping it, or naming it in a message)."""
        return self._names[kind]

    def is_staged(self, kind: Staging) -> bool:
        ready = self._ready[kind]
        return ready.done() and ready.exception() is None

    def mark_staged(self, kind: Staging) -> None:
        self._ready[kind].set_result(None)

    def mark_failed(self, error: BaseException) -> None:
        """Every table not yet full will never be: its readers get ``error``."""
        for ready in self._ready.values():
            if not ready.done():
                ready.set_exception(error)


class BackgroundStaging:
    """Runs ``stage()`` (the staging method, which calls back per kind) in a thread, then
    ``cleanup()``; use as a context manager around the merge: leaving it waits for the thread, and
    leaving it with an error first cancels the Spark jobs the thread started."""

    def __init__(
        self,
        tables: StagedTables,
        stage: Callable[[], object],
        spark_context: SparkContext,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        self.tables = tables
        self._stage = stage
        self._cleanup = cleanup
        self._sc = spark_context
        self._group = f"tweetlake-staging-{id(self)}"
        self._thread = threading.Thread(target=self._run, name="tweetlake-staging", daemon=True)
        self._done = threading.Event()
        self.seconds: float | None = None
        """How long staging took, from its start to its last table and the cleanup of its work
        folder (it overlaps the merge)."""

    def __enter__(self) -> BackgroundStaging:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        # an Event, not Thread.join (see glue_jobs/interruptible.py); after a failed merge, the
        # staging's Spark jobs are cancelled until the thread ends (one started since is cancelled too)
        if exc_type is None or self._done.is_set():
            while not self._done.wait(0.25):
                pass
            return
        from common.spark import SparkLogsOff

        with SparkLogsOff(self._sc):  # the tasks killed here log errors: the merge's own is the news
            while not self._done.is_set():
                try:
                    self._sc.cancelJobGroup(self._group)
                except Exception:
                    log.debug("cancelling the staging's Spark jobs failed", exc_info=True)
                self._done.wait(0.25)
            self._until_no_task_runs()

    def _until_no_task_runs(self, seconds: float = 5.0) -> None:
        """A cancelled job fails at once, its tasks stop (and log) a moment later: wait for them."""
        try:
            tracker = self._sc.statusTracker()
            deadline = time.monotonic() + seconds
            while tracker.getActiveStageIds() and time.monotonic() < deadline:
                time.sleep(0.05)
        except Exception:
            log.debug("waiting for the staging's killed tasks failed", exc_info=True)

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._sc.setJobGroup(self._group, "tweetlake: staging", interruptOnCancel=True)
            self._stage()
            self.seconds = time.perf_counter() - started
        except BaseException as err:
            if all(self.tables.is_staged(kind) for kind in self.tables):  # after the last table: its cleanup
                log.warning("staging's cleanup failed after every table was full: %s", err)
            self.tables.mark_failed(err)
        else:
            # a method that never reported a kind (it should not happen) must not leave the merge waiting
            self.tables.mark_failed(RuntimeError("staging ended without filling every table"))
        finally:
            if self._cleanup is not None:
                try:
                    self._cleanup()
                except Exception:
                    log.debug("staging's cleanup failed", exc_info=True)
            self._done.set()


class WhenStaged:
    """What the end of a kind's staging does (an :data:`~glue_jobs.staging.OnStaged`): check its
    rows against the transform's count where there is one (``counts``, filled in with what was
    written), analyze the table, hand it out to the merge. The methods call it one kind at a time;
    it keeps one connection for the analyzes until :meth:`close`."""

    def __init__(self, target: DbTarget, schema: str, tables: StagedTables, counts: dict[str, int]) -> None:
        self._target, self._schema, self._tables, self._counts = target, check_identifier(schema), tables, counts
        self._conn: Any = None

    def __call__(self, kind: Staging, rows: int) -> None:
        expected = self._counts.get(kind)
        if rows >= 0 and expected is not None and rows != expected:
            raise RuntimeError(f"staging {kind}: wrote {rows} rows, expected {expected}")
        if rows >= 0:  # the JDBC writer does not report a count
            self._counts[kind] = rows
        if self._conn is None:
            self._conn = self._target.connect(autocommit=True)
            # The merge plans with the staged rows' statistics (row counts, distinct values): a small
            # sample is enough for those (0.1 s for a million-tweet run, 0.8 s at the default target).
            self._conn.execute("SET default_statistics_target = 10")
        self._conn.execute(f"ANALYZE {self._schema}.{check_identifier(self._tables.name(kind))}")
        self._tables.mark_staged(kind)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
