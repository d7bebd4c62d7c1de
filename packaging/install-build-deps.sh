#!/usr/bin/env bash
# Install what packaging/build.sh needs, idempotently (root on Debian/Ubuntu, or sudo):
# Debian packages (binutils for readelf, dpkg-dev tools, rpm for rpmbuild, zip), the PyPI
# `ziglang` wheel (zig, the C linker for the glibc 2.17 build) and the Rust targets
# given as arguments (x86_64, aarch64; default: this machine's).
set -euo pipefail
ZIGLANG_VERSION=0.14.1

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
command -v rpmbuild >/dev/null 2>&1 || missing+=(rpm)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-build-deps: apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$(python3 -m ziglang version 2>/dev/null)" != "$ZIGLANG_VERSION" ]; then
    echo "install-build-deps: pip install ziglang==$ZIGLANG_VERSION"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "ziglang==$ZIGLANG_VERSION"
fi

if command -v rustup >/dev/null 2>&1; then
    arches=("$@")
    [ ${#arches[@]} -gt 0 ] || arches=("$(uname -m)")
    for a in "${arches[@]}"; do
        case "$a" in amd64) a=x86_64 ;; arm64) a=aarch64 ;; esac
        t="$a-unknown-linux-gnu"
        if ! rustup target list --installed | grep -qx "$t"; then
            echo "install-build-deps: rustup target add $t"
            rustup target add "$t"
        fi
    done
fi
echo "install-build-deps: ok (zig $(python3 -m ziglang version))"
