#!/usr/bin/env bash
# S3-compatible server: versitygw (Apache-2.0) with the posix backend, 127.0.0.1:7070.
#   deploy/s3.sh install|start|stop|status
# Binary: $LK_TOOLS_DIR/versitygw/<version>/bin/versitygw (go install).
# Objects, logs, pid under $LK_VAR_DIR/infra/s3/.
set -euo pipefail
LK_COMPONENT=s3
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

VGW_VERSION="${LK_VERSITYGW_VERSION:-v1.8.0}"
VGW_PKG="github.com/versity/versitygw/cmd/versitygw"
S3_PORT=7070
S3_ACCESS_KEY="lkaccess"
S3_SECRET_KEY="lksecretkey123"

BIN="$LK_TOOLS_DIR/versitygw/$VGW_VERSION/bin/versitygw"
VAR="$(component_var_dir s3)"
DATA="$VAR/data"
SIDECAR="$VAR/meta"
PIDFILE="$VAR/versitygw.pid"
LK_PROC_MATCH="$BIN"
LOG="$VAR/versitygw.log"
START_TIMEOUT="${LK_S3_START_TIMEOUT:-30}"

cmd_install() {
  go_tool_install versitygw "$VGW_PKG" "$VGW_VERSION"
}

# healthy : any HTTP answer on the S3 port (anonymous requests get 403)
healthy() {
  local code
  code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$LK_HOST:$S3_PORT/" 2>/dev/null || true)"
  [[ -n "$code" && "$code" != "000" ]]
}

wait_ready() {
  local pid deadline
  pid="$(cat "$PIDFILE")"
  deadline=$(($(date +%s) + START_TIMEOUT))
  while (($(date +%s) < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_start_log "$LOG"
      die "versitygw (pid $pid) exited during start"
    fi
    healthy && return 0
    sleep 0.3
  done
  show_start_log "$LOG"
  die "no HTTP answer on $LK_HOST:$S3_PORT within ${START_TIMEOUT}s"
}

# the posix backend keeps metadata in xattrs; fall back to a sidecar dir
meta_args() {
  local probe="$DATA/.lk-xattr-probe"
  : >"$probe"
  if command -v setfattr >/dev/null 2>&1; then
    if setfattr -n user.lkprobe -v 1 "$probe" 2>/dev/null; then
      rm -f "$probe"
      return 0
    fi
  elif command -v python3 >/dev/null 2>&1; then
    if python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.lkprobe", b"1")' "$probe" 2>/dev/null; then
      rm -f "$probe"
      return 0
    fi
  else
    rm -f "$probe"
    return 0 # cannot tell; assume xattrs work
  fi
  rm -f "$probe"
  mkdir -p "$SIDECAR"
  say "filesystem has no user xattrs, using sidecar metadata dir $SIDECAR" >&2
  printf '%s\n' --sidecar "$SIDECAR"
}

cmd_start() {
  cmd_install
  if pid_running "$PIDFILE"; then
    if ! healthy; then
      say "process $(cat "$PIDFILE") exists but does not answer yet, waiting…"
      wait_ready
    fi
    say "already running (pid $(cat "$PIDFILE")) on $LK_HOST:$S3_PORT"
    return 0
  fi
  if healthy; then
    say "already running on $LK_HOST:$S3_PORT (not started by this script; reusing it)"
    return 0
  fi
  if tcp_open "$LK_HOST" "$S3_PORT"; then
    warn "port $S3_PORT is in use: $(port_listeners "$S3_PORT")"
    die "cannot start: $LK_HOST:$S3_PORT is taken"
  fi
  mkdir -p "$DATA"
  local extra=()
  mapfile -t extra < <(meta_args)
  say "starting versitygw (data $DATA, log $LOG)…"
  echo "=== $(date -Is) start ===" >>"$LOG"
  ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" \
    detach "$PIDFILE" "$LOG" "$BIN" \
    --port "$LK_HOST:$S3_PORT" --region us-east-1 --quiet \
    posix "${extra[@]}" "$DATA"
  wait_ready
  say "started on $LK_HOST:$S3_PORT (pid $(cat "$PIDFILE"))"
}

cmd_stop() {
  stop_pidfile "$PIDFILE" 20
}

cmd_status() {
  if pid_running "$PIDFILE"; then
    if healthy; then
      say "running (pid $(cat "$PIDFILE")) on $LK_HOST:$S3_PORT, HTTP answers"
      return 0
    fi
    say "process $(cat "$PIDFILE") alive but no HTTP answer on $LK_HOST:$S3_PORT"
    return 1
  fi
  if healthy; then
    say "an HTTP server answers on $LK_HOST:$S3_PORT (not started by this script)"
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
