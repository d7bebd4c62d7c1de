#!/usr/bin/env bash
# Packaging tests: SSM documents, systemd units, the build (glibc symbol check, .deb, .rpm,
# tarball, Distributor package), moto SSM API calls, and a real install/check/uninstall of
# the .deb through the SSM documents (root only; it installs and removes the package on
# this machine and cleans up after itself).
#
# Usage: tests/packaging/run.sh [pytest args]      (run tests/packaging/setup.sh once first)
# JIKIMI_DIST=DIR reuses artifacts already built by packaging/build.sh --out DIR.
# Ends with one line "packaging: N passed, N failed, N skipped"; exits non-zero on any failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO" || exit 1
report=$(mktemp "${TMPDIR:-/tmp}/jikimi-packaging-junit.XXXXXX.xml")
trap 'rm -f "$report"' EXIT

python3 -m pytest -p no:cacheprovider -o junit_family=xunit2 --junitxml="$report" -ra "$HERE" "$@"
rc=$?

python3 - "$report" "$rc" <<'PY'
import sys, xml.etree.ElementTree as ET
report, rc = sys.argv[1], int(sys.argv[2])
try:
    root = ET.parse(report).getroot()
except Exception:
    print("packaging: 0 passed, 1 failed, 0 skipped")
    sys.exit(0)
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
if rc not in (0, 1, 5) and failed == 0:
    failed = 1  # pytest itself failed (usage or internal error)
print(f"packaging: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
# 5 = no tests collected: that is a failure here too.
[ "$rc" = 0 ] || exit 1
