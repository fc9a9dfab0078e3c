#!/usr/bin/env bash
# Idempotent installer of TimescaleDB (Apache-2 edition) for the local
# PostgreSQL 15 cluster "15 main" (127.0.0.1:5432, trust auth).
#
# TimescaleDB is not packaged for Debian bookworm, so we build Debian's
# *source* package from trixie against postgresql-server-dev-15. The trixie
# entry is deb-src ONLY, so apt never sees (or upgrades to) trixie binaries.
#
# Each step is skipped when already done; a second run is a fast no-op.
set -euo pipefail

PG_MAJOR=15
PG_CLUSTER=main
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PG_LIBDIR=/usr/lib/postgresql/$PG_MAJOR/lib
PG_EXTDIR=/usr/share/postgresql/$PG_MAJOR/extension
PG_CONFDIR=/etc/postgresql/$PG_MAJOR/$PG_CLUSTER
CONF_DROPIN=$PG_CONFDIR/conf.d/50-timescaledb.conf
SRC_LIST=/etc/apt/sources.list.d/tributary-trixie-src.sources
PGHOST=127.0.0.1
export DEBIAN_FRONTEND=noninteractive

log() { echo "[install-timescaledb] $*"; }
die() { echo "[install-timescaledb] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
[ -d "$PG_CONFDIR" ] || die "no PostgreSQL cluster at $PG_CONFDIR"

ts_installed() {
  [ -f "$PG_EXTDIR/timescaledb.control" ] || return 1
  [ -f "$PG_LIBDIR/timescaledb.so" ] || return 1
  local v
  v=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$PG_EXTDIR/timescaledb.control")
  [ -n "$v" ] && [ -f "$PG_LIBDIR/timescaledb-$v.so" ]
}

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
}

apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_update
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/install-timescaledb.apt.log 2>&1 \
      || { tail -n 30 /tmp/install-timescaledb.apt.log; die "apt-get install failed"; }
  fi
}

build_timescaledb() {
  apt_install postgresql-server-dev-$PG_MAJOR cmake gcc make dpkg-dev libssl-dev \
    libkrb5-dev xz-utils ca-certificates gpgv debian-archive-keyring

  # trixie's Release file is signed with the trixie keys, which bookworm's
  # debian-archive-keyring only ships from 2023.3+deb12u1 on: upgrade it
  # from bookworm if they are missing.
  if [ ! -f /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
    apt_update
    log "upgrading debian-archive-keyring (needs trixie keys)"
    apt-get install -y -qq --only-upgrade debian-archive-keyring >/dev/null
    [ -f /usr/share/keyrings/debian-archive-trixie-stable.gpg ] \
      || die "debian-archive-keyring has no trixie key"
  fi

  if [ ! -f "$SRC_LIST" ]; then
    log "adding trixie deb-src entry ($SRC_LIST)"
    cat > "$SRC_LIST" <<'SRC'
# Source-only entry used by scripts/install-timescaledb.sh to build
# TimescaleDB (not packaged for bookworm). deb-src only: no trixie binaries.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=0
  fi
  apt_update

  local tmp
  tmp=$(mktemp -d /tmp/timescaledb-build.XXXXXX)
  # apt downloads as user _apt
  if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; else chmod 755 "$tmp"; fi
  trap 'rm -rf "$tmp"' EXIT
  log "fetching source package timescaledb (trixie) into $tmp"
  (cd "$tmp" && apt-get source -qq --download-only timescaledb/trixie >/dev/null)
  local dsc
  dsc=$(ls "$tmp"/timescaledb_*.dsc | head -n1)
  # apt has checked the files against trixie's signed Release; dpkg-source's own
  # check of the uploader's signature would need debian-keyring (only warns).
  (cd "$tmp" && dpkg-source -q -x "$dsc" src >"$tmp/extract.log" 2>&1) \
    || { cat "$tmp/extract.log"; die "dpkg-source -x failed"; }

  log "building $(basename "$dsc" .dsc) (Apache-only) against $($PG_CONFIG --version)"
  local start=$SECONDS
  (
    cd "$tmp/src"
    ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
      -DWARNINGS_AS_ERRORS=OFF -DSEND_TELEMETRY_DEFAULT=OFF \
      -DPG_CONFIG="$PG_CONFIG" >"$tmp/configure.log" 2>&1 \
      || { tail -n 40 "$tmp/configure.log"; exit 1; }
    cd build
    make -j"$(nproc)" >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log"; exit 1; }
    make install >"$tmp/install.log" 2>&1 || { tail -n 40 "$tmp/install.log"; exit 1; }
  )
  log "built and installed in $((SECONDS - start)) s"
  rm -rf "$tmp"; trap - EXIT
}

if ts_installed; then
  log "TimescaleDB already installed in $PG_LIBDIR (skipping build)"
else
  build_timescaledb
  ts_installed || die "build finished but TimescaleDB files are missing"
fi

# --- cluster configuration -------------------------------------------------
# Template strategy (tested on 2.19.3): timescaledb.max_background_workers = 0.
# The test suite does `CREATE DATABASE x TEMPLATE tributary_template`, which
# fails ("source database is being accessed by other users", after a 5 s wait)
# while any backend is connected to the template. With default settings
# TimescaleDB runs a job scheduler connected to every database that has the
# extension, the template included. Its loader does restart that scheduler on
# CREATE DATABASE ... TEMPLATE so the copy usually works, but:
#  - `ALTER DATABASE tpl WITH ALLOW_CONNECTIONS false` (the usual template
#    hardening) disables that hook while the scheduler stays connected (it
#    bypasses datallowconn), so CREATE DATABASE then fails every time;
#  - every per-test database gets its own scheduler process (worker slots run
#    out with many databases) for nothing: this Apache-only build (Debian's
#    +dfsg source has no tsl/) has no policies/jobs (add_retention_policy,
#    compression, continuous aggregates are "not supported under the current
#    apache license"), and telemetry is off.
# With 0 workers no launcher or scheduler runs, so template copies always work
# whatever the harness does (with or without ALLOW_CONNECTIONS false).
grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf.d'" "$PG_CONFDIR/postgresql.conf" \
  || die "include_dir = 'conf.d' not set in $PG_CONFDIR/postgresql.conf"

desired_conf="# Written by scripts/install-timescaledb.sh -- do not edit by hand.
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
# 0 = no per-database job schedulers: they would hold connections to template
# databases and break CREATE DATABASE ... TEMPLATE (see the script).
timescaledb.max_background_workers = 0
"

# Refuse to silently drop other preloaded libraries set elsewhere.
other_spl=$(grep -hE '^[[:space:]]*shared_preload_libraries' "$PG_CONFDIR/postgresql.conf" \
  $(ls "$PG_CONFDIR"/conf.d/*.conf 2>/dev/null | grep -vx "$CONF_DROPIN") 2>/dev/null \
  | sed -E "s/^[^=]*=[[:space:]]*'?([^'#]*)'?.*/\1/" | tr -d ' ' | grep -v '^$' || true)
if [ -n "$other_spl" ]; then
  libs="timescaledb"
  for l in $(echo "$other_spl" | tail -n1 | tr ',' ' '); do
    [ "$l" = timescaledb ] || libs="$libs,$l"
  done
  desired_conf=${desired_conf/"'timescaledb'"/"'$libs'"}
fi

config_changed=0
if [ ! -f "$CONF_DROPIN" ] || [ "$(cat "$CONF_DROPIN")" != "$(printf '%s' "$desired_conf")" ]; then
  log "writing $CONF_DROPIN"
  printf '%s' "$desired_conf" > "$CONF_DROPIN"
  config_changed=1
fi

# --- (re)start the cluster ---------------------------------------------------
cluster_online() { pg_lsclusters -h | awk -v v="$PG_MAJOR" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; }

if ! cluster_online; then
  log "starting cluster $PG_MAJOR $PG_CLUSTER"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" start
else
  running_spl=$(psql -h "$PGHOST" -U postgres -d postgres -Atqc "SHOW shared_preload_libraries" 2>/dev/null || true)
  if [ "$config_changed" = 1 ] || ! echo ",$running_spl," | tr -d ' ' | grep -q ',timescaledb,'; then
    log "restarting cluster $PG_MAJOR $PG_CLUSTER to load timescaledb"
    pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" restart
  fi
fi

for _ in $(seq 1 60); do
  pg_isready -q -h "$PGHOST" -p 5432 && break
  sleep 0.5
done
pg_isready -q -h "$PGHOST" -p 5432 || die "PostgreSQL not ready on $PGHOST:5432"

# --- verify ------------------------------------------------------------------
scratch="ts_install_check_$$"
psql -h "$PGHOST" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $scratch" >/dev/null
cleanup_db() { psql -h "$PGHOST" -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS $scratch" >/dev/null 2>&1 || true; }
trap cleanup_db EXIT
version=$(psql -h "$PGHOST" -U postgres -d "$scratch" -qAt -v ON_ERROR_STOP=1 \
  -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION IF NOT EXISTS timescaledb" \
  -c "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
cleanup_db; trap - EXIT
log "OK: TimescaleDB $version available on $PGHOST:5432 (preloaded, max_background_workers=0)"
