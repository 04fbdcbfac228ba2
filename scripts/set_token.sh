#!/usr/bin/env bash
# Put the X API bearer token into the stack's Secrets Manager secret, never on a command line.
#
#   scripts/set_token.sh [--secret-id ARN]
#
# The token comes from $X_BEARER_TOKEN, else it is read from the terminal without echo. It reaches
# the AWS CLI as `--secret-string file://…`, from a 0600 file of this run that is removed at once:
# an argument would show in `ps` and in shell history. Without --secret-id, the secret is the output
# XBearerTokenSecretArn of stack $TWEETLAKE_STACK. AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

secret_id=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --secret-id) [ $# -ge 2 ] || die "--secret-id needs an ARN"; secret_id="$2"; shift 2 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$secret_id" ] || secret_id="$(stack_output XBearerTokenSecretArn)"

token="${X_BEARER_TOKEN:-}"
if [ -z "$token" ]; then
  [ -t 0 ] || die "set X_BEARER_TOKEN, or run this on a terminal to type the token"
  read -rsp "X API bearer token: " token
  echo >&2
fi
[ -n "$token" ] || die "no token given"

umask 077
secret_file="$(mktemp)"
trap 'rm -f "$secret_file"' EXIT
printf '%s' "$token" >"$secret_file"
awscli secretsmanager put-secret-value --secret-id "$secret_id" --secret-string "file://$secret_file" \
  --query VersionId --output text >/dev/null
say "the X API token is in $secret_id (the ingestion host reads it before every collection)"
