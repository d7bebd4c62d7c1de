#!/usr/bin/env bash
# The one command that runs every test of Jikimi on a fresh Debian 12 machine.
# It installs what the tests need (Debian packages after one `apt-get update`, crates via
# cargo), then runs: format and lint gates, unit and end-to-end tests, the catalog lint and
# fixture hosts, and the oracle tests (sshd -T, visudo). A missing tool is installed or the
# run fails loudly: nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
results=()
record() { results+=("$1"); }

# ---------------------------------------------------------------- dependencies
# Every Debian package any suite needs, installed with one `apt-get update` (the suites' own
# setup scripts then find them present).
APT_PACKAGES=(db5.3-util openssh-server sudo passwd prometheus chromium systemd binutils rpm zip unzip curl
  ca-certificates openssl dash shellcheck xz-utils debootstrap fonts-nanum)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in sshd visudo pwck ssh-keygen prometheus promtool chromium python3 cargo; do
  command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$tool" >/dev/null \
    || { echo "FATAL: $tool not found after installation" >&2; exit 1; }
done
export PATH="$PATH:/usr/sbin:/sbin"
if [ "$(id -u)" -ne 0 ]; then
  echo "FATAL: the fixture hosts set file owners (chown) and the oracles need root: run as root" >&2
  exit 1
fi

# Tests run as root: make sure none of them damages the machine (an agent bug once renamed a
# temporary file over /dev/null for `--output /dev/null`).
check_dev_null() {
  [ -c /dev/null ] || { echo "FATAL: /dev/null is not a character device ($1)" >&2; exit 1; }
}
check_dev_null "before the tests"

# Tests never change the host: what a manual run or an install of Jikimi would leave must be the
# same after the tests as before (it may exist: someone ran `check --once`, or installed it).
host_snapshot() {
  local p
  for p in /etc/jikimi /var/lib/jikimi /usr/bin/jikimi; do
    if [ -e "$p" ] || [ -L "$p" ]; then
      find "$p" -printf '%p %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort
      find "$p" -type f -exec sha256sum {} + | LC_ALL=C sort
    else
      echo "$p absent"
    fi
  done
  dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' jikimi 2>/dev/null || echo "jikimi not in the dpkg database"
}
host_snapshot >/tmp/jikimi-host-before.txt

# ---------------------------------------------------------------- gates
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

# ---------------------------------------------------------------- tests
# Real Debian 11/12/13 roots (cached) for the per-release sshd oracle (agent/tests/sshd_roots.rs).
step "Debian roots for the sshd oracle"
roots=$(bash tests/lib/debian-roots.sh bullseye bookworm trixie)
JIKIMI_ROOT_BULLSEYE=$(awk '$1=="bullseye"{print $2}' <<<"$roots")
JIKIMI_ROOT_BOOKWORM=$(awk '$1=="bookworm"{print $2}' <<<"$roots")
JIKIMI_ROOT_TRIXIE=$(awk '$1=="trixie"{print $2}' <<<"$roots")
export JIKIMI_ROOT_BULLSEYE JIKIMI_ROOT_BOOKWORM JIKIMI_ROOT_TRIXIE
step "cargo test (unit, end-to-end, oracle tests)"
cargo test --quiet 2>&1 | tee /tmp/jikimi-cargo-test.log
passed=$(grep -Eo '[0-9]+ passed' /tmp/jikimi-cargo-test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' /tmp/jikimi-cargo-test.log | awk '{s+=$1} END {print s+0}')
record "cargo test: $passed passed, $failed failed"

BIN=target/debug/jikimi
step "jikimi catalog lint"
$BIN catalog lint --no-extra-checks
step "jikimi catalog test (fixture hosts)"
$BIN catalog test --no-extra-checks --fixtures tests/hosts | tail -n 3
record "catalog test: $($BIN catalog test --no-extra-checks --fixtures tests/hosts | tail -n 1)"

# The suites below report their own counts; a suite that dies without a count is one failure.
set +e
step "docs: links and repository paths in the documentation and comments (tests/docs/check_links.py)"
python3 tests/docs/check_links.py 2>&1 | tee /tmp/jikimi-docs.log
line=$(grep -E '^docs: [0-9]+ passed' /tmp/jikimi-docs.log | tail -n 1)
record "${line:-docs: 0 passed, 1 failed (no summary)}"

step "arch: no module dependency cycles in agent/src (tests/arch/check_cycles.py)"
python3 tests/arch/check_cycles.py 2>&1 | tee /tmp/jikimi-arch.log
line=$(grep -E '^arch: [0-9]+ passed' /tmp/jikimi-arch.log | tail -n 1)
record "${line:-arch: 0 passed, 1 failed (no summary)}"

step "AWS integration tests (moto_server, botocore service models; tests/aws/run.sh)"
JIKIMI_BIN="$BIN" bash tests/aws/run.sh 2>&1 | tee /tmp/jikimi-aws-test.log
aws_rc=${PIPESTATUS[0]}
line=$(tail -n 1 /tmp/jikimi-aws-test.log | grep -Eo '[0-9]+ (passed|failed)' | paste -sd, - | sed 's/,/, /')
case "$line" in *passed*) record "aws: $line" ;; *) record "aws: 0 passed, 1 failed (no pytest summary)" ;; esac
# pytest exits non-zero on errors too (e.g. "3 errors" in collection): count that as a failure
if [ "$aws_rc" -ne 0 ] && ! grep -Eq '[1-9][0-9]* failed' <<<"$line"; then
  record "aws: 0 passed, 1 failed (pytest exit $aws_rc)"
fi

step "assets: classification, tags, alerts, mail, CloudFormation (tests/assets/run.sh)"
JIKIMI_BIN="$BIN" bash tests/assets/run.sh 2>&1 | tee /tmp/jikimi-assets.log
line=$(grep -E '^assets: [0-9]+ passed' /tmp/jikimi-assets.log | tail -n 1)
record "${line:-assets: 0 passed, 1 failed (no summary)}"

step "observability (promtool, Prometheus scraping agents, dashboard/rule PromQL, report via Chromium; tests/observability/run.sh)"
JIKIMI_BIN="$BIN" bash tests/observability/run.sh 2>&1 | tee /tmp/jikimi-observability.log
line=$(grep -E '^observability: [0-9]+ passed' /tmp/jikimi-observability.log | tail -n 1)
record "${line:-observability: 0 passed, 1 failed (no summary)}"

step "packaging (build, glibc symbols, units, SSM documents, moto, real installs in an isolated root; tests/packaging/run.sh)"
bash tests/packaging/setup.sh
bash tests/packaging/run.sh -q 2>&1 | tee /tmp/jikimi-packaging.log
line=$(grep -E '^packaging: [0-9]+ passed' /tmp/jikimi-packaging.log | tail -n 1)
if grep -Eq 'skipped' <<<"$line" && ! grep -Eq ' 0 skipped' <<<"$line"; then
  record "packaging: 0 passed, 1 failed (tests were skipped: $line)"
fi
record "${line:-packaging: 0 passed, 1 failed (no summary)}"
set -e

check_dev_null "after the tests"

step "host untouched (/etc/jikimi, /var/lib/jikimi, /usr/bin/jikimi, dpkg entry)"
if host_snapshot | diff /tmp/jikimi-host-before.txt - ; then
  record "host: 1 passed, 0 failed"
else
  echo "FAIL: the tests changed the host (diff above: before <, after >)" >&2
  record "host: 0 passed, 1 failed"
fi

step "summary"
printf '%s\n' "${results[@]}"
total_passed=0; total_failed=0
for r in "${results[@]}"; do
  p=$(grep -Eo '[0-9]+ passed' <<<"$r" | awk '{print $1}' || true)
  f=$(grep -Eo '[0-9]+ failed' <<<"$r" | awk '{print $1}' || true)
  total_passed=$((total_passed + ${p:-0})); total_failed=$((total_failed + ${f:-0}))
done
echo "all: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
