#!/usr/bin/env bash
# The demo command (README "Run the demo"): builds the four binaries in release mode and runs
# `iocflow demo` with the arguments given, e.g. `bash scripts/demo.sh --json`.
#
# CARGO_TARGET_DIR defaults to the same build cache outside the clone as scripts/test.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iocflow/target}"
mkdir -p "$CARGO_TARGET_DIR"

echo "demo.sh: building iocflow, iocflow-fetcher, iocflow-normalizer, iocflow-submitter (release)." >&2
cargo build --release \
    --bin iocflow --bin iocflow-fetcher --bin iocflow-normalizer --bin iocflow-submitter >&2

exec "$CARGO_TARGET_DIR/release/iocflow" demo "$@"
