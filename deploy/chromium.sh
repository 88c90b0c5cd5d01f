#!/usr/bin/env bash
# Installs Debian's chromium (headless browser for UI tests) when /usr/bin/chromium is missing,
# and axe-core (tests/a11y, npm ci) for the accessibility checks.
# Run it headless with at least:
#   chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
#     --disable-background-networking --disable-component-update --disable-sync \
#     --user-data-dir="$(mktemp -d)" ...
set -euo pipefail
LK_COMPONENT=chromium
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

# axe-core for the accessibility checks of the browser tests: the version in
# tests/a11y/package-lock.json, from the npm registry (npm ci), when not installed yet.
axe_core() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/a11y"
  if [[ -f "$dir/node_modules/axe-core/axe.min.js" ]] && cmp -s "$dir/package-lock.json" "$dir/node_modules/.lk-installed-lock" 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || apt_install npm
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/a11y failed"
  cp "$dir/package-lock.json" "$dir/node_modules/.lk-installed-lock"
  say "axe-core $(node -p "require('$dir/node_modules/axe-core/package.json').version" 2>/dev/null || echo '?') installed"
}

if [[ -x /usr/bin/chromium ]]; then
  say "present ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
else
  t0=$(date +%s)
  say "installing…"
  apt_install chromium
  [[ -x /usr/bin/chromium ]] || die "apt-get install chromium did not provide /usr/bin/chromium"
  say "installed $(/usr/bin/chromium --version 2>/dev/null || true) in $(($(date +%s) - t0))s"
fi
axe_core
