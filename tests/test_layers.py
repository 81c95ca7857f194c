"""Imports point downward only (DESIGN.md, "Architecture")."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "adhesive_dots"

# layer of each module (by dotted prefix; the longest prefix wins); numbered from the bottom as in
# DESIGN.md "Architecture", the README "Layout" and the package docstrings: a higher number is higher up
LAYERS = {
    "adhesive_dots": 1,  # the package root re-exports core names
    "adhesive_dots.errors": 1,
    "adhesive_dots.metadata": 1,
    "adhesive_dots.core": 1,
    "adhesive_dots.baselines": 1,  # choosing a baseline among a recording's intervals
    "adhesive_dots.testing": 2,
    "adhesive_dots.sim.signals": 2,
    "adhesive_dots.sim.sessions": 2,
    "adhesive_dots.sim.fluctuation": 2,
    "adhesive_dots.sim.tasks": 2,
    "adhesive_dots.validate": 2,
    "adhesive_dots.fingerprint": 2,
    "adhesive_dots.compare": 2,
    "adhesive_dots.effects": 2,
    "adhesive_dots.align": 2,
    "adhesive_dots.curate": 2,
    "adhesive_dots.sufficiency": 2,
    "adhesive_dots.io": 3,  # reading and writing files, and the one road from a source to its baselines
    "adhesive_dots.sim": 4,  # the corpus writer uses io
    "adhesive_dots.catalog": 4,
    "adhesive_dots.parallel": 4,
    "adhesive_dots.workflows": 5,  # every multi-step operation over sources
    "adhesive_dots.report": 6,
    "adhesive_dots.demo": 6,
    "adhesive_dots.nwbinspector_checks": 6,  # the validate workflow as an nwbinspector plug-in
    "adhesive_dots.cli": 6,
    "adhesive_dots.serve": 6,  # the web catalog (uses report's figures; cli starts it)
    "adhesive_dots.__main__": 6,
}
# third-party packages only some layers may import
RESTRICTED = {
    "pynwb": {"adhesive_dots.io", "adhesive_dots.nwbinspector_checks"},
    "hdmf": {"adhesive_dots.io"},
    "h5py": {"adhesive_dots.io"},
    "mne_bids": {"adhesive_dots.io"},
    "remfile": {"adhesive_dots.io"},
    "dandi": {"adhesive_dots.io"},
    "nwbinspector": {"adhesive_dots.io", "adhesive_dots.nwbinspector_checks"},
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


def test_one_road_from_a_source_to_its_baselines():
    """Only ``io`` opens recordings (``open_recording``) and only the one road (``io.sources``) and the
    readers below it choose baselines from a recording; everything above goes through ``resolve``."""
    offenders = []
    for module, path in _modules():
        if module.startswith("adhesive_dots.io.") or _layer(module) < 3:
            continue
        text = path.read_text()
        for name in ("open_recording(", "find_baselines(", "select_baseline("):
            if name in text:
                offenders.append(f"{module} calls {name[:-1]}")
    assert not offenders, "\n".join(offenders)
