#!/bin/sh
# Jikimi-RunCheck (POSIX sh).
set -eu
export LC_ALL=C
SINKS='{{ sinks }}'
FAIL_ON_FINDINGS='{{ failOnFindings }}'

say() { printf 'Jikimi-RunCheck: %s\n' "$*"; }
fail() { printf 'Jikimi-RunCheck: FAILED: %s\n' "$*" >&2; exit 1; }
case "$SINKS" in table | json | file) ;; *) fail "parameter sinks is not valid: $SINKS" ;; esac
case "$FAIL_ON_FINDINGS" in true | false) ;; *) fail "parameter failOnFindings is not valid: $FAIL_ON_FINDINGS" ;; esac

JIKIMI=/usr/bin/jikimi
[ -x "$JIKIMI" ] || fail "jikimi is not installed on this host (run Jikimi-Install first)"
CONFIG=/etc/jikimi/jikimi.toml
set -- check --once
[ -f "$CONFIG" ] && set -- "$@" --config "$CONFIG"

rc=0
case "$SINKS" in
  table) "$JIKIMI" "$@" --format table || rc=$? ;;
  json) "$JIKIMI" "$@" --format json || rc=$? ;;
  file)
    REPORTS=/var/lib/jikimi/reports
    mkdir -p "$REPORTS"
    chmod 0700 /var/lib/jikimi "$REPORTS"
    REPORT="$REPORTS/jikimi-$(date -u +%Y%m%dT%H%M%SZ).json"
    "$JIKIMI" "$@" --format json --output "$REPORT" || rc=$?
    if [ -s "$REPORT" ]; then
      cp -f "$REPORT" "$REPORTS/latest.json"
      say "JSON report: $REPORT (also $REPORTS/latest.json); summary:"
      # The report is pretty-printed JSON: show its "summary" object.
      sed -n '/^  "summary": {/,/^  }/p' "$REPORT"
      # Keep the 30 newest reports.
      find "$REPORTS" -maxdepth 1 -name 'jikimi-*.json' | sort -r | tail -n +31 | while IFS= read -r old; do rm -f "$old"; done
    fi
    ;;
esac

case "$rc" in
  0) say "all checks passed" ;;
  2)
    if [ "$FAIL_ON_FINDINGS" = true ]; then
      say "some checks failed (failOnFindings=true: the command fails)"
      exit 2
    fi
    say "some checks failed (reported above; failOnFindings=false, so the command succeeds)"
    ;;
  *) fail "the scan could not run (jikimi exit code $rc)" ;;
esac
