"""Writing the dot back: ``annotate(source, start=, stop=, paradigm=)``.

NWB
    The ``adhesive_baseline`` ``TimeIntervals`` table (see :mod:`.nwb_write`: start/stop,
    paradigm, the DotMetadata as JSON, schema version) is appended with pynwb to a *copy* of
    the file, written atomically (temporary sibling, then rename). By default the copy is a
    new output file (``<name>.dot.nwb`` unless ``output`` is given) and the source is not
    touched; ``in_place=True`` first copies the source to a backup (``<name>.nwb.bak``) and
    then replaces the source by the annotated copy. An existing dot table is an error
    unless ``replace=True``.

BIDS
    The DotMetadata is written into the run's JSON sidecar under the single key
    ``AdhesiveDot``; every other key is kept as it was; the sidecar is replaced atomically.

Either way an interrupted annotate leaves no half-written file: the temporary file is
removed and the target keeps its previous content.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adhesive_dots.core import Recording, Segment
from adhesive_dots.errors import DataError, FormatError, MetadataError, UnsupportedSourceError
from adhesive_dots.io._atomic import atomic_output
from adhesive_dots.io._meta import overlay
from adhesive_dots.io.bids import ENTITIES, bids_run_of_file, find_run, read_sidecar
from adhesive_dots.io.bids_write import SIDECAR_KEY
from adhesive_dots.io.nwb_write import DOT_TABLE, add_dot_table
from adhesive_dots.io.read import open_recording
from adhesive_dots.io.remote import is_remote
from adhesive_dots.metadata import DotMetadata, Paradigm


@dataclass(frozen=True)
class AnnotateResult:
    """What :func:`annotate` wrote."""

    output: Path
    backup: Path | None
    kind: str  # "nwb" or "bids"
    metadata: DotMetadata
    segment: Segment


def annotate(
    source: str | Path,
    *,
    start: float,
    stop: float,
    paradigm: Paradigm | str,
    metadata: DotMetadata | dict[str, Any] | None = None,
    output: str | Path | None = None,
    in_place: bool = False,
    replace: bool = False,
    overwrite: bool = False,
    **options: Any,
) -> AnnotateResult:
    """Mark ``start``-``stop`` (s) of ``source`` as its adhesive dot.

    Parameters
    ----------
    source : path
        A local NWB file, a BIDS root (with entity ``options``) or a run file inside BIDS.
    start, stop : float
        The spontaneous segment in s from the start of the recording (``stop > start``,
        both within the recording).
    paradigm : Paradigm or str
        e.g. ``"animal-head-fixed-task-free"``.
    metadata : DotMetadata or dict, optional
        Extra metadata (e.g. from ``--metadata meta.json``); the source's own metadata fills
        what it leaves out; ``segment`` and ``paradigm.name`` are set from the arguments.
    output : path, optional
        NWB only: where to write (default ``<stem>.dot.nwb`` beside the source).
    in_place : bool
        NWB only: replace the source after copying it to ``<name>.bak``.
    replace : bool
        Replace an existing ``adhesive_baseline`` table / ``AdhesiveDot`` key.
    overwrite : bool
        NWB only: replace an existing ``output`` file.
    **options
        BIDS entities (``subject``, ``session``, ``task``, ``run``, ``acquisition``).
    """
    text = str(source)
    if is_remote(text):
        raise UnsupportedSourceError(f"{text}: annotate writes files; download the file and annotate the local copy")
    try:
        paradigm = Paradigm(paradigm)
    except ValueError:
        raise MetadataError(
            f"paradigm {paradigm!r} is not known; allowed: {', '.join(p.value for p in Paradigm)}"
        ) from None
    if isinstance(metadata, dict):
        metadata = DotMetadata.from_dict(metadata, source="--metadata")
    path = Path(text)
    recording = open_recording(path, **options)
    with recording:
        segment = _check_segment(recording, start, stop)
        dot = _dot_metadata(recording, segment, paradigm, metadata)
    if path.is_file() and path.suffix.lower() == ".nwb":
        return _annotate_nwb(path, segment, dot, output=output, in_place=in_place, replace=replace, overwrite=overwrite)
    if output is not None or in_place:
        raise DataError(f"{text}: output/in_place apply to NWB files; a BIDS run's sidecar is updated in place")
    return _annotate_bids(path, segment, dot, replace=replace, **options)


def _check_segment(recording: Recording, start: float, stop: float) -> Segment:
    try:
        start, stop = float(start), float(stop)
    except (TypeError, ValueError):
        raise DataError(
            f"{recording.source}: start and stop must be numbers of seconds, got {start!r}, {stop!r}"
        ) from None
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise DataError(f"{recording.source}: start and stop must be finite, got {start}, {stop}")
    if stop <= start:
        raise DataError(
            f"{recording.source}: --stop ({stop} s) must be after --start ({start} s); "
            "give the segment's end after its start"
        )
    t0, t1 = recording.t0, recording.t0 + recording.duration
    tolerance = 1.0 / recording.fs
    if start < max(t0, 0.0) - tolerance or stop > t1 + tolerance:
        raise DataError(
            f"{recording.source}: the segment {start}-{stop} s lies outside the recording, which spans "
            f"{t0:.3f}-{t1:.3f} s; give --start/--stop within it"
        )
    return Segment.between(start, stop, evidence="adots annotate", label=DOT_TABLE)


def _dot_metadata(recording: Recording, segment: Segment, paradigm: Paradigm, extra: DotMetadata | None) -> DotMetadata:
    base = recording.metadata.model_dump(mode="json", exclude_none=True)
    if extra is not None:
        base = overlay(base, extra.model_dump(mode="json", exclude_none=True))
    base = overlay(
        base,
        {
            "segment": {"start": segment.start, "stop": segment.stop, "duration": segment.duration, "contiguous": True},
            "paradigm": {"name": paradigm.value},
        },
    )
    base["segment"]["gaps"] = []
    return DotMetadata.from_dict(base, source=f"{recording.source} (annotate)")


def _annotate_nwb(
    path: Path,
    segment: Segment,
    dot: DotMetadata,
    *,
    output: str | Path | None,
    in_place: bool,
    replace: bool,
    overwrite: bool,
) -> AnnotateResult:
    if in_place and output is not None:
        raise DataError(f"{path}: give either an output file or in_place, not both")
    target = path if in_place else Path(output) if output is not None else path.with_name(f"{path.stem}.dot.nwb")
    if not in_place and target.resolve() == path.resolve():
        raise DataError(f"{path}: the output is the source itself; use in_place=True (--in-place) for that")
    backup = None
    if in_place:
        backup = _free_name(path.with_name(path.name + ".bak"))
        with atomic_output(backup) as tmp:
            shutil.copy2(path, tmp)
    with atomic_output(target, overwrite=overwrite or in_place) as tmp:
        shutil.copy2(path, tmp)
        write_dot_table(tmp, segment, dot, replace=replace, source=str(path))
    return AnnotateResult(target, backup, "nwb", dot, segment)


def write_dot_table(path: Path, segment: Segment, dot: DotMetadata, *, replace: bool, source: str) -> None:
    """Append the ``adhesive_baseline`` table to the NWB file at ``path`` (pynwb append mode)."""
    import h5py
    from pynwb import NWBHDF5IO

    with h5py.File(path, "r+") as handle:
        if f"intervals/{DOT_TABLE}" in handle:
            if not replace:
                raise FormatError(
                    f"{source}: already holds an {DOT_TABLE} table; pass replace=True (--replace) to replace it"
                )
            del handle[f"intervals/{DOT_TABLE}"]
    with NWBHDF5IO(str(path), "a") as io:
        nwbfile = io.read()
        add_dot_table(nwbfile, segment, dot)
        io.write(nwbfile)


def _free_name(path: Path) -> Path:
    candidate, counter = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{counter}")
        counter += 1
    return candidate


def _annotate_bids(path: Path, segment: Segment, dot: DotMetadata, *, replace: bool, **options: Any) -> AnnotateResult:
    if path.is_dir():
        run = find_run(path, **{k: v for k, v in options.items() if k in ENTITIES})
    else:
        inside = bids_run_of_file(path)
        if inside is None:
            raise UnsupportedSourceError(
                f"{path}: annotate writes NWB files and BIDS runs; this file is neither (convert it to NWB or BIDS)"
            )
        root, entities = inside
        run = find_run(root, **{**entities, **{k: v for k, v in options.items() if k in ENTITIES}})
    sidecar = read_sidecar(run.sidecar_path)
    if SIDECAR_KEY in sidecar and not replace:
        raise FormatError(
            f"{run.sidecar_path}: already holds an {SIDECAR_KEY} key; pass replace=True (--replace) to replace it"
        )
    sidecar[SIDECAR_KEY] = json.loads(dot.model_dump_json(exclude_none=True))
    with atomic_output(run.sidecar_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(sidecar, indent=4, ensure_ascii=False) + "\n")
    return AnnotateResult(run.sidecar_path, None, "bids", dot, segment)
