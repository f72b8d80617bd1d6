# Sourced by scripts/dev and scripts/test: a project virtualenv with everything installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "error: Java 17 is required by Spark but 'java' is not on PATH. Install a JDK 17 (e.g. 'apt-get install -y openjdk-17-jre-headless') or set JAVA_HOME." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)'; then
  echo "error: Python 3.11 or 3.12 is required ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi

VENV="$ROOT/.venv"
STAMP="$VENV/.installed-$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "==> installing the project into $VENV (first run takes a few minutes)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # Every package at the version and hash pinned in requirements.lock (./scripts/lock
  # updates it), then the project itself: an editable install has no file to hash.
  "$VENV/bin/python" -m pip install --quiet --require-hashes -r requirements.lock
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export AQI_HOME="${AQI_HOME:-$ROOT}"
# The Iceberg runtime and JDBC driver jars, by the Maven coordinates and SHA-256 pinned in
# resources/spark/jar_pins.py, into $AQI_HOME/.cache/jars: downloaded once, checked offline after.
python -m resources.spark.jar_fetch
# The Spark driver's class archive (resources/spark/jvm_archive.py): built once per JDK and Spark, about
# a minute; every run's JVM then starts faster. Runs work without it, so a failure only warns.
python -m aqi_assets.dev.build_jvm_archive || echo "warning: no Spark driver class archive (runs start slower); retry with '.venv/bin/python -m aqi_assets.dev.build_jvm_archive'" >&2
