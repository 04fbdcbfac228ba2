"""The simulator is a development part of its own: nothing of it ships, and it borrows nothing.

``scripts/package.sh --api`` builds the Glue wheel and the Lambda zip for real (the zip's
dependencies from a wheelhouse of stand-ins, no PyPI) and uploads them to moto's S3; both are
listed here. Before the build a module of the old layout is left in setuptools' ``build/lib``,
where an earlier build of a developer's checkout leaves it: the wheel must not pick it up.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import xsim
from tests.aws.test_api_package_deploy import wheelhouse

ROOT = Path(__file__).resolve().parents[2]
XSIM = Path(xsim.__file__).resolve().parent
TWEETLAKE_PARTS = {"common", "ingestion", "glue_jobs", "analytics", "tweetlake", "tests", "dags", "bench"}


def _is_simulator(name: str) -> bool:
    parts = name.split("/")
    return parts[0] in ("xsim", "simulator") or parts[0].startswith("tweetlake_simulator") or "simulator" in parts[:-1]


def _defines_the_simulator(archive: zipfile.ZipFile) -> list[str]:
    """Python files that define the simulator's server or world, whatever their path."""
    found = []
    for name in archive.namelist():
        if name.endswith(".py"):
            tree = ast.parse(archive.read(name))
            classes = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
            if classes & {"SimulatorServer", "World"}:
                found.append(name)
    return found


@pytest.fixture(scope="module")
def packaged(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, zipfile.ZipFile]]:
    stale = ROOT / "build" / "lib" / "ingestion" / "simulator"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "__init__.py").write_text("")
    (stale / "world.py").write_text("class World:\n    pass\n")
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    out = tmp_path_factory.mktemp("package")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWEETLAKE_"))}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto_endpoint,
            "TWEETLAKE_WHEELHOUSE": str(wheelhouse(tmp_path_factory.mktemp("wheelhouse"))),
            "TWEETLAKE_PACKAGE_DIR": str(out),
        }
    )
    try:
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "package.sh"), "--bucket", bucket, "--api"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        if stale.exists():  # package.sh did not clear it (the test then fails below)
            for path in stale.iterdir():
                path.unlink()
            stale.rmdir()
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (out / "wheels").glob("tweetlake-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as glue_wheel, zipfile.ZipFile(out / "tweetlake-api.zip") as lambda_zip:
        yield {"wheel": glue_wheel, "zip": lambda_zip}


@pytest.mark.parametrize("artifact", ["wheel", "zip"])
def test_no_simulator_module_ships(packaged: dict[str, zipfile.ZipFile], artifact: str) -> None:
    names = packaged[artifact].namelist()
    assert "ingestion/client.py" in names and "common/lake.py" in names  # a real listing of the product
    assert [n for n in names if _is_simulator(n)] == []
    assert _defines_the_simulator(packaged[artifact]) == []


def test_the_simulator_imports_nothing_of_tweetlake() -> None:
    """A test oracle shares no code with the client it checks: standard library and itself only."""
    borrowed = []
    for path in sorted(XSIM.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                tops = [(node.module or "").split(".")[0]] if node.level == 0 else ["xsim"]
            else:
                continue
            borrowed += [f"{path.name}: {top}" for top in tops if top != "xsim" and top not in sys.stdlib_module_names]
    assert borrowed == []
    assert not {p.name for p in XSIM.parent.iterdir()} & TWEETLAKE_PARTS  # its own room, not inside tweetlake's


def test_tweetlake_simulator_without_the_simulator_says_so_in_one_line() -> None:
    """`tweetlake simulator` where only the product is installed: one line, exit 2, no traceback."""
    absent = "import sys; sys.modules['xsim'] = None; from tweetlake.cli import main; sys.exit(main(['simulator']))"
    result = subprocess.run(
        [sys.executable, "-c", absent], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "pip install ./simulator" in result.stderr
    assert "Traceback" not in result.stderr
