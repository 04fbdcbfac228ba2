#!/usr/bin/env bash
# Start a Glue job run, wait for it to end, print its duration and error, exit non-zero unless it
# SUCCEEDED.
#
#   scripts/start_job_run.sh JOB [--name value ...]
#
# JOB is a job name, or a dataset (users, tweets, tweet_metrics) of stack $TWEETLAKE_STACK.
# --name value pairs become the run's Arguments (they override the job's DefaultArguments), e.g.
#   scripts/start_job_run.sh users --full_refresh true
# Exit status: 0 SUCCEEDED; 1 FAILED, ERROR, TIMEOUT, STOPPED or EXPIRED; 2 usage; else the AWS CLI's.
# TWEETLAKE_POLL_SECONDS (default 15), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

[ $# -ge 1 ] || { usage >&2; exit 2; }
job="$1"
shift
case "$job" in -h | --help) usage; exit 0 ;; esac
job="$(dataset_resource "$job" job || echo "$job")"

arguments=""
while [ $# -gt 0 ]; do
  case "$1" in
    --?*) [ $# -ge 2 ] || die "argument $1 needs a value"
          arguments+="${arguments:+,}$(json_string "$1"):$(json_string "$2")"
          shift 2 ;;
    *) die "expected --name value pairs, got $1" ;;
  esac
done
start=(glue start-job-run --job-name "$job" --query JobRunId --output text)
[ -n "$arguments" ] && start+=(--arguments "{$arguments}")

started="$(date +%s)"
run_id="$(awscli "${start[@]}")"
say "job $job: run $run_id started"

last=""
while :; do
  state="$(awscli glue get-job-run --job-name "$job" --run-id "$run_id" --query JobRun.JobRunState --output text)"
  if [ "$state" != "$last" ]; then
    printf '%s  %-10s (%s)\n' "$(date -u +%H:%M:%SZ)" "$state" "$(elapsed "$started")" >&2
    last="$state"
  fi
  case "$state" in
    SUCCEEDED | FAILED | ERROR | TIMEOUT | STOPPED | EXPIRED) break ;;
  esac
  sleep "$POLL_SECONDS"
done

execution="$(awscli glue get-job-run --job-name "$job" --run-id "$run_id" --query JobRun.ExecutionTime --output text)"
echo "job $job run $run_id: $state after $(elapsed "$started") (Glue execution time ${execution:-?} s)"
if [ "$state" != SUCCEEDED ]; then
  message="$(awscli glue get-job-run --job-name "$job" --run-id "$run_id" --query JobRun.ErrorMessage --output text)"
  [ "$message" = "None" ] && message="(no error message; see the job's CloudWatch logs)"
  echo "error: $message" >&2
  exit 1
fi
