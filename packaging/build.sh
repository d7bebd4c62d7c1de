#!/usr/bin/env bash
# Build Jikimi release artifacts: a portable release binary (zig as the linker, glibc >= 2.17),
# then a .deb, an .rpm, a tarball and an SSM Distributor package, with SHA256SUMS, in dist/.
#
# Usage: packaging/build.sh [options]
#   --arch ARCH         x86_64 (amd64) or aarch64 (arm64); repeat for several. Default: this machine's.
#   --out DIR           output directory (default: dist/ at the top of the repository)
#   --clean             empty the output directory first
#   --formats LIST      comma-separated subset of deb,rpm,tar,distributor (default: all)
#   --binary PATH       package this already-built binary instead of running cargo (one --arch only)
#   --expect-version V  fail unless the crate version is V (a leading "v" is ignored: pass the git tag)
#   --revision N        package revision (default 1)
#   -h, --help          this text
#
# Build dependencies: packaging/install-build-deps.sh installs them (rustup target, PyPI
# ziglang, rpm, zip, binutils). Environment: CARGO_TARGET_DIR is honoured; SOURCE_DATE_EPOCH
# defaults to the last commit's time so that timestamps inside the packages are stable.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG="$REPO/packaging"
GLIBC_MIN=2.17
MAINTAINER=${JIKIMI_MAINTAINER:-"Jikimi maintainers <maintainers@jikimi.invalid>"}
# Distributor platform codes served by each package format.
DEB_PLATFORMS="debian ubuntu"
RPM_PLATFORMS="amazon redhat centos oracle suse opensuse opensuseleap"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

ARCHES=()
OUT="$REPO/dist"
CLEAN=0
FORMATS="deb,rpm,tar,distributor"
BINARY=""
EXPECT_VERSION=""
REVISION=1
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) ARCHES+=("${2:?--arch needs a value}"); shift 2 ;;
        --arch=*) ARCHES+=("${1#*=}"); shift ;;
        --out) OUT=${2:?--out needs a value}; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        --clean) CLEAN=1; shift ;;
        --formats) FORMATS=${2:?--formats needs a value}; shift 2 ;;
        --formats=*) FORMATS=${1#*=}; shift ;;
        --binary) BINARY=${2:?--binary needs a value}; shift 2 ;;
        --binary=*) BINARY=${1#*=}; shift ;;
        --expect-version) EXPECT_VERSION=${2:?--expect-version needs a value}; shift 2 ;;
        --expect-version=*) EXPECT_VERSION=${1#*=}; shift ;;
        --revision) REVISION=${2:?--revision needs a value}; shift 2 ;;
        --revision=*) REVISION=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=("$(uname -m)")
[[ $REVISION =~ ^[0-9]+$ ]] || die "--revision must be a number"
for f in ${FORMATS//,/ }; do
    case "$f" in deb | rpm | tar | distributor) ;; *) die "unknown format: $f" ;; esac
done
want() { [[ ",$FORMATS," == *",$1,"* ]]; }
if [ -n "$BINARY" ] && [ ${#ARCHES[@]} -ne 1 ]; then die "--binary needs exactly one --arch"; fi

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2 (packaging/install-build-deps.sh installs the build dependencies)"; }
need python3 "Python 3 is needed"
need readelf "apt-get install binutils"
need sha256sum "coreutils"
want deb && need dpkg-deb "apt-get install dpkg"
want rpm && need rpmbuild "apt-get install rpm"
want distributor && need zip "apt-get install zip"

# ---- version ------------------------------------------------------------------------------
VERSION=$(python3 - "$REPO" <<'PY'
import sys, tomllib, pathlib
root = pathlib.Path(sys.argv[1])
ws = tomllib.loads((root / "Cargo.toml").read_text())
pkg = tomllib.loads((root / "agent" / "Cargo.toml").read_text())["package"]
v = pkg.get("version")
if isinstance(v, dict) or v is None:
    v = ws["workspace"]["package"]["version"]
print(v)
PY
)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?(\+[0-9A-Za-z.]+)?$ ]] || die "unexpected crate version: $VERSION"
if [ -n "$EXPECT_VERSION" ] && [ "${EXPECT_VERSION#v}" != "$VERSION" ]; then
    die "version mismatch: asked for ${EXPECT_VERSION#v}, the crate is $VERSION"
fi
# Package version: semver pre-release "1.2.0-rc.1" sorts before 1.2.0 in dpkg/rpm only as 1.2.0~rc.1.
PKGVER=${VERSION%%+*}
PKGVER=${PKGVER/-/\~}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}
export TZ=UTC LC_ALL=C

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jikimi-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
[ "$CLEAN" = 1 ] && rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# ---- per-architecture names ---------------------------------------------------------------
arch_names() { # sets ARCH RUST_TARGET ZIG_TARGET DEB_ARCH RPM_ARCH SSM_ARCH ELF_MACHINE
    case "$1" in
        x86_64 | amd64) ARCH=x86_64 DEB_ARCH=amd64 SSM_ARCH=x86_64 ELF_MACHINE="X86-64" ;;
        aarch64 | arm64) ARCH=aarch64 DEB_ARCH=arm64 SSM_ARCH=arm64 ELF_MACHINE="AArch64" ;;
        *) die "unsupported architecture: $1 (x86_64 or aarch64)" ;;
    esac
    RUST_TARGET=$ARCH-unknown-linux-gnu
    ZIG_TARGET=$ARCH-linux-gnu.$GLIBC_MIN
    RPM_ARCH=$ARCH
}

# ---- 1. release binary --------------------------------------------------------------------
build_binary() {
    need cargo "install Rust with rustup"
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
        log "adding Rust target $RUST_TARGET"
        rustup target add "$RUST_TARGET" >&2
    fi
    if [ -z "${JIKIMI_ZIG:-}" ]; then
        JIKIMI_ZIG=$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))' 2>/dev/null) ||
            die "zig not found: pip install ziglang (packaging/install-build-deps.sh)"
    fi
    [ -x "$JIKIMI_ZIG" ] || die "zig not executable: $JIKIMI_ZIG"
    local tu=${RUST_TARGET//-/_}
    local TU=${tu^^}
    log "building jikimi $VERSION for $RUST_TARGET (glibc >= $GLIBC_MIN, zig $("$JIKIMI_ZIG" version))"
    env JIKIMI_ZIG="$JIKIMI_ZIG" JIKIMI_ZIG_TARGET="$ZIG_TARGET" \
        "CARGO_TARGET_${TU}_LINKER=$PKG/zig-cc" "CC_${tu}=$PKG/zig-cc" "AR_${tu}=$PKG/zig-ar" \
        cargo build --release --locked -p jikimi --target "$RUST_TARGET" \
        --manifest-path "$REPO/Cargo.toml" >&2
    local target_dir=${CARGO_TARGET_DIR:-$REPO/target}
    BIN="$target_dir/$RUST_TARGET/release/jikimi"
    [ -x "$BIN" ] || die "cargo did not produce $BIN"
}

check_binary() {
    readelf -h "$BIN" | grep -q "Machine:.*$ELF_MACHINE" || die "$BIN is not an $ARCH binary"
    "$PKG/check-glibc.sh" "$BIN" "$GLIBC_MIN" >&2 || die "$BIN needs a glibc newer than $GLIBC_MIN"
}

# ---- 2. staged file tree (the layout every format ships) ----------------------------------
stage() {
    ROOT="$WORK/$ARCH/root"
    rm -rf "$ROOT"
    install -D -m 0755 "$BIN" "$ROOT/usr/bin/jikimi"
    install -D -m 0644 "$PKG/jikimi.toml" "$ROOT/etc/jikimi/jikimi.toml"
    install -d -m 0755 "$ROOT/etc/jikimi/checks.d"
    install -d -m 0755 "$ROOT/usr/lib/systemd/system"
    install -m 0644 "$PKG"/systemd/*.service "$PKG"/systemd/*.timer "$ROOT/usr/lib/systemd/system/"
    install -D -m 0644 "$PKG/copyright" "$ROOT/usr/share/doc/jikimi/copyright"
    local doc
    for doc in README.md LICENSE CHANGELOG.md; do
        install -m 0644 "$REPO/$doc" "$ROOT/usr/share/doc/jikimi/$doc"
    done
    find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# Paste the shared hooks and a dispatch block into one maintainer script.
maint_script() { # $1 output, $2 dispatch text
    {
        printf '#!/bin/sh\nset -e\n'
        cat "$PKG/scripts/hooks.sh"
        printf '\n%s\nexit 0\n' "$2"
    } >"$1"
    chmod 0755 "$1"
}

# ---- 3. .deb ------------------------------------------------------------------------------
build_deb() {
    local d="$WORK/$ARCH/deb"
    rm -rf "$d"
    cp -a "$ROOT" "$d"
    mkdir -p "$d/DEBIAN"
    local size
    size=$(du -sk --exclude=DEBIAN "$d" | cut -f1)
    cat >"$d/DEBIAN/control" <<EOF
Package: jikimi
Version: $PKGVER-$REVISION
Architecture: $DEB_ARCH
Maintainer: $MAINTAINER
Installed-Size: $size
Depends: libc6 (>= $GLIBC_MIN)
Section: admin
Priority: optional
Description: on-host Linux security agent
 Jikimi collects host facts, evaluates a declarative catalog of security checks
 (KISA and CIS profiles) against them and reports findings. It runs once
 (jikimi check --once, daily through jikimi-check.timer) or as a daemon
 (jikimi.service).
EOF
    echo /etc/jikimi/jikimi.toml >"$d/DEBIAN/conffiles"
    (cd "$d" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$d/DEBIAN/md5sums"
    maint_script "$d/DEBIAN/postinst" 'case "$1" in
    configure) jikimi_after_install "$2" ;;
esac'
    maint_script "$d/DEBIAN/prerm" 'case "$1" in
    remove | deconfigure) jikimi_before_remove ;;
esac'
    maint_script "$d/DEBIAN/postrm" 'case "$1" in
    remove) jikimi_after_remove ;;
    purge) jikimi_after_remove; jikimi_purge ;;
esac'
    find "$d/DEBIAN" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    DEB_FILE="jikimi_${PKGVER}-${REVISION}_${DEB_ARCH}.deb"
    dpkg-deb --root-owner-group -Zxz --build "$d" "$OUT/$DEB_FILE" >&2
    log "wrote $DEB_FILE"
}

# ---- 4. .rpm ------------------------------------------------------------------------------
build_rpm() {
    local top="$WORK/$ARCH/rpm" spec="$WORK/$ARCH/jikimi.spec"
    rm -rf "$top"
    mkdir -p "$top"/{BUILD,RPMS,SOURCES,SPECS,SRPMS,BUILDROOT}
    # rpm expands macros in scriptlets too, and the hooks contain no "%".
    sed -e "s|@VERSION@|$PKGVER|; s|@REVISION@|$REVISION|" \
        -e "/^@HOOKS@\$/{r $PKG/scripts/hooks.sh" -e 'd}' "$PKG/rpm/jikimi.spec.in" >"$spec"
    if grep -q % "$PKG/scripts/hooks.sh"; then die "packaging/scripts/hooks.sh must not contain % (rpm macros)"; fi
    # _dbpath: Debian's rpm would otherwise open $HOME/.rpmdb; the build touches no home
    rpmbuild -bb --quiet \
        --target "$RPM_ARCH-linux" \
        --define "_topdir $top" \
        --define "_dbpath $top/rpmdb" \
        --define "jikimi_stage $ROOT" \
        --define "_build_id_links none" \
        --define "_binary_payload w9.xzdio" \
        --define "_buildhost reproducible" \
        --define "use_source_date_epoch_as_buildtime 1" \
        --define "clamp_mtime_to_source_date_epoch 1" \
        "$spec" >&2
    local built
    built=$(find "$top/RPMS" -name '*.rpm' | head -n1)
    [ -n "$built" ] || die "rpmbuild produced no package"
    RPM_FILE=$(basename "$built")
    cp "$built" "$OUT/$RPM_FILE"
    log "wrote $RPM_FILE"
}

# ---- 5. tarball ---------------------------------------------------------------------------
build_tar() {
    local name="jikimi-$VERSION-$ARCH-linux-gnu"
    local t="$WORK/$ARCH/tar/$name"
    rm -rf "$WORK/$ARCH/tar"
    mkdir -p "$t"
    cp -a "$ROOT/." "$t/"
    tar -C "$WORK/$ARCH/tar" --sort=name --owner=0 --group=0 --numeric-owner \
        --mtime="@$SOURCE_DATE_EPOCH" -cf - "$name" | gzip -9n >"$OUT/$name.tar.gz"
    log "wrote $name.tar.gz"
}

# ---- 6. SSM Distributor package -----------------------------------------------------------
# One zip per package format and architecture, each holding the package, install.sh and
# uninstall.sh; manifest.json (schemaVersion 2.0) maps Distributor platforms to the zips.
distributor_zip() { # $1 format (deb|rpm), $2 package file in $OUT
    local z="$WORK/$ARCH/dist-$1"
    rm -rf "$z"
    mkdir -p "$z"
    cp "$OUT/$2" "$z/"
    install -m 0755 "$PKG/distributor/install.sh" "$z/install.sh"
    # uninstall.sh is the Jikimi-Uninstall SSM document's script with keepState=true.
    python3 "$REPO/ssm-documents/render.py" "$REPO/ssm-documents/Jikimi-Uninstall.json" keepState=true >"$z/uninstall.sh"
    chmod 0755 "$z/uninstall.sh"
    (cd "$z" && sha256sum "$2" >SHA256SUMS)
    find "$z" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    mkdir -p "$OUT/distributor"
    local zipname="jikimi-$VERSION-$1-$SSM_ARCH.zip"
    rm -f "$OUT/distributor/$zipname"
    (cd "$z" && zip -q -X -D "$OUT/distributor/$zipname" install.sh uninstall.sh SHA256SUMS "$2")
    log "wrote distributor/$zipname"
}

distributor_manifest() {
    python3 - "$OUT/distributor" "$VERSION" "$DEB_PLATFORMS" "$RPM_PLATFORMS" <<'PY'
import hashlib, json, pathlib, re, sys
d, version, deb_platforms, rpm_platforms = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
pat = re.compile(r"^jikimi-" + re.escape(version) + r"-(deb|rpm)-(x86_64|arm64)\.zip$")
packages, files = {}, {}
for z in sorted(d.glob("*.zip")):
    m = pat.match(z.name)
    if not m:
        continue
    fmt, arch = m.groups()
    for platform in deb_platforms if fmt == "deb" else rpm_platforms:
        packages.setdefault(platform, {}).setdefault("_any", {})[arch] = {"file": z.name}
    files[z.name] = {"checksums": {"sha256": hashlib.sha256(z.read_bytes()).hexdigest()}}
if not files:
    sys.exit("build.sh: no distributor zips for version " + version)
manifest = {"schemaVersion": "2.0", "version": version, "publisher": "Jikimi",
            "packages": packages, "files": files}
(d / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
PY
    log "wrote distributor/manifest.json"
}

# ---- main ---------------------------------------------------------------------------------
start=$(date +%s)
for a in "${ARCHES[@]}"; do
    arch_names "$a"
    if [ -n "$BINARY" ]; then
        BIN=$BINARY
    else
        build_binary
    fi
    check_binary
    stage
    DEB_FILE="" RPM_FILE=""
    if want deb; then build_deb; fi
    if want rpm; then build_rpm; fi
    if want tar; then build_tar; fi
    if want distributor; then
        [ -n "$DEB_FILE" ] || [ -n "$RPM_FILE" ] || die "the distributor format needs deb or rpm"
        if [ -n "$DEB_FILE" ]; then distributor_zip deb "$DEB_FILE"; fi
        if [ -n "$RPM_FILE" ]; then distributor_zip rpm "$RPM_FILE"; fi
    fi
done
if want distributor; then distributor_manifest; fi

(cd "$OUT" && find . -type f ! -name SHA256SUMS -printf '%P\n' | sort | xargs -r sha256sum >SHA256SUMS)
log "done in $(($(date +%s) - start))s; artifacts in $OUT:"
(cd "$OUT" && sed 's/^/  /' SHA256SUMS) >&2
