#!/usr/bin/env bash
# Set everything up and run every test: lint, types, the docs site, then the whole pytest suite.
# Extra arguments go to pytest (e.g. ./scripts/test.sh tests/ingestion -k pagination).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/aws_lib.sh"
ensure_venv
ensure_chromium
say "tools venv (checkov, shellcheck) for tests/aws"
ensure_tools_venv
say "airflow venv (.venv-airflow) for tests/airflow"
ensure_airflow_venv
cd "$TWEETLAKE_ROOT"
say "ruff (lint and format)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy (common, ingestion, glue_jobs, tweetlake/api)"
"$VENV/bin/mypy" --no-error-summary
say "docs (mkdocs build --strict: a broken link or anchor fails)"
site="$(mktemp -d)"
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$site"
rm -rf "$site"
say "pytest"
exec "$PY" -m pytest "$@"
