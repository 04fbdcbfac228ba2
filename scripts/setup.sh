#!/usr/bin/env bash
# Create .venv and install everything tweetlake needs (idempotent; fast when nothing changed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv
say "ready: $("$PY" -c 'import sys; print(sys.version.split()[0])') in .venv; java: ${JAVA_HOME:-$(command -v java)}"
