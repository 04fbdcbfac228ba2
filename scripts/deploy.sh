#!/usr/bin/env bash
# Create or update the tweetlake stack, then print its outputs.
#
#   scripts/deploy.sh [--email ADDRESS] [--accounts nasa,esa] [Key=Value ...]
#   scripts/deploy.sh --api [--dry-run] [Key=Value ...]
#
# Key=Value pairs are any other parameters of cloudformation/tweetlake.yaml, e.g.
#   GlueExecutionClass=FLEX DbMultiAz=true ExistingVpcId=vpc-... TweetlakeVersion=0.2.0
# The template is larger than the 51,200 bytes CloudFormation takes inline, so it goes through a
# small deployment bucket kept in its own stack ($TWEETLAKE_STACK-deploy, created on first use).
#
# --api deploys the REST API instead (cloudformation/api.yaml as stack $TWEETLAKE_STACK-api), its
# parameters filled in from the outputs of stack $TWEETLAKE_STACK: the lake bucket and prefix, the
# lake's KMS key, the X token secret, the artifacts bucket as CodeBucket and, as CodeKey, the zip
# that scripts/package.sh --api uploaded last (lambda/tweetlake-api.latest). Key=Value pairs are
# api.yaml parameters and win over those, e.g. ProfileSnapshotDates=true ThrottlingRateLimit=5.
# --dry-run prints the deploy command instead of running it.
# TWEETLAKE_STACK (default tweetlake), AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

params=()
api=false
dry_run=false
main_only=""  # a main-stack option, refused with --api (api.yaml has no such parameter)
while [ $# -gt 0 ]; do
  case "$1" in
    --email) params+=("AlertEmail=${2:?--email needs an address}"); main_only="$1"; shift 2 ;;
    --accounts) params+=("TrackedAccounts=${2:?--accounts needs names}"); main_only="$1"; shift 2 ;;
    --api) api=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *=*) params+=("$1"); shift ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$dry_run" = false ] || [ "$api" = true ] || die "--dry-run goes with --api"
[ "$api" = false ] || [ -z "$main_only" ] || die "$main_only is for the main stack, not --api"

deploy() {  # deploy STACK TEMPLATE [deploy options...]
  local stack="$1" template="$2"
  shift 2
  local -a command=(cloudformation deploy --stack-name "$stack" --template-file "$template"
                    --no-fail-on-empty-changeset "$@")
  if [ "$dry_run" = true ]; then
    printf 'aws'
    printf ' %q' "${command[@]}"
    printf '\n'
    return 0
  fi
  awscli "${command[@]}"
}

print_outputs() {  # print_outputs STACK
  awscli cloudformation describe-stacks --stack-name "$1" \
    --query "sort_by(Stacks[0].Outputs || \`[]\`, &OutputKey)[].{Output: OutputKey, Value: OutputValue}" --output table
}

if [ "$api" = true ]; then
  api_stack="$TWEETLAKE_STACK-api"
  say "API stack $api_stack, with the outputs of stack $TWEETLAKE_STACK"
  listing="$(awscli cloudformation describe-stacks --stack-name "$TWEETLAKE_STACK" \
    --query "Stacks[0].Outputs[].[OutputKey, OutputValue]" --output text)"
  output() {  # output KEY -> the main stack's output KEY (dies when it has none)
    local value
    value="$(awk -F'\t' -v key="$1" '$1 == key { print $2; exit }' <<< "$listing")"
    [ -n "$value" ] || die "stack $TWEETLAKE_STACK has no output $1 (deploy it first: scripts/deploy.sh)"
    echo "$value"
  }
  lake_bucket="$(output LakeBucketName)"
  lake_uri="$(output LakeUri)"
  kms_key="$(output LakeKmsKeyArn)"
  token_secret="$(output XBearerTokenSecretArn)"
  code_bucket="$(output ArtifactsBucketName)"
  derived=("LakeBucketName=$lake_bucket" "LakePrefix=${lake_uri#s3://*/}" "LakeKmsKeyArn=$kms_key"
           "XBearerTokenSecretArn=$token_secret" "CodeBucket=$code_bucket")
  given=" "
  for pair in "${params[@]}"; do given+="${pair%%=*} "; done
  if [[ "$given" != *" CodeKey "* ]]; then
    pointer="s3://$code_bucket/lambda/tweetlake-api.latest"
    code_key="$(awscli s3 cp --only-show-errors "$pointer" - 2>/dev/null)" ||
      die "no $pointer: build and upload the API's code first (scripts/package.sh --api)"
    derived+=("CodeKey=$code_key")
  fi
  api_params=()
  for pair in "${derived[@]}"; do  # what the caller gave wins
    [[ "$given" == *" ${pair%%=*} "* ]] || api_params+=("$pair")
  done
  api_params+=("${params[@]}")
  deploy "$api_stack" "$TWEETLAKE_ROOT/cloudformation/api.yaml" --capabilities CAPABILITY_IAM \
    --parameter-overrides "${api_params[@]}"
  [ "$dry_run" = true ] && exit 0
  print_outputs "$api_stack"
  cat >&2 <<NEXT

Next: attach the InvokePolicyArn policy to the callers' roles; they sign requests to ApiEndpoint
      with SigV4 for service execute-api (e.g. awscurl --service execute-api).
NEXT
  exit 0
fi

say "deployment bucket (stack $TWEETLAKE_STACK-deploy)"
deploy "$TWEETLAKE_STACK-deploy" "$TWEETLAKE_ROOT/cloudformation/deploy-bucket.yaml"
deploy_bucket="$(TWEETLAKE_STACK="$TWEETLAKE_STACK-deploy" stack_output DeployBucketName)"

say "stack $TWEETLAKE_STACK (RDS makes the first deploy take 15-20 minutes)"
extra=()
[ "${#params[@]}" -gt 0 ] && extra=(--parameter-overrides "${params[@]}")
deploy "$TWEETLAKE_STACK" "$TWEETLAKE_ROOT/cloudformation/tweetlake.yaml" \
  --s3-bucket "$deploy_bucket" --s3-prefix "$TWEETLAKE_STACK" \
  --capabilities CAPABILITY_IAM "${extra[@]}"

print_outputs "$TWEETLAKE_STACK"
cat >&2 <<NEXT

Next: scripts/package.sh                       (upload the wheel and the Glue job scripts)
      scripts/set_token.sh                     (the X API token, from \$X_BEARER_TOKEN or typed; never an argument)
      scripts/run_workflow.sh users            (or wait for the schedules)
      scripts/package.sh --api && scripts/deploy.sh --api   (the accounts REST API, optional)
NEXT
