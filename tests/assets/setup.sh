#!/usr/bin/env bash
# Installs what the asset tests need (requirements.txt) into a virtualenv, idempotently: a
# second run with the same requirements.txt installs nothing. Prints the virtualenv's path
# on the last line.
#   JIKIMI_ASSETS_VENV  where the virtualenv lives (default ~/.cache/jikimi/assets-venv)
#   PYTHON              interpreter to create it with (default python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${JIKIMI_ASSETS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jikimi/assets-venv}"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$venv"
      "$py" -m venv "$venv"
    else
      echo "FATAL: cannot create a virtualenv with $py (install python3-venv)" >&2
      exit 1
    fi
  fi
fi

stamp="$venv/.jikimi-requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] \
  || ! "$venv/bin/python" -c "import moto, boto3, botocore, pytest, aiosmtpd, cfnlint, yaml" 2>/dev/null; then
  echo "installing $(grep -v '^#' "$here/requirements.txt" | xargs) into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
  echo "$want" >"$stamp"
fi
echo "$venv"
