#!/usr/bin/env bash
# Install what tests/packaging/run.sh needs on a fresh Debian/Ubuntu machine (as root or
# with sudo). Idempotent: installs only what is missing.
#   Debian: systemd (systemd-analyze), binutils, rpm, zip, unzip, curl, openssl, dash, shellcheck
#   PyPI:   pytest, pyyaml, moto[server] (moto_server), boto3, awscli (the `aws` the SSM scripts call)
#   and packaging/install-build-deps.sh (ziglang, Rust target) for packaging/build.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

need_deb=()
have() { command -v "$1" >/dev/null 2>&1; }
have systemd-analyze || need_deb+=(systemd)
have readelf || need_deb+=(binutils)
have rpmbuild || need_deb+=(rpm)
have zip || need_deb+=(zip)
have unzip || need_deb+=(unzip)
have curl || need_deb+=(curl ca-certificates)
have openssl || need_deb+=(openssl)
have dash || need_deb+=(dash)
have shellcheck || need_deb+=(shellcheck)
have xz || need_deb+=(xz-utils)
if [ ${#need_deb[@]} -gt 0 ]; then
    echo "setup: apt-get install ${need_deb[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_deb[@]}" >/dev/null
fi

need_py=()
python3 -c 'import pytest' 2>/dev/null || need_py+=(pytest)
python3 -c 'import boto3' 2>/dev/null || need_py+=(boto3)
python3 -c 'import yaml' 2>/dev/null || need_py+=(pyyaml)
{ have moto_server && python3 -c 'import moto.server, flask' 2>/dev/null; } || need_py+=("moto[server]")
have aws || need_py+=(awscli)
if [ ${#need_py[@]} -gt 0 ]; then
    echo "setup: pip install ${need_py[*]}"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${need_py[@]}"
fi
# pyenv-style installs need their shims refreshed to find new console scripts.
if have pyenv; then pyenv rehash || true; fi

"$REPO/packaging/install-build-deps.sh"
echo "setup: ok"
