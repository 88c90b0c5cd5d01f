#!/usr/bin/env bash
# Installs Debian's chromium (headless browser for UI tests) when /usr/bin/chromium is missing.
# Run it headless with at least:
#   chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
#     --disable-background-networking --disable-component-update --disable-sync \
#     --user-data-dir="$(mktemp -d)" ...
set -euo pipefail
LK_COMPONENT=chromium
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if [[ -x /usr/bin/chromium ]]; then
  say "present ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
  exit 0
fi
t0=$(date +%s)
say "installing…"
apt_install chromium
[[ -x /usr/bin/chromium ]] || die "apt-get install chromium did not provide /usr/bin/chromium"
say "installed $(/usr/bin/chromium --version 2>/dev/null || true) in $(($(date +%s) - t0))s"
