#!/usr/bin/env bash
# postwire's client against tokio-postgres on a temporary PostgreSQL (same
# run, same server). Needs root (the cluster runs as user postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p postwire-examples --bin client-bench
dir=$(mktemp -d /tmp/postwire-bench-pg.XXXXXX)
trap 'bash .ci/pg-cluster.sh stop "$dir"' EXIT
eval "$(bash .ci/pg-cluster.sh start "$dir")"
target/release/client-bench "$POSTWIRE_PG_PORT"
