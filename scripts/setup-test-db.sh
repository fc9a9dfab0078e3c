#!/usr/bin/env bash
# Makes sure the local PostgreSQL 15 cluster is up on 127.0.0.1:5432 and that
# TimescaleDB works in it. Does not create the app schema (the test harness
# does that with the app's own migrations). Idempotent.
set -euo pipefail

PG_MAJOR=15
PG_CLUSTER=main
PGHOST=127.0.0.1
PGPORT=5432
PSQL=(psql -h "$PGHOST" -p "$PGPORT" -U postgres -X -qAt -v ON_ERROR_STOP=1)

log() { echo "[setup-test-db] $*"; }
die() { echo "[setup-test-db] ERROR: $*" >&2; exit 1; }
need_ts() {
  echo "[setup-test-db] ERROR: $*" >&2
  echo "[setup-test-db] TimescaleDB is required; install it with: bash scripts/install-timescaledb.sh" >&2
  exit 1
}

if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_MAJOR" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
  log "starting PostgreSQL cluster $PG_MAJOR $PG_CLUSTER"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h "$PGHOST" -p "$PGPORT" && break
  sleep 0.5
done
pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL is not accepting connections on $PGHOST:$PGPORT"

pg_version=$("${PSQL[@]}" -d postgres -c "SHOW server_version") \
  || die "cannot connect as user postgres to $PGHOST:$PGPORT"
log "PostgreSQL $pg_version up on $PGHOST:$PGPORT"

avail=$("${PSQL[@]}" -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'")
[ -n "$avail" ] || need_ts "the timescaledb extension is not installed in PostgreSQL $PG_MAJOR"
preload=$("${PSQL[@]}" -d postgres -c "SHOW shared_preload_libraries")
echo ",$preload," | tr -d ' ' | grep -q ',timescaledb,' \
  || need_ts "timescaledb is not in shared_preload_libraries (is '$preload')"

scratch="setup_test_db_check_$$"
cleanup() { "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $scratch" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $scratch" >/dev/null
version=$("${PSQL[@]}" -d "$scratch" -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION timescaledb" \
  -c "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'") \
  || need_ts "CREATE EXTENSION timescaledb failed"
cleanup; trap - EXIT
log "OK: TimescaleDB $version works (CREATE EXTENSION in a scratch database)"
