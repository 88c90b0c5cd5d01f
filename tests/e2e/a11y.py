"""axe-core in the browser tests: the npm package pinned in tests/a11y/package-lock.json
(installed by ``bash deploy/chromium.sh``, which ``make test`` runs), injected into the page
under test with Playwright, run, and its serious and critical violations returned."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.harness import ROOT

AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe violations of the page as it is now (WCAG 2.x A and AA rules
    and axe's best practices). The context needs ``bypass_csp=True``: the pages' CSP allows
    no inline script, and axe is injected as one."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `bash deploy/chromium.sh` (npm ci in tests/a11y)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def summary(found: list[dict[str, Any]]) -> str:
    """One line per violation and node, for an assertion message."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {node.get('target')}: {node.get('failureSummary', '')[:200]}"
        for v in found
        for node in v.get("nodes", [])[:5]
    )
