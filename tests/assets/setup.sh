#!/usr/bin/env bash
# Installs what the asset tests need (requirements.txt) into a virtualenv, idempotently
# (tests/lib/venv.sh). Prints the virtualenv's path last.
#   JIKIMI_ASSETS_VENV  where the virtualenv lives (default ~/.cache/jikimi/assets-venv)
#   PYTHON              interpreter to create it with (default python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../lib/venv.sh" \
  "${JIKIMI_ASSETS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jikimi/assets-venv}" \
  "$here/requirements.txt" "import moto, boto3, botocore, pytest, aiosmtpd, cfnlint, yaml"
