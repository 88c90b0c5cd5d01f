#!/usr/bin/env bash
# PostgreSQL from Debian's packages, the Debian cluster "main", on 127.0.0.1:5432.
#   deploy/postgres.sh install|start|stop|status|reset
# Ensures role lk/lk (LOGIN CREATEDB) and database lk owned by it.
# Data lives in the Debian cluster's directory (/var/lib/postgresql/<ver>/main),
# config in /etc/postgresql/<ver>/main (our settings: conf.d/lk.conf).
# start/stop/status: the runner in lib.sh, with the hooks below; "ours" is the
# Debian cluster, not a directory under LK_INFRA_DIR. reset drops every database
# the role lk owns (lk and whatever tests left behind); the role stays.
set -euo pipefail
LK_COMPONENT=postgres
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PG_PORT=5432
PG_CLUSTER=main
PG_USER=lk
PG_PASSWORD=lk
PG_DB=lk
PG_MAX_CONNECTIONS=300
PORTS=("$PG_PORT")
START_TIMEOUT="${LK_PG_START_TIMEOUT:-60}"
CHECK="login as $PG_USER: select 1"

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  elif [[ "$(id -un)" == postgres ]]; then
    "$@"
  else
    sudo -u postgres "$@"
  fi
}

server_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 || return 1
  command -v pg_lsclusters >/dev/null 2>&1 || return 1
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

component_install() {
  if server_installed; then
    say "server present ($(newest_version_installed))"
    return 0
  fi
  say "installing Debian package postgresql…"
  local t0
  t0=$(date +%s)
  apt_install postgresql postgresql-contrib
  server_installed || die "postgresql installed but server binaries not found"
  say "installed PostgreSQL $(newest_version_installed) in $(($(date +%s) - t0))s"
}

newest_version_installed() {
  local d v best=""
  for d in /usr/lib/postgresql/*/bin/postgres; do
    [[ -x "$d" ]] || continue
    v="$(basename "$(dirname "$(dirname "$d")")")"
    if [[ -z "$best" ]] || ((${v%%.*} > ${best%%.*})); then best="$v"; fi
  done
  printf '%s\n' "$best"
}

# cluster_version : version of the existing "main" cluster (newest if several)
cluster_version() {
  pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" '$2 == c {print $1}' | sort -n | tail -n1
}

cluster_status() { # online|down|...
  pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" -v v="$1" '$1 == v && $2 == c {print $4}'
}

ensure_cluster() {
  PG_VERSION="$(cluster_version)"
  if [[ -z "$PG_VERSION" ]]; then
    PG_VERSION="$(newest_version_installed)"
    say "creating cluster $PG_VERSION/$PG_CLUSTER…"
    as_root pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null
  fi
  PG_CONF_DIR="/etc/postgresql/$PG_VERSION/$PG_CLUSTER"
  PG_LOG="/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
  LOGS=("$PG_LOG")
}

# write our settings; prints "changed" when the file content changed
ensure_config() {
  local conf="$PG_CONF_DIR/postgresql.conf" want cur
  want="# managed by deploy/postgres.sh
listen_addresses = '$LK_HOST'
port = $PG_PORT
max_connections = $PG_MAX_CONNECTIONS
"
  if grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$conf"; then
    as_root mkdir -p "$PG_CONF_DIR/conf.d"
    cur="$(cat "$PG_CONF_DIR/conf.d/lk.conf" 2>/dev/null || true)"
    if [[ "$cur"$'\n' != "$want" ]]; then
      printf '%s' "$want" | as_root tee "$PG_CONF_DIR/conf.d/lk.conf" >/dev/null
      as_root chown postgres:postgres "$PG_CONF_DIR/conf.d/lk.conf"
      echo changed
    fi
  else
    as_root pg_conftool "$PG_VERSION" "$PG_CLUSTER" set listen_addresses "$LK_HOST"
    as_root pg_conftool "$PG_VERSION" "$PG_CLUSTER" set port "$PG_PORT"
    as_root pg_conftool "$PG_VERSION" "$PG_CLUSTER" set max_connections "$PG_MAX_CONNECTIONS"
  fi
  # password auth over TCP from 127.0.0.1 (Debian's default already has it)
  local hba="$PG_CONF_DIR/pg_hba.conf"
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)' "$hba"; then
    say "adding 127.0.0.1/32 scram-sha-256 line to $hba" >&2
    printf 'host    all    all    127.0.0.1/32    scram-sha-256  # deploy/postgres.sh\n' | as_root tee -a "$hba" >/dev/null
    echo changed
  fi
}

ready() {
  pg_isready -q -h "$LK_HOST" -p "$PG_PORT" -t 2
}

wait_ready() {
  local deadline
  deadline=$(($(date +%s) + START_TIMEOUT))
  while (($(date +%s) < deadline)); do
    ready && return 0
    sleep 0.5
  done
  show_log_tail "$PG_LOG"
  die "pg_isready failed on $LK_HOST:$PG_PORT for ${START_TIMEOUT}s"
}

ensure_role_and_db() {
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
-- The tests and benches drop their databases WITH (FORCE), which ends every session in them;
-- an autovacuum worker there runs as no role, and only pg_signal_backend may end it (without
-- this a drop fails whenever autovacuum happens to be visiting the database).
GRANT pg_signal_backend TO $PG_USER;
SQL
  if [[ "$(as_postgres psql -X -tA -p "$PG_PORT" -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]]; then
    say "creating database $PG_DB…"
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres \
      -c "CREATE DATABASE $PG_DB OWNER $PG_USER" >/dev/null
  else
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres \
      -c "ALTER DATABASE $PG_DB OWNER TO $PG_USER" >/dev/null
  fi
}

verify_login() {
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -tA -h "$LK_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DB" -c 'select 1' 2>&1
}

# cluster_online : the Debian cluster runs (sets PG_VERSION when it exists)
cluster_online() {
  server_installed || return 1
  PG_VERSION="$(cluster_version)"
  [[ -n "$PG_VERSION" && "$(cluster_status "$PG_VERSION")" == online* ]]
}

pg_ctl() {
  as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" "$@"
}

component_where() { echo "$LK_HOST:$PG_PORT (cluster ${PG_VERSION:-?}/$PG_CLUSTER, db $PG_DB, user $PG_USER)"; }

component_healthy() {
  if ! ready; then
    HEALTH_WHY="pg_isready: no answer on $LK_HOST:$PG_PORT"
    return 1
  fi
  local out
  if ! out="$(verify_login)" || [[ "$out" != 1 ]]; then
    HEALTH_WHY="password login as $PG_USER to $PG_DB failed: $(tr '\n' ' ' <<<"$out" | cut -c1-200)"
    return 1
  fi
}

# our server is the Debian cluster: the postmaster's pid while it is online
component_pids() {
  cluster_online || return 0
  local datadir
  datadir="$(pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" -v v="$PG_VERSION" '$1 == v && $2 == c {print $6}')"
  as_root head -n1 "$datadir/postmaster.pid" 2>/dev/null || true
}

# config (restart when it changed) and, while the cluster runs, role and database
component_prepare() {
  ensure_cluster
  local changed
  changed="$(ensure_config)"
  # Debian's socket dir is normally made by systemd-tmpfiles
  if [[ ! -d /var/run/postgresql ]]; then
    as_root install -d -m 2775 -o postgres -g postgres /var/run/postgresql
  fi
  cluster_online || return 0
  if [[ -n "$changed" ]]; then
    say "config changed, restarting cluster $PG_VERSION/$PG_CLUSTER…"
    pg_ctl restart -m fast || {
      show_log_tail "$PG_LOG"
      die "restart failed"
    }
  fi
  wait_ready
  ensure_role_and_db
}

component_launch() {
  say "starting cluster $PG_VERSION/$PG_CLUSTER…"
  pg_ctl start || {
    show_log_tail "$PG_LOG"
    die "pg_ctlcluster start failed"
  }
  wait_ready
  ensure_role_and_db
}

component_kill() {
  say "stopping cluster $PG_VERSION/$PG_CLUSTER (pid $1)…"
  if ! pg_ctl stop -m fast; then
    warn "fast shutdown failed, trying immediate"
    pg_ctl stop -m immediate
  fi
  say "stopped"
}

# drop every database that the role lk owns (start the cluster for that), then stop
component_reset() {
  server_installed || {
    say "not installed, nothing to reset"
    return 0
  }
  cluster_online || lk_start
  local db
  for db in $(as_postgres psql -X -tA -p "$PG_PORT" -d postgres -c \
    "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = '$PG_USER'"); do
    say "dropping database $db"
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres \
      -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  done
  lk_stop
}

if server_installed; then PG_VERSION="$(cluster_version)"; fi
run_component "$@"
