#!/usr/bin/env bash
# Set everything up and run every test, in lanes that fail fast:
#   1. lint: ruff (lint and format), mypy, the docs site (mkdocs build --strict)  ~1 min
#   2. fast: every test but the slow ones, two at a time (pytest-xdist); meanwhile Chromium,
#      .venv-tools (checkov, shellcheck) and .venv-airflow are installed in the background
#   3. slow: Spark, the embedded PostgreSQL, the demo, Airflow, the template linters
# Each lane prints its time. Extra arguments run pytest on them (in one process) instead of lanes 2
# and 3, e.g. ./scripts/test.sh tests/ingestion -k pagination. TWEETLAKE_TEST_WORKERS sets the
# workers of the lanes (default 2, the cores of a small machine; 0 runs them in one process).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/aws_lib.sh"
cd "$TWEETLAKE_ROOT"
started=$SECONDS
lane_started=$SECONDS
lane() {  # lane NAME: announce the next lane with the time the previous one took
  say "$1  [previous step: $((SECONDS - lane_started)) s; $((SECONDS - started)) s in all]"
  lane_started=$SECONDS
}

ensure_venv
doctor job  # Java, the JDBC jar, the embedded PostgreSQL: stop now, with the fixes, not half-way through the suite
lane "lint: ruff (lint and format)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy"
"$VENV/bin/mypy" --no-error-summary
say "docs (mkdocs build --strict: a broken link or anchor fails)"
site="$(mktemp -d)"
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$site"
rm -rf "$site"

setup_extras() {  # what only the slow lane needs; quiet unless it installs something
  ensure_chromium
  ensure_tools_venv
  ensure_airflow_venv
}

workers="${TWEETLAKE_TEST_WORKERS:-2}"
xdist=(-n "$workers" --dist loadgroup)
[ "$workers" = 0 ] && xdist=(-p no:xdist)
# A temp folder of this run's own: as root the embedded PostgreSQL runs as another user, who must
# traverse it, and pytest takes that right back from /tmp/pytest-of-root whenever a session starts
# (another worker's, or another run's on the same machine).
temp="$(mktemp -d)"
setup_pid=""
trap '[ -z "$setup_pid" ] || kill "$setup_pid" 2>/dev/null || true; rm -rf "$temp"' EXIT
xdist+=(--basetemp "$temp/pytest")

if [ $# -gt 0 ]; then  # no lanes, no set-up of the slow lane: the Airflow tests make their venv themselves
  lane "pytest $*"
  "$PY" -m pytest --basetemp "$temp/pytest" "$@"
  exit
fi

setup_log="$temp/setup.log"
setup_extras >"$setup_log" 2>&1 &
setup_pid=$!

lane "fast tests (pytest -m 'not slow and not venvs'; set-up of the slow lane in the background)"
"$PY" -m pytest "${xdist[@]}" -m "not slow and not venvs"

lane "waiting for the slow lane's set-up (Chromium, .venv-tools, .venv-airflow)"
if ! wait "$setup_pid"; then
  setup_pid=""
  cat "$setup_log" >&2
  die "the set-up of the slow lane failed (above)"
fi
setup_pid=""
cat "$setup_log" >&2
doctor test  # and Chromium, for the report's browser test

lane "slow tests (pytest -m 'slow or venvs')"
"$PY" -m pytest "${xdist[@]}" -m "slow or venvs"
lane "all lanes passed"
