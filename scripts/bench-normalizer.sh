#!/usr/bin/env bash
# Normalizer throughput through a real broker (a benchmark, not a test: scripts/test.sh does not
# run it). Usage: bash scripts/bench-normalizer.sh [RECORDS]   (default 200000)
#
# 1. starts Tansu (SQLite storage) on a free loopback port, a fresh one for every measurement;
# 2. creates a 12-partition raw topic (plus the indicators, dead-letter and copy topics) and
#    produces RECORDS generated raw records (the mix of `normalizer-bench`) to it;
# 3. measures the broker's bare rates on the same bytes, for reference: a fresh group that only
#    consumes, and one that consumes and produces every record unchanged to another topic (the
#    normalizer's traffic without the normalizing);
# 4. runs 1, then 2 `iocflow-normalizer` release processes, each time in a fresh consumer group,
#    and times them from start until the processes' `iocflow_records_total{stage="normalize"}`
#    add up to RECORDS (every record normalized, skipped or dead-lettered, its output
#    acknowledged), then checks with `iocflow lag --json` that the group's lag reaches 0.
# 5. prints records/s of each, and the in-process single-thread benchmark for comparison.
#
# Environment: TANSU_HEADER_INDEX=0 (do not add the header index to Tansu's database, see
# fresh_broker), PROCS (default "1 2"), BATCH_SIZE (normalizer batch_size, default 1000), IN_FLIGHT
# (normalizer max_batches_in_flight values, each run with every PROCS; default "4"), SKIP_BARE=1,
# SKIP_BUILD=1, BENCH_IOCFLOW_CLI, KEEP_WORK=1 (keep the broker's and normalizers' logs),
# NORMALIZER_DEBUG (librdkafka `debug` contexts for the normalizers, e.g. `cgrp`),
# STATIC_MEMBERSHIP=0 (join the group without `group.instance.id`).
# The numbers depend on what else runs on the machine: the script prints the core count and load
# average so a report can state the conditions. Broker, producer and normalizers share the cores.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RECORDS="${1:-200000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iocflow/target}"

# SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR; BENCH_IOCFLOW_CLI names the CLI (not IOCFLOW_*: the binaries read those as config overrides).
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "bench-normalizer: building iocflow-normalizer, normalizer-bench (release) and iocflow." >&2
    cargo build --release -p iocflow-normalizer --bin iocflow-normalizer --bin normalizer-bench >&2
    cargo build -p iocflow-cli --bin iocflow >&2
fi
BIN="$CARGO_TARGET_DIR/release"
IOCFLOW="${BENCH_IOCFLOW_CLI:-$CARGO_TARGET_DIR/debug/iocflow}"
TANSU="${TANSU_BIN:-$(command -v tansu || echo "$HOME/.cargo/bin/tansu")}"
[ -x "$TANSU" ] || { echo "tansu not found: run scripts/install-tansu.sh or set TANSU_BIN" >&2; exit 1; }

WORK="$(mktemp -d -t iocflow-bench-XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "bench-normalizer: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap "exit 130" INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# CPU seconds a process has used (user + system).
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# 1.-2. A broker with the raw records. Every measurement gets a fresh one: Tansu's SQLite storage
# slows down as its database grows (with ~600k records stored it spent its time in SQLite table
# scans and stopped answering within the clients' timeouts), so runs on one shared broker would
# measure the runs before them.
BROKERS=0
TANSU_PID=""
bench() { "$BIN/normalizer-bench" --records "$RECORDS" broker --bootstrap "$BOOT" "$@"; }
fresh_broker() {
    if [ -n "$TANSU_PID" ]; then
        kill "$TANSU_PID" 2>/dev/null || true
        wait "$TANSU_PID" 2>/dev/null || true
    fi
    BROKERS=$((BROKERS + 1))
    local dir="$WORK/broker-$BROKERS"
    mkdir -p "$dir"
    PORT="$(free_port)"
    BOOT="127.0.0.1:$PORT"
    # Tansu reads the SQLite path of `sqlite://` relative to its working directory.
    (cd "$dir" && exec "$TANSU" broker --listener-url "tcp://$BOOT" --advertised-listener-url \
        "tcp://$BOOT" --storage-engine "sqlite://tansu.db" >"$dir/tansu.log" 2>&1) &
    TANSU_PID=$!
    PIDS+=("$TANSU_PID")
    # Topics, retrying until the broker answers.
    local created=0
    for _ in $(seq 1 60); do
        if bench create --topic iocflow.raw --also-create iocflow.indicators \
            --also-create iocflow.dlq.normalize --also-create bench.copy >"$dir/create.log" 2>&1; then
            created=1
            break
        fi
        sleep 1
    done
    if [ "$created" != 1 ]; then
        echo "bench-normalizer: could not create the topics on broker $BROKERS" >&2
        cat "$dir/create.log" >&2
        exit 1
    fi
    if [ "$BROKERS" = 1 ]; then cat "$dir/create.log"; fi
    # Tansu 0.6.0's SQLite schema has no index on its `header` table, and it reads the headers
    # of every record it fetches with a query that joins that table: each fetched record scans
    # every header stored so far. Only dead letters carry headers, so a normalizer run (3% dead
    # letters, 7 headers each) stalled for 15-30 s at a time once some thousand dead letters were
    # stored, while the bare copy (no headers) never did. The index makes the benchmark measure
    # the normalizer; TANSU_HEADER_INDEX=0 measures without it.
    if [ "${TANSU_HEADER_INDEX:-1}" = 1 ]; then
        python3 - "$dir/tansu.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("create index if not exists header_record on header (topition, offset_id)")
db.commit()
PY
    fi
    bench produce --topic iocflow.raw
}

echo "conditions: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $RECORDS records"

# 3. Bare broker rates on the same bytes (SKIP_BARE=1 skips them).
if [ "${SKIP_BARE:-0}" != 1 ]; then
    fresh_broker
    bench consume --topic iocflow.raw --group "bench-consume-$$"
    fresh_broker
    bench copy --topic iocflow.raw --group "bench-copy-$$" --copy-to bench.copy
fi

# 4. One, then two normalizer processes, each time in a fresh group.
records_done() {
    local total=0 n
    for port in "$@"; do
        n="$(curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null |
            awk '/^iocflow_records_total\{/ && /stage="normalize"/ { s += $NF } END { printf "%d", s }')" || n=0
        total=$((total + ${n:-0}))
    done
    echo "$total"
}

for inflight in ${IN_FLIGHT:-4}; do
for procs in ${PROCS:-1 2}; do
    fresh_broker
    group="bench-normalizer-$procs-$inflight-$$"
    label="normalizer x$procs (max_batches_in_flight $inflight)"
    ports=()
    broker_cpu_before="$(cpu_secs "$TANSU_PID")"
    started="$(now)"
    for i in $(seq 1 "$procs"); do
        ops_port="$(free_port)"
        ports+=("$ops_port")
        cat >"$WORK/normalizer-$inflight-$procs-$i.toml" <<EOF
[kafka]
bootstrap_servers = "$BOOT"

[ops]
listen_addr = "127.0.0.1:$ops_port"

[normalizer]
integrations_dir = "$PWD/fetchers/integrations"
group_id = "$group"
batch_size = ${BATCH_SIZE:-1000}
max_batches_in_flight = $inflight
EOF
        {
            echo "[kafka.properties]"
            if [ -n "${NORMALIZER_DEBUG:-}" ]; then echo "debug = \"$NORMALIZER_DEBUG\""; fi
            # Static membership (see the README's Limitations: Tansu's coordinator and members
            # that join at the same moment); STATIC_MEMBERSHIP=0 turns it off.
            if [ "${STATIC_MEMBERSHIP:-1}" = 1 ]; then echo "\"group.instance.id\" = \"normalizer-$i\""; fi
        } >>"$WORK/normalizer-$inflight-$procs-$i.toml"
        env ${NORMALIZER_DEBUG:+IOCFLOW_LOG=info,librdkafka=debug} "$BIN/iocflow-normalizer" --config "$WORK/normalizer-$inflight-$procs-$i.toml" \
            >"$WORK/normalizer-$inflight-$procs-$i.log" 2>&1 &
        PIDS+=("$!")
    done
    run_pids=("${PIDS[@]: -$procs}")

    deadline=$(( $(date +%s) + 900 ))
    first=""
    while true; do
        done_now="$(records_done "${ports[@]}")"
        if [ -z "$first" ] && [ "$done_now" -gt 0 ]; then first="$(now)"; first_done="$done_now"; fi
        [ "$done_now" -ge "$RECORDS" ] && break
        for pid in "${run_pids[@]}"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "$label: a process exited early" >&2
                tail -n 5 "$WORK"/normalizer-"$inflight"-"$procs"-*.log >&2
                exit 1
            fi
        done
        if [ "$(date +%s)" -gt "$deadline" ]; then
            echo "$label: not done within 900 s" >&2
            tail -n 5 "$WORK"/normalizer-"$inflight"-"$procs"-*.log >&2
            exit 1
        fi
        sleep 0.2
    done
    finished="$(now)"
    secs="$(python3 -c "print(f'{$finished - $started:.2f}')")"
    rate="$(python3 -c "print(f'{$RECORDS / ($finished - $started):.0f}')")"
    # From the first acknowledged batch on: without the consumer group's join (several seconds
    # on Tansu, with its JoinGroup and SyncGroup delays) and the first batch.
    flowing="$(python3 -c "print(f'{($RECORDS - $first_done) / max($finished - $first, 1e-9):.0f}')")"
    echo "$label: $RECORDS records in $secs s from process start: $rate records/s; $flowing records/s from the first acknowledged batch"
    broker_cpu="$(python3 -c "print(f'{$(cpu_secs "$TANSU_PID") - $broker_cpu_before:.1f}')")"
    echo "$label: the broker used $broker_cpu s of CPU in those $secs s"

    # The committed offsets follow within the auto-commit interval (1 s).
    lag=-1
    for _ in $(seq 1 50); do
        lag="$("$IOCFLOW" lag --json --group "$group" --topic iocflow.raw \
            --bootstrap-servers "$BOOT" 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["total_lag"])' 2>/dev/null)" || lag=-1
        [ "$lag" = "0" ] && break
        sleep 0.2
    done
    echo "$label: group lag after the run: $lag"

    for pid in "${run_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${run_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
done
done

# 5. The in-process single-thread figure on the same machine, for comparison.
"$BIN/normalizer-bench" --records "$RECORDS" --runs 3 | grep -E "^(median|peak)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
