"""The edges of a Glue run: arguments, the Spark/Glue context, and the warehouse credentials.

``GlueContext`` and ``Job`` exist only where Glue's JVM classes are on the classpath; elsewhere
(``AWSGlueDataplanePython`` on a laptop) ``GlueContext(sc)`` fails with ``'JavaPackage' object is
not callable``, so the context falls back to a plain SparkSession. Credentials come from Secrets
Manager (``--db_secret_arn``) or a Glue Connection (``--connection_name``), never from arguments.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common.warehouse.db import (
    DEFAULT_SCHEMA,
    DbTarget,
    target_from_glue_connection,
    target_from_secrets_manager,
)
from glue_jobs.options import JobOptions
from glue_jobs.plan import SAFETY_WINDOW_DAYS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("tweetlake.glue")

REQUIRED_ARGS = ("JOB_NAME", "lake_uri")
OPTIONAL_ARGS = (
    "db_secret_arn",
    "connection_name",
    "db_schema",
    "full_refresh",
    "staging_method",
    "TempDir",
    "safety_window_days",
    "retry_quarantined",
)
TRUE_WORDS = {"1", "true", "yes", "on"}


def resolve_args(argv: Sequence[str]) -> dict[str, str]:
    """``getResolvedOptions`` with full names; optional arguments are asked for only when present."""
    present = [name for name in OPTIONAL_ARGS if f"--{name}" in argv]
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:  # no awsglue: a plain argparse with the same full names
        import argparse

        parser = argparse.ArgumentParser(allow_abbrev=False)
        for name in (*REQUIRED_ARGS, *present):
            parser.add_argument(f"--{name}", required=True)
        known, _ = parser.parse_known_args(list(argv[1:]))
        return {k: v for k, v in vars(known).items() if v is not None}
    return dict(getResolvedOptions(list(argv), [*REQUIRED_ARGS, *present]))


@dataclass
class GlueRun:
    spark: SparkSession
    args: dict[str, str]
    job: Any = None  # awsglue.job.Job on Glue

    @property
    def options(self) -> JobOptions:
        """The job's options from its arguments (``--full_refresh true``, ``--db_schema``, …)."""
        window = self.args.get("safety_window_days", str(SAFETY_WINDOW_DAYS))
        if not window.strip().isdigit():
            raise SystemExit(f"--safety_window_days takes a number of days (0 or more), not {window!r}")
        temp_dir = self.args.get("TempDir")  # staging files go under Glue's --TempDir (S3)
        return JobOptions(
            schema=self.args.get("db_schema") or DEFAULT_SCHEMA,
            full_refresh=self._flag("full_refresh"),
            retry_quarantined=self._flag("retry_quarantined"),
            staging_method=self.args.get("staging_method", "auto"),
            staging_uri=f"{temp_dir.rstrip('/')}/tweetlake-staging" if temp_dir else None,
            safety_window_days=int(window),
        )

    def _flag(self, name: str) -> bool:
        return self.args.get(name, "false").strip().lower() in TRUE_WORDS

    def commit(self) -> None:
        if self.job is not None:
            self.job.commit()


def start_run(argv: Sequence[str] | None = None) -> GlueRun:
    """Arguments and context: GlueContext/Job when Glue's JVM is there, else a SparkSession."""
    args = resolve_args(list(argv if argv is not None else sys.argv))
    from pyspark.context import SparkContext
    from pyspark.sql import SparkSession

    sc = SparkContext.getOrCreate()
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job

        glue_context = GlueContext(sc)
    except Exception:
        log.info("Glue runtime not found; running on a plain SparkSession")
        spark = SparkSession(sc)
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        return GlueRun(spark, args)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    spark = glue_context.spark_session
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return GlueRun(spark, args, job)


def warehouse_target(args: dict[str, str]) -> DbTarget:
    """The warehouse from Secrets Manager (RDS managed secret) or a Glue Connection."""
    if args.get("db_secret_arn"):
        return target_from_secrets_manager(args["db_secret_arn"])
    if args.get("connection_name"):
        return target_from_glue_connection(args["connection_name"])
    raise SystemExit("give --db_secret_arn or --connection_name (credentials never travel as arguments)")
