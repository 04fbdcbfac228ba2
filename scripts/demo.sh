#!/usr/bin/env bash
# Set everything up and run the whole pipeline locally: simulator → ingestion → lake → Glue jobs → PostgreSQL.
# Arguments go to `tweetlake demo` (e.g. --fresh, --verbose, --accounts 4; --help for all). It checks
# first what it needs (`tweetlake doctor --for demo`) and stops before collecting anything when
# something is missing; a rerun continues where the last one stopped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) script_help "$0"; exit 0 ;; esac
ensure_venv
ensure_chromium
doctor demo
cd "$TWEETLAKE_ROOT"
exec "$VENV/bin/tweetlake" demo "$@"
