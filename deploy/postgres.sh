#!/usr/bin/env bash
# PostgreSQL from Debian's packages, the Debian cluster "main", on 127.0.0.1:5432.
#   deploy/postgres.sh install|start|stop|status
# Ensures role lk/lk (LOGIN CREATEDB) and database lk owned by it.
# Data lives in the Debian cluster's directory (/var/lib/postgresql/<ver>/main),
# config in /etc/postgresql/<ver>/main (our settings: conf.d/lk.conf).
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
START_TIMEOUT="${LK_PG_START_TIMEOUT:-60}"

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

cmd_install() {
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

cmd_start() {
  cmd_install
  ensure_cluster
  local changed status
  changed="$(ensure_config)"
  # Debian's socket dir is normally made by systemd-tmpfiles
  if [[ ! -d /var/run/postgresql ]]; then
    as_root install -d -m 2775 -o postgres -g postgres /var/run/postgresql
  fi
  status="$(cluster_status "$PG_VERSION")"
  if [[ "$status" == online* ]]; then
    if [[ -n "$changed" ]]; then
      say "config changed, restarting cluster $PG_VERSION/$PG_CLUSTER…"
      as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" restart -m fast \
        || {
          show_log_tail "$PG_LOG"
          die "restart failed"
        }
    else
      say "already running (cluster $PG_VERSION/$PG_CLUSTER) on $LK_HOST:$PG_PORT"
    fi
  else
    say "starting cluster $PG_VERSION/$PG_CLUSTER…"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start \
      || {
        show_log_tail "$PG_LOG"
        die "pg_ctlcluster start failed"
      }
  fi
  wait_ready
  ensure_role_and_db
  local out
  if ! out="$(verify_login)" || [[ "$out" != 1 ]]; then
    show_log_tail "$PG_LOG"
    die "password login as $PG_USER over TCP failed: $out"
  fi
  if [[ "$status" != online* || -n "$changed" ]]; then
    say "started on $LK_HOST:$PG_PORT (PostgreSQL $PG_VERSION, db $PG_DB, user $PG_USER)"
  fi
}

cmd_stop() {
  if ! server_installed; then
    say "not installed"
    return 0
  fi
  local v
  v="$(cluster_version)"
  if [[ -z "$v" ]]; then
    say "no cluster"
    return 0
  fi
  if [[ "$(cluster_status "$v")" == online* ]]; then
    say "stopping cluster $v/$PG_CLUSTER…"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" "$PG_CLUSTER" stop -m fast
    say "stopped"
  else
    say "not running"
  fi
}

cmd_status() {
  if ! server_installed; then
    say "not installed"
    return 3
  fi
  local v
  v="$(cluster_version)"
  if [[ -n "$v" && "$(cluster_status "$v")" == online* ]] && ready; then
    say "running (cluster $v/$PG_CLUSTER) on $LK_HOST:$PG_PORT, pg_isready ok"
    return 0
  fi
  if ready; then
    say "a server answers on $LK_HOST:$PG_PORT (not the Debian cluster $PG_CLUSTER)"
    return 0
  fi
  say "not running"
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage_exit "$0" ;;
esac
