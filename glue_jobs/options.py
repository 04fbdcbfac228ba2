"""How a job runs, built once by each face (``tweetlake job``, the Glue entry scripts, the demo, the
DAGs, the benchmark) and passed down whole: :class:`JobOptions`. Loads without pyspark."""

from __future__ import annotations

from dataclasses import dataclass

from common.warehouse.db import DEFAULT_SCHEMA, check_identifier
from common.warehouse.merge import StepHook, no_step
from glue_jobs.plan import SAFETY_WINDOW_DAYS
from glue_jobs.staging import STAGING_METHODS


@dataclass(frozen=True)
class JobOptions:
    schema: str = DEFAULT_SCHEMA
    """The warehouse schema the job writes."""
    full_refresh: bool = False
    """Forget the ledger and rebuild the dataset from every file."""
    retry_quarantined: bool = False
    """Read again the files quarantined whole (e.g. after they were replaced in the lake)."""
    staging_method: str = "auto"
    """How rows reach the staging tables: files, copy, jdbc; auto picks files on local Spark."""
    staging_uri: str | None = None
    """Where ``files`` staging writes (on Glue, under ``--TempDir``); default a local temp folder."""
    safety_window_days: int = SAFETY_WINDOW_DAYS
    """Days before the newest loaded partition that are listed again (finds late files)."""
    run_id: str | None = None
    """This run's id (default: a new one from the start time)."""
    materialize: bool = False
    """Cache and count the transform's frames, so that a benchmark can time it apart from the load."""
    on_merge_step: StepHook = no_step
    """Called after each step of the merge transaction (see :data:`common.warehouse.merge.StepHook`)."""

    def __post_init__(self) -> None:
        check_identifier(self.schema)
        if self.staging_method not in STAGING_METHODS:
            raise ValueError(f"unknown staging method {self.staging_method!r} ({', '.join(STAGING_METHODS)})")
        if self.safety_window_days < 0:
            raise ValueError("the safety window takes 0 or more days")
