# Jikimi package hooks, shared by the .deb maintainer scripts and the .rpm scriptlets
# (packaging/build.sh pastes this file into each of them). POSIX sh. Nothing here may
# fail the package transaction because systemd is absent or not running (containers,
# chroots, image builds): systemd is used when it is there and skipped otherwise.

JIKIMI_UNITS="jikimi.service jikimi-check.timer jikimi-check.service"

jikimi_log() { echo "jikimi: $*"; }

# systemd is PID 1 and can be talked to.
jikimi_systemd_running() {
    [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

jikimi_daemon_reload() {
    if jikimi_systemd_running; then
        systemctl daemon-reload || jikimi_log "warning: systemctl daemon-reload failed"
    fi
}

# $1: empty on a first install, the previous version on an upgrade.
jikimi_after_install() {
    mkdir -p /var/lib/jikimi
    chmod 0700 /var/lib/jikimi
    jikimi_daemon_reload
    if [ -n "$1" ]; then
        # Upgrade: restart the daemon only if it was running, so it runs the new binary.
        if jikimi_systemd_running; then
            systemctl try-restart jikimi.service || jikimi_log "warning: could not restart jikimi.service"
        fi
        return 0
    fi
    # First install: enable units only when asked to, with JIKIMI_ENABLE in the
    # environment of the installer (for example `JIKIMI_ENABLE=timer apt-get install ./jikimi.deb`).
    case "${JIKIMI_ENABLE:-none}" in
        none | "") units="" ;;
        timer) units="jikimi-check.timer" ;;
        daemon) units="jikimi.service" ;;
        both) units="jikimi.service jikimi-check.timer" ;;
        *)
            jikimi_log "warning: JIKIMI_ENABLE=${JIKIMI_ENABLE} is not one of none, timer, daemon, both; enabling nothing"
            units=""
            ;;
    esac
    if [ -z "$units" ]; then
        jikimi_log "installed; no unit enabled. Enable the daily scan with: systemctl enable --now jikimi-check.timer"
        return 0
    fi
    if ! command -v systemctl >/dev/null 2>&1; then
        jikimi_log "warning: systemctl not found; cannot enable $units"
        return 0
    fi
    # shellcheck disable=SC2086 # word splitting of the unit list is wanted
    systemctl enable $units || jikimi_log "warning: could not enable $units"
    if jikimi_systemd_running; then
        # shellcheck disable=SC2086
        systemctl start $units || jikimi_log "warning: could not start $units"
    else
        jikimi_log "systemd is not running here; $units enabled but not started"
    fi
}

# Before the files go away on removal (not on upgrade).
jikimi_before_remove() {
    if jikimi_systemd_running; then
        # shellcheck disable=SC2086
        systemctl stop $JIKIMI_UNITS 2>/dev/null || true
    fi
    if command -v systemctl >/dev/null 2>&1; then
        # disable works without a running systemd: it only removes the enablement symlinks.
        # shellcheck disable=SC2086
        systemctl --quiet disable $JIKIMI_UNITS 2>/dev/null || true
    fi
}

# After the files are gone on removal (not on upgrade).
jikimi_after_remove() {
    jikimi_daemon_reload
    if jikimi_systemd_running; then
        # shellcheck disable=SC2086
        systemctl reset-failed $JIKIMI_UNITS 2>/dev/null || true
    fi
}

# Purge (deb only; rpm has no purge): drop the state unless JIKIMI_KEEP_STATE=yes.
jikimi_purge() {
    if [ "${JIKIMI_KEEP_STATE:-no}" = yes ]; then
        jikimi_log "keeping /var/lib/jikimi (JIKIMI_KEEP_STATE=yes)"
    else
        rm -rf /var/lib/jikimi
    fi
    rmdir /etc/jikimi/checks.d 2>/dev/null || true
    rmdir /etc/jikimi 2>/dev/null || true
}
