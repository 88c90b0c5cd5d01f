# shellcheck shell=bash disable=SC2034
# Shared helpers for the deploy/*.sh scripts and the component runner
# (run_component, below). Source it; do not run it.
#
#   LK_TOOLS_DIR  cache for installed binaries/jars (default ~/.cache/lk-tools),
#                 outside the repo so fresh clones on the same machine reuse it
#   LK_INFRA_DIR  the servers' data, logs, pid files (default <repo>/.infra);
#                 apart from LK_VAR_DIR (the embedded mode's data, <repo>/var), so
#                 `make clean` / `rm -rf var` never pulls the data from under
#                 running servers. Wipe it on purpose with `deploy/infra.sh reset`.

LK_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LK_REPO_DIR="$(cd "$LK_DEPLOY_DIR/.." && pwd)"
LK_TOOLS_DIR="${LK_TOOLS_DIR:-$HOME/.cache/lk-tools}"
# absolute: the servers' command lines carry these paths, and they are how we
# recognise our own processes
LK_INFRA_DIR="$(realpath -m -- "${LK_INFRA_DIR:-$LK_REPO_DIR/.infra}")"
# where the servers' data lived before (under the embedded data); moved on `up`
LK_LEGACY_INFRA_DIR="$(realpath -m -- "${LK_VAR_DIR:-$LK_REPO_DIR/var}/infra")"
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
# proc_alive PID : a live process (a zombie does not count)
proc_alive() {
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]]
}

# proc_age PID : seconds since the process started
proc_age() {
  local s
  s="$(ps -o etimes= -p "$1" 2>/dev/null | tr -d ' ' || true)"
  printf '%s\n' "${s:-0}"
}

# proc_matches PID EXE ARG : the process runs EXE (the basename of argv[0]) and has
# ARG, exactly, as one of its arguments. ARG is a path under our LK_INFRA_DIR (a
# config file, a data dir): that is how our servers are told from anybody else's,
# including the same server started by another checkout. (A zombie's cmdline is
# empty, so it never matches.)
proc_matches() {
  local pid="$1" exe="$2" arg="$3" a
  local -a argv=()
  mapfile -d '' -t argv 2>/dev/null <"/proc/$pid/cmdline" || return 1
  [[ ${#argv[@]} -gt 1 && "${argv[0]##*/}" == "$exe" ]] || return 1
  for a in "${argv[@]:1}"; do
    [[ "$a" == "$arg" ]] && return 0
  done
  return 1
}

# pids_matching EXE ARG : every process that proc_matches, one a line
pids_matching() {
  local p
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    proc_matches "$p" "$1" "$2" && printf '%s\n' "$p"
  done
  return 0
}

# stop_pid PID [GRACE_SECONDS] : SIGTERM, wait (20 s), then SIGKILL
stop_pid() {
  local pid="$1" grace="${2:-20}" i
  say "stopping (pid $pid)…"
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true # a stopped (SIGSTOP) process gets the TERM now
  for ((i = 0; i < grace * 5; i++)); do
    if ! proc_alive "$pid"; then
      say "stopped"
      return 0
    fi
    sleep 0.2
  done
  warn "pid $pid still alive after ${grace}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    proc_alive "$pid" || break
    sleep 0.1
  done
  say "stopped (killed)"
}

# tcp_open HOST PORT : true if something accepts a TCP connection
tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# port_listeners PORT : which processes listen on the port, for messages
port_listeners() {
  local pid out=""
  for pid in $(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    out+="pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-150)) "
  done
  printf '%s\n' "${out:-unknown}"
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

# ---- the component runner ---------------------------------------------------
# kafka.sh, postgres.sh, s3.sh and mailpit.sh share one shape: they set
#   LK_COMPONENT      the name (message prefix)
#   COMPONENT_DIR     "$LK_INFRA_DIR/<name>" (or "" when it keeps no files there)
#   PIDFILE           the pid file in it
#   PROC_EXE PROC_ARG how its server process is recognised: the basename of argv[0]
#                     and one argument that is "$COMPONENT_DIR/$PROC_ARG"
#   DATA_MARK         a path in COMPONENT_DIR that its data always has
#   PORTS             the ports it listens on ($LK_HOST)
#   LOGS              log files shown when a start fails
#   START_TIMEOUT     seconds from a launch to the first healthy answer
#   CHECK             what component_healthy checks, for messages
# define the hooks
#   component_install   install what is missing (can be run again)
#   component_healthy   0 if whatever listens really works; else sets HEALTH_WHY
#   component_launch    start the server in the background
#   component_where     where it listens, for messages
# may redefine the defaults below (component_prepare, component_pids,
# component_kill, component_data_problem, component_reset, component_command
# with EXTRA_COMMANDS), and end with: run_component "$@"
COMPONENT_DIR=""
PIDFILE=""
PROC_EXE=""
PROC_ARG=""
DATA_MARK=""
PORTS=()
LOGS=()
START_TIMEOUT=30
CHECK=""
EXTRA_COMMANDS=()
HEALTH_WHY=""
# a server of ours that fails its check gets this long to answer again before it
# is restarted (a busy machine answers slowly)
LK_REUSE_GRACE="${LK_REUSE_GRACE:-15}"

# before a start, after the install (config files, …)
component_prepare() { :; }
# pids of our running server, one a line: the pid file, else the process table
component_pids() { our_pids "$COMPONENT_DIR"; }
# stop one server process of ours
component_kill() { stop_pid "$1" 20; }
# print a sentence when the data of our running server is broken: by default,
# when "$COMPONENT_DIR/$DATA_MARK" (a file or directory it always has) is gone
component_data_problem() {
  [[ -n "$DATA_MARK" && ! -e "$COMPONENT_DIR/$DATA_MARK" ]] || return 0
  echo "its data $COMPONENT_DIR/$DATA_MARK is gone (deleted while the server ran?)"
}
# stop, then delete the data
component_reset() {
  lk_stop
  [[ -n "$COMPONENT_DIR" ]] || return 0
  local d
  for d in "$COMPONENT_DIR" "$(legacy_dir)"; do
    if [[ -n "$d" && -e "$d" ]]; then
      say "deleting $d"
      rm -rf -- "$d"
    fi
  done
}
# the subcommands named in EXTRA_COMMANDS
component_command() {
  warn "unknown command $1"
  return 2
}

# our_pids DIR : the server processes whose config/data path is in DIR
our_pids() {
  local dir="$1" pid
  [[ -n "$dir" ]] || return 0
  pid="$(cat "$dir/${PIDFILE##*/}" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && proc_matches "$pid" "$PROC_EXE" "$dir/$PROC_ARG"; then
    printf '%s\n' "$pid"
    return 0
  fi
  pids_matching "$PROC_EXE" "$dir/$PROC_ARG"
}

# legacy_dir : where this component's data lived before LK_INFRA_DIR ("" if nowhere)
legacy_dir() {
  [[ -n "$COMPONENT_DIR" ]] || return 0
  local d="$LK_LEGACY_INFRA_DIR/${COMPONENT_DIR##*/}"
  if [[ "$d" != "$COMPONENT_DIR" && -d "$d" ]]; then printf '%s\n' "$d"; fi
}

# move_legacy : data found at the old place (under LK_VAR_DIR) moves to
# COMPONENT_DIR once; a server still running from there is stopped first
move_legacy() {
  local old pid
  old="$(legacy_dir)"
  [[ -n "$old" ]] || return 0
  if [[ -e "$COMPONENT_DIR" ]]; then
    warn "old data at $old left alone: $COMPONENT_DIR is in use already (delete the old one when you no longer need it)"
    return 0
  fi
  say "moving the data from $old to $COMPONENT_DIR (the servers' data no longer lives under LK_VAR_DIR)…"
  for pid in $(our_pids "$old"); do component_kill "$pid"; done
  mkdir -p "$(dirname "$COMPONENT_DIR")"
  mv -- "$old" "$COMPONENT_DIR"
  rmdir -- "$LK_LEGACY_INFRA_DIR" 2>/dev/null || true
}

# ours_healthy : our server answers its check and its data is in place
ours_healthy() {
  local problem
  problem="$(component_data_problem)"
  if [[ -n "$problem" ]]; then
    HEALTH_WHY="$problem"
    return 1
  fi
  component_healthy
}

# wait_healthy PID SECONDS : 0 once ours_healthy; 1 on time-out; 2 if PID exits
wait_healthy() {
  local pid="$1" deadline=$(($(date +%s) + $2))
  while :; do
    if [[ -n "$pid" ]] && ! proc_alive "$pid"; then
      HEALTH_WHY="the process (pid $pid) exited"
      return 2
    fi
    ours_healthy && return 0
    (($(date +%s) < deadline)) || return 1
    sleep 0.5
  done
}

first_line() { printf '%s\n' "${1%%$'\n'*}"; }

# ports_free : die, naming the holders, if a port is taken (by something that is
# not ours: ours were found and stopped before); foreign processes are left alone
ports_free() {
  local p busy=0
  for p in "${PORTS[@]}"; do
    if tcp_open "$LK_HOST" "$p"; then
      warn "port $LK_HOST:$p is held by: $(port_listeners "$p")"
      busy=1
    fi
  done
  ((busy == 0)) || die "cannot start: a process that is not ours (not under $LK_INFRA_DIR) holds the port and fails the check (${HEALTH_WHY:-?}); it is left alone — stop it or free the port"
}

lk_start() {
  component_install
  move_legacy
  [[ -z "$COMPONENT_DIR" ]] || mkdir -p "$COMPONENT_DIR"
  component_prepare
  local pids pid age rc f
  pids="$(component_pids)"
  pid="$(first_line "$pids")"
  if [[ -n "$pid" ]]; then
    if [[ -n "$COMPONENT_DIR" && "$(cat "$PIDFILE" 2>/dev/null || true)" != "$pid" ]]; then
      say "found our server without its pid file (pid $pid), adopting it"
      echo "$pid" >"$PIDFILE"
    fi
    if ours_healthy; then
      say "already running (pid $pid) on $(component_where)"
      return 0
    fi
    if [[ -z "$(component_data_problem)" ]]; then
      # still starting, or slow: give it its time before calling it broken
      age="$(proc_age "$pid")"
      if ((age < START_TIMEOUT)); then
        say "pid $pid started ${age}s ago and does not answer yet ($HEALTH_WHY), waiting…"
        age=$((START_TIMEOUT - age))
      else
        say "pid $pid does not answer ($HEALTH_WHY), checking again for ${LK_REUSE_GRACE}s…"
        age="$LK_REUSE_GRACE"
      fi
      rc=0
      wait_healthy "$pid" "$age" || rc=$?
      if ((rc == 0)); then
        say "running (pid $pid) on $(component_where)"
        return 0
      fi
    fi
    if proc_alive "$pid"; then
      warn "our server (pid $pid) runs but fails the check: $HEALTH_WHY"
      warn "restarting it (nothing is deleted; \`deploy/infra.sh reset\` wipes the data on purpose)"
      for pid in $pids; do component_kill "$pid"; done
    else
      warn "our server (pid $pid) exited; starting it again"
    fi
  elif component_healthy; then
    say "a server this checkout did not start answers on $(component_where) ($CHECK); reusing it"
    return 0
  fi
  ports_free
  component_launch
  pid="$(first_line "$(component_pids)")"
  rc=0
  wait_healthy "$pid" "$START_TIMEOUT" || rc=$?
  if ((rc != 0)); then
    for f in "${LOGS[@]}"; do show_start_log "$f"; done
    die "did not come up on $(component_where) within ${START_TIMEOUT}s: $HEALTH_WHY"
  fi
  say "started (pid $pid) on $(component_where)"
}

lk_stop() {
  local pids pid p
  pids="$({ component_pids && our_pids "$(legacy_dir)"; } | sort -un)"
  if [[ -z "$pids" ]]; then
    [[ -z "$PIDFILE" ]] || rm -f "$PIDFILE"
    for p in "${PORTS[@]}"; do
      if tcp_open "$LK_HOST" "$p"; then
        say "port $LK_HOST:$p is held by a process that is not ours, left alone: $(port_listeners "$p")"
      fi
    done
    say "not running"
    return 0
  fi
  for pid in $pids; do component_kill "$pid"; done
  [[ -z "$PIDFILE" ]] || rm -f "$PIDFILE"
}

# status exit codes: 0 answers, 1 our process alive but failing the check, 3 not running
lk_status() {
  local pids pid problem old
  pids="$(component_pids)"
  pid="$(first_line "$pids")"
  if [[ -n "$pid" ]]; then
    if ours_healthy; then
      say "running (pid $pid) on $(component_where); check ok: $CHECK"
      return 0
    fi
    say "pid $pid runs but fails the check: $HEALTH_WHY"
    return 1
  fi
  old="$(legacy_dir)"
  [[ -z "$old" ]] || pid="$(first_line "$(our_pids "$old")")"
  if [[ -n "$pid" ]]; then
    if component_healthy; then
      say "running (pid $pid) on $(component_where) from the old place $old; check ok: $CHECK (\`deploy/infra.sh up\` moves it to $COMPONENT_DIR)"
      return 0
    fi
    say "pid $pid runs from the old place $old but fails the check: $HEALTH_WHY"
    return 1
  fi
  if component_healthy; then
    say "a server this checkout did not start answers on $(component_where); check ok: $CHECK"
    return 0
  fi
  say "not running ($HEALTH_WHY)"
  return 3
}

# run_component "$@" : the command line of a component script
run_component() {
  local cmd="${1:-}" extra
  case "$cmd" in
    install) component_install ;;
    start) lk_start ;;
    stop) lk_stop ;;
    status) lk_status ;;
    reset) component_reset ;;
    *)
      for extra in "${EXTRA_COMMANDS[@]}"; do
        if [[ "$cmd" == "$extra" ]]; then
          component_command "$@"
          return
        fi
      done
      local usage="install|start|stop|status|reset"
      ((${#EXTRA_COMMANDS[@]} == 0)) || usage+="|$(IFS='|' && echo "${EXTRA_COMMANDS[*]}")"
      echo "usage: $0 $usage" >&2
      exit 2
      ;;
  esac
}
