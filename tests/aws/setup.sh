#!/usr/bin/env bash
# Installs what the AWS tests need (moto[server], boto3, botocore, pytest: requirements.txt)
# into a virtualenv, idempotently (tests/lib/venv.sh). Prints the virtualenv's path last.
#   JIKIMI_AWS_VENV  where the virtualenv lives (default ~/.cache/jikimi/aws-venv)
#   PYTHON           interpreter to create it with (default python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../lib/venv.sh" \
  "${JIKIMI_AWS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jikimi/aws-venv}" \
  "$here/requirements.txt" "import moto, boto3, botocore, pytest"
