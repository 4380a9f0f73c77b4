#!/usr/bin/env bash
# The embedded serve loop on a real network stack: embassy-net over a TAP
# device, inside a network namespace this script creates and removes. Real
# clients (psql and tokio-postgres) run inside the same namespace; no
# traffic leaves it. Needs root. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

NS="postwire-tap-$$"
TAP=tap0
HOST_ADDR=10.77.0.1/24    # the namespace's side of tap0 (the clients)
DEVICE_ADDR=10.77.0.2     # the embassy-net stack (the server)
SERVER_PID=""

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    ip netns delete "$NS" 2>/dev/null || true
}
trap cleanup EXIT

command -v ip >/dev/null || { apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null; }
command -v psql >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null; }

cargo build -q --release -p postwire-embedded --example tap_server --example tap_client
BIN=target/release/examples

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip tuntap add name "$TAP" mode tap
ip netns exec "$NS" ip link set "$TAP" up
ip netns exec "$NS" ip addr add "$HOST_ADDR" dev "$TAP"

ip netns exec "$NS" "$BIN/tap_server" "$TAP" "$DEVICE_ADDR/24" &
SERVER_PID=$!

# Wait (bounded) until the stack answers.
for _ in $(seq 1 50); do
    if ip netns exec "$NS" timeout 1 bash -c "exec 3<>/dev/tcp/$DEVICE_ADDR/5432" 2>/dev/null; then break; fi
    sleep 0.2
done

echo "== psql"
export PGCONNECT_TIMEOUT=10
out=$(ip netns exec "$NS" env PGPASSWORD=postwire timeout 30 psql -X -A -t \
    "host=$DEVICE_ADDR port=5432 user=postwire dbname=device" -c "SELECT * FROM readings LIMIT 3")
echo "$out"
[ "$(echo "$out" | wc -l)" -eq 3 ] || { echo "psql: expected 3 rows"; exit 1; }
if ip netns exec "$NS" env PGPASSWORD=postwire timeout 30 psql -X -v ON_ERROR_STOP=1 \
    "host=$DEVICE_ADDR port=5432 user=postwire dbname=device" -c "SELECT * FROM nowhere" 2>/tmp/psql-err-$$; then
    echo "psql: the error was not reported"; exit 1
fi
grep -q 'relation "nowhere" does not exist' /tmp/psql-err-$$ || { cat /tmp/psql-err-$$; exit 1; }
rm -f /tmp/psql-err-$$
if ip netns exec "$NS" env PGPASSWORD=wrong timeout 30 psql -X "host=$DEVICE_ADDR user=postwire dbname=device" -c "SELECT 1" 2>/dev/null; then
    echo "psql: a wrong password was accepted"; exit 1
fi
echo "ok: psql (SCRAM login, rows, error, wrong password)"

echo "== tokio-postgres"
ip netns exec "$NS" timeout 120 "$BIN/tap_client" "$DEVICE_ADDR"

kill -0 "$SERVER_PID" || { echo "the server died"; exit 1; }
echo "tap-test: all passed"
