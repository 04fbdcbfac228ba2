"""A local run that Ctrl-C stops cleanly: Spark's jobs cancelled, the merge rolled back, Spark stopped.

The run goes on in a worker thread while the main thread (the one Python delivers SIGINT to) waits.
Interrupted inside a Py4J call, the main thread would break Py4J's connection (a long Py4J
traceback, sometimes a hang); waiting on an event, it gets a plain
``KeyboardInterrupt`` and then: cancels Spark's jobs, cancels the warehouse statement that runs,
and tells the merge to stop at its next step (it rolls back: nothing of the run is committed).
Once the worker has unwound (staging tables dropped, the job's lock released), Spark stops and the
``KeyboardInterrupt`` goes on to the command's boundary (one line, exit 130). A second Ctrl-C
while it unwinds is taken as the same one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from common.lake import Lake
from common.warehouse.db import DbTarget
from glue_jobs.options import JobOptions
from glue_jobs.runner import WarehouseJob
from glue_jobs.summary import JobSummary

log = logging.getLogger("tweetlake.glue")


class Interrupted(Exception):
    """Raised in the worker at the merge's next step once Ctrl-C was pressed."""


def run_interruptibly(dataset: str, lake_uri: str, target: DbTarget, options: JobOptions) -> JobSummary:
    """:func:`glue_jobs.runner.run_job` (local Spark, started when there is something to read) that
    a ``KeyboardInterrupt`` stops with nothing committed; it re-raises the ``KeyboardInterrupt``."""
    from dataclasses import replace

    from common.spark import build_local_spark

    stop = threading.Event()
    outer_hook = options.on_merge_step

    def on_step(step: str) -> None:
        if stop.is_set():
            raise Interrupted(f"interrupted before the merge step after {step!r}")
        outer_hook(step)

    def spark() -> Any:  # Spark starts in the worker; an interrupt during its start stops here
        session = build_local_spark()
        if stop.is_set():
            raise Interrupted("interrupted while Spark started")
        return session

    state: dict[str, Any] = {}

    done = threading.Event()  # waited on instead of Thread.join: a join interrupted by Ctrl-C can
    # mark a live thread stopped (Python 3.11's _wait_for_tstate_lock releases the lock it holds)

    def work() -> None:
        try:
            with WarehouseJob(dataset, Lake.from_uri(lake_uri), target, replace(options, on_merge_step=on_step)) as job:
                state["job"] = job
                state["summary"] = job.run(spark)
        except BaseException as err:  # handed to the main thread
            state["error"] = err
        finally:
            done.set()

    worker = threading.Thread(target=work, name=f"tweetlake-job-{dataset}", daemon=True)
    worker.start()
    try:
        while not done.wait(0.25):
            pass
    except KeyboardInterrupt:
        stop.set()
        _wait(done, state)
        _stop_spark()
        raise
    if "error" in state:
        raise state["error"]
    summary: JobSummary = state["summary"]
    return summary


def _cancel(job: WarehouseJob | None) -> None:
    """Cancel Spark's jobs (quietly) and the statement the job's connection runs (the merge's)."""
    from pyspark import SparkContext

    from common.spark import SparkLogsOff

    sc = SparkContext._active_spark_context
    if sc is not None:
        try:
            SparkLogsOff(sc).turn_off()  # the cancelled tasks' errors are not news; Spark stops after
            sc.cancelAllJobs()
        except Exception:
            log.debug("cancelling Spark's jobs failed", exc_info=True)
    if job is not None:
        job.cancel_statement()


def _wait(done: threading.Event, state: dict[str, Any]) -> None:
    """Cancel what runs until the worker has unwound: a Spark job started after a cancel is
    cancelled on the next round."""
    while not done.is_set():
        _cancel(state.get("job"))
        try:
            done.wait(0.5)
        except KeyboardInterrupt:  # pressed again: the same interrupt, still unwinding
            continue


def _stop_spark() -> None:
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    if sc is not None:
        try:
            sc.stop()
        except Exception:
            log.debug("stopping Spark failed", exc_info=True)
