#!/usr/bin/env bash
# Runs one cargo-fuzz target: scripts/fuzz.sh TARGET [EXECUTIONS]   (default 1000000 runs)
#
# Targets live in normalizer/fuzz (map_*, canon_*, codec_decode) and fetchers/fuzz (frame_*);
# `scripts/fuzz.sh --list` prints them; `scripts/fuzz.sh --all [EXECUTIONS]` runs every target in
# turn, stops at the first crash, and ends with one line per target (executions, seconds,
# exec/s). The corpus grows in <crate>/fuzz/corpus/TARGET (not committed) and starts from the
# committed seeds in <crate>/fuzz/seeds/TARGET. A crash is written
# to <crate>/fuzz/artifacts/TARGET/ and the script exits non-zero; minimize it with
#   (cd <crate>/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s address TARGET artifacts/TARGET/crash-...)
# and add it to <crate>/tests/nasty_inputs.rs.
#
# cargo fuzz passes nightly-only flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them. AddressSanitizer is on by default (it works this way on stable x86_64 Linux); set
# FUZZ_SANITIZER=none for a build without it (about twice the executions per second; the panics
# and assertion failures these targets look for need no sanitizer).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
crates=(normalizer/fuzz fetchers/fuzz)

if [[ "${1:-}" == "--list" ]]; then
    for c in "${crates[@]}"; do
        for f in "$root/$c"/fuzz_targets/*.rs; do basename "$f" .rs; done
    done
    exit 0
fi
if [[ "${1:-}" == "--all" ]]; then
    summary=()
    for t in $("$0" --list); do
        log="$(mktemp)"
        echo "fuzz: $t" >&2
        if ! "$0" "$t" "${2:-1000000}" 2>&1 | tee "$log" >&2; then
            echo "fuzz: $t failed; see the output above" >&2
            rm -f "$log"
            exit 1
        fi
        # libFuzzer's -print_final_stats lines: stat::number_of_executed_units, average_exec_per_sec.
        units="$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")"
        rate="$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")"
        secs="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")"
        summary+=("$t executions=${units:-?} seconds=${secs:-?} exec_per_s=${rate:-?}")
        rm -f "$log"
    done
    printf 'fuzz summary: %s\n' "${summary[@]}"
    exit 0
fi
if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: scripts/fuzz.sh TARGET [EXECUTIONS] | --list | --all [EXECUTIONS]" >&2
    exit 2
fi
target="$1"
runs="${2:-1000000}"
# FUZZ_MAX_SECS caps the run's wall time as well (libFuzzer stops at whichever comes first).
extra=()
if [[ -n "${FUZZ_MAX_SECS:-}" ]]; then extra+=("-max_total_time=$FUZZ_MAX_SECS"); fi

crate=""
for c in "${crates[@]}"; do
    if [[ -f "$root/$c/fuzz_targets/$target.rs" ]]; then crate="$c"; fi
done
if [[ -z "$crate" ]]; then
    echo "unknown fuzz target '$target' (scripts/fuzz.sh --list)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
export RUSTC_BOOTSTRAP=1
cd "$root/$crate"
mkdir -p "corpus/$target" "seeds/$target"
# -max_len: hostile sizes (10 MB fields, 100k brackets) are in the nasty_inputs tests; small
# inputs keep the executions per second up.
# -rss_limit_mb: a decoder that allocates what a length prefix claims must fail, not grow.
exec cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" "$target" \
    "corpus/$target" "seeds/$target" -- \
    -runs="$runs" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "${extra[@]}"
