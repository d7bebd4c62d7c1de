#!/usr/bin/env bash
# Asset classification, alerts and AWS wiring tests: installs their Python dependencies
# (setup.sh, idempotent), builds the agent unless JIKIMI_BIN names one, runs pytest against
# moto_server, a local webhook receiver and aiosmtpd, all on 127.0.0.1, and cfn-lint. Ends
# with `assets: N passed, N failed`; exits non-zero when anything failed. Extra arguments go
# to pytest (e.g. -k email).
set -uo pipefail
cd "$(dirname "$0")/../.."
venv="$(bash tests/assets/setup.sh | tail -n 1)" || { echo "assets: 0 passed, 1 failed (setup)"; exit 1; }
if [ -z "${JIKIMI_BIN:-}" ]; then
  cargo build --quiet -p jikimi || { echo "assets: 0 passed, 1 failed (build)"; exit 1; }
  export JIKIMI_BIN="${CARGO_TARGET_DIR:-target}/debug/jikimi"
fi
export PYTHONDONTWRITEBYTECODE=1
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$venv/bin/python" -m pytest -p no:cacheprovider -q tests/assets "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -n 1)
passed=$(grep -Eo '[0-9]+ passed' <<<"$summary" | awk '{print $1}')
failed=$(grep -Eo '[0-9]+ (failed|error)' <<<"$summary" | awk '{s+=$1} END {print s+0}')
passed=${passed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "assets: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
