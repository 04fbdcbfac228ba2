"""Every side of the pipeline knows every dataset of the catalogue (``common/catalogue.py``).

One test, one side a parameter: adding a dataset to the catalogue fails here, side by side, until
its collector, its Glue spec and entry script, its DAG, its stack resources, the scripts, its
tables and the report's health panel are there.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common.catalogue import CATALOGUE, NAMES, Dataset
from tests.aws import cfn

ROOT = Path(__file__).resolve().parents[1]
STACK = cfn.STACK_NAME


def _collectors() -> list[str]:
    from ingestion.run import COLLECTORS

    assert sorted(COLLECTORS) == sorted(NAMES), "a collector registered for no dataset"
    return list(COLLECTORS)


def _glue_specs() -> list[str]:
    from glue_jobs.datasets import DATASETS

    assert sorted(DATASETS) == sorted(NAMES), "a Glue spec for no dataset"
    found = []
    for name, spec in DATASETS.items():
        d = next(d for d in CATALOGUE if d.name == name)
        if spec.name == name and (ROOT / "glue_jobs" / d.entry_script).is_file():
            found.append(name)
    return found


def _dags() -> list[str]:
    from tests.airflow.test_specs import specs_module

    return [
        spec.dataset
        for spec, d in zip(specs_module().SPECS, CATALOGUE, strict=True)
        if (spec.dataset, spec.schedule, spec.job_name(STACK), spec.crawler_name(STACK))
        == (d.name, d.schedule.cron(), d.job_name(STACK), d.crawler_name(STACK))
    ]


def _stack() -> list[str]:
    template = cfn.load()
    resources: dict[str, Any] = template["Resources"]
    resolve = cfn.Resolver(template, {}).resolve
    params = template["Parameters"]
    user_data = str(resolve(resources["IngestionHost"]["Properties"]["UserData"]))
    jobs = cfn.resources_of_type(template, "AWS::Glue::Job")
    crawlers = cfn.resources_of_type(template, "AWS::Glue::Crawler")
    assert len(jobs) == len(crawlers) == len(CATALOGUE), "a Glue job or crawler for no dataset"

    def declared(d: Dataset) -> bool:
        host = d.host_name.capitalize()
        job, crawler = resources.get(f"{d.cfn_name}Job"), resources.get(f"{d.cfn_name}Crawler")
        workflow = resources.get(f"{d.cfn_name}Workflow")
        trigger = resources.get(f"{d.cfn_name}ScheduleTrigger")
        if not (job and crawler and workflow and trigger):
            return False
        targets = resolve(crawler["Properties"]["Targets"])["S3Targets"]
        return (
            resolve(job["Properties"]["Name"]) == d.job_name(STACK)
            and str(resolve(job["Properties"]["Command"]["ScriptLocation"])).endswith("/" + d.entry_script)
            and resolve(crawler["Properties"]["Name"]) == d.crawler_name(STACK)
            and [t["Path"].split("/raw/")[1] for t in targets] == [f"{d.name}/"]
            and resolve(workflow["Properties"]["Name"]) == d.workflow_name(STACK)
            and trigger["Properties"]["Schedule"] == {"Ref": f"{host}WorkflowSchedule"}
            and params[f"{host}WorkflowSchedule"]["Default"] == d.schedule.glue_cron()
            and params[f"{host}IngestOnCalendar"]["Default"] == d.schedule.on_calendar()
            and f"OnCalendar={d.schedule.on_calendar()}" in user_data
            and f"Unit=tweetlake-ingest@{d.host_name}.service" in user_data
        )

    return [d.name for d in CATALOGUE if declared(d)]


def _scripts() -> list[str]:
    """The AWS scripts' names for each dataset, asked through bash as they ask them."""
    found = []
    for d in CATALOGUE:
        names = subprocess.run(
            [
                "bash",
                "-c",
                'source scripts/aws_lib.sh && for kind in job crawler workflow; do dataset_resource "$1" $kind; done',
                "-",
                d.name,
            ],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "TWEETLAKE_STACK": STACK},
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if names == [d.job_name(STACK), d.crawler_name(STACK), d.workflow_name(STACK)]:
            found.append(d.name)
    uploaded = subprocess.run(
        ["bash", "-c", "source scripts/aws_lib.sh && catalogue entry-scripts"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "$(catalogue entry-scripts)" in (ROOT / "scripts" / "package.sh").read_text()
    return [name for name in found if f"{name}_job.py" in uploaded]


def _warehouse() -> list[str]:
    """Each dataset's tables are created by a migration, and its freshness column is one of them."""
    sql = "\n".join(p.read_text() for p in sorted((ROOT / "common" / "warehouse" / "migrations").glob("*.sql")))
    created = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql))
    return [d.name for d in CATALOGUE if set(d.tables) <= created and d.freshness[0] in d.tables]


def _health_panel() -> list[str]:
    from analytics.pipeline import _LAST_COLLECTION

    return [name for name in NAMES if name in _LAST_COLLECTION]


def _demo() -> list[str]:
    from tweetlake.demo import SCHEDULE

    return sorted({name for _, names in SCHEDULE for name in names})


SIDES: dict[str, Callable[[], list[str]]] = {
    "collector": _collectors,
    "glue spec and entry script": _glue_specs,
    "dag": _dags,
    "stack": _stack,
    "scripts": _scripts,
    "warehouse tables": _warehouse,
    "report health panel": _health_panel,
    "demo": _demo,
}


@pytest.mark.parametrize("side", SIDES)
def test_every_side_of_the_pipeline_declares_every_dataset_of_the_catalogue(side: str) -> None:
    assert sorted(SIDES[side]()) == sorted(NAMES)
