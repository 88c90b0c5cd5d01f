# shellcheck shell=bash disable=SC2034
# Shared helpers for the deploy/*.sh scripts. Source it; do not run it.
#
#   LK_TOOLS_DIR  cache for installed binaries/jars (default ~/.cache/lk-tools),
#                 outside the repo so fresh clones on the same machine reuse it
#   LK_VAR_DIR    runtime data, logs, pid files (default <repo>/var)

LK_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LK_REPO_DIR="$(cd "$LK_DEPLOY_DIR/.." && pwd)"
LK_TOOLS_DIR="${LK_TOOLS_DIR:-$HOME/.cache/lk-tools}"
LK_VAR_DIR="${LK_VAR_DIR:-$LK_REPO_DIR/var}"
LK_HOST=127.0.0.1
shopt -s inherit_errexit

# Component name used as the log prefix; each script sets it.
LK_COMPONENT="${LK_COMPONENT:-deploy}"

say() { printf '%s: %s\n' "$LK_COMPONENT" "$*"; }
warn() { printf '%s: %s\n' "$LK_COMPONENT" "$*" >&2; }
die() {
  warn "ERROR: $*"
  exit 1
}

# Print the last lines of a log file to stderr (used when a server fails).
show_log_tail() {
  local file="$1" n="${2:-40}"
  if [[ -f "$file" ]]; then
    warn "---- last $n lines of $file ----"
    tail -n "$n" "$file" >&2 || true
    warn "---- end of $file ----"
  else
    warn "(no log file at $file)"
  fi
}

# show_start_log FILE : print (to stderr) what FILE got since the last
# "=== <date> start ===" marker the scripts write before each start
show_start_log() {
  local file="$1"
  if [[ ! -f "$file" ]]; then
    warn "(no log file at $file)"
    return 0
  fi
  warn "---- $file since the last start (at most 60 lines) ----"
  awk '/^=== .* start ===$/ {n = 0; delete buf} {buf[n++] = $0} END {s = (n > 60) ? n - 60 : 0; for (i = s; i < n; i++) print buf[i]}' "$file" >&2 || true
  warn "---- end of $file ----"
}

# var dir of one component: $LK_VAR_DIR/infra/<component>
component_var_dir() {
  local d="$LK_VAR_DIR/infra/$1"
  mkdir -p "$d"
  printf '%s\n' "$d"
}

# ---- apt ------------------------------------------------------------------
# `apt-get update` runs at most once per run. infra.sh exports
# LK_APT_STAMP (a temp file) so the component scripts it calls share the flag.
apt_update_once() {
  if [[ -n "${LK_APT_STAMP:-}" && -s "$LK_APT_STAMP" ]]; then
    return 0
  fi
  if [[ -n "${LK_APT_UPDATED:-}" ]]; then
    return 0
  fi
  say "apt-get update…"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  LK_APT_UPDATED=1
  if [[ -n "${LK_APT_STAMP:-}" ]]; then
    echo updated >"$LK_APT_STAMP"
  fi
}

# apt_install pkg... : install the Debian packages (update first, once).
apt_install() {
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    sudo=(sudo)
  fi
  if [[ ${#sudo[@]} -gt 0 ]]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  else
    apt_update_once
  fi
  say "apt-get install -y $*…"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---- Go tools ---------------------------------------------------------------
# go_tool_install NAME PKG VERSION : `go install PKG@VERSION` into
# $LK_TOOLS_DIR/NAME/VERSION/bin (skipped when the binary is already there).
# Prints nothing on success; the binary is $LK_TOOLS_DIR/NAME/VERSION/bin/NAME.
go_tool_install() {
  local name="$1" pkg="$2" version="$3"
  local bindir="$LK_TOOLS_DIR/$name/$version/bin"
  if [[ -x "$bindir/$name" ]]; then
    say "$name $version present ($bindir/$name)"
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "Go toolchain (>= 1.21) not found on PATH; it is needed to build $name"
  local gov
  gov="$(go env GOVERSION 2>/dev/null || true)"
  say "installing $name $version (go install $pkg@$version with $gov; may take minutes)…"
  local t0 tmpbin
  t0=$(date +%s)
  mkdir -p "$bindir"
  tmpbin="$(mktemp -d "$bindir/.build.XXXXXX")"
  local buildlog="$LK_TOOLS_DIR/$name/$version/build.log"
  if ! (cd "$tmpbin" && GOFLAGS=-trimpath GOBIN="$tmpbin" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
    go install "$pkg@$version") >"$buildlog" 2>&1; then
    show_log_tail "$buildlog"
    rm -rf "$tmpbin"
    die "go install $pkg@$version failed"
  fi
  mv -f "$tmpbin/$name" "$bindir/$name"
  rm -rf "$tmpbin"
  say "installed $name $version in $(($(date +%s) - t0))s"
}

# ---- processes --------------------------------------------------------------
# pid_running PIDFILE : true if the pid file names a live process whose
# command line contains $LK_PROC_MATCH (set by each script), so a stale pid
# file whose pid was reused by another program does not count
pid_running() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # a zombie does not count
  [[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ]] || return 1
  if [[ -n "${LK_PROC_MATCH:-}" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$LK_PROC_MATCH" || return 1
  fi
}

# stop_pidfile PIDFILE [GRACE_SECONDS] : SIGTERM, wait, then SIGKILL
stop_pidfile() {
  local pidfile="$1" grace="${2:-20}" pid i
  if ! pid_running "$pidfile"; then
    rm -f "$pidfile"
    say "not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  say "stopping (pid $pid)…"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      say "stopped"
      return 0
    fi
    sleep 0.2
  done
  warn "pid $pid still alive after ${grace}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$pidfile"
  say "stopped (killed)"
}

# tcp_open HOST PORT : true if something accepts a TCP connection
tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# port_listeners PORT : what (if anything) listens on the port, for messages
port_listeners() {
  ss -Hltnp "sport = :$1" 2>/dev/null || true
}

# detach PIDFILE LOGFILE CMD... : start a server in the background, detached
# from this shell (own session, stdin /dev/null, stdout+stderr appended to
# LOGFILE). The server process itself writes PIDFILE (bash execs into CMD).
detach() {
  local pidfile="$1" logfile="$2"
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.1
  done
  die "could not start: $*"
}

# usage_exit SCRIPT : standard usage message for component scripts
usage_exit() {
  echo "usage: $1 install|start|stop|status" >&2
  exit 2
}
