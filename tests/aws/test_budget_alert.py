"""A reached budget is a known stop on the ingestion host: the unit treats exit 9 as success and the
alert script says it once a month, with the month's spend, the budget and when collection resumes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.aws import cfn


def installed(name: str, marker: str) -> str:
    template = cfn.load()
    resolver = cfn.Resolver(template, {"LakeBucket": "lake", "ArtifactsBucket": "artifacts"})
    user_data = resolver.resolve(template["Resources"]["IngestionHost"]["Properties"]["UserData"])
    shell = cfn.user_data_parts(user_data)["text/x-shellscript"]
    body = shell.split(f"put {name} ", 1)[1].split(f"<<'{marker}'\n", 1)[1].split(f"\n{marker}\n", 1)[0]
    return "\n".join(line.removeprefix("          ") for line in body.splitlines()) + "\n"


def test_a_reached_budget_is_said_once_a_month_with_the_spend_the_budget_and_the_day_it_resumes(
    tmp_path: Path,
) -> None:
    unit = installed("/etc/systemd/system/tweetlake-ingest@.service", "UNIT")
    assert "SuccessExitStatus=4 9" in unit
    assert "ExecStopPost=" in unit and '"$$EXIT_STATUS" = 9' in unit and "tweetlake-alert %i budget" in unit
    state, bin_dir = tmp_path / "var", tmp_path / "bin"
    state.mkdir()
    bin_dir.mkdir()
    script = installed("/usr/local/bin/tweetlake-alert", "ALERT")
    script = script.replace("/var/lib/tweetlake", str(state)).replace("/opt/tweetlake/venv/bin/", f"{bin_dir}/")
    (tmp_path / "alert").write_text(script)
    calls = tmp_path / "calls"
    (bin_dir / "aws").write_text(f'#!/bin/bash\nprintf "%s\\n---\\n" "$*" >> {calls}\n')
    (bin_dir / "tweetlake").write_text("#!/bin/bash\necho 'X API usage (usage ledger): $49.98 - 9,996 post reads'\n")
    today = '/bin/date -u -d 2026-11-22 "${@:2}"'  # the 22nd of November; a month later is December 1st
    (bin_dir / "date").write_text(
        f'#!/bin/bash\nif [ "$1" = -u ] && [ "$2" = -d ]; then echo 2026-12-01; else {today}; fi\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AWS_REGION": "eu-west-1",
        "TWEETLAKE_ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alerts",
        "TWEETLAKE_LAKE": "s3://lake/",
        "TWEETLAKE_BUDGET_USD": "50",
    }
    for _ in range(3):  # three runs stopped by the budget in the same month
        done = subprocess.run(
            ["bash", str(tmp_path / "alert"), "tweets", "budget"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    sent = calls.read_text().split("\n---\n")[:-1]
    assert len(sent) == 1  # heard once, not every 4 hours
    assert "monthly X API budget is reached" in sent[0]
    assert "USD 50 a month" in sent[0] and "resumes on 2026-12-01" in sent[0] and "$49.98" in sent[0]
