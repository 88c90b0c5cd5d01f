#!/usr/bin/env bash
# Mailpit: SMTP sink on 127.0.0.1:1025, REST API on 127.0.0.1:8025.
#   deploy/mailpit.sh install|start|stop|status|reset
# Binary: $LK_TOOLS_DIR/mailpit/<version>/bin/mailpit (go install).
# Database, log, pid under $LK_INFRA_DIR/mailpit/. start/stop/status/reset: the
# runner in lib.sh, with the hooks below.
# For tests of these scripts only (tests/test_deploy.py): LK_MAILPIT_SMTP_PORT,
# LK_MAILPIT_HTTP_PORT, LK_MAILPIT_POP3_PORT (a second, throwaway Mailpit) and
# LK_MAILPIT_CHECK_URL (where the health check asks the API).
set -euo pipefail
LK_COMPONENT=mailpit
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

MAILPIT_VERSION="${LK_MAILPIT_VERSION:-v1.33.1}"
MAILPIT_PKG="github.com/axllent/mailpit"
SMTP_PORT="${LK_MAILPIT_SMTP_PORT:-1025}"
HTTP_PORT="${LK_MAILPIT_HTTP_PORT:-8025}"
POP3_PORT="${LK_MAILPIT_POP3_PORT:-1110}" # POP3 stays disabled (no --pop3-auth-file); pinned to loopback anyway
CHECK_URL="${LK_MAILPIT_CHECK_URL:-http://$LK_HOST:$HTTP_PORT}"

BIN="$LK_TOOLS_DIR/mailpit/$MAILPIT_VERSION/bin/mailpit"
COMPONENT_DIR="$LK_INFRA_DIR/mailpit"
VAR="$COMPONENT_DIR"
DB="$VAR/mailpit.db"
PIDFILE="$VAR/mailpit.pid"
PROC_EXE=mailpit
PROC_ARG=mailpit.db # mailpit … --database $DB
DATA_MARK=mailpit.db
PORTS=("$SMTP_PORT" "$HTTP_PORT")
LOG="$VAR/mailpit.log"
LOGS=("$LOG")
START_TIMEOUT="${LK_MAILPIT_START_TIMEOUT:-30}"
CHECK="GET /api/v1/info, SMTP greeting 220"

component_install() {
  go_tool_install mailpit "$MAILPIT_PKG" "$MAILPIT_VERSION"
}

component_where() { echo "SMTP $LK_HOST:$SMTP_PORT, API $CHECK_URL"; }

# the REST API answers /api/v1/info and the SMTP port greets with 220
component_healthy() {
  local info line=""
  if ! info="$(curl -sSf -m 5 "$CHECK_URL/api/v1/info" 2>&1)" || [[ "$info" != *'"Database"'* ]]; then
    HEALTH_WHY="GET $CHECK_URL/api/v1/info failed${info:+: $(cut -c1-200 <<<"$info")}"
    return 1
  fi
  if ! { exec 3<>"/dev/tcp/$LK_HOST/$SMTP_PORT"; } 2>/dev/null; then
    HEALTH_WHY="nothing accepts connections on SMTP $LK_HOST:$SMTP_PORT"
    return 1
  fi
  IFS= read -r -t 5 line <&3 || true
  printf 'QUIT\r\n' >&3 2>/dev/null || true
  exec 3>&-
  if [[ "$line" != 220* ]]; then
    HEALTH_WHY="SMTP $LK_HOST:$SMTP_PORT did not greet with 220 (got '${line%$'\r'}')"
    return 1
  fi
}

component_launch() {
  say "starting (db $DB, log $LOG)…"
  echo "=== $(date -Is) start ===" >>"$LOG"
  detach "$PIDFILE" "$LOG" "$BIN" \
    --listen "$LK_HOST:$HTTP_PORT" \
    --smtp "$LK_HOST:$SMTP_PORT" \
    --pop3 "$LK_HOST:$POP3_PORT" \
    --database "$DB" \
    --max 5000 \
    --smtp-auth-accept-any --smtp-auth-allow-insecure \
    --smtp-disable-rdns \
    --ignore-duplicate-ids \
    --disable-version-check
}

run_component "$@"
