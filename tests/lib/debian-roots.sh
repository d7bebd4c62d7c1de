#!/usr/bin/env bash
# Builds (once) and caches real Debian roots for the oracle and real-file tests:
#   debootstrap --variant=minbase SUITE, then `chroot ROOT apt-get install` of the packages
#   the tests read or run (openssh-server for `sshd -T`, sudo for `visudo -c`, and the stock
#   configuration of systemd/journald, nftables, iptables, ufw, auditd).
# A root is cached under $JIKIMI_TEST_CACHE/roots/SUITE-KEY, KEY hashing this script (suite,
# package list, mirror): a changed input builds a new root, an unchanged one is reused. Only
# complete roots are kept (built in a temporary directory, renamed when done).
#
#   usage: tests/lib/debian-roots.sh SUITE [SUITE...]   (bullseye, bookworm, trixie)
#   prints one line per suite: "SUITE PATH"
#   JIKIMI_TEST_CACHE  the tests' one cache directory (default ~/.cache/jikimi)
#   DEBIAN_MIRROR      default http://deb.debian.org/debian
set -euo pipefail
cache="${JIKIMI_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jikimi}/roots"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(openssh-server sudo systemd nftables iptables ufw auditd)
key=$( { cat "${BASH_SOURCE[0]}"; echo "$mirror"; } | sha256sum | cut -c1-12)

[ "$(id -u)" -eq 0 ] || { echo "FATAL: debootstrap and chroot need root" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  echo "FATAL: debootstrap is not installed (tests/run.sh installs it)" >&2; exit 1; }
mkdir -p "$cache"

build() {
  local suite=$1 dest=$2 tmp
  tmp=$(mktemp -d "$cache/.build-$suite.XXXXXX")
  trap 'umount -l "$tmp/proc" 2>/dev/null || true; rm -rf "$tmp"' RETURN
  echo "debian-roots: debootstrap $suite (once; cached in $dest)" >&2
  debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
    tail -n 30 "$tmp.log" >&2; rm -f "$tmp.log"; return 1; }
  rm -f "$tmp.log"
  # Never start services inside the root.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$tmp/usr/sbin/policy-rc.d"
  mount -t proc proc "$tmp/proc"
  chroot "$tmp" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -qq \
    --no-install-recommends "${PACKAGES[@]}" >"$cache/.apt-$suite.log" 2>&1 || {
    tail -n 30 "$cache/.apt-$suite.log" >&2; return 1; }
  umount -l "$tmp/proc"
  rm -f "$cache/.apt-$suite.log"
  chroot "$tmp" apt-get clean
  mkdir -p "$tmp/run/sshd"
  trap - RETURN
  mv "$tmp" "$dest"
}

for suite in "$@"; do
  case "$suite" in bullseye|bookworm|trixie) ;; *) echo "FATAL: unknown suite $suite" >&2; exit 1 ;; esac
  dest="$cache/$suite-$key"
  if [ ! -x "$dest/usr/sbin/sshd" ]; then
    # Older roots of this suite (other keys) are superseded.
    rm -rf "$cache/$suite"-*
    build "$suite" "$dest"
  fi
  echo "$suite $dest"
done
