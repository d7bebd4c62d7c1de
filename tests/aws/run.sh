#!/usr/bin/env bash
# The AWS integration tests: installs their Python dependencies (setup.sh), builds the
# agent unless JIKIMI_BIN names one, and runs pytest against moto_server and local fakes on
# 127.0.0.1. Nothing talks to real AWS. Extra arguments go to pytest (e.g. -k outage).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="$(bash tests/aws/setup.sh | tail -n 1)"
if [ -z "${JIKIMI_BIN:-}" ]; then
  cargo build --quiet -p jikimi
  export JIKIMI_BIN="${CARGO_TARGET_DIR:-target}/debug/jikimi"
fi
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest -p no:cacheprovider tests/aws "$@"
