"""Airflow runs in its own venv (.venv-airflow, made by scripts/airflow.sh setup): these tests drive it
as a user would, through its own processes (`airflow dags test`, a DagBag script), and check the
results with the suite's real parts (the simulator, the embedded PostgreSQL, a moto server)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
AIRFLOW_VENV = Path(os.environ.get("TWEETLAKE_AIRFLOW_VENV") or ROOT / ".venv-airflow")


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow process: this suite's, less any Airflow, X or tweetlake setting."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "X_", "TWEETLAKE_", "PYTEST", "VIRTUAL_ENV"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PATH": f"{AIRFLOW_VENV / 'bin'}:{env.get('PATH', '')}",
            "TWEETLAKE_HOME": str(home / "tweetlake"),
            "TWEETLAKE_SPARK_JAVA_OPTIONS": os.environ["TWEETLAKE_SPARK_JAVA_OPTIONS"],  # tests/conftest.py
        }
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``args`` to the end; one that outlives ``timeout`` is killed and reported with what it printed."""
    try:
        return subprocess.run(
            args, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as err:

        def text(out: str | bytes | None) -> str:
            return out.decode(errors="replace") if isinstance(out, bytes) else out or ""

        killed = f"\n[killed after {timeout}s]"
        return subprocess.CompletedProcess(args, -9, text(err.stdout), text(err.stderr) + killed)


@pytest.fixture(scope="session")
def airflow_venv() -> Path:
    """.venv-airflow, created (once: a stamp caches it) by the same script a user runs."""
    result = run(["bash", str(ROOT / "scripts" / "airflow.sh"), "setup"], dict(os.environ), timeout=2400)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (AIRFLOW_VENV / "bin" / "airflow").exists()
    return AIRFLOW_VENV


@pytest.fixture(scope="session")
def parse_home(airflow_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AIRFLOW_HOME for parsing only (a DagBag needs no metadata database)."""
    return tmp_path_factory.mktemp("airflow-parse-home")


@pytest.fixture(scope="session")
def airflow_home(airflow_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AIRFLOW_HOME of the session's own, its metadata database migrated once."""
    home = tmp_path_factory.mktemp("airflow-home")
    result = run([str(airflow_venv / "bin" / "airflow"), "db", "migrate"], airflow_env(home), timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return home
