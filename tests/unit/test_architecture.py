"""Guard rails of the codebase's shape, so it holds without policing:
- a service never imports another service (they share only ``shared/`` and public events);
- the kernel (``shared/``) imports no service.
Imports are read from the source (``ast``), so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offences(folder: Path, allowed: str | None) -> list[str]:
    """Imports of ``services.<x>`` from files under ``folder`` where x is not ``allowed``."""
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for module in imported(path):
            parts = module.split(".")
            if parts[0] == "services" and len(parts) > 1 and parts[1] != allowed:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


def test_services_never_import_each_other() -> None:
    services = [p for p in (ROOT / "services").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert len(services) == 6
    assert [bad for s in services for bad in offences(s, s.name)] == []


def test_the_kernel_imports_no_service() -> None:
    assert offences(ROOT / "shared", None) == []


def test_the_guard_sees_a_planted_violation(tmp_path: Path) -> None:
    """The check itself can fail: a file that imports another service is found."""
    planted = tmp_path / "chat"
    planted.mkdir()
    (planted / "bad.py").write_text("def f():\n    from services.identity.app import IdentityApp\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert offences(planted, "chat") == ["chat/bad.py imports services.identity.app"]
    finally:
        ROOT = saved
