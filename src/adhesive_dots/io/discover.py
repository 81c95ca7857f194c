"""Expanding what a user names (files, folders, BIDS roots, URLs, archive ids) into sources.

A :class:`SourceSpec` is one openable session: ``open_recording(spec.uri, **spec.options)``.
Folders are searched recursively: NWB files, raw files MNE reads, and every resting-state
run (``task-rest``) of each BIDS dataset found (a folder holding
``dataset_description.json``; its ``sourcedata/`` and ``derivatives/`` are skipped).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adhesive_dots.errors import SourceNotFoundError

REMOTE_PREFIXES = ("http://", "https://", "dandi:", "openneuro:", "s3://")
RAW_SUFFIXES = (".edf", ".bdf", ".vhdr", ".fif", ".set")
BIDS_DATA_SUFFIXES = (".vhdr", ".edf", ".bdf", ".fif", ".set")
_BIDS_RUN = re.compile(
    r"^sub-(?P<subject>[^_]+)(?:_ses-(?P<session>[^_]+))?_task-(?P<task>[^_]+)"
    r"(?:_acq-(?P<acquisition>[^_]+))?(?:_run-(?P<run>[^_]+))?_(?P<datatype>eeg|meg|ieeg)$"
)


@dataclass(frozen=True)
class SourceSpec:
    """One session to open: ``uri`` plus the options ``open_recording`` needs (BIDS entities)."""

    uri: str
    key: str  # a unique, readable name (the catalog's ``source``)
    options: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)

    @property
    def is_local(self) -> bool:
        return not self.uri.startswith(REMOTE_PREFIXES)

    def content_hash(self) -> str:
        """sha256 of the bytes behind a local source (every file of a BIDS run); '' for remote ones."""
        if not self.is_local:
            return ""
        digest = hashlib.sha256()
        for path in self.files():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
        return f"sha256:{digest.hexdigest()}"

    def files(self) -> list[Path]:
        """The local files this source reads (for hashing)."""
        path = Path(self.key)
        if path.is_file() and not self.options:
            return [path]
        stem = path.name.rsplit("_", 1)[0]  # sub-X_ses-Y_task-rest[_run-N]
        return sorted(p for p in path.parent.iterdir() if p.name.startswith(stem + "_") and p.is_file())


def bids_rest_runs(root: Path, *, task: str = "rest") -> list[SourceSpec]:
    """Every ``task-<task>`` EEG/MEG/iEEG run of the BIDS dataset at ``root``."""
    specs = []
    for path in sorted(root.rglob("sub-*")):
        if not path.is_file() or path.suffix.lower() not in BIDS_DATA_SUFFIXES:
            continue
        if any(part in ("sourcedata", "derivatives") for part in path.relative_to(root).parts):
            continue
        match = _BIDS_RUN.match(path.name[: -len(path.suffix)])
        if not match or match["task"] != task:
            continue
        options = tuple(
            (name, match[name]) for name in ("subject", "session", "task", "acquisition", "run") if match[name]
        )
        specs.append(SourceSpec(uri=str(root), key=str(path), options=options))
    return specs


def discover_sources(targets: Iterable[str | Path]) -> list[SourceSpec]:
    """Expand files, folders, BIDS roots, URLs and archive ids into :class:`SourceSpec` items.

    Raises
    ------
    SourceNotFoundError
        A named local path does not exist (the message names it).
    """
    specs: list[SourceSpec] = []
    for target in targets:
        text = str(target)
        if text.startswith(REMOTE_PREFIXES):
            specs.append(SourceSpec(uri=text, key=text))
            continue
        path = Path(text)
        if not path.exists():
            raise SourceNotFoundError(f"{path}: no such file or folder")
        if path.is_file():
            specs.append(SourceSpec(uri=str(path), key=str(path)))
            continue
        specs.extend(_walk(path))
    seen: set[str] = set()
    unique = []
    for spec in specs:
        if spec.key not in seen:
            seen.add(spec.key)
            unique.append(spec)
    return unique


def _walk(folder: Path) -> list[SourceSpec]:
    if (folder / "dataset_description.json").is_file():
        return bids_rest_runs(folder)
    specs = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            specs.extend(_walk(child))
        elif child.suffix.lower() == ".nwb" or child.suffix.lower() in RAW_SUFFIXES:
            specs.append(SourceSpec(uri=str(child), key=str(child)))
    return specs
