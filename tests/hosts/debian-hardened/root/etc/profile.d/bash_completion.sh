# shellcheck shell=sh disable=SC1091
if [ -n "${BASH_VERSION-}" ]; then :; fi
