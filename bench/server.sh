#!/usr/bin/env bash
# postwire's server against the same workloads on pgwire 0.42 and, when
# PostgreSQL is installed, a real PostgreSQL, in the same run, all on
# loopback: pgbench (SELECT 1, -c 4 -j 2) in the simple, extended and
# prepared modes, and rows/s of a 5,000-row × 6-column result through
# tokio-postgres, through postwire's client and through a bare wire client that
# only frames messages and counts rows (examples/src/bin/bench-rows.rs).
# Each Rust server runs twice: on tokio's multi-threaded runtime (as
# `#[tokio::main]` sets it up; pgwire's examples run this way) and on one
# single-threaded runtime per core (postwire: `Server::serve_tcp_on_threads`;
# pgwire: the same arrangement written by hand in bench/pgwire-server).
# Prints a table of ratios.
#
#   bash bench/server.sh            # BENCH_SECONDS=10 per pgbench run, BENCH_ROUNDS=1
#
# The real PostgreSQL (a throwaway cluster, .ci/pg-cluster.sh) needs root or
# the postgres user; without it, that column is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-1}
command -v pgbench >/dev/null || { echo "pgbench is not installed (apt-get install postgresql-client)" >&2; exit 1; }

cargo build -q --release -p postwire-examples --bin bench-server --bin bench-rows
cargo build -q --release --manifest-path bench/pgwire-server/Cargo.toml

tmp=$(mktemp -d /tmp/postwire-bench-server.XXXXXX)
pids=()
pg_dir=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "$pg_dir" ] && bash .ci/pg-cluster.sh stop "$pg_dir"
    rm -rf "$tmp"
}
trap cleanup EXIT

declare -A port pid
# Starts server NAME (the command after it) on an ephemeral loopback port.
start() {
    local name=$1; shift
    "$@" --listen 127.0.0.1:0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    pid[$name]=$!
    for _ in $(seq 1 100); do
        port[$name]=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
        [ -n "${port[$name]}" ] && return
        sleep 0.1
    done
    echo "$name did not start: $(cat "$tmp/$name.err")" >&2
    exit 1
}

cores=$(nproc)
names=(postwire postwire-mt pgwire pgwire-threads)
start postwire target/release/bench-server --threads "$cores"
start postwire-mt target/release/bench-server
start pgwire bench/pgwire-server/target/release/pgwire-bench-server
start pgwire-threads bench/pgwire-server/target/release/pgwire-bench-server --threads "$cores"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ]; then
    pg_dir=$(mktemp -d /tmp/postwire-bench-pg.XXXXXX)
    if cluster=$(bash .ci/pg-cluster.sh start "$pg_dir"); then
        eval "$cluster"
        port[postgres]=$POSTWIRE_PG_PORT
        names+=(postgres)
        psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[postgres]}" -U fe_trust -d fe <<'SQL'
CREATE TABLE rows5000 AS
    SELECT i AS id, 'name ' || i AS name, 'the quick brown fox jumps over the lazy dog'::text AS note,
        i::int8 * 1000003 AS big, i % 3 = 0 AS flag, i * 0.25::float8 AS score
    FROM generate_series(1, 5000) AS i;
VACUUM ANALYZE rows5000;
SQL
        echo "PostgreSQL: $("$pgbin/postgres" --version)"
    else
        echo "could not start PostgreSQL: its column is left out" >&2
    fi
else
    echo "PostgreSQL (initdb, pg_ctl) is not installed: its column is left out" >&2
fi

# CPU time (user + system, in clock ticks) a process has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo 'SELECT 1;' >"$tmp/select1.sql"
declare -A tps cpu
modes=(simple extended prepared)
for round in $(seq 1 "$rounds"); do
    for mode in "${modes[@]}"; do
        for name in "${names[@]}"; do
            before=$([ -n "${pid[$name]:-}" ] && ticks "${pid[$name]}" || echo 0)
            out=$(timeout $((seconds + 60)) pgbench -n -f "$tmp/select1.sql" -M "$mode" -c 4 -j 2 -T "$seconds" \
                -h 127.0.0.1 -p "${port[$name]}" -U fe_trust fe 2>&1) || { echo "pgbench $name -M $mode: $out" >&2; exit 1; }
            grep -q 'number of failed transactions: 0 ' <<<"$out" || { echo "pgbench $name -M $mode: $out" >&2; exit 1; }
            t=$(sed -n 's/^tps = \([0-9]*\)\.[0-9]* .*/\1/p' <<<"$out")
            used=""
            if [ -n "${pid[$name]:-}" ]; then
                # The server's CPU time per transaction, in µs (the least of the rounds counts).
                n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
                used=$(awk -v t=$(($(ticks "${pid[$name]}") - before)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
                if [ -z "${cpu[$name,$mode]:-}" ] || awk -v a="$used" -v b="${cpu[$name,$mode]}" 'BEGIN { exit !(a < b) }'; then
                    cpu[$name,$mode]=$used
                fi
                used=", server CPU $used µs/transaction"
            fi
            echo "round $round: pgbench -M $mode $name: $t tps$used"
            # The best round counts.
            if [ -z "${tps[$name,$mode]:-}" ] || awk -v a="$t" -v b="${tps[$name,$mode]}" 'BEGIN { exit !(a > b) }'; then
                tps[$name,$mode]=$t
            fi
        done
    done
done

targets=()
for name in "${names[@]}"; do targets+=("$name=127.0.0.1:${port[$name]}"); done
declare -A rows row_cpu
for client in tokio-postgres postwire wire; do
    declare -A before=()
    for name in "${names[@]}"; do [ -n "${pid[$name]:-}" ] && before[$name]=$(ticks "${pid[$name]}"); done
    while read -r name mode rate; do
        rows[$name,$mode-$client]=$rate
        echo "rows5000 $mode $name, $client client: $rate rows/s"
    done < <(timeout 600 target/release/bench-rows --client "$client" --rounds $((rounds * 3)) "${targets[@]}")
    # Server CPU per row over the whole run: warm-up and every round, both protocols.
    n=$(((rounds * 3 * 40 + 1) * 2 * 5000))
    for name in "${!before[@]}"; do
        row_cpu[$name,$client]=$(awk -v t=$(($(ticks "${pid[$name]}") - before[$name])) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2f×", a / b; else print "—" }'; }
echo
echo "Runtimes: postwire and pgwire-threads: one single-threaded runtime per core ($cores);"
echo "postwire-mt and pgwire: tokio's multi-threaded runtime."
echo
header="| workload |"
rule="| --- |"
for name in "${names[@]}"; do header="$header $name |"; rule="$rule --- |"; done
header="$header postwire / pgwire | postwire-mt / pgwire | postwire / pgwire-threads |"
rule="$rule --- | --- | --- |"
[[ " ${names[*]} " == *" postgres "* ]] && { header="$header postwire / PostgreSQL |"; rule="$rule --- |"; }
echo "$header"
echo "$rule"
# line LABEL KEY UNIT TABLE: one row of the table, from the array named TABLE.
line() {
    local label=$1 key=$2 unit=$3
    local -n table=$4
    local row="| $label |"
    for name in "${names[@]}"; do row="$row ${table[$name,$key]:-—} $unit |"; done
    row="$row $(ratio "${table[postwire,$key]:-0}" "${table[pgwire,$key]:-0}") |"
    row="$row $(ratio "${table[postwire-mt,$key]:-0}" "${table[pgwire,$key]:-0}") |"
    row="$row $(ratio "${table[postwire,$key]:-0}" "${table[pgwire-threads,$key]:-0}") |"
    [ -n "${table[postgres,$key]:-}" ] && row="$row $(ratio "${table[postwire,$key]}" "${table[postgres,$key]}") |"
    echo "$row"
}
for mode in "${modes[@]}"; do line "pgbench -M $mode, SELECT 1, -c 4 -j 2" "$mode" tps tps; done
# cpu_line LABEL KEY TABLE: a row of CPU figures. Lower is better, so the
# ratios are the other server's over postwire's.
cpu_line() {
    local label=$1 key=$2
    local -n table=$3
    local row="| $label |"
    for name in "${names[@]}"; do row="$row ${table[$name,$key]:-—} |"; done
    row="$row $(ratio "${table[pgwire,$key]:-0}" "${table[postwire,$key]:-0}") less |"
    row="$row $(ratio "${table[pgwire,$key]:-0}" "${table[postwire-mt,$key]:-0}") less |"
    row="$row $(ratio "${table[pgwire-threads,$key]:-0}" "${table[postwire,$key]:-0}") less |"
    echo "$row"
}
for mode in "${modes[@]}"; do cpu_line "server CPU per transaction (µs), -M $mode" "$mode" cpu; done
for client in tokio-postgres postwire wire; do
    for mode in simple extended; do line "5,000 rows × 6 columns, $mode, $client client" "$mode-$client" rows/s rows; done
    cpu_line "server CPU per row (µs, both protocols), $client client" "$client" row_cpu
done
