#!/usr/bin/env bash
# Creates (once) a virtualenv and installs a requirements file into it, idempotently: a second
# run with the same requirements installs nothing. Prints the virtualenv's path on the last
# line; everything else goes to stderr.
#   usage: tests/lib/venv.sh VENV_DIR REQUIREMENTS_TXT IMPORT_CHECK
#     IMPORT_CHECK  Python statement that must succeed in a usable venv (e.g. "import moto")
#   PYTHON          interpreter to create it with (default python3)
set -euo pipefail
venv="$1" req="$2" check="$3"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 ships venv separately.
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
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] \
  || ! "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "installing $(grep -v '^#' "$req" | xargs) into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" >"$stamp"
fi
echo "$venv"
