#!/usr/bin/env bash
# Usage: packaging/check-glibc.sh BINARY [MAX_GLIBC]   (MAX_GLIBC defaults to 2.17)
# Reads the glibc symbol versions BINARY needs (its dynamic symbols and its version-needs
# section, via readelf, which reads any architecture) and fails if one is newer than
# MAX_GLIBC, or if it uses GLIBC_PRIVATE. Prints the versions found.
set -euo pipefail
bin=${1:?usage: check-glibc.sh BINARY [MAX_GLIBC]}
max=${2:-2.17}
command -v readelf >/dev/null || { echo "check-glibc: readelf not found (apt-get install binutils)" >&2; exit 1; }
[ -f "$bin" ] || { echo "check-glibc: $bin: no such file" >&2; exit 1; }

if ! readelf -W -h "$bin" >/dev/null 2>&1; then
    echo "check-glibc: $bin is not an ELF file" >&2
    exit 1
fi
if ! readelf -W -l "$bin" | grep -q 'Requesting program interpreter'; then
    echo "check-glibc: $bin is statically linked; no glibc symbol versions to check"
    exit 0
fi

versions=$( { readelf -W --dyn-syms "$bin"; readelf -W -V "$bin"; } \
    | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+|GLIBC_PRIVATE' | sort -u -V)
if [ -z "$versions" ]; then
    echo "check-glibc: no GLIBC_ symbol versions found in $bin" >&2
    exit 1
fi
newest=$(printf '%s\n' "$versions" | grep -v PRIVATE | sed 's/^GLIBC_//' | sort -V | tail -n1)
echo "check-glibc: $bin needs: $(printf '%s ' $versions)"
echo "check-glibc: newest required glibc: $newest (maximum allowed: $max)"

bad=0
if printf '%s\n' "$versions" | grep -qx GLIBC_PRIVATE; then
    echo "check-glibc: FAIL: $bin uses GLIBC_PRIVATE symbols" >&2
    bad=1
fi
for v in $versions; do
    [ "$v" = GLIBC_PRIVATE ] && continue
    n=${v#GLIBC_}
    if [ "$(printf '%s\n%s\n' "$n" "$max" | sort -V | tail -n1)" != "$max" ]; then
        syms=$(readelf -W --dyn-syms "$bin" | grep -F "@$v" | awk '{print $8}' | sed 's/@.*//' | sort -u | tr '\n' ' ')
        echo "check-glibc: FAIL: $v is newer than GLIBC_$max (symbols: ${syms:-?})" >&2
        bad=1
    fi
done
exit $bad
