#!/usr/bin/env bash
# Installs ops/benchmark tools from Debian when missing: wrk (HTTP load), kcat (Kafka CLI).
set -euo pipefail
LK_COMPONENT=tools
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
if [[ ${#missing[@]} -eq 0 ]]; then
  say "wrk and kcat present"
  exit 0
fi
t0=$(date +%s)
say "installing ${missing[*]}…"
apt_install "${missing[@]}"
for t in wrk kcat; do
  command -v "$t" >/dev/null 2>&1 || die "$t still missing after apt-get install"
done
say "installed ${missing[*]} in $(($(date +%s) - t0))s"
