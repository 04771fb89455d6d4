#!/usr/bin/env bash
# Starts Debian's PostgreSQL on 127.0.0.1:5432 and creates the test role and database.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main"; then
  $SUDO pg_createcluster "$ver" main -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
fi
$SUDO sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" /etc/postgresql/$ver/main/postgresql.conf
$SUDO pg_ctlcluster "$ver" main start 2>/dev/null || true
for i in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
as_pg psql -qtc "SELECT 1 FROM pg_roles WHERE rolname='preload'" | grep -q 1 || \
  as_pg psql -qc "CREATE ROLE preload LOGIN PASSWORD 'preload' CREATEDB"
as_pg psql -qtc "SELECT 1 FROM pg_database WHERE datname='preload_test'" | grep -q 1 || \
  as_pg psql -qc "CREATE DATABASE preload_test OWNER preload"
echo "postgres ready on 127.0.0.1:5432 (preload/preload, db preload_test)"
