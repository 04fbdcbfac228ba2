"""The scripts a newcomer runs first answer ``--help`` with their usage, installing nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.faces.test_errors import ROOT


@pytest.mark.parametrize("script", ["airflow.sh", "demo.sh"])
def test_help_prints_the_usage_and_installs_nothing(script: str, tmp_path: Path) -> None:
    env = {**os.environ, "TWEETLAKE_AIRFLOW_VENV": str(tmp_path / "airflow-venv"), "PYTHON": "/nonexistent"}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / script), "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert "--help" in result.stdout and result.stdout.splitlines()[0].strip()
    assert not (tmp_path / "airflow-venv").exists()


def test_airflow_sh_without_arguments_prints_its_usage_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "TWEETLAKE_AIRFLOW_VENV": str(tmp_path / "airflow-venv")}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "airflow.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "./scripts/airflow.sh setup" in result.stderr
    assert not (tmp_path / "airflow-venv").exists()
