"""The analytics room stands on common/ only: no ingestion, no glue_jobs, no Spark, no faces."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_analytics_imports_only_common_and_libraries() -> None:
    found = []
    for path in sorted((ROOT / "analytics").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            found += [
                f"{path.name}: {top}"
                for top in tops
                if top in ("ingestion", "glue_jobs", "pyspark", "tweetlake", "xsim")
            ]
    assert found == []


def test_no_module_but_the_command_entry_imports_a_cmd_module() -> None:
    found = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or relative.as_posix() == "tweetlake/cli.py":
            continue  # .venv, .venv-tools, .venv-airflow (being installed beside the tests), .git
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.split(".")[-1].startswith("cmd_") and n.startswith("tweetlake") for n in names):
                found.append(path.relative_to(ROOT).as_posix())
    assert [p for p in found if not p.startswith("tests/")] == []


def test_the_report_and_its_helpers_import_each_other_without_a_cycle() -> None:
    """pipeline.py and tweetlake/billing.py take Table from analytics.table, never from the report."""
    for name in ("analytics/pipeline.py", "tweetlake/billing.py", "analytics/table.py"):
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(m and m.startswith("analytics.report") for m in modules), name
