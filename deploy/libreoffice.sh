#!/usr/bin/env bash
# Installs Debian's LibreOffice Writer without a GUI (libreoffice-writer-nogui) when soffice is
# missing: shared/pdf.py turns the generated DOCX documents into PDF with
# `soffice --headless --convert-to pdf`. Called by `make setup`.
set -euo pipefail
LK_COMPONENT=libreoffice
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if command -v soffice >/dev/null 2>&1; then
  say "present ($(soffice --version 2>/dev/null | head -n 1 || echo '?'))"
  exit 0
fi
t0=$(date +%s)
say "installing…"
apt_install libreoffice-writer-nogui fonts-dejavu-core fonts-liberation
command -v soffice >/dev/null 2>&1 || die "apt-get install libreoffice-writer-nogui did not provide soffice"
say "installed $(soffice --version 2>/dev/null | head -n 1 || true) in $(($(date +%s) - t0))s"
