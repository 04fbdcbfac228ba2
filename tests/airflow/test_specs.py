"""The DAGs' plain specs (no Airflow needed) agree with the stack: the same run times as its
ingestion timers, and the names of crawlers and jobs it really creates."""

from __future__ import annotations

import importlib.util
import re
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.airflow.conftest import DAGS
from tests.aws import cfn


def specs_module() -> ModuleType:
    path = DAGS / "tweetlake_airflow" / "specs.py"
    spec = importlib.util.spec_from_file_location("tweetlake_airflow_specs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def on_calendar_to_cron(on_calendar: str) -> str:
    """``*-*-* HH[/step]:MM:00`` (the forms the template's timers use) as a five-field cron."""
    match = re.fullmatch(r"\*-\*-\* (\d{2})(?:/(\d+))?:(\d{2}):00", on_calendar)
    assert match, f"not a form this test reads: {on_calendar!r}"
    hour, step, minute = int(match[1]), match[2], int(match[3])
    if step is None:
        hours = str(hour)
    elif hour == 0:
        hours = f"*/{step}"
    else:
        hours = f"{hour}-23/{step}"
    return f"{minute} {hours} * * *"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load()


@pytest.mark.parametrize(
    ("dataset", "parameter"),
    [
        ("users", "UsersIngestOnCalendar"),
        ("tweets", "TweetsIngestOnCalendar"),
        ("tweet_metrics", "MetricsIngestOnCalendar"),
    ],
)
def test_each_dag_runs_when_the_stacks_timer_would(template: dict[str, Any], dataset: str, parameter: str) -> None:
    spec = next(s for s in specs_module().SPECS if s.dataset == dataset)
    assert spec.schedule == on_calendar_to_cron(template["Parameters"][parameter]["Default"])


def test_the_dags_name_the_crawlers_and_jobs_the_stack_creates(template: dict[str, Any]) -> None:
    resolver = cfn.Resolver(template, {})
    names = {
        (r["Type"], resolver.resolve(r["Properties"]["Name"]))
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::Glue::Crawler", "AWS::Glue::Job")
    }
    wanted = set()
    for spec in specs_module().SPECS:
        wanted |= {
            ("AWS::Glue::Crawler", spec.crawler_name(cfn.STACK_NAME)),
            ("AWS::Glue::Job", spec.job_name(cfn.STACK_NAME)),
        }
    assert wanted == names
