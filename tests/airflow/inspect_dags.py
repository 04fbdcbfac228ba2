"""Run by the Airflow venv's Python for tests/airflow/test_dags.py (never imported by pytest): prints JSON.

``inspect_dags.py DAGS_FOLDER bag TARGET…``  parse the folder with Airflow's DagBag once per target
                                       (``TWEETLAKE_AIRFLOW_TARGET``); the DAGs as data, by target
``inspect_dags.py DAGS_FOLDER guard``  import the DAG file while watching what code under the folder
                                       does: file, network, process and folder events (audit hooks),
                                       environment reads of secrets, Variable / Connection / boto3 calls,
                                       heavy modules loaded
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

SECRET_NAMES = {
    "X_BEARER_TOKEN",
    "X_BEARER_TOKEN_SECRET_ARN",
    "TWEETLAKE_DATABASE_URL",
    "TWEETLAKE_API_KEY",
    "AIRFLOW_CONN_X_API",
    "AIRFLOW_CONN_AWS_DEFAULT",
    "AWS_SECRET_ACCESS_KEY",
}
WATCHED = {
    "open",
    "socket.connect",
    "socket.getaddrinfo",
    "subprocess.Popen",
    "os.system",
    "os.mkdir",
    "os.remove",
    "os.rename",
    "os.unlink",
    "shutil.rmtree",
    "sqlite3.connect",
    "os.exec",
    "os.posix_spawn",
}
CODE_SUFFIXES = (".py", ".pyc", ".so", ".pth")
HEAVY = ("pyspark", "psycopg", "ingestion.client", "glue_jobs.runner", "tweetlake.localdb", "requests")


def seconds(value: Any) -> float | None:
    return value.total_seconds() if value is not None else None


def describe(folder: str) -> dict[str, Any]:
    # as Airflow 3's DAG processor and task runner parse a bundle: its folder on sys.path
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(folder, bundle_path=Path(folder), bundle_name="dags-folder")
    out: dict[str, Any] = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        tasks = {}
        for t in dag.tasks:
            callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            tasks[t.task_id] = {
                "class": type(t).__name__,
                "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries,
                "retry_delay": seconds(t.retry_delay),
                "retry_exponential_backoff": bool(t.retry_exponential_backoff),
                "max_retry_delay": seconds(t.max_retry_delay),
                "execution_timeout": seconds(t.execution_timeout),
                "deferrable": getattr(t, "deferrable", None),
                "on_failure_callback": [getattr(c, "__qualname__", str(c)) for c in callbacks if c],
                "crawler_name": getattr(t, "crawler_name", None),
                "job_name": getattr(t, "job_name", None),
                "script_args": getattr(t, "script_args", None),
                "update_config": getattr(t, "update_config", None),
                "aws_conn_id": getattr(t, "aws_conn_id", None),
                "op_kwargs": {k: str(v) for k, v in (getattr(t, "op_kwargs", None) or {}).items()},
            }
        out["dags"][dag_id] = {
            "schedule": str(getattr(dag, "schedule", None)),
            "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tags": sorted(dag.tags),
            "tasks": tasks,
        }
    return out


def guarded_import(folder: str) -> dict[str, Any]:
    sys.path.insert(0, folder)
    # what the DAG file imports from outside the folder is warmed first: its own import-time work
    # (Airflow reads its config, creates its home) is not the DAG file's
    import airflow.providers.amazon.aws.operators.glue
    import airflow.providers.amazon.aws.operators.glue_crawler
    import airflow.providers.standard.operators.python
    import airflow.sdk
    import boto3
    import croniter  # noqa: F401  (its import runs `file` to learn the word size: cron timetables load it)

    import common.settings  # noqa: F401

    root = str(Path(folder).resolve())
    events: list[str] = []
    calls: list[str] = []

    def from_dags() -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.startswith(root):
                return True
            frame = frame.f_back
        return False

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event not in WATCHED:
            return
        if event == "open" and (
            not isinstance(args[0], str) or args[0].endswith(CODE_SUFFIXES) or os.path.isdir(args[0])
        ):
            return
        if from_dags():
            events.append(f"{event} {args[0]!r}")

    environ_getitem = os._Environ.__getitem__  # type: ignore[attr-defined]

    def watched_getitem(self: Any, key: str) -> Any:
        if key in SECRET_NAMES and from_dags():
            calls.append(f"environ[{key}]")
        return environ_getitem(self, key)

    def forbid(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise RuntimeError(f"{name} called while the DAG file is parsed")

        return call

    os._Environ.__getitem__ = watched_getitem  # type: ignore[attr-defined]
    airflow.sdk.Variable.get = forbid("Variable.get")  # type: ignore[method-assign]
    airflow.sdk.BaseHook.get_connection = forbid("BaseHook.get_connection")  # type: ignore[method-assign]
    airflow.sdk.Connection.get = forbid("Connection.get")  # type: ignore[method-assign]
    boto3.client = forbid("boto3.client")
    boto3.resource = forbid("boto3.resource")
    boto3.session.Session.client = forbid("boto3.Session.client")  # type: ignore[method-assign]
    before = set(sys.modules)
    sys.addaudithook(audit)
    spec = importlib.util.spec_from_file_location("tweetlake_dags_under_guard", Path(folder) / "tweetlake_dags.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = set(sys.modules) - before
    return {
        "events": events,
        "calls": calls,
        "heavy_modules": sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY),
        "dags": sorted(k for k, v in vars(module).items() if type(v).__name__ == "DAG"),
    }


def describe_targets(folder: str, targets: list[str]) -> dict[str, Any]:
    out = {}
    for target in targets:
        os.environ["TWEETLAKE_AIRFLOW_TARGET"] = target
        out[target] = describe(folder)
    return out


if __name__ == "__main__":
    dags_folder, mode = sys.argv[1], sys.argv[2]
    result = describe_targets(dags_folder, sys.argv[3:]) if mode == "bag" else guarded_import(dags_folder)
    print("INSPECT-JSON " + json.dumps(result, default=str))
