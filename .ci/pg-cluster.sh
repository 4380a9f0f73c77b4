#!/usr/bin/env bash
# Throwaway PostgreSQL servers on loopback for the tests that need a real
# server (codec/tests/frontend_real_server.rs, the client tests): two
# clusters with the same roles and pg_hba.conf, one without TLS (its tests
# expect an SSLRequest to be refused) and one with `ssl = on`.
#
#   eval "$(bash .ci/pg-cluster.sh start DIR)"
#   bash .ci/pg-cluster.sh stop DIR
#
# Exports POSTWIRE_PG_PORT, _HOST, _SOCKET_DIR (the cluster without TLS),
# POSTWIRE_PG_TLS_PORT (the one with TLS; its Unix socket is in the same
# directory), POSTWIRE_PG_SSL_ROOT_CERT, and POSTWIRE_PG_SSL_CLIENT_CERT and
# _KEY (fe_cert's certificate and key).
#
# Roles (see frontend_real_server.rs): fe_trust (trust, superuser, owns
# database fe), fe_pass 'plain-secret' (password), fe_md5 'md5-secret'
# (md5, stored as md5), fe_scram 'scram-secret' (scram-sha-256), fe_tls
# 'tls-secret' (scram-sha-256 over TLS only: hostssl, and hostnossl reject),
# fe_cert (TLS client certificate: `cert`, its certificate and key in DIR/ssl).
# TLS: a throwaway CA and a server certificate for localhost and 127.0.0.1
# (ECDSA P-256, made with openssl) in DIR/ssl. Needs root (the server runs as user `postgres`)
# or the postgres user itself.
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?a directory for the cluster}
pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
# A server-only build (PGBIN from .ci/pg18.sh) has no psql: use the installed one.
psql=$pgbin/psql
[ -x "$psql" ] || psql=$(command -v psql) || { echo "psql is not installed (apt-get install postgresql-client)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
stop)
    for data in "$dir/data" "$dir/tls"; do
        as_pg "$pgbin/pg_ctl" -D "$data" -m fast -t 30 stop >/dev/null 2>&1 || true
    done
    rm -rf "$dir"
    ;;
start)
    command -v openssl >/dev/null || { echo "openssl is not installed (apt-get install openssl)" >&2; exit 1; }
    read -r port tls_port < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all fe_trust 127.0.0.1/32 trust
host all fe_pass 127.0.0.1/32 password
host all fe_md5 127.0.0.1/32 md5
host all fe_scram 127.0.0.1/32 scram-sha-256
hostssl all fe_tls 127.0.0.1/32 scram-sha-256
hostssl all fe_cert 127.0.0.1/32 cert
hostnossl all fe_tls 127.0.0.1/32 reject
HBA
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
max_connections = 50
CONF
    as_pg cp -a "$dir/data" "$dir/tls"
    echo "port = $port" | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null

    ssl="$dir/ssl"
    mkdir -p "$ssl"
    p256=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${p256[@]}" -days 7 -subj "/CN=postwire test CA" \
        -keyout "$ssl/ca.key" -out "$ssl/ca.crt" 2>/dev/null
    openssl req "${p256[@]}" -subj "/CN=localhost" -keyout "$ssl/server.key" -out "$ssl/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName = DNS:localhost, IP:127.0.0.1" "basicConstraints = critical, CA:FALSE" \
        "keyUsage = critical, digitalSignature" "extendedKeyUsage = serverAuth" >"$ssl/server.ext"
    openssl x509 -req -in "$ssl/server.csr" -CA "$ssl/ca.crt" -CAkey "$ssl/ca.key" -CAcreateserial -days 7 \
        -extfile "$ssl/server.ext" -out "$ssl/server.crt" 2>/dev/null
    # A client certificate for the role fe_cert (`cert` authentication).
    openssl req "${p256[@]}" -subj "/CN=fe_cert" -keyout "$ssl/fe_cert.key" -out "$ssl/fe_cert.csr" 2>/dev/null
    printf '%s\n' "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
        "extendedKeyUsage = clientAuth" >"$ssl/client.ext"
    openssl x509 -req -in "$ssl/fe_cert.csr" -CA "$ssl/ca.crt" -CAkey "$ssl/ca.key" -CAcreateserial -days 7 \
        -extfile "$ssl/client.ext" -out "$ssl/fe_cert.crt" 2>/dev/null
    chmod 600 "$ssl/server.key" "$ssl/fe_cert.key"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$ssl"
    printf '%s\n' "port = $tls_port" "ssl = on" "ssl_cert_file = '$ssl/server.crt'" "ssl_key_file = '$ssl/server.key'" \
        "ssl_ca_file = '$ssl/ca.crt'" |
        as_pg tee -a "$dir/tls/postgresql.conf" >/dev/null

    for cluster in "data $port server.log" "tls $tls_port tls.log"; do
        read -r data p log <<<"$cluster"
        as_pg "$pgbin/pg_ctl" -D "$dir/$data" -l "$dir/$log" -w -t 60 start >/dev/null
        sql() { as_pg "$psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$p" -U postgres "$@"; }
        sql -d postgres <<SQL
CREATE ROLE fe_trust LOGIN SUPERUSER;
CREATE DATABASE fe OWNER fe_trust;
SET password_encryption = 'scram-sha-256';
CREATE ROLE fe_pass LOGIN PASSWORD 'plain-secret';
CREATE ROLE fe_scram LOGIN PASSWORD 'scram-secret';
CREATE ROLE fe_tls LOGIN PASSWORD 'tls-secret';
CREATE ROLE fe_cert LOGIN;
SET password_encryption = 'md5';
CREATE ROLE fe_md5 LOGIN PASSWORD 'md5-secret';
SQL
        sql -d fe -c "GRANT ALL ON SCHEMA public TO public" >/dev/null
    done
    echo "export POSTWIRE_PG_PORT=$port POSTWIRE_PG_HOST=127.0.0.1 POSTWIRE_PG_SOCKET_DIR=$dir" \
        "POSTWIRE_PG_TLS_PORT=$tls_port POSTWIRE_PG_SSL_ROOT_CERT=$ssl/ca.crt" \
        "POSTWIRE_PG_SSL_CLIENT_CERT=$ssl/fe_cert.crt POSTWIRE_PG_SSL_CLIENT_KEY=$ssl/fe_cert.key"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
