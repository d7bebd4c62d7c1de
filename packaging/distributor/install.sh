#!/bin/sh
# SSM Distributor install script for Jikimi (run by SSM Agent as root, in the unzipped
# package directory). Installs the .deb or .rpm shipped beside it after checking it
# against SHA256SUMS, then enables the daily scan (jikimi-check.timer) on a first install.
# Set JIKIMI_ENABLE=none|timer|daemon|both (additionalArguments) to choose other units.
set -eu
cd "$(dirname "$0")"

die() { echo "jikimi install: ERROR: $*" >&2; exit 1; }

if command -v dpkg >/dev/null 2>&1 && [ -d /var/lib/dpkg ]; then
    format=deb
elif command -v rpm >/dev/null 2>&1; then
    format=rpm
else
    die "unsupported platform: neither dpkg nor rpm is available"
fi
pkg=$(ls ./jikimi*."$format" 2>/dev/null | head -n 1)
[ -n "$pkg" ] || die "this package has no .$format file for this platform ($(ls))"
sha256sum -c --quiet SHA256SUMS || die "checksum mismatch for $pkg; not installing"

export JIKIMI_ENABLE="${JIKIMI_ENABLE:-timer}"
if [ "$format" = deb ]; then
    DEBIAN_FRONTEND=noninteractive dpkg --force-confold --install "$pkg"
else
    rpm --upgrade --replacepkgs "$pkg"
fi
echo "jikimi install: installed $(/usr/bin/jikimi --version 2>/dev/null || echo jikimi)"
