#!/usr/bin/env bash
# Mailpit: SMTP sink on 127.0.0.1:1025, REST API on 127.0.0.1:8025.
#   deploy/mailpit.sh install|start|stop|status
# Binary: $LK_TOOLS_DIR/mailpit/<version>/bin/mailpit (go install).
# Database, log, pid under $LK_VAR_DIR/infra/mailpit/.
set -euo pipefail
LK_COMPONENT=mailpit
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

MAILPIT_VERSION="${LK_MAILPIT_VERSION:-v1.33.1}"
MAILPIT_PKG="github.com/axllent/mailpit"
SMTP_PORT=1025
HTTP_PORT=8025
POP3_PORT=1110 # POP3 stays disabled (no --pop3-auth-file); pinned to loopback anyway

BIN="$LK_TOOLS_DIR/mailpit/$MAILPIT_VERSION/bin/mailpit"
VAR="$(component_var_dir mailpit)"
DB="$VAR/mailpit.db"
PIDFILE="$VAR/mailpit.pid"
LK_PROC_MATCH="$BIN"
LOG="$VAR/mailpit.log"
START_TIMEOUT="${LK_MAILPIT_START_TIMEOUT:-30}"

cmd_install() {
  go_tool_install mailpit "$MAILPIT_PKG" "$MAILPIT_VERSION"
}

# healthy : GET /api/v1/info answers 200 and SMTP accepts connections
healthy() {
  curl -sf -o /dev/null -m 5 "http://$LK_HOST:$HTTP_PORT/api/v1/info" 2>/dev/null || return 1
  tcp_open "$LK_HOST" "$SMTP_PORT"
}

wait_ready() {
  local pid deadline
  pid="$(cat "$PIDFILE")"
  deadline=$(($(date +%s) + START_TIMEOUT))
  while (($(date +%s) < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_start_log "$LOG"
      die "mailpit (pid $pid) exited during start"
    fi
    healthy && return 0
    sleep 0.3
  done
  show_start_log "$LOG"
  die "no answer from http://$LK_HOST:$HTTP_PORT/api/v1/info within ${START_TIMEOUT}s"
}

cmd_start() {
  cmd_install
  if pid_running "$PIDFILE"; then
    if ! healthy; then
      say "process $(cat "$PIDFILE") exists but does not answer yet, waiting…"
      wait_ready
    fi
    say "already running (pid $(cat "$PIDFILE")), SMTP $LK_HOST:$SMTP_PORT, API http://$LK_HOST:$HTTP_PORT"
    return 0
  fi
  if healthy; then
    say "already running on $LK_HOST:$SMTP_PORT/$HTTP_PORT (not started by this script; reusing it)"
    return 0
  fi
  local p
  for p in "$SMTP_PORT" "$HTTP_PORT"; do
    if tcp_open "$LK_HOST" "$p"; then
      warn "port $p is in use: $(port_listeners "$p")"
      die "cannot start: $LK_HOST:$p is taken"
    fi
  done
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
  wait_ready
  say "started: SMTP $LK_HOST:$SMTP_PORT, API http://$LK_HOST:$HTTP_PORT (pid $(cat "$PIDFILE"))"
}

cmd_stop() {
  stop_pidfile "$PIDFILE" 20
}

cmd_status() {
  if pid_running "$PIDFILE"; then
    if healthy; then
      say "running (pid $(cat "$PIDFILE")), SMTP $LK_HOST:$SMTP_PORT, API http://$LK_HOST:$HTTP_PORT answers"
      return 0
    fi
    say "process $(cat "$PIDFILE") alive but API/SMTP do not answer"
    return 1
  fi
  if healthy; then
    say "a Mailpit answers on $LK_HOST:$HTTP_PORT (not started by this script)"
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
