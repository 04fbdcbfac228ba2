"""The ingestion host's user data: cloud-init reruns it on every boot, and rerunning it is safe and
applies changed stack parameters.

CloudFormation applies a change of the host's UserData (TweetlakeVersion, TrackedAccounts, the
*IngestOnCalendar schedules) by stopping and starting the instance. cloud-init runs a plain
user-data script at the first boot only, so the user data is MIME multipart with a #cloud-config
part that runs the script part on every boot; the script must then be idempotent.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.aws import cfn

NAMES = {
    "LakeBucket": "lake",
    "ArtifactsBucket": "artifacts",
    "AlertTopic": "arn:aws:sns:us-east-1:123456789012:alerts",
    "XBearerTokenSecret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-token",
}
TIMERS = ["tweetlake-ingest-users.timer", "tweetlake-ingest-tweets.timer", "tweetlake-ingest-metrics.timer"]


def _user_data(**params: str) -> str:
    template = cfn.load()
    resolver = cfn.Resolver(template, NAMES)
    resolver.params.update(params)
    node = template["Resources"]["IngestionHost"]["Properties"]["UserData"]
    assert set(node) == {"Fn::Base64"}
    return str(resolver.resolve(node))


def test_user_data_runs_the_script_on_every_boot() -> None:
    user_data = _user_data()
    assert len(user_data.encode()) < 16 * 1024, "EC2 takes at most 16 KB of user data"
    assert user_data.isascii()
    parts = cfn.user_data_parts(user_data)
    assert set(parts) == {"text/cloud-config", "text/x-shellscript"}
    cloud_config = parts["text/cloud-config"]
    assert cloud_config.startswith("#cloud-config\n")
    modules = yaml.safe_load(cloud_config)["cloud_final_modules"]
    assert ["scripts-user", "always"] in modules
    assert not [m for m in modules if m in ("scripts-user", "scripts_user", ["scripts-user"])]  # not once as well
    assert parts["text/x-shellscript"].startswith("#!/bin/bash\n")


def test_the_role_may_publish_alerts_to_the_stack_topic_only() -> None:
    template = cfn.load()
    statements = [
        s
        for p in template["Resources"]["IngestionRole"]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    ]
    sns = [s for s in statements if "sns:" in str(s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in sns] == [("sns:Publish", {"Ref": "AlertTopic"})]
    script = cfn.user_data_parts(_user_data())["text/x-shellscript"]
    assert "OnFailure=tweetlake-alert@%i.service" in script
    assert f"TWEETLAKE_ALERT_TOPIC_ARN={NAMES['AlertTopic']}" in script
    assert 'aws sns publish --region "$AWS_REGION" --topic-arn "$TWEETLAKE_ALERT_TOPIC_ARN"' in script


# --------------------------------------------------------------------------- rerunning the script
STUB = """#!/bin/bash
# stand-in for {name}: records the call; state files in $STATE say what is "installed"
printf '%s\\n' "{name} $*" >> "$STATE/calls"
case "{name}" in
  rpm) [ -f "$STATE/python-installed" ] ;;
  dnf) touch "$STATE/python-installed" ;;
  id) [ -f "$STATE/user-created" ] ;;
  useradd) touch "$STATE/user-created" ;;
  install) mkdir -p "${{@: -1}}" ;;
esac
"""


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Any]:
    """A pretend host: the script's absolute paths moved under a temporary root, and stand-ins for
    the commands that would change the machine (dnf, useradd, systemctl, ...)."""
    root, state, bin_dir = tmp_path / "root", tmp_path / "state", tmp_path / "bin"
    for d in (root / "etc" / "systemd" / "system", root / "usr" / "local" / "bin", state, bin_dir):
        d.mkdir(parents=True)
    for name in ("rpm", "dnf", "id", "useradd", "install", "systemctl"):
        stub = bin_dir / name
        stub.write_text(STUB.format(name=name))
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)

    def boot(user_data: str) -> subprocess.CompletedProcess[str]:
        script = cfn.user_data_parts(user_data)["text/x-shellscript"]
        for path in ("/etc/", "/usr/local/bin/", "/opt/tweetlake"):
            script = script.replace(path, f"{root}{path}")
        (state / "calls").write_text("")
        return subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STATE": str(state)},
        )

    def calls() -> list[str]:
        return (state / "calls").read_text().splitlines()

    def files() -> dict[str, str]:
        return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}

    return {"boot": boot, "calls": calls, "files": files, "root": root}


def test_rerunning_the_user_data_is_safe_and_applies_new_parameters(host: dict[str, Any]) -> None:
    first = host["boot"](_user_data())
    assert first.returncode == 0, first.stdout + first.stderr
    calls = host["calls"]()
    assert any(c.startswith("dnf install") for c in calls) and any(c.startswith("useradd") for c in calls)
    assert f"systemctl restart {' '.join(TIMERS)}" in calls
    installed = host["files"]()
    assert set(installed) == {
        "etc/tweetlake.env",
        "usr/local/bin/tweetlake-run",
        "usr/local/bin/tweetlake-alert",
        "etc/systemd/system/tweetlake-ingest@.service",
        "etc/systemd/system/tweetlake-alert@.service",
        *(f"etc/systemd/system/{t}" for t in TIMERS),
    }
    assert (host["root"] / "usr/local/bin/tweetlake-run").stat().st_mode & 0o777 == 0o755
    assert (host["root"] / "etc/tweetlake.env").stat().st_mode & 0o777 == 0o644

    # the same user data again (a reboot): nothing installed twice, the same files
    again = host["boot"](_user_data())
    assert again.returncode == 0, again.stdout + again.stderr
    calls = host["calls"]()
    assert not any(c.startswith(("dnf", "useradd")) for c in calls), calls
    assert host["files"]() == installed

    # changed parameters (CloudFormation stops and starts the host with the new user data)
    changed = host["boot"](
        _user_data(TweetlakeVersion="0.9.1", TrackedAccounts="nasa,esa", TweetsIngestOnCalendar="*-*-* 00/6:15:00")
    )
    assert changed.returncode == 0, changed.stdout + changed.stderr
    env = (host["root"] / "etc/tweetlake.env").read_text()
    assert "TWEETLAKE_WHEEL=s3://artifacts/wheels/tweetlake-0.9.1-py3-none-any.whl" in env
    assert "TWEETLAKE_TRACKED_ACCOUNTS=nasa,esa" in env
    timer = (host["root"] / "etc/systemd/system/tweetlake-ingest-tweets.timer").read_text()
    assert "OnCalendar=*-*-* 00/6:15:00" in timer
    calls = host["calls"]()
    assert calls.index("systemctl daemon-reload") < calls.index(f"systemctl restart {' '.join(TIMERS)}")
    assert not list(host["root"].rglob("*.new")), "a half-written file was left behind"


def test_the_refresh_policy_and_the_budget_reach_every_ingest_run(host: dict[str, Any]) -> None:
    """The template's defaults are a policy tweetlake reads and a budget; the host's environment
    carries them to every `tweetlake ingest` (the metrics timer's unit too), and a change applies."""
    from common.settings import Settings
    from ingestion.policy import DEFAULT_POLICY, Policy

    params = cfn.load()["Parameters"]
    assert params["MetricsRefreshPolicy"]["Default"] == DEFAULT_POLICY
    assert str(Policy.parse(params["MetricsRefreshPolicy"]["Default"])) == DEFAULT_POLICY
    assert params["MonthlyXApiBudgetUsd"]["Default"] > 0
    first = host["boot"](_user_data())
    assert first.returncode == 0, first.stdout + first.stderr
    env_text = (host["root"] / "etc/tweetlake.env").read_text()
    env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
    settings = Settings.from_env(env)
    assert settings.metrics_policy == DEFAULT_POLICY
    assert settings.budget_usd == float(params["MonthlyXApiBudgetUsd"]["Default"])
    unit = (host["root"] / "etc/systemd/system/tweetlake-ingest@.service").read_text()
    assert "/etc/tweetlake.env\n" in unit and "EnvironmentFile=" in unit and "ingest %i" in unit
    timer = (host["root"] / "etc/systemd/system/tweetlake-ingest-metrics.timer").read_text()
    assert "Unit=tweetlake-ingest@metrics.service" in timer
    changed = host["boot"](_user_data(MetricsRefreshPolicy="0-1d:2h,1d-30d:1d", MonthlyXApiBudgetUsd="0"))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    env_text = (host["root"] / "etc/tweetlake.env").read_text()
    env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
    assert Settings.from_env(env).metrics_policy == "0-1d:2h,1d-30d:1d"
    assert Settings.from_env(env).budget_usd == 0.0  # 0: nothing may be spent (collection paused)
