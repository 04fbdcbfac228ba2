"""The stack's static checks: cfn-lint, checkov and shellcheck, each with its skips in a config file.

cfn-lint comes from .venv (requirements.txt). checkov and shellcheck live in the tools venv that
``ensure_tools_venv`` (scripts/aws_lib.sh) creates, because checkov's boto3/botocore pins clash
with .venv's awscli: these tests fail, never skip, when it is missing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.aws import cfn
from tests.aws.conftest import ROOT, TOOLS_BIN, VENV_BIN

HOW_TO_INSTALL = "create it with: bash -c 'source scripts/aws_lib.sh && ensure_tools_venv' (scripts/test.sh does)"
OUR_SCRIPTS = [
    "aws_lib.sh",
    "airflow.sh",
    "package.sh",
    "deploy.sh",
    "start_job_run.sh",
    "start_crawler.sh",
    "run_workflow.sh",
]


pytestmark = pytest.mark.venvs  # checkov and shellcheck live in .venv-tools


def _tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: {HOW_TO_INSTALL}")
    return path


def test_there_is_a_template_to_check() -> None:
    assert cfn.MAIN_TEMPLATE in cfn.templates()


def test_cfn_lint_finds_nothing() -> None:
    templates = [str(p) for p in cfn.templates()]
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), *templates], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Templates that other issues own and that still have findings: shown as XFAIL in every run (-ra)
# until their owner fixes them or skips each with a reason; then the mark goes.
KNOWN_FINDINGS: dict[str, str] = {}  # template name -> why its checkov findings are tolerated for now (none)


@pytest.fixture(scope="module")
def checkov_reports(checkov_run: subprocess.Popen[str] | None) -> dict[str, dict[str, list[dict[str, object]]]]:
    """One checkov run over cloudformation/ (started by conftest's checkov_run); results by file name."""
    _tool("checkov")
    assert checkov_run is not None
    stdout, stderr = checkov_run.communicate(timeout=180)
    result = subprocess.CompletedProcess(checkov_run.args, checkov_run.returncode, stdout, stderr)
    assert result.returncode in (0, 1), result.stderr  # 1 = some check failed; anything else is checkov's own error
    report = json.loads(result.stdout)
    by_file: dict[str, dict[str, list[dict[str, object]]]] = {
        p.name: {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []}
        for p in cfn.templates()
    }
    for r in report if isinstance(report, list) else [report]:
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in r["results"][kind]:
                by_file[Path(str(check["file_path"])).name][kind].append(check)
        for path in r["results"].get("parsing_errors", []):
            by_file[Path(path).name]["parsing_errors"].append({"file": path})
    return by_file


@pytest.mark.parametrize(
    "template",
    [
        pytest.param(p.name, marks=pytest.mark.xfail(reason=KNOWN_FINDINGS[p.name], strict=False))
        if p.name in KNOWN_FINDINGS
        else p.name
        for p in cfn.templates()
    ],
)
def test_checkov_passes_with_only_the_documented_skips(
    template: str, checkov_reports: dict[str, dict[str, list[dict[str, object]]]]
) -> None:
    results = checkov_reports[template]
    assert not results["parsing_errors"], results["parsing_errors"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed, "\n".join(failed)
    assert results["passed_checks"], "checkov checked nothing: was the template parsed?"
    for c in results["skipped_checks"]:  # a skip in the template's Metadata carries its reason
        check_result = c.get("check_result")
        comment = check_result.get("suppress_comment") if isinstance(check_result, dict) else None
        assert comment and comment != "No comment provided", f"{c['check_id']} {c['resource']} skipped without a reason"


def test_shell_scripts_are_shellcheck_clean() -> None:
    result = subprocess.run(
        [str(_tool("shellcheck")), "-x", *(f"scripts/{s}" for s in OUR_SCRIPTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_config_gives_a_reason_for_every_skip() -> None:
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    start = lines.index("skip-check:")
    for i, line in enumerate(lines[start + 1 :], start + 1):
        if line.strip().startswith("- "):
            assert lines[i - 1].strip().startswith("#"), f"skip {line.strip()} has no comment above it"


def test_ingestion_user_data_is_shellcheck_clean(tmp_path: Path) -> None:
    template = cfn.load()
    resolver = cfn.Resolver(template, {"LakeBucket": "lake", "ArtifactsBucket": "artifacts"})
    user_data = resolver.resolve(template["Resources"]["IngestionHost"]["Properties"]["UserData"])
    shell = cfn.user_data_parts(user_data)["text/x-shellscript"]  # the script part of the MIME multipart
    script = tmp_path / "user-data.sh"
    script.write_text(shell)
    paths = [script]
    # and the scripts it installs, which shellcheck cannot see inside their quoted here-documents
    for name, marker in (("tweetlake-run", "RUN"), ("tweetlake-alert", "ALERT")):
        path = tmp_path / name
        path.write_text(shell.split(f"<<'{marker}'\n", 1)[1].split(f"\n{marker}\n", 1)[0] + "\n")
        paths.append(path)
    for path in paths:
        result = subprocess.run(
            [str(_tool("shellcheck")), "-s", "bash", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
