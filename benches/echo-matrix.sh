#!/usr/bin/env bash
# Drives echo-server and echo-server-threads with echo-client over a matrix of connection
# counts and pipelining depths, and prints one markdown table.
#
#   bash benches/echo-matrix.sh                 # conns 1 100 1000, depth 1 16, 3 s a run
#   SECS=5 CONNS="1 10 100" DEPTHS="1 16" bash benches/echo-matrix.sh
#
# The server runs on CPU 0 and the client on CPU 1 (taskset), so they do not compete for a
# core. Inside each cell the servers alternate (A B A B ...), ROUNDS times, and the best round
# of each is kept: on a shared, noisy machine only side-by-side figures compare.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-3}
CONNS=${CONNS:-"1 100 1000"}
DEPTHS=${DEPTHS:-"1 16"}
ROUNDS=${ROUNDS:-2}
SIZE=${SIZE:-64}
SERVERS="echo-server echo-server-threads"

cargo build --release --quiet --example echo-server --example echo-server-threads --example echo-client
bin=target/release/examples
# `exec`, so that `pin ... &` leaves $! naming the program itself, not a subshell around it.
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }

# Starts a server on a free port; prints "PID ADDR".
start_server() {
    local log
    log=$(mktemp)
    pin 0 "$bin/$1" --addr 127.0.0.1:0 >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
        grep -q '^listening on ' "$log" && break
        sleep 0.05
    done
    echo "$pid $(sed -n 's/^listening on //p' "$log" | head -1)"
    rm -f "$log"
}

# Runs one client against ADDR; prints "msgs_per_sec p50 p99 p999 stalled errors mismatches".
run_client() {
    local out
    out=$(pin 1 "$bin/echo-client" --addr "$1" --conns "$2" --depth "$3" --size "$SIZE" --secs "$SECS" 2>&1) || true
    field() { echo "$out" | sed -n "s/^$1: //p" | tail -1; }
    echo "$(field messages_per_sec) $(field p50_us) $(field p99_us) $(field p999_us) $(field stalled) $(field errors) $(field mismatches)"
}

echo "| conns | depth | server | messages/s | p50 µs | p99 µs | p99.9 µs | stalled | errors | mismatches |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for conns in $CONNS; do
    for depth in $DEPTHS; do
        declare -A best=()
        for _round in $(seq 1 "$ROUNDS"); do
            for server in $SERVERS; do
                read -r pid addr < <(start_server "$server")
                result=$(run_client "$addr" "$conns" "$depth")
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                rate=${result%% *}
                previous=${best[$server]:-0}
                if [ "${rate:-0}" -ge "${previous%% *}" ] 2>/dev/null; then best[$server]=$result; fi
            done
        done
        for server in $SERVERS; do
            read -r rate p50 p99 p999 stalled errors mismatches <<<"${best[$server]}"
            echo "| $conns | $depth | $server | $rate | $p50 | $p99 | $p999 | $stalled | $errors | $mismatches |"
        done
        unset best
    done
done
