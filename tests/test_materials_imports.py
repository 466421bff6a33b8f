"""Imports point down the data path: no cycle between materials.spec and materials.published."""

from __future__ import annotations

import ast
from pathlib import Path

import fem_assb

ROOT = Path(fem_assb.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every fem_assb module a file imports, at top level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fem_assb"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("fem_assb")}
    return out


def test_published_does_not_import_spec():
    imported = _imports(ROOT / "materials" / "published.py")
    assert not any(m.startswith("fem_assb.materials.spec") for m in imported)


def test_forms_and_materials_import_no_study():
    for sub in ("forms", "materials", "meshing"):
        for path in (ROOT / sub).glob("*.py"):
            bad = {m for m in _imports(path) if m.startswith(("fem_assb.studies", "fem_assb.commands"))}
            assert not bad, (path.name, bad)
