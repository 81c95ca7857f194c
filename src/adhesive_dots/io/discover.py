"""Expanding what a user names (files, folders, BIDS roots, URLs, archive ids) into sources.

One :class:`SourceItem` is one openable session: ``open_recording(item.source, **item.options)``.
A folder is searched recursively for ``.nwb`` files, BIDS roots (folders holding
``dataset_description.json``: each of their resting-state runs, i.e. a ``task`` entity
containing ``rest``, found through mne-bids) and single raw files (EDF, BDF, BrainVision,
FIF, EEGLAB) outside BIDS roots. URLs and archive ids (``dandi:...``, ``openneuro:...``)
pass through as they are. What yields nothing becomes a :class:`SourceProblem` (a missing
path, an empty folder, a BIDS dataset without a resting run) so that batch work can record
it and go on. ``adots validate`` and ``adots ingest`` both expand their arguments here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RAW_EXTENSIONS = (".edf", ".bdf", ".vhdr", ".fif", ".set")
BIDS_DATATYPES = ("eeg", "meg", "ieeg")


@dataclass(frozen=True)
class SourceItem:
    """One recording to open: a source and the options of ``open_recording`` (BIDS entities).

    ``key`` names it uniquely and readably: the file itself, or a BIDS run's data file.
    """

    source: str
    options: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.source)

    @property
    def label(self) -> str:
        if not self.options:
            return self.source
        return self.source + " (" + ", ".join(f"{k}={v}" for k, v in self.options.items()) + ")"

    @property
    def is_remote(self) -> bool:
        return is_remote(self.source)

    def files(self) -> list[Path]:
        """The local files this source reads: the file, every file of an NWB Zarr store, or of a BIDS run."""
        path = Path(self.key)
        if _is_zarr_store(path):
            return sorted(p for p in path.rglob("*") if p.is_file())
        if not self.options:
            return [path]
        stem = path.name.rsplit("_", 1)[0]  # sub-X[_ses-Y]_task-rest[_run-N]
        return sorted(p for p in path.parent.iterdir() if p.name.startswith(stem + "_") and p.is_file())

    def content_hash(self) -> str:
        """``sha256:`` of the bytes behind a local source (every file of a BIDS run); ``""`` when remote."""
        if self.is_remote:
            return ""
        digest = hashlib.sha256()
        for path in self.files():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
        return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class SourceProblem:
    """A named target that yields no recording: ``code`` is a validation check id."""

    source: str
    code: str  # "source.unreadable", "source.empty" or "baseline.exists"
    message: str
    fix: str = ""


def is_remote(source: str) -> bool:
    """URLs and archive identifiers (read through the streaming path)."""
    return "://" in source or source.lower().startswith(("dandi:", "openneuro:"))


def bids_rest_runs(root: Path) -> tuple[list[SourceItem], list[str]]:
    """The resting-state runs of the BIDS dataset at ``root`` and every task name present."""
    import mne_bids

    paths = mne_bids.find_matching_paths(root, suffixes=list(BIDS_DATATYPES), extensions=list(RAW_EXTENSIONS))
    tasks = sorted({p.task for p in paths if p.task})
    items = []
    for path in sorted(paths, key=lambda p: str(p.fpath)):
        if path.task and "rest" in path.task.lower():
            options = {k: getattr(path, k) for k in ("subject", "session", "task", "run") if getattr(path, k)}
            items.append(SourceItem(str(root), options, key=str(path.fpath)))
    return items, tasks


def expand_sources(targets: Iterable[str | Path]) -> tuple[list[SourceItem], list[SourceProblem]]:
    """Recordings to open from ``targets``, and the problems of targets that yield none.

    Items keep the order given (folders sorted by path); a target named twice yields its
    recordings once.
    """
    items: list[SourceItem] = []
    problems: list[SourceProblem] = []
    for raw in targets:
        source = str(raw)
        if is_remote(source):
            items.append(SourceItem(source))
            continue
        path = Path(source)
        if not path.exists():
            problems.append(
                SourceProblem(source, "source.unreadable", f"{source}: no such file or folder",
                              fix="check the path (relative paths start from the current folder)")
            )  # fmt: skip
            continue
        if path.is_file() or _is_zarr_store(path):
            items.append(SourceItem(source))
            continue
        found, bids_problems = _walk(path)
        problems.extend(bids_problems)
        items.extend(found)
        if not found and not bids_problems:
            kinds = ", ".join(RAW_EXTENSIONS)
            message = f"{source}: folder holds no .nwb file, BIDS dataset or raw recording ({kinds})"
            problems.append(SourceProblem(source, "source.empty", message))
    seen: set[str] = set()
    unique = [item for item in items if not (item.key in seen or seen.add(item.key))]
    return unique, problems


def _is_zarr_store(path: Path) -> bool:
    """An NWB Zarr store: a ``*.zarr`` folder (hdmf-zarr)."""
    return path.suffix.lower() == ".zarr" and path.is_dir()


def _walk(folder: Path) -> tuple[list[SourceItem], list[SourceProblem]]:
    items: list[SourceItem] = []
    problems: list[SourceProblem] = []
    for current, dirs, files in os.walk(folder):
        dirs.sort()
        here = Path(current)
        stores = [d for d in dirs if _is_zarr_store(here / d)]
        items.extend(SourceItem(str(here / d)) for d in stores)  # an NWB Zarr store is one recording
        dirs[:] = [d for d in dirs if d not in stores]
        if "dataset_description.json" in files:
            dirs.clear()  # a BIDS root: its runs are found through mne-bids, not by walking
            runs, tasks = bids_rest_runs(here)
            if runs:
                items.extend(runs)
            else:
                message = (
                    f"{here}: BIDS dataset without a resting-state run (no task containing 'rest'); "
                    f"tasks present: {', '.join(tasks) or 'none'}"
                )
                problems.append(SourceProblem(str(here), "baseline.exists", message))
            continue
        for name in sorted(files):
            if name.lower().endswith((".nwb", *RAW_EXTENSIONS)) and not name.startswith("."):
                items.append(SourceItem(str(here / name)))
    return items, problems
