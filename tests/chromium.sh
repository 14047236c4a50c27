#!/usr/bin/env bash
# Installs Debian's chromium (for tests/test_audit_report.py, which opens the HTML audit
# report in headless Chromium) unless `chromium` is on PATH already. Quiet unless it fails;
# safe to run again. Needs root, or sudo without a password.
set -euo pipefail

if command -v chromium >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "$0: apt-get not found: install Chromium so that \`chromium\` is on PATH" >&2
    exit 3
fi
if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo -n)
else
    echo "$0: run as root (or install sudo) to install chromium" >&2
    exit 3
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt_get() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq "$@" >>"$log" 2>&1
}
# Recommends are not needed: fontconfig pulls in DejaVu, which is all the report uses.
if ! { apt_get update && apt_get install -y --no-install-recommends chromium; }; then
    cat "$log" >&2
    echo "$0: apt-get install chromium failed" >&2
    exit 4
fi
if ! chromium --version >"$log" 2>&1; then
    cat "$log" >&2
    echo "$0: chromium does not run on this machine" >&2
    exit 5
fi
