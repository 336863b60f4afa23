#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the store tests; print its URL.
# Installs Debian's package when the machine has none. The data folder lives under $1.
set -euo pipefail
root="${1:?usage: postgres.sh FOLDER}"
port="${TIERKIT_TEST_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) 1>&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
run() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
mkdir -p "$root"
[ "$(id -u)" = 0 ] && chown postgres "$root"
run "$bin/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
run "$bin/pg_ctl" -D "$root/data" -l "$root/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c max_connections=200" start >/dev/null
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
