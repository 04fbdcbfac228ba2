#!/usr/bin/env bash
# Set everything up and run the whole pipeline locally: simulator → ingestion → lake (→ Glue jobs → PostgreSQL).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv
ensure_chromium
cd "$TWEETLAKE_ROOT"
exec "$VENV/bin/tweetlake" demo "$@"
