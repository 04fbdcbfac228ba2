#!/usr/bin/env bash
# Build the tweetlake wheel and upload it, the psycopg wheels the Glue jobs install, and the Glue
# entry scripts (one a dataset of common/catalogue.py) to the artifacts bucket, at the keys
# cloudformation/tweetlake.yaml expects (its Mappings/Artifacts: the template is the one place that
# names them).
#
#   scripts/package.sh [--bucket NAME] [--api]
#
# --api also builds the REST API's Lambda zip: fastapi, mangum, requests and boto3/botocore (the
# registry's conditional writes need a botocore newer than some Lambda runtimes bring) for the Lambda
# platform (manylinux x86_64, CPython 3.11) at the versions requirements.txt pins, plus common/,
# ingestion/ and tweetlake/ (never the X API simulator: simulator/ is a development part). It goes
# up as lambda/tweetlake-api-<hash of its content>.zip - a new key for new content, so that
# redeploying cloudformation/api.yaml updates the function - and lambda/tweetlake-api.latest names
# that key for scripts/deploy.sh --api.
#
# Without --bucket the bucket is the stack's ArtifactsBucketName output ($TWEETLAKE_STACK, default
# tweetlake). The Glue subnets have no route to PyPI, so psycopg travels as wheels too: they are
# downloaded for Glue's platform (manylinux x86_64, CPython 3.11), or taken from
# $TWEETLAKE_WHEELHOUSE when that folder already holds them (offline builds, tests; with --api the
# Lambda zip's wheels then come from that folder only, never from PyPI). The files
# are assembled in $TWEETLAKE_PACKAGE_DIR (default dist/package).
# AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply.
set -euo pipefail
# shellcheck source=scripts/aws_lib.sh
source "$(dirname "$0")/aws_lib.sh"

bucket=""
api=false
while [ $# -gt 0 ]; do
  case "$1" in
    --bucket) bucket="${2:?--bucket needs a name}"; shift 2 ;;
    --api) api=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

template="$TWEETLAKE_ROOT/cloudformation/tweetlake.yaml"
mapping() {  # the value of KEY in the template's Mappings/Artifacts/Keys
  local value
  value="$(sed -n "s/^ *$1: *\([^ #]*\).*$/\1/p" "$template" | head -n 1)"
  [ -n "$value" ] || die "no $1 in $template"
  echo "$value"
}
scripts_prefix="$(mapping ScriptsPrefix)"
wheels_prefix="$(mapping WheelsPrefix)"
# the wheels the Glue jobs install besides tweetlake's: psycopg, and VADER for the tweets job's sentiment
glue_wheels=("$(mapping PsycopgWheel)" "$(mapping PsycopgBinaryWheel)" "$(mapping VaderSentimentWheel)")

if [ -z "$bucket" ]; then
  bucket="$(stack_output ArtifactsBucketName)"
fi

python="$PY"
[ -x "$python" ] || python="$(pick_python)"
out="${TWEETLAKE_PACKAGE_DIR:-$TWEETLAKE_ROOT/dist/package}"  # the tests use a temporary folder
rm -rf "$out/wheels" && mkdir -p "$out/wheels"

say "building the tweetlake wheel"
# setuptools builds in the source's build/ and puts whatever build/lib holds into the wheel (modules
# of an earlier layout too), and two builds of one folder at once trip over each other: build from a
# private copy of the source, without the venvs, git, and local state.
source_copy="$(mktemp -d)"
trap 'rm -rf "$source_copy"' EXIT
tar -C "$TWEETLAKE_ROOT" --exclude='./.venv*' --exclude='./.git' --exclude='./build' --exclude='./dist' \
  --exclude='./.tweetlake' --exclude='./bench/out' --exclude='./site' --exclude='*/__pycache__' -cf - . |
  tar -C "$source_copy" -xf -
# --no-build-isolation: build with the venv's setuptools, offline and fast.
"$python" -m pip wheel -q --no-deps --no-build-isolation -w "$out/wheels" "$source_copy" >&2
shopt -s nullglob
built=("$out"/wheels/tweetlake-*-py3-none-any.whl)
shopt -u nullglob
[ "${#built[@]}" -eq 1 ] || die "expected one tweetlake wheel in $out/wheels"
wheel="$(basename "${built[0]}")"

say "collecting ${glue_wheels[*]}"
for name in "${glue_wheels[@]}"; do
  if [ -n "${TWEETLAKE_WHEELHOUSE:-}" ] && [ -f "$TWEETLAKE_WHEELHOUSE/$name" ]; then
    cp "$TWEETLAKE_WHEELHOUSE/$name" "$out/wheels/$name"
  else
    # name-version-...whl -> name==version, for Glue 5.1's platform whatever this machine is
    IFS=- read -r dist version _ <<< "$name"
    "$python" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
      --platform manylinux2014_x86_64 -d "$out/wheels" "${dist//_/-}==$version" >&2
    [ -f "$out/wheels/$name" ] || die "pip did not download $name (PyPI names it differently?) - update Mappings/Artifacts in $template"
  fi
done

say "uploading to s3://$bucket"
upload() {  # upload FILE KEY
  awscli s3 cp --only-show-errors "$1" "s3://$bucket/$2"
  echo "s3://$bucket/$2"
}
upload "$out/wheels/$wheel" "$wheels_prefix$wheel"
for name in "${glue_wheels[@]}"; do
  upload "$out/wheels/$name" "$wheels_prefix$name"
done
for script in $(catalogue entry-scripts); do
  upload "$TWEETLAKE_ROOT/glue_jobs/$script" "$scripts_prefix$script"
done
version="${wheel#tweetlake-}"
say "done: tweetlake ${version%%-*} (deploy with TweetlakeVersion=${version%%-*} if you changed the version)"

if [ "$api" = true ]; then
  say "building the REST API's Lambda zip (versions pinned by requirements.txt)"
  lambda_dir="$out/lambda-api"
  rm -rf "$lambda_dir" && mkdir -p "$lambda_dir"
  from=()
  [ -n "${TWEETLAKE_WHEELHOUSE:-}" ] && from=(--no-index --find-links "$TWEETLAKE_WHEELHOUSE")
  # --no-compile: no .pyc (they hold build times), so the same inputs give the same zip and key
  "$python" -m pip install -q --platform manylinux2014_x86_64 --implementation cp --python-version 3.11 \
    --only-binary=:all: --no-compile --target "$lambda_dir" -c "$TWEETLAKE_ROOT/requirements.txt" "${from[@]}" \
    fastapi mangum requests boto3 botocore >&2
  rm -rf "${lambda_dir:?}/bin"  # console scripts, with this machine's python in their first line
  # every distribution in the zip at the version requirements.txt pins (-c pins only what it lists)
  "$python" - "$lambda_dir" "$TWEETLAKE_ROOT/requirements.txt" <<'PY' || die "pin them in requirements.txt"
import re
import sys
from pathlib import Path

def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()

target, requirements = Path(sys.argv[1]), Path(sys.argv[2])
pins = {norm(m[1]): m[2] for line in requirements.read_text().splitlines()
        if (m := re.match(r"([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip()))}
unpinned = sorted(f"{name}=={version}" for name, version in
                  (info.name[: -len(".dist-info")].rsplit("-", 1) for info in target.glob("*.dist-info"))
                  if pins.get(norm(name)) != version)
if unpinned:
    sys.exit("the Lambda zip would hold versions requirements.txt does not pin: " + ", ".join(unpinned))
PY
  cp -r "$TWEETLAKE_ROOT/common" "$TWEETLAKE_ROOT/ingestion" "$TWEETLAKE_ROOT/tweetlake" "$lambda_dir/"
  find "$lambda_dir" -name __pycache__ -prune -exec rm -rf {} +
  rm -f "$out/tweetlake-api.zip"
  # A reproducible zip (sorted names, fixed times, plain modes): its hash names its key.
  lambda_key="$("$python" - "$lambda_dir" "$out/tweetlake-api.zip" <<'PY'
import hashlib
import os
import sys
import zipfile
from pathlib import Path

source, zip_path = Path(sys.argv[1]), Path(sys.argv[2])
with zipfile.ZipFile(zip_path, "w") as archive:
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o100755 if os.access(path, os.X_OK) else 0o100644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, path.read_bytes())
print(f"lambda/tweetlake-api-{hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]}.zip")
PY
)"
  upload "$out/tweetlake-api.zip" "$lambda_key"
  printf '%s\n' "$lambda_key" > "$out/tweetlake-api.latest"
  upload "$out/tweetlake-api.latest" "lambda/tweetlake-api.latest" >/dev/null
  say "done: the API's code is s3://$bucket/$lambda_key (deploy it with scripts/deploy.sh --api)"
fi
