#!/bin/sh
# Jikimi-Uninstall (POSIX sh). Also shipped as uninstall.sh of the Distributor package.
set -eu
export LC_ALL=C
KEEP_STATE='{{ keepState }}'

say() { printf 'Jikimi-Uninstall: %s\n' "$*"; }
fail() { printf 'Jikimi-Uninstall: FAILED: %s\n' "$*" >&2; exit 1; }
case "$KEEP_STATE" in true | false) ;; *) fail "parameter keepState is not valid: $KEEP_STATE" ;; esac

if command -v dpkg >/dev/null 2>&1 && [ -d /var/lib/dpkg ]; then
  FORMAT=deb
  STATUS=$(dpkg-query -W -f='${db:Status-Status}' jikimi 2>/dev/null || true)
  case "$STATUS" in "" | not-installed) STATUS="" ;; esac
elif command -v rpm >/dev/null 2>&1; then
  FORMAT=rpm
  STATUS=$(rpm -q jikimi >/dev/null 2>&1 && echo installed || true)
else
  fail "unsupported platform: this host has neither dpkg nor rpm"
fi

if [ -z "$STATUS" ]; then
  say "the jikimi package is not installed"
else
  if [ -d /run/systemd/system ]; then
    systemctl stop jikimi.service jikimi-check.timer jikimi-check.service 2>/dev/null || true
  fi
  if [ "$FORMAT" = deb ]; then
    # Purge removes the package and its configuration; the state directory is handled below.
    JIKIMI_KEEP_STATE=yes DEBIAN_FRONTEND=noninteractive dpkg --purge jikimi || fail "dpkg could not remove jikimi"
  else
    rpm --erase jikimi || fail "rpm could not remove jikimi"
  fi
  say "removed the jikimi package"
fi

# Leftovers: a configuration changed locally (rpm keeps it as .rpmsave) or written by Jikimi-Install.
if [ -e /etc/jikimi ]; then
  rm -rf /etc/jikimi
  say "removed /etc/jikimi"
fi
if [ "$KEEP_STATE" = true ]; then
  if [ -d /var/lib/jikimi ]; then say "kept /var/lib/jikimi (keepState=true)"; fi
elif [ -e /var/lib/jikimi ]; then
  rm -rf /var/lib/jikimi
  say "removed /var/lib/jikimi"
fi
for f in /usr/bin/jikimi /usr/lib/systemd/system/jikimi.service /usr/lib/systemd/system/jikimi-check.service /usr/lib/systemd/system/jikimi-check.timer; do
  [ ! -e "$f" ] || fail "$f is still present after removal"
done
say "done"
