#!/usr/bin/env bash
# Local "real stack" for tests and the real-stack run mode, all on 127.0.0.1:
#   Kafka 9092 (controller 9093), PostgreSQL 5432, S3 (versitygw) 7070,
#   Mailpit SMTP 1025 / API 8025; and Debian's nginx installed (deploy/nginx.sh), which
#   every running system starts for itself as its public entry (no shared nginx server).
#
#   deploy/infra.sh up       install what is missing, start (or reuse) all, wait until they answer
#   deploy/infra.sh down     stop all (ours only, found by pid file or command line)
#   deploy/infra.sh status   print the state of each; exit 0 only if all answer
#   deploy/infra.sh reset    stop all and delete their data ($LK_INFRA_DIR, and the
#                            databases of the PostgreSQL role lk)
#   deploy/infra.sh env      print `export` lines with the connection settings
#                            (eval "$(deploy/infra.sh env)")
# The servers' data lives in $LK_INFRA_DIR (default <repo>/.infra), apart from the
# embedded mode's var/: `make clean` never touches it.
set -euo pipefail
LK_COMPONENT=infra
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

COMPONENTS=(kafka postgres s3 mailpit)

print_env() {
  # Defaults for the local servers; a value already configured in the environment stays
  # (a deployment's own database, say): `eval "$(deploy/infra.sh env)"` never overrides it.
  cat <<'ENV'
export LK_KAFKA_BOOTSTRAP="${LK_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
export LK_POSTGRES_DSN="${LK_POSTGRES_DSN:-postgresql://lk:lk@127.0.0.1:5432/lk}"
export LK_S3_ENDPOINT="${LK_S3_ENDPOINT:-127.0.0.1:7070}"
export LK_S3_ACCESS_KEY="${LK_S3_ACCESS_KEY:-lkaccess}"
export LK_S3_SECRET_KEY="${LK_S3_SECRET_KEY:-lksecretkey123}"
export LK_SMTP_HOST="${LK_SMTP_HOST:-127.0.0.1}"
export LK_SMTP_PORT="${LK_SMTP_PORT:-1025}"
export LK_MAILPIT_API="${LK_MAILPIT_API:-http://127.0.0.1:8025}"
ENV
}

cmd_up() {
  # share the "apt-get update already ran" flag with the component scripts
  LK_APT_STAMP="$(mktemp /tmp/lk-apt-stamp.XXXXXX)"
  export LK_APT_STAMP LK_TOOLS_DIR LK_INFRA_DIR LK_VAR_DIR
  trap 'rm -f "$LK_APT_STAMP"' EXIT
  case "$LK_INFRA_DIR/" in
    "$(dirname "$LK_LEGACY_INFRA_DIR")"/*)
      warn "LK_INFRA_DIR ($LK_INFRA_DIR) is inside LK_VAR_DIR: \`make clean\` (rm -rf var) would delete the running servers' data"
      ;;
  esac
  local c t0 t1
  t0=$(date +%s)
  for c in "${COMPONENTS[@]}"; do
    t1=$(date +%s)
    if ! bash "$LK_DEPLOY_DIR/$c.sh" start; then
      die "$c failed to start (see the log lines above); other servers were left as they are"
    fi
    say "$c ready ($(($(date +%s) - t1))s)"
  done
  bash "$LK_DEPLOY_DIR/nginx.sh" install || die "nginx could not be installed (see above)"
  say "all servers up in $(($(date +%s) - t0))s; connection settings:"
  print_env | sed 's/^/  /'
}

# in_reverse CMD : CMD on each component, last first (down, reset)
in_reverse() {
  local i rc=0
  export LK_TOOLS_DIR LK_INFRA_DIR LK_VAR_DIR
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    bash "$LK_DEPLOY_DIR/${COMPONENTS[$i]}.sh" "$1" || rc=1
  done
  return $rc
}

cmd_status() {
  local c rc=0
  export LK_TOOLS_DIR LK_INFRA_DIR LK_VAR_DIR
  for c in "${COMPONENTS[@]}"; do
    bash "$LK_DEPLOY_DIR/$c.sh" status || rc=1
  done
  bash "$LK_DEPLOY_DIR/nginx.sh" status || rc=1
  return $rc
}

cmd_reset() {
  say "stopping every server and deleting its data ($LK_INFRA_DIR; PostgreSQL: the databases of role lk)…"
  in_reverse reset
  rmdir -- "$LK_INFRA_DIR" 2>/dev/null || true
  say "done; \`deploy/infra.sh up\` starts them empty"
}

case "${1:-}" in
  up) cmd_up ;;
  down) in_reverse stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  env) print_env ;;
  *)
    echo "usage: $0 up|down|status|reset|env" >&2
    exit 2
    ;;
esac
