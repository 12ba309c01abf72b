#!/usr/bin/env bash
# The full test command (README "Run every test", and what CI runs through .ci/run):
# formatting, clippy, Tansu (installed only when missing), every binary, and every test,
# including the broker-backed system and fault tests. Exits non-zero on the first failure.
#
# CARGO_TARGET_DIR defaults to a build cache outside the clone ($HOME/.cache/iocflow/target), so
# a fresh clone on the same machine reuses earlier builds.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iocflow/target}"
mkdir -p "$CARGO_TARGET_DIR"
# Put a freshly installed tansu on PATH for the tests.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() {
    echo
    echo "==> $*"
}

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "install the Tansu broker when missing"
bash scripts/install-tansu.sh

step "cargo build --workspace --bins"
# The system and fault tests run these binaries as processes; they must be up to date.
cargo build --workspace --bins

step "cargo test --workspace --features iocflow-tests/broker-tests"
cargo test --workspace --features iocflow-tests/broker-tests

echo
echo "test.sh: every check passed."
