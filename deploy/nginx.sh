#!/usr/bin/env bash
# nginx from Debian's packages: the public entry of the real stack (docs/decisions.md, 28).
#   deploy/nginx.sh [install]   install nginx and the headers-more module when missing
#   deploy/nginx.sh status      the binary, its version and the module, exit 0 if usable
# Only the binary: there is no shared nginx server. Each running system (`lk run-stack`,
# every stack system of the tests) writes its own configuration (`lk edge-config`) and
# starts its own `nginx -p <var>/edge -c nginx.conf -g 'daemon off;'` as a child process,
# bound to 127.0.0.1. The package's own service is never started: apt runs with a
# policy-rc.d that refuses service starts, and nothing listens on port 80.
set -euo pipefail
LK_COMPONENT=nginx
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

NGINX_BIN="${LK_NGINX_BIN:-/usr/sbin/nginx}"
# headers-more: the only way to send no `Server` header at all (stock nginx always sends one)
MODULE=/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so
PACKAGES=(nginx libnginx-mod-http-headers-more-filter)

present() {
  [[ -x "$NGINX_BIN" && -f "$MODULE" ]]
}

version() {
  "$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //'
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_nginx() {
  if present; then
    say "present ($(version), headers-more module)"
    return 0
  fi
  local t0 policy=/usr/sbin/policy-rc.d ours=""
  t0=$(date +%s)
  # Debian's maintainer scripts start a package's service unless policy-rc.d says no (101).
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# deploy/nginx.sh: no service starts while it installs nginx\nexit 101\n' |
      as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    ours=1
  fi
  local rc=0
  apt_install "${PACKAGES[@]}" || rc=$?
  [[ -z "$ours" ]] || as_root rm -f "$policy"
  ((rc == 0)) || die "apt-get install ${PACKAGES[*]} failed"
  present || die "installed ${PACKAGES[*]} but $NGINX_BIN or $MODULE is missing"
  say "installed $(version) in $(($(date +%s) - t0))s"
}

case "${1:-install}" in
  install) install_nginx ;;
  status)
    if present; then
      say "installed ($(version), $NGINX_BIN); each system starts its own (lk run-stack, tests)"
    else
      say "not installed ($NGINX_BIN or $MODULE missing): deploy/nginx.sh install"
      exit 3
    fi
    ;;
  *)
    echo "usage: $0 install|status" >&2
    exit 2
    ;;
esac
