#!/bin/sh
# Jikimi-Fix (POSIX sh).
set -eu
export LC_ALL=C
CHECK_IDS='{{ checkIds }}'
DRY_RUN='{{ dryRun }}'
MIN_SEVERITY='{{ minSeverity }}'

say() { printf 'Jikimi-Fix: %s\n' "$*"; }
fail() { printf 'Jikimi-Fix: FAILED: %s\n' "$*" >&2; exit 1; }
NL='
'
# SSM already applied allowedPattern / allowedValues; check again, so a value that reached
# this script some other way never gets further than this.
check() {
  case "$2" in *"$NL"*) fail "parameter $1 must be a single line" ;; esac
  printf '%s\n' "$2" | grep -Eq -- "$3" || fail "parameter $1 is not valid: $2"
}
check checkIds "$CHECK_IDS" '@PATTERN:checkIds@'
case "$DRY_RUN" in true | false) ;; *) fail "parameter dryRun is not valid: $DRY_RUN" ;; esac
case "$MIN_SEVERITY" in info | low | medium | high | critical) ;; *) fail "parameter minSeverity is not valid: $MIN_SEVERITY" ;; esac

JIKIMI=/usr/bin/jikimi
[ -x "$JIKIMI" ] || fail "jikimi is not installed on this host (run Jikimi-Install first)"
CONFIG=/etc/jikimi/jikimi.toml
set -- fix --min-severity "$MIN_SEVERITY"
[ -f "$CONFIG" ] && set -- "$@" --config "$CONFIG"
[ -n "$CHECK_IDS" ] && set -- "$@" --only "$CHECK_IDS"
if [ "$DRY_RUN" = true ]; then
  set -- "$@" --dry-run
else
  set -- "$@" --yes
fi

rc=0
"$JIKIMI" "$@" || rc=$?
case "$rc" in
  0) say "done" ;;
  2)
    if [ "$DRY_RUN" = true ]; then
      say "dry run: some selected checks cannot be fixed here (see above)"
    else
      fail "some selected fixes were refused or rolled back (see above; nothing of theirs was kept)"
    fi
    ;;
  *) fail "jikimi fix could not run (exit code $rc)" ;;
esac
