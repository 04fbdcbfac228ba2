#!/usr/bin/env bash
# Create or update the tweetlake stack, then print its outputs.
#
#   scripts/deploy.sh [--email ADDRESS] [--accounts nasa,esa] [Key=Value ...]
#
# Key=Value pairs are any other parameters of cloudformation/tweetlake.yaml, e.g.
#   GlueExecutionClass=FLEX DbMultiAz=true ExistingVpcId=vpc-... TweetlakeVersion=0.2.0
# The template is larger than the 51,200 bytes CloudFormation takes inline, so it goes through a
# small deployment bucket kept in its own stack ($TWEETLAKE_STACK-deploy, created on first use).
# TWEETLAKE_STACK (default tweetlake), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

params=()
while [ $# -gt 0 ]; do
  case "$1" in
    --email) params+=("AlertEmail=${2:?--email needs an address}"); shift 2 ;;
    --accounts) params+=("TrackedAccounts=${2:?--accounts needs names}"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *=*) params+=("$1"); shift ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

deploy() {  # deploy STACK TEMPLATE [deploy options...]
  local stack="$1" template="$2"
  shift 2
  awscli cloudformation deploy --stack-name "$stack" --template-file "$template" \
    --no-fail-on-empty-changeset "$@"
}

say "deployment bucket (stack $TWEETLAKE_STACK-deploy)"
deploy "$TWEETLAKE_STACK-deploy" "$TWEETLAKE_ROOT/cloudformation/deploy-bucket.yaml"
deploy_bucket="$(TWEETLAKE_STACK="$TWEETLAKE_STACK-deploy" stack_output DeployBucketName)"

say "stack $TWEETLAKE_STACK (RDS takes 10-15 minutes the first time)"
extra=()
[ "${#params[@]}" -gt 0 ] && extra=(--parameter-overrides "${params[@]}")
deploy "$TWEETLAKE_STACK" "$TWEETLAKE_ROOT/cloudformation/tweetlake.yaml" \
  --s3-bucket "$deploy_bucket" --s3-prefix "$TWEETLAKE_STACK" \
  --capabilities CAPABILITY_IAM "${extra[@]}"

awscli cloudformation describe-stacks --stack-name "$TWEETLAKE_STACK" \
  --query "sort_by(Stacks[0].Outputs, &OutputKey)[].{Output: OutputKey, Value: OutputValue}" --output table
cat >&2 <<NEXT

Next: scripts/package.sh                       (upload the wheel and the Glue job scripts)
      aws secretsmanager put-secret-value --secret-id <XBearerTokenSecretArn> --secret-string "\$X_BEARER_TOKEN"
      scripts/run_workflow.sh users            (or wait for the schedules)
NEXT
