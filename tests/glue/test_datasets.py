"""The dataset specs: one table the runner, the merge and ``tweetlake job`` read, loadable without Spark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from common import layout
from common.warehouse.columns import COLUMN_TYPES, STAGED_COLUMNS, Staging
from glue_jobs.datasets import DATASETS, TWEET_METRICS, dataset_spec, resolve
from glue_jobs.staging import copy_statement
from tests.glue.glue_helpers import envelope, tweet, user

ROOT = Path(__file__).resolve().parents[2]
NO_PYSPARK = "import sys; sys.modules['pyspark'] = None  # any import of pyspark now fails\n"


def test_the_jobs_and_the_lake_know_the_same_datasets() -> None:
    assert tuple(DATASETS) == layout.DATASETS
    assert dataset_spec("metrics") is TWEET_METRICS is dataset_spec("tweet_metrics")
    with pytest.raises(ValueError, match="unknown dataset"):
        dataset_spec("likes")


def test_every_staging_kind_has_a_column_contract_and_every_merge_a_reset() -> None:
    assert set(STAGED_COLUMNS) == set(Staging)
    staged = {out.kind for spec in DATASETS.values() for out in spec.outputs}
    assert staged == set(Staging)  # no kind is defined that no dataset stages
    for spec in DATASETS.values():
        assert len(set(spec.kinds)) == len(spec.kinds), f"{spec.name} stages a kind twice"
        assert spec.merge.reset, f"{spec.name}: --full-refresh must empty something"
    for columns in STAGED_COLUMNS.values():
        assert len(set(columns)) == len(columns)
    assert {COLUMN_TYPES[c] for c in ("tweet_id", "collected_at", "date_key", "verified")} == {
        "bigint",
        "timestamptz",
        "integer",
        "boolean",
    }


def test_the_copy_statement_names_only_checked_identifiers() -> None:
    assert copy_statement("twitter", "stg_t", ("tweet_id", "tag")) == (
        "COPY twitter.stg_t (tweet_id, tag) FROM STDIN (FORMAT csv)"
    )
    for schema, table, column in (("Twitter", "t", "c"), ("s", "t; DROP", "c"), ("s", "t", "tag)")):
        with pytest.raises(ValueError, match="invalid SQL identifier"):
            copy_statement(schema, table, (column,))


def test_the_spec_table_and_job_help_load_without_pyspark() -> None:
    code = NO_PYSPARK + (
        "from glue_jobs.datasets import DATASETS\nfrom tweetlake.cli import main\nassert main(['job', '--help']) == 0\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]  # argparse exits 0 after --help
    assert "{users,tweets,tweet_metrics,metrics,all}" in result.stdout
    assert "{auto,files,copy,jdbc}" in result.stdout
    imported = subprocess.run(
        [sys.executable, "-c", NO_PYSPARK + "import pyspark"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert imported.returncode != 0  # the guard itself works: pyspark really is unimportable there


def test_every_named_transform_and_schema_exists() -> None:
    import pyspark.sql.types as T

    for spec in DATASETS.values():
        assert isinstance(spec.data_schema(), T.StructType)
        for out in spec.outputs:
            assert all(callable(resolve(step)) for step in out.steps), out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_output_yields_exactly_its_column_contract(spark: Any, name: str) -> None:
    """A column added to a contract and not to its transform (or the reverse) fails here."""
    from glue_jobs.transforms.raw import lines_of_text, parse_raw_lines

    when = "2026-11-20T10:00:00Z"
    records = (
        [envelope(when, data=user("42", "alice"))]
        if name == "users"
        else [
            envelope(when, data=tweet("100", entities={"hashtags": [{"tag": "a"}]})),
            envelope(when, error={"resource_type": "tweet", "title": "Not Found Error", "resource_id": "9"}),
        ]
    )
    source = f"file:///lake/raw/{name}/dt=2026-11-20/20261120T100000Z-abcdef-00000.jsonl.gz"
    lines_df = spark.createDataFrame([(line, source) for line in records], "value string, source_uri string")
    spec = DATASETS[name]
    parsed_df = parse_raw_lines(lines_of_text(lines_df), spec.data_schema())
    for out in spec.outputs:
        assert sorted(out.apply(parsed_df).columns) == sorted(out.columns), out.kind
