#!/usr/bin/env bash
# Run one dataset's Glue workflow (its crawler, then its job) now, wait for it to end, and exit
# non-zero when the run or any of its actions failed, errored, timed out or stopped.
#
#   scripts/run_workflow.sh users|tweets|tweet_metrics|WORKFLOW
#
# A dataset names the workflow of stack $TWEETLAKE_STACK (default tweetlake).
# TWEETLAKE_POLL_SECONDS (default 15), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

[ $# -eq 1 ] || { usage >&2; exit 2; }
case "$1" in -h | --help) usage; exit 0 ;; esac
workflow="$(dataset_resource "$1" workflow || echo "$1")"

started="$(date +%s)"
run_id="$(awscli glue start-workflow-run --name "$workflow" --query RunId --output text)"
say "workflow $workflow: run $run_id started"

last=""
while :; do
  status="$(awscli glue get-workflow-run --name "$workflow" --run-id "$run_id" --query Run.Status --output text)"
  if [ "$status" != "$last" ]; then
    printf '%s  %-10s (%s)\n' "$(date -u +%H:%M:%SZ)" "$status" "$(elapsed "$started")" >&2
    last="$status"
  fi
  case "$status" in COMPLETED | STOPPED | ERROR) break ;; esac
  sleep "$POLL_SECONDS"
done

# Statistics (the CLI prints None for a field Glue leaves out): an action is one crawl or job run.
# Glue calls a workflow run COMPLETED once its actions have ended, whether they succeeded or not,
# so the counts decide too - ErroredActions counts job runs in ERROR (ones that could not run).
# assigned first: a failing call inside <<< "$(…)" would not stop the script (set -e)
stats="$(awscli glue get-workflow-run --name "$workflow" --run-id "$run_id" \
  --query "Run.Statistics.[TotalActions, SucceededActions, FailedActions, StoppedActions, TimeoutActions, ErroredActions]" \
  --output text)"
read -r total succeeded failed stopped timeout errored <<< "$stats"
summary="workflow $workflow run $run_id: $status after $(elapsed "$started")"
[ "$total" != None ] && summary+="; actions: $total total, $succeeded succeeded, $failed failed, $errored errored, $stopped stopped, $timeout timed out"
echo "$summary"
if [ "$status" != COMPLETED ]; then
  message="$(awscli glue get-workflow-run --name "$workflow" --run-id "$run_id" --query Run.ErrorMessage --output text)"
  [ "$message" = None ] && message=""
  echo "error: workflow run $status${message:+ - $message}" >&2
  exit 1
fi
bad=""
for pair in "failed:$failed" "errored:$errored" "stopped:$stopped" "timed out:$timeout"; do
  n="${pair##*:}"
  if [ -n "$n" ] && [ "$n" != None ] && [ "$n" != 0 ]; then
    bad+="${bad:+, }$n ${pair%:*}"
  fi
done
if [ -n "$bad" ]; then
  echo "error: some actions did not succeed ($bad): scripts/start_job_run.sh shows one job's error; see the Glue console" >&2
  exit 1
fi
