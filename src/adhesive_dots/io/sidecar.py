"""The dot of any file as a JSON sidecar: ``NAME.dot.json`` beside ``NAME``.

Files that have no place of their own for a dot (EDF, FIF, BrainVision, EEGLAB, TSV/CSV/NPY
tables, NWB Zarr stores, and the runs of a BIDS dataset that is not to be modified) get it
beside them: ``rest.fif`` -> ``rest.fif.dot.json``. The sidecar is one DotMetadata document
(validated against the schema of ``adots schema``), so it records

* the segment (``segment.start``, ``segment.stop``, ``segment.gaps``): the baseline;
* how to read the file (``recording.sampling_frequency`` of a table, ``recording.modality``,
  ``recording.series`` and ``recording.units_bin_width`` of an NWB file);
* everything else the user said about the dot (paradigm, subject, environment, ...).

Every command finds it (:mod:`adhesive_dots.io.sources`), so that after one ``adots annotate``
no later command needs a flag; a reading option given on the command line overrides the
sidecar's and the command says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from adhesive_dots.errors import FormatError, MetadataError, option
from adhesive_dots.files import atomic_output
from adhesive_dots.io._meta import drop_empty
from adhesive_dots.metadata import DotMetadata

SIDECAR_SUFFIX = ".dot.json"
"""Appended to a file's full name to name its dot sidecar."""

MAX_SIDECAR_BYTES = 1 << 20
"""A dot sidecar larger than this (1 MiB) is refused."""


def sidecar_path(path: str | Path) -> Path:
    """Where the dot of ``path`` is kept: ``path`` + :data:`SIDECAR_SUFFIX` (a Zarr store's sidecar sits beside it)."""
    path = Path(path)
    return path.with_name(path.name.rstrip("/") + SIDECAR_SUFFIX)


def read_dot_sidecar(path: str | Path) -> DotMetadata | None:
    """The dot stored beside ``path`` (None when there is none).

    Raises
    ------
    MetadataError
        The sidecar exists but is not a valid DotMetadata document (the message names it).
    """
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    if os.path.getsize(sidecar) > MAX_SIDECAR_BYTES:
        raise MetadataError(f"{sidecar}: larger than 1 MiB; a dot sidecar is a short JSON document")
    try:
        text = sidecar.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise MetadataError(f"{sidecar}: not UTF-8 text; a dot sidecar is a UTF-8 JSON document") from None
    try:
        return DotMetadata.from_json(text, source=str(sidecar))
    except RecursionError:
        raise MetadataError(f"{sidecar}: JSON nested too deeply to be a dot sidecar") from None


def reading_options(metadata: DotMetadata) -> dict[str, Any]:
    """The reading options a dot records: ``fs``, ``modality``, ``series``, ``units_bin_width`` (those set)."""
    info = metadata.recording
    options = {
        "fs": info.sampling_frequency,
        "modality": info.modality.value if info.modality is not None else None,
        "series": info.series,
        "units_bin_width": info.units_bin_width,
    }
    return {k: v for k, v in options.items() if v is not None}


def write_dot_sidecar(path: str | Path, metadata: DotMetadata, *, replace: bool = False) -> Path:
    """Write ``metadata`` beside ``path`` atomically; an existing sidecar is replaced only with ``replace``."""
    target = sidecar_path(path)
    if target.exists() and not replace:
        raise FormatError(f"{target}: a dot is already stored here; pass {option('replace', True)} to replace it")
    with atomic_output(target, overwrite=True) as tmp:
        document = drop_empty(json.loads(metadata.model_dump_json(exclude_none=True)))
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
