#!/usr/bin/env bash
# Airflow for tweetlake, from a venv of its own (.venv-airflow; Airflow's dependencies never enter .venv).
#
#   ./scripts/airflow.sh setup        create or update .venv and .venv-airflow (cached: fast when nothing changed;
#                                     the first time installs Airflow: a few minutes)
#   ./scripts/airflow.sh ARGS...      `airflow ARGS...` with the DAGs folder dags/, no example DAGs, and
#                                     AIRFLOW_HOME=$TWEETLAKE_HOME/airflow (TWEETLAKE_HOME: see `tweetlake --help`)
#   ./scripts/airflow.sh -h|--help    this text (installs nothing)
#
# e.g.  TWEETLAKE_AIRFLOW_TARGET=local ./scripts/airflow.sh standalone
#       TWEETLAKE_AIRFLOW_TARGET=local ./scripts/airflow.sh dags test tweetlake_users
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
case "${1:-}" in
  -h | --help) script_help "$0"; exit 0 ;;
  "") script_help "$0" >&2; exit 2 ;;
esac
ensure_venv  # Java and the JDBC jar for the local DAGs' Spark, and the `tweetlake` command (simulator)
doctor airflow
ensure_airflow_venv
if [ "${1:-}" = setup ]; then
  say "ready: $("$AIRFLOW_VENV/bin/airflow" version 2>/dev/null | tail -1) in $AIRFLOW_VENV"
  exit 0
fi
TWEETLAKE_HOME="${TWEETLAKE_HOME:-$("$PY" -c 'from common.settings import home; print(home())')}"
export TWEETLAKE_HOME
export AIRFLOW_HOME="${AIRFLOW_HOME:-$TWEETLAKE_HOME/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$TWEETLAKE_ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
exec "$AIRFLOW_VENV/bin/airflow" "$@"
