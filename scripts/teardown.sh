#!/usr/bin/env bash
# Delete the tweetlake stacks, in order, after asking; then say what is kept on purpose and what it costs.
#
#   scripts/teardown.sh [--yes]
#
# Order: 1. the REST API stack ($TWEETLAKE_STACK-api, if there is one); 2. the database's deletion
# protection is turned off (RDS refuses to delete a protected instance, and the stack deletion
# would fail after an hour of waiting); 3. the main stack ($TWEETLAKE_STACK), waiting until it is
# gone; 4. the deployment-bucket stack ($TWEETLAKE_STACK-deploy).
#
# Kept on purpose (DeletionPolicy Retain/Snapshot: your data outlives the stack): the lake, artifacts
# and access-log buckets, the deployment bucket, the lake's KMS key, and a final RDS snapshot.
# The script prints their names and the commands that delete them for good.
#
# It asks you to type the stack name first; --yes skips the question (for scripts that already asked).
# TWEETLAKE_STACK (default tweetlake), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

assume_yes=false
while [ $# -gt 0 ]; do
  case "$1" in
    --yes) assume_yes=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

stack_exists() {  # stack_exists NAME: a stack of that name that is not already deleted
  local status
  status="$(awscli cloudformation describe-stacks --stack-name "$1" --query "Stacks[0].StackStatus" \
    --output text 2>/dev/null)" || return 1
  [ -n "$status" ] && [ "$status" != "DELETE_COMPLETE" ]
}

resource() {  # resource STACK LOGICAL_ID -> its physical id (empty when the stack has no such resource)
  awscli cloudformation describe-stack-resources --stack-name "$1" \
    --query "StackResources[?LogicalResourceId=='$2'].PhysicalResourceId | [0]" --output text 2>/dev/null |
    sed 's/^None$//'
}

main="$TWEETLAKE_STACK"
api="$TWEETLAKE_STACK-api"
deploy="$TWEETLAKE_STACK-deploy"
stack_exists "$main" || die "no stack $main in this account and region (TWEETLAKE_STACK, AWS_PROFILE, AWS_REGION?)"

lake_bucket="$(resource "$main" LakeBucket)"
artifacts_bucket="$(resource "$main" ArtifactsBucket)"
logs_bucket="$(resource "$main" AccessLogsBucket)"
kms_key="$(resource "$main" DataKey)"
db_instance="$(resource "$main" Db)"
deploy_bucket=""
if stack_exists "$deploy"; then deploy_bucket="$(resource "$deploy" DeployBucket)"; fi

say "about to delete:"
stack_exists "$api" && echo "  stack $api (the REST API: Lambda, API Gateway)" >&2
echo "  stack $main (Glue jobs, crawlers, workflows, VPC, RDS instance ${db_instance:-?}, ingestion host, secrets, alerts)" >&2
[ -n "$deploy_bucket" ] && echo "  stack $deploy (its bucket is kept)" >&2
echo "kept: buckets ${lake_bucket:-?} (the lake), ${artifacts_bucket:-?}, ${logs_bucket:-?}${deploy_bucket:+, $deploy_bucket};" \
     "KMS key ${kms_key:-?}; a final snapshot of ${db_instance:-the database}" >&2
if [ "$assume_yes" != true ]; then
  printf 'type the stack name (%s) to go on: ' "$main" >&2
  read -r answer || answer=""
  [ "$answer" = "$main" ] || { echo "not confirmed: nothing was deleted" >&2; exit 1; }
fi

if stack_exists "$api"; then
  say "1/4 deleting stack $api"
  awscli cloudformation delete-stack --stack-name "$api"
  awscli cloudformation wait stack-delete-complete --stack-name "$api"
else
  say "1/4 no stack $api"
fi

if [ -n "$db_instance" ]; then
  say "2/4 turning off the deletion protection of $db_instance"
  awscli rds modify-db-instance --db-instance-identifier "$db_instance" --no-deletion-protection \
    --apply-immediately >/dev/null
else
  say "2/4 stack $main has no database instance"
fi

say "3/4 deleting stack $main (RDS takes 5-15 minutes to snapshot and delete)"
awscli cloudformation delete-stack --stack-name "$main"
awscli cloudformation wait stack-delete-complete --stack-name "$main"

if [ -n "$deploy_bucket" ]; then
  say "4/4 deleting stack $deploy"
  awscli cloudformation delete-stack --stack-name "$deploy"
  awscli cloudformation wait stack-delete-complete --stack-name "$deploy"
else
  say "4/4 no stack $deploy"
fi

snapshots=""
if [ -n "$db_instance" ]; then
  snapshots="$(awscli rds describe-db-snapshots --db-instance-identifier "$db_instance" --snapshot-type manual \
    --query "DBSnapshots[].DBSnapshotIdentifier" --output text 2>/dev/null | sed 's/^None$//')" || snapshots=""
fi

cat <<EOF
deleted: the stacks. Kept on purpose, and what they cost until you delete them:
  S3 buckets ${lake_bucket:-?} ${artifacts_bucket:-?} ${logs_bucket:-?} ${deploy_bucket}
      storage at about \$0.023 per GB-month (a few GB of gzip JSON: cents). To delete one for good:
      aws s3 rm s3://BUCKET --recursive && aws s3api delete-bucket --bucket BUCKET
      (a versioned bucket also needs its object versions deleted first)
  KMS key ${kms_key:-?}: \$1 a month. The lake's objects are encrypted with it: delete the lake
      bucket first, then: aws kms schedule-key-deletion --key-id ${kms_key:-KEY} --pending-window-in-days 7
  RDS snapshot(s) ${snapshots:-(none found yet: CloudFormation names it <stack>-db-…-snapshot)}:
      about \$0.095 per GB-month (20 GB: about \$2). To delete: aws rds delete-db-snapshot --db-snapshot-identifier ID
  Lake Formation: the data lake administrators you set are unchanged (free);
      aws lakeformation get-data-lake-settings shows them.
EOF
