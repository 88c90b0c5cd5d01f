#!/usr/bin/env bash
# Installs tools from Debian when missing.
#   deploy/tools.sh                 wrk (HTTP load) and kcat (Kafka CLI), for the benchmarks
#   deploy/tools.sh TOOL...         those named, e.g. `deploy/tools.sh shellcheck` (make infra-lint)
set -euo pipefail
LK_COMPONENT=tools
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(wrk kcat)
missing=()
for t in "${wanted[@]}"; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  say "${wanted[*]} present"
  exit 0
fi
t0=$(date +%s)
say "installing ${missing[*]}…"
apt_install "${missing[@]}"
for t in "${missing[@]}"; do
  command -v "$t" >/dev/null 2>&1 || die "$t still missing after apt-get install"
done
say "installed ${missing[*]} in $(($(date +%s) - t0))s"
