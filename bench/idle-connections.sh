#!/usr/bin/env bash
# Server heap per idle authenticated connection, with the default buffers and
# with small ones, and 10,000 idle connections held at once. The server and
# the clients are separate processes, each under the fd limit.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
cargo build -q --release -p postwire-examples --bin idle-connections
bin=target/release/idle-connections

run() {
    local count=$1; shift
    local out
    out=$(mktemp)
    "$bin" serve "$count" "$@" >"$out" &
    local server=$!
    local port=""
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^port //p' "$out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    "$bin" connect "$port" "$count"
    wait "$server"
    grep -v '^port' "$out"
    rm -f "$out"
}

run 1000
run 1000 2048 4096
run 10000 2048 4096
