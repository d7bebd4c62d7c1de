#!/bin/sh
# Jikimi-Install (POSIX sh: SSM Agent may run this with dash or bash).
set -eu
umask 022
export LC_ALL=C
VERSION='{{ version }}'
PACKAGE_URL='{{ packageUrl }}'
SHA256='{{ sha256 }}'
CONFIG_PARAMETER='{{ configParameter }}'
UNITS='{{ units }}'

say() { printf 'Jikimi-Install: %s\n' "$*"; }
fail() { printf 'Jikimi-Install: FAILED: %s\n' "$*" >&2; exit 1; }
NL='
'
# SSM already applied allowedPattern; check again with the same patterns, so a value
# that reached this script some other way never gets further than this.
check() {
  case "$2" in *"$NL"*) fail "parameter $1 must be a single line" ;; esac
  printf '%s\n' "$2" | grep -Eq -- "$3" || fail "parameter $1 is not valid: $2"
}
check version "$VERSION" '@PATTERN:version@'
check packageUrl "$PACKAGE_URL" '@PATTERN:packageUrl@'
check sha256 "$SHA256" '@PATTERN:sha256@'
check configParameter "$CONFIG_PARAMETER" '@PATTERN:configParameter@'
case "$UNITS" in timer | daemon | both | none) ;; *) fail "parameter units is not valid: $UNITS" ;; esac

# Platform: Linux on x86_64 or aarch64, with dpkg or rpm.
[ "$(uname -s)" = Linux ] || fail "unsupported platform: $(uname -s); Jikimi runs on Linux"
case "$(uname -m)" in
  x86_64 | amd64) DEB_ARCH=amd64 RPM_ARCH=x86_64 ;;
  aarch64 | arm64) DEB_ARCH=arm64 RPM_ARCH=aarch64 ;;
  *) fail "unsupported platform: architecture $(uname -m); packages exist for x86_64 and aarch64" ;;
esac
if command -v dpkg >/dev/null 2>&1 && [ -d /var/lib/dpkg ]; then
  FORMAT=deb
elif command -v rpm >/dev/null 2>&1; then
  FORMAT=rpm
else
  fail "unsupported platform: this host has neither dpkg nor rpm"
fi
case "$PACKAGE_URL" in
  *.deb) URL_FORMAT=deb ;;
  *) URL_FORMAT=rpm ;;
esac
[ "$URL_FORMAT" = "$FORMAT" ] || fail "unsupported platform: this host installs .$FORMAT packages, packageUrl is a .$URL_FORMAT"

# Package versions write a semver pre-release (1.2.0-rc.1) as 1.2.0~rc.1.
WANT=$(printf '%s' "$VERSION" | sed 's/-/~/')
installed_version() {
  if [ "$FORMAT" = deb ]; then
    dpkg-query -W -f='${db:Status-Status} ${Version}\n' jikimi 2>/dev/null | awk '$1 == "installed" { sub(/-[^-]*$/, "", $2); print $2 }'
  else
    rpm -q --qf '%{VERSION}\n' jikimi 2>/dev/null | grep -v 'not installed' || true
  fi
}
INSTALLED=$(installed_version)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/jikimi-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PACKAGE_CHANGED=no
if [ "$INSTALLED" = "$WANT" ]; then
  say "jikimi $VERSION is already installed; package left as it is"
else
  say "installing jikimi $VERSION (installed now: ${INSTALLED:-none}) from $PACKAGE_URL"
  PKG="$TMP/jikimi.$FORMAT"
  case "$PACKAGE_URL" in
    s3://*)
      command -v aws >/dev/null 2>&1 || fail "the AWS CLI (aws) is needed to download s3:// URLs"
      aws s3 cp --only-show-errors "$PACKAGE_URL" "$PKG" || fail "download failed: $PACKAGE_URL"
      ;;
    *)
      if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --proto '=https' --proto-redir '=https' \
          --retry 3 --connect-timeout 20 --max-time 600 -o "$PKG" "$PACKAGE_URL" ||
          fail "download failed: $PACKAGE_URL"
      elif command -v wget >/dev/null 2>&1; then
        wget -q --https-only -O "$PKG" "$PACKAGE_URL" || fail "download failed: $PACKAGE_URL"
      else
        fail "neither curl nor wget is installed"
      fi
      ;;
  esac

  # Verify before anything is installed.
  EXPECTED=$(printf '%s' "$SHA256" | tr 'ABCDEF' 'abcdef')
  ACTUAL=$(sha256sum "$PKG" | cut -d ' ' -f 1)
  if [ "$ACTUAL" != "$EXPECTED" ]; then
    fail "bad checksum for $PACKAGE_URL: expected sha256 $EXPECTED, got $ACTUAL; nothing was installed"
  fi
  say "sha256 verified: $ACTUAL"

  if [ "$FORMAT" = deb ]; then
    PKG_VERSION=$(dpkg-deb --field "$PKG" Version) || fail "$PACKAGE_URL is not a .deb package"
    PKG_VERSION=${PKG_VERSION%-*}
    PKG_ARCH=$(dpkg-deb --field "$PKG" Architecture)
    HOST_ARCH=$DEB_ARCH
  else
    PKG_VERSION=$(rpm -qp --qf '%{VERSION}' "$PKG" 2>/dev/null) || fail "$PACKAGE_URL is not an .rpm package"
    PKG_ARCH=$(rpm -qp --qf '%{ARCH}' "$PKG" 2>/dev/null)
    HOST_ARCH=$RPM_ARCH
  fi
  [ "$PKG_VERSION" = "$WANT" ] || fail "the package holds jikimi $PKG_VERSION, not $VERSION; nothing was installed"
  [ "$PKG_ARCH" = "$HOST_ARCH" ] || fail "unsupported platform: the package is for $PKG_ARCH, this host is $HOST_ARCH"

  if [ "$FORMAT" = deb ]; then
    # --force-confold: keep a locally changed /etc/jikimi/jikimi.toml without asking.
    DEBIAN_FRONTEND=noninteractive dpkg --force-confold --install "$PKG" || fail "dpkg could not install $PACKAGE_URL"
  else
    rpm --upgrade --oldpackage --replacepkgs "$PKG" || fail "rpm could not install $PACKAGE_URL"
  fi
  PACKAGE_CHANGED=yes
  say "installed jikimi $VERSION"
fi

CONFIG_CHANGED=no
if [ -n "$CONFIG_PARAMETER" ]; then
  command -v aws >/dev/null 2>&1 || fail "the AWS CLI (aws) is needed to read $CONFIG_PARAMETER"
  VALUE=$(aws ssm get-parameter --name "$CONFIG_PARAMETER" --with-decryption \
    --query Parameter.Value --output text) ||
    fail "could not read $CONFIG_PARAMETER from Parameter Store"
  printf '%s\n' "$VALUE" >"$TMP/jikimi.toml"
  /usr/bin/jikimi config validate --config "$TMP/jikimi.toml" ||
    fail "the configuration in $CONFIG_PARAMETER is not valid; /etc/jikimi/jikimi.toml was not changed"
  if cmp -s "$TMP/jikimi.toml" /etc/jikimi/jikimi.toml; then
    say "configuration from $CONFIG_PARAMETER already in place"
  else
    mkdir -p /etc/jikimi
    # It may hold secrets (SecureString): only root reads it.
    install -m 0600 "$TMP/jikimi.toml" /etc/jikimi/jikimi.toml.new
    mv -f /etc/jikimi/jikimi.toml.new /etc/jikimi/jikimi.toml
    CONFIG_CHANGED=yes
    say "wrote /etc/jikimi/jikimi.toml from $CONFIG_PARAMETER"
  fi
fi

case "$UNITS" in
  timer) ENABLE="jikimi-check.timer" ;;
  daemon) ENABLE="jikimi.service" ;;
  both) ENABLE="jikimi.service jikimi-check.timer" ;;
  none) ENABLE="" ;;
esac
if [ -z "$ENABLE" ]; then
  say "units=none: no unit enabled"
elif ! command -v systemctl >/dev/null 2>&1; then
  say "systemctl not found on this host; not enabling $ENABLE"
else
  for unit in $ENABLE; do
    # Enabling works without a running systemd (image builds, containers): it only links.
    if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      say "$unit already enabled"
    else
      systemctl enable --quiet "$unit" || fail "could not enable $unit"
      say "enabled $unit"
    fi
    [ -d /run/systemd/system ] || continue
    if ! systemctl is-active --quiet "$unit"; then
      systemctl start "$unit" || fail "could not start $unit"
      say "started $unit"
    elif [ "$unit" = jikimi.service ] && { [ "$PACKAGE_CHANGED" = yes ] || [ "$CONFIG_CHANGED" = yes ]; }; then
      systemctl restart "$unit" || fail "could not restart $unit"
      say "restarted $unit"
    else
      say "$unit already running"
    fi
  done
  [ -d /run/systemd/system ] || say "systemd is not running on this host; $ENABLE enabled, not started"
fi
say "done: jikimi $VERSION (package changed: $PACKAGE_CHANGED, configuration changed: $CONFIG_CHANGED)"
