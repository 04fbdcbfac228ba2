"""``tweetlake doctor``: each path's needs as ✓/✗ lines, a ✗ with the command that fixes it; the demo
runs the same checks first and stops before collecting anything. The machine is changed through
settings only (``TWEETLAKE_JDBC_JAR``, ``TWEETLAKE_JDBC_SEARCH``), as a user would."""

from __future__ import annotations

from pathlib import Path

from tests.faces.test_errors import run_cli
from tests.support import TOKEN
from tweetlake.doctor import JDBC_URL
from tweetlake.errors import ExitCode
from xsim import SimulatorServer

NO_JAR = {"TWEETLAKE_JDBC_JAR": "/nowhere/postgresql.jar", "TWEETLAKE_JDBC_SEARCH": ""}


def test_doctor_without_a_jdbc_jar_shows_the_cross_and_the_command_that_fixes_it(tmp_path: Path) -> None:
    result = run_cli(["doctor", "--for", "job"], tmp_path, env=NO_JAR)
    lines = result.stdout.splitlines()
    assert result.returncode == ExitCode.USAGE, result.stdout + result.stderr
    (cross,) = [i for i, line in enumerate(lines) if line.startswith("✗")]
    assert lines[cross].startswith("✗ jdbc jar") and "/nowhere/postgresql.jar" in lines[cross]
    fix = lines[cross + 1].strip()
    assert fix.startswith("fix: mkdir -p ~/.m2/repository/org/postgresql/postgresql/") and JDBC_URL in fix
    assert lines[-1] == "ready for: none; not ready for: job, airflow (fix the ✗ lines)"


def test_the_search_paths_alone_can_be_emptied(tmp_path: Path) -> None:
    result = run_cli(["doctor", "--for", "job", "--quiet"], tmp_path, env={"TWEETLAKE_JDBC_SEARCH": ""})
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.splitlines()[0] == "✗ jdbc jar      no PostgreSQL JDBC driver found"


def test_the_demo_on_a_machine_without_the_jar_stops_before_collecting_anything(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    (tmp_path / "home").mkdir()
    result = run_cli(["demo", "--home", str(demo)], tmp_path / "home", env=NO_JAR)
    lines = result.stderr.strip().splitlines()
    assert (result.returncode, len(lines)) == (ExitCode.USAGE, 1), result.stderr
    assert lines[0].startswith("tweetlake demo: not ready for the demo, nothing was done: jdbc jar:")
    assert JDBC_URL in lines[0]
    assert result.stdout == ""  # not even the simulator's banner
    assert not (demo / "lake").exists() and not (tmp_path / "home" / "pg").exists()


def test_the_token_is_checked_with_the_free_usage_endpoint_only(tmp_path: Path) -> None:
    with SimulatorServer(seed=3, accounts=2, token=TOKEN) as sim:
        env = {"X_BEARER_TOKEN": TOKEN, "X_API_BASE_URL": sim.base_url}
        good = run_cli(["doctor", "--for", "ingest", "--api"], tmp_path, env=env)
        bad = run_cli(
            ["doctor", "--for", "ingest", "--api"], tmp_path, env={**env, "X_BEARER_TOKEN": "wrong-token-123"}
        )
        billed, base = sim.billing.total_usd(), sim.base_url
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"✓ x token       accepted by {base}" in good.stdout and "asking cost nothing" in good.stdout
    assert bad.returncode == ExitCode.USAGE and "✗ x token" in bad.stdout and "export X_BEARER_TOKEN=" in bad.stdout
    assert "wrong-token-123" not in bad.stdout + bad.stderr
    assert billed == 0


def test_no_token_is_a_cross_for_ingest_only(tmp_path: Path) -> None:
    result = run_cli(["doctor", "--for", "ingest"], tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert "✗ x token       no X_BEARER_TOKEN or X_BEARER_TOKEN_SECRET_ARN" in result.stdout


def test_aws_credentials_and_the_stack_are_checked_only_when_asked(tmp_path: Path, moto_endpoint: str) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 20, "AWS_ENDPOINT_URL": moto_endpoint}
    local = run_cli(["doctor", "--for", "report"], tmp_path, env=keys)
    assert "aws" not in local.stdout
    asked = run_cli(["doctor", "--for", "aws", "--stack", "tweetlake-absent"], tmp_path, env=keys)
    assert "✓ aws           account 123456789012 as arn:aws:sts::123456789012:" in asked.stdout
    assert "✗ stack         tweetlake-absent: " in asked.stdout and "fix: scripts/deploy.sh" in asked.stdout
    assert asked.returncode == ExitCode.USAGE
    nothing = run_cli(["doctor", "--for", "aws"], tmp_path)  # no credentials at all (run_cli removes them)
    assert nothing.returncode == ExitCode.USAGE and "✗ aws           no usable credentials" in nothing.stdout
