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
