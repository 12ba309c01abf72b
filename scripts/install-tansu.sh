#!/usr/bin/env bash
# Installs the Tansu broker that the broker tests run against, only when it is missing.
#
# Tansu 0.6.0 needs the `dynostore` and `libsql` features for SQLite storage (the default build
# refuses every storage engine). Building it takes about 14 minutes on two cores, so this script
# does nothing when `tansu` 0.6.0 is already on PATH or in ~/.cargo/bin, and waits for an
# install that is already running instead of starting a second one. Safe to run repeatedly.
set -euo pipefail

VERSION="0.6.0"
FEATURES="dynostore,libsql"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

# Prints the path of a usable tansu (version $VERSION), or nothing.
find_tansu() {
    local candidate
    for candidate in "${TANSU_BIN:-}" "$(command -v tansu 2>/dev/null || true)" "$CARGO_BIN/tansu"; do
        if [[ -n "$candidate" && -x "$candidate" ]] \
            && [[ "$("$candidate" --version 2>/dev/null)" == "tansu $VERSION" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 0
}

found="$(find_tansu)"
if [[ -n "$found" ]]; then
    echo "install-tansu: tansu $VERSION already installed at $found; nothing to do."
    exit 0
fi

# Another install (a previous run, or the machine's set-up) may be building it right now:
# wait for it rather than compete for the two cores.
if pgrep -f "cargo install tansu" >/dev/null 2>&1; then
    echo "install-tansu: a 'cargo install tansu' is already running; waiting for it to finish."
    while pgrep -f "cargo install tansu" >/dev/null 2>&1; do
        sleep 10
    done
    found="$(find_tansu)"
    if [[ -n "$found" ]]; then
        echo "install-tansu: tansu $VERSION is now installed at $found."
        exit 0
    fi
    echo "install-tansu: the running install ended without tansu $VERSION; installing it now."
fi

echo "install-tansu: installing tansu $VERSION with features $FEATURES (about 14 minutes on two cores)."
cargo install tansu --locked --version "$VERSION" --features "$FEATURES"

found="$(find_tansu)"
if [[ -z "$found" ]]; then
    echo "install-tansu: cargo install finished but tansu $VERSION is not in $CARGO_BIN" >&2
    exit 1
fi
echo "install-tansu: installed tansu $VERSION at $found."
