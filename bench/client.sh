#!/usr/bin/env bash
# postwire's client against tokio-postgres and sqlx on a temporary PostgreSQL
# (same run, same server; best of 5). Needs root (the cluster runs as user
# postgres). The bench is its own package (bench/client-bench), outside the
# workspace, so sqlx stays out of the workspace's lock file and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --manifest-path bench/client-bench/Cargo.toml
dir=$(mktemp -d /tmp/postwire-bench-pg.XXXXXX)
trap 'bash .ci/pg-cluster.sh stop "$dir"' EXIT
eval "$(bash .ci/pg-cluster.sh start "$dir")"
# POSTWIRE_BENCH_UNIX=1: every client over the cluster's Unix socket.
if [ "${POSTWIRE_BENCH_UNIX:-}" = 1 ]; then export POSTWIRE_BENCH_HOST=$POSTWIRE_PG_SOCKET_DIR; fi
bench/client-bench/target/release/postwire-client-bench "$POSTWIRE_PG_PORT"
