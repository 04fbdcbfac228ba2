"""The quickstart's command blocks run as written, from the repository root, after the demo: a
newcomer's machine (a home of its own, the embedded PostgreSQL the demo starts, nothing else)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.faces.test_demo_resume import demo as run_demo

pytestmark = pytest.mark.slow  # the demo: the simulator, Spark and the embedded PostgreSQL

ROOT = Path(__file__).resolve().parents[2]


def bash_blocks(page: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S)


def test_the_quickstarts_next_steps_run_as_written_after_the_demo() -> None:
    home = Path(tempfile.mkdtemp(prefix="tweetlake-quickstart-")) / "home"  # the server user must reach it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWEETLAKE_", "PG"))}
    env["TWEETLAKE_HOME"] = str(home)
    try:
        demo = run_demo(["--accounts", "2"], env)
        assert demo.returncode == 0, demo.stderr[-3000:]
        tracked = re.search(r"^tracking 2 accounts: (.+)$", demo.stdout, re.M)
        assert tracked is not None
        next_steps, server = (
            b for b in bash_blocks("quickstart.md") if "tweetlake sql --schema demo" in b or "db url" in b
        )
        steps = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", next_steps],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert steps.returncode == 0, (steps.stdout[-2000:], steps.stderr[-2000:])
        assert any(name in steps.stdout for name in tracked.group(1).split(", "))  # the demo's schema
        assert f"report: {home / 'demo' / 'report.html'}" in steps.stdout
        assert (home / "demo" / "report.html").stat().st_size > 0
        assert "for 2 account(s)" in steps.stdout and "no tracked accounts" not in steps.stdout
        cost = re.search(r"would have cost \$([\d,.]+):", demo.stdout)
        assert cost is not None and f"${cost.group(1)}" in steps.stdout  # usage: the demo's ledger and month
        stopped = subprocess.run(["bash", "-c", server], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.startswith("postgresql://") and stopped.stdout.rstrip().endswith("stopped")
    finally:
        subprocess.run([sys.executable, "-m", "tweetlake.cli", "db", "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(home.parent, ignore_errors=True)
