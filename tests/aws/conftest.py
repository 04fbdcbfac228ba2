"""Fixtures of the AWS checks: the environment the scripts and the real AWS CLI get, moto's state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
VENV_BIN = Path(sys.executable).parent  # the venv running pytest holds the real AWS CLI v1


def _post(endpoint: str, path: str, payload: dict[str, object] | None = None) -> None:
    data = json.dumps(payload or {}).encode()
    request = urllib.request.Request(f"{endpoint}{path}", data=data, method="POST")  # noqa: S310 (our moto server)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


@pytest.fixture
def aws_env(moto_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """What a user's shell would hold, pointed at moto: the scripts call the real AWS CLI with it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWEETLAKE_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "TWEETLAKE_POLL_SECONDS": "0.2",
            "TWEETLAKE_STACK": f"tl{uuid.uuid4().hex[:8]}",
        }
    )
    return env


TOOLS_BIN = Path(os.environ.get("TWEETLAKE_TOOLS_VENV") or ROOT / ".venv-tools") / "bin"


@pytest.fixture(scope="session")
def checkov_run() -> Iterator[subprocess.Popen[str] | None]:
    """checkov takes ~10 s: started in the background by test_templates' first test that needs it
    (not by every worker of a parallel run)."""
    checkov = TOOLS_BIN / "checkov"
    if not checkov.exists():  # test_templates fails with how to install it
        yield None
        return
    process = subprocess.Popen(
        [str(checkov), "--config-file", ".checkov.yaml", "-d", "cloudformation", "-o", "json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


ScriptRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_script(aws_env: dict[str, str]) -> ScriptRunner:
    def run(
        name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPTS / name), *args],
            env=env or aws_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture
def moto_transitions(moto_endpoint: str) -> Iterator[Callable[[str, dict[str, object]], None]]:
    """Set moto's state-manager transitions (e.g. ``glue::job_run``); unset them afterwards, because
    the state manager is global and other tests use moto in this same process."""
    models: list[str] = []

    def set_transition(model: str, transition: dict[str, object]) -> None:
        _post(moto_endpoint, "/moto-api/state-manager/set-transition", {"model_name": model, "transition": transition})
        models.append(model)

    yield set_transition
    for model in models:
        _post(moto_endpoint, "/moto-api/state-manager/unset-transition", {"model_name": model})
