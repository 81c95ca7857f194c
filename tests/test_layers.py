"""Imports point downward only (DESIGN.md, "Architecture")."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "adhesive_dots"

# layer of each module (by dotted prefix; the longest prefix wins); a higher number is higher up
LAYERS = {
    "adhesive_dots": 0,  # the package root re-exports core names
    "adhesive_dots.errors": 0,
    "adhesive_dots.metadata": 0,
    "adhesive_dots.core": 0,
    "adhesive_dots.testing": 1,
    "adhesive_dots.sim.signals": 1,
    "adhesive_dots.sim.sessions": 1,
    "adhesive_dots.sim.fluctuation": 1,
    "adhesive_dots.sim.tasks": 1,
    "adhesive_dots.baselines": 1,
    "adhesive_dots.validate": 1,
    "adhesive_dots.fingerprint": 1,
    "adhesive_dots.compare": 1,
    "adhesive_dots.effects": 1,
    "adhesive_dots.align": 1,
    "adhesive_dots.curate": 1,
    "adhesive_dots.sufficiency": 1,
    "adhesive_dots.io": 2,
    "adhesive_dots.sim": 3,  # the corpus writer uses io
    "adhesive_dots.catalog": 3,
    "adhesive_dots.align_sources": 3,  # opens sources (io) and aligns them
    "adhesive_dots.parallel": 3,
    "adhesive_dots.report": 4,
    "adhesive_dots.demo": 4,
    "adhesive_dots.serve": 4,  # a face: the web catalog (uses report's figures; cli starts it)
    "adhesive_dots.cli": 5,
    "adhesive_dots.__main__": 5,
}
# third-party packages only some layers may import
RESTRICTED = {
    "pynwb": {"adhesive_dots.io"},
    "hdmf": {"adhesive_dots.io"},
    "h5py": {"adhesive_dots.io"},
    "mne_bids": {"adhesive_dots.io"},
    "remfile": {"adhesive_dots.io"},
    "dandi": {"adhesive_dots.io"},
    "nwbinspector": {"adhesive_dots.io"},
    "dask": {"adhesive_dots.parallel"},
    "distributed": {"adhesive_dots.parallel"},
    "matplotlib": {"adhesive_dots.report"},
    "fastapi": {"adhesive_dots.serve"},
    "starlette": {"adhesive_dots.serve"},
    "uvicorn": {"adhesive_dots.serve"},
    "typer": {"adhesive_dots.cli"},
    "rich": {"adhesive_dots.cli"},
}


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_imports_point_downward():
    violations = []
    for module, path in _modules():
        own = _layer(module)
        for imported in _imports(path):
            if imported.startswith("adhesive_dots") and imported != "adhesive_dots":
                if _layer(imported) > own:
                    violations.append(f"{module} (layer {own}) imports {imported} (layer {_layer(imported)})")
            root = imported.split(".")[0]
            if root in RESTRICTED and not any(module == p or module.startswith(p + ".") for p in RESTRICTED[root]):
                violations.append(f"{module} imports {root}, reserved for {sorted(RESTRICTED[root])}")
    assert not violations, "\n".join(violations)


def test_the_check_can_fail():
    assert _layer("adhesive_dots.cli.demo") > _layer("adhesive_dots.io.read") > _layer("adhesive_dots.core")
