#!/usr/bin/env bash
# S3-compatible server: versitygw (Apache-2.0) with the posix backend, 127.0.0.1:7070.
#   deploy/s3.sh install|start|stop|status|reset
# Binary: $LK_TOOLS_DIR/versitygw/<version>/bin/versitygw (go install).
# Objects, logs, pid under $LK_INFRA_DIR/s3/. start/stop/status/reset: the
# runner in lib.sh, with the hooks below. LK_S3_PORT: for tests of these scripts
# only (a second, throwaway versitygw).
set -euo pipefail
LK_COMPONENT=s3
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

VGW_VERSION="${LK_VERSITYGW_VERSION:-v1.8.0}"
VGW_PKG="github.com/versity/versitygw/cmd/versitygw"
S3_PORT="${LK_S3_PORT:-7070}"
S3_REGION=us-east-1
S3_ACCESS_KEY="lkaccess"
S3_SECRET_KEY="lksecretkey123"

BIN="$LK_TOOLS_DIR/versitygw/$VGW_VERSION/bin/versitygw"
COMPONENT_DIR="$LK_INFRA_DIR/s3"
VAR="$COMPONENT_DIR"
DATA="$VAR/data"
SIDECAR="$VAR/meta"
PIDFILE="$VAR/versitygw.pid"
PROC_EXE=versitygw
PROC_ARG=data # versitygw … posix [--sidecar …] $DATA
DATA_MARK=data
PORTS=("$S3_PORT")
LOG="$VAR/versitygw.log"
LOGS=("$LOG")
START_TIMEOUT="${LK_S3_START_TIMEOUT:-30}"
CHECK="signed ListBuckets as $S3_ACCESS_KEY"
# sha256 of the empty body (versitygw wants x-amz-content-sha256 on every request)
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

component_install() {
  go_tool_install versitygw "$VGW_PKG" "$VGW_VERSION"
}

component_where() { echo "$LK_HOST:$S3_PORT"; }

# a ListBuckets request signed (SigV4, curl >= 7.75) with our root credentials:
# an anonymous request would get 403 even from a server whose data is gone
component_healthy() {
  local out code
  out="$(curl -s -m 5 -w '\n%{http_code}' -H "x-amz-content-sha256: $EMPTY_SHA256" \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    "http://$LK_HOST:$S3_PORT/" 2>&1 || true)"
  code="${out##*$'\n'}"
  if [[ "$code" == 200 ]] && grep -q '<ListAllMyBucketsResult' <<<"$out"; then
    return 0
  fi
  if [[ "$code" == 000 || -z "$code" ]]; then
    HEALTH_WHY="no HTTP answer on $LK_HOST:$S3_PORT"
  else
    HEALTH_WHY="signed ListBuckets answered HTTP $code $(grep -o '<Code>[^<]*</Code>' <<<"$out" | head -n1)"
  fi
  return 1
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

component_launch() {
  if [[ ! -d "$DATA" && -f "$LOG" ]]; then
    warn "the objects' directory $DATA is gone: versitygw starts with no buckets"
  fi
  mkdir -p "$DATA"
  local extra=()
  mapfile -t extra < <(meta_args)
  say "starting versitygw (data $DATA, log $LOG)…"
  echo "=== $(date -Is) start ===" >>"$LOG"
  ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" \
    detach "$PIDFILE" "$LOG" "$BIN" \
    --port "$LK_HOST:$S3_PORT" --region "$S3_REGION" --quiet \
    posix "${extra[@]}" "$DATA"
}

run_component "$@"
