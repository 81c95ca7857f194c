"""Writing the dot back: ``annotate(source, start=, stop=, paradigm=)`` for any kind of source.

The segment is the baseline the source spec names (``start``/``stop``, ``whole``, a marked
interval with the extra ``labels``), resolved through the one road
(:mod:`adhesive_dots.io.sources`); the dot records it with the reading options that were
needed (a table's rate, an NWB file's series and spike bin width, the modality), so every later
command finds it without flags. Where it goes:

NWB files
    The ``adhesive_baseline`` ``TimeIntervals`` table (see :mod:`.nwb_write`: start/stop,
    paradigm, the DotMetadata unpacked, schema version) is appended with pynwb to a *copy* of
    the file, written atomically (temporary sibling, then rename). By default the copy is a
    new output file (``<name>.dot.nwb`` unless ``output`` is given) and the source is not
    touched; ``in_place=True`` first copies the source to a backup (``<name>.nwb.bak``) and
    then replaces the source by the annotated copy.

BIDS runs
    By default the dataset is not modified: the dot is written as a sidecar beside the run's
    data file (``<data file>.dot.json``; add ``*.dot.json`` to ``.bidsignore`` for the BIDS
    validator). With ``in_place=True`` it goes into the run's own JSON sidecar under the single
    key ``AdhesiveDot``, after a backup of that sidecar (``<sidecar>.json.bak``); every other key is
    kept as it was.

Every other file (EDF, BDF, FIF, BrainVision, EEGLAB, TSV/CSV/NPY tables, NWB Zarr stores)
    A dot sidecar ``<file>.dot.json`` beside it (:mod:`.sidecar`).

An existing dot is an error unless ``replace=True``. An interrupted annotate leaves no
half-written file: the temporary file is removed and the target keeps its previous content.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adhesive_dots.core import Segment
from adhesive_dots.errors import DataError, FormatError, MetadataError, UnsupportedSourceError, option
from adhesive_dots.files import atomic_output, check_free_space, describe_write_error
from adhesive_dots.io._meta import overlay
from adhesive_dots.io.bids import bids_run_of_file, read_sidecar
from adhesive_dots.io.bids_write import SIDECAR_KEY, fill_participant, fill_sidecar_fields
from adhesive_dots.io.nwb_write import DOT_TABLE, add_dot_table, fill_nwb_subject
from adhesive_dots.io.sidecar import sidecar_path, write_dot_sidecar
from adhesive_dots.io.sources import SourceSpec, expand_one, open_baseline, source_kind
from adhesive_dots.metadata import DotMetadata, Paradigm


@dataclass(frozen=True)
class AnnotateResult:
    """What :func:`annotate` wrote."""

    output: Path
    backup: Path | None
    kind: str  # "nwb", "bids" (the sidecar key) or "sidecar" (a NAME.dot.json)
    metadata: DotMetadata
    segment: Segment
    notes: tuple[str, ...] = ()
    fields_written: tuple[str, ...] = ()
    """Standard fields of the ecosystem filled from the dot (``Subject.species``, ``participants.tsv:sex``,
    ``RecordingDuration``...); a field that already held a value is never overwritten."""


def annotate(
    source: str | Path | SourceSpec,
    *,
    start: float | None = None,
    stop: float | None = None,
    paradigm: Paradigm | str | None = None,
    metadata: DotMetadata | dict[str, Any] | None = None,
    output: str | Path | None = None,
    in_place: bool = False,
    replace: bool = False,
    overwrite: bool = False,
    template: SourceSpec | None = None,
) -> AnnotateResult:
    """Record the baseline of ``source`` as its adhesive dot (see the module docs for where).

    Parameters
    ----------
    source : str, Path or SourceSpec
        One local recording of any kind (a BIDS root narrowed to one run by ``template``'s entities).
    start, stop : float, optional
        The spontaneous segment in s (else what the spec names: ``whole``, a marked interval).
    paradigm : Paradigm or str, optional
        e.g. ``"animal-head-fixed-task-free"``; required unless ``metadata`` gives ``paradigm.name``.
    metadata : DotMetadata or dict, optional
        Extra metadata (e.g. from ``--metadata meta.json``); the source's own metadata fills
        what it leaves out; ``segment`` and ``paradigm.name`` are set from the arguments.
    output : path, optional
        NWB only: where to write (default ``<stem>.dot.nwb`` beside the source).
    in_place : bool
        NWB: replace the source after copying it to ``<name>.bak``; BIDS: write the sidecar key
        after copying the sidecar to ``<sidecar>.bak``.
    replace : bool
        Replace an existing dot.
    overwrite : bool
        NWB only: replace an existing ``output`` file.
    template : SourceSpec, optional
        Reading options and the baseline choice (``start``/``stop`` above override its own).
    """
    template = (template or SourceSpec("")).replace(
        **{k: v for k, v in (("start", start), ("stop", stop)) if v is not None}
    )
    spec = expand_one(source, template=template)
    if spec.is_remote:
        raise UnsupportedSourceError(f"{spec.source}: annotate writes files; download the file and annotate it")
    if isinstance(metadata, dict):
        metadata = DotMetadata.from_dict(metadata, source="--metadata")
    paradigm = _paradigm(paradigm, metadata)
    kind = source_kind(spec)
    if output is not None and not (kind == "nwb" and Path(spec.source).is_file()):
        raise DataError(f"{spec.source}: {option('output')} applies to NWB files; other dots are written beside them")
    resolved, baseline = open_baseline(spec)
    with resolved:
        segment = Segment(baseline.segment.pieces, evidence="adots annotate", label=DOT_TABLE)
        dot = _dot_metadata(baseline.metadata, segment, paradigm, metadata)
        key = Path(resolved.key)
        notes = tuple(resolved.notes)
        recording_duration = baseline.recording.duration
    if kind == "nwb" and key.is_file():
        return _annotate_nwb(
            key, segment, dot, output=output, in_place=in_place, replace=replace, overwrite=overwrite, notes=notes
        )
    if kind in ("bids-run", "bids-root") and in_place:
        return _annotate_bids_in_place(
            key, segment, dot, replace=replace, notes=notes, recording_duration=recording_duration
        )
    if in_place:
        raise DataError(
            f"{key}: {option('in_place', True)} applies to NWB files and BIDS runs; the dot of this "
            "file is written beside it and the file itself is never changed"
        )
    written = write_dot_sidecar(key, dot, replace=replace)
    return AnnotateResult(written, None, "sidecar", dot, segment, notes)


def _paradigm(paradigm: Paradigm | str | None, metadata: DotMetadata | None) -> Paradigm:
    if paradigm is None:
        if metadata is not None and metadata.paradigm.name is not None:
            return metadata.paradigm.name
        raise MetadataError(
            f"give the paradigm of the baseline ({option('paradigm', 'NAME')}); one of: "
            + ", ".join(p.value for p in Paradigm)
        )
    try:
        return Paradigm(paradigm)
    except ValueError:
        raise MetadataError(
            f"paradigm {paradigm!r} is not known; allowed: {', '.join(p.value for p in Paradigm)}"
        ) from None


def _dot_metadata(
    base_meta: DotMetadata, segment: Segment, paradigm: Paradigm, extra: DotMetadata | None
) -> DotMetadata:
    base = base_meta.model_dump(mode="json", exclude_none=True)
    if extra is not None:
        base = overlay(base, extra.model_dump(mode="json", exclude_none=True))
    base = overlay(
        base,
        {
            "segment": {
                "start": max(segment.start, 0.0),
                "stop": segment.stop,
                "duration": segment.duration,
                "contiguous": segment.contiguous,
            },
            "paradigm": {"name": paradigm.value},
        },
    )
    base["segment"]["gaps"] = [list(g) for g in segment.gaps]
    return DotMetadata.from_dict(base, source="the new dot")


def _annotate_nwb(
    path: Path,
    segment: Segment,
    dot: DotMetadata,
    *,
    output: str | Path | None,
    in_place: bool,
    replace: bool,
    overwrite: bool,
    notes: tuple[str, ...],
) -> AnnotateResult:
    if in_place and output is not None:
        raise DataError(f"{path}: give either {option('output')} or {option('in_place', True)}, not both")
    target = path if in_place else Path(output) if output is not None else path.with_name(f"{path.stem}.dot.nwb")
    if not in_place and target.resolve() == path.resolve():
        raise DataError(f"{path}: the output is the source itself; use {option('in_place', True)} for that")
    if not in_place and target.exists() and not overwrite:
        raise DataError(f"{target}: file exists; pass {option('overwrite', True)} to replace it")
    _refuse_existing_nwb_dot(path, replace=replace)
    if in_place and not path.stat().st_mode & 0o222:
        raise DataError(
            f"{path}: the file is read-only; {option('in_place', True)} refused (nothing written). Write the dot to "
            f"a new file with {option('output')}, or make the file writable"
        )
    needed = path.stat().st_size * (2 if in_place else 1) + (1 << 20)
    check_free_space(target.parent, needed, what=str(target))
    backup = None
    try:
        if in_place:
            backup = _free_name(path.with_name(path.name + ".bak"))
            with atomic_output(backup) as tmp:
                shutil.copyfile(path, tmp)  # the backup and the copy get the usual permissions, not a 0444
        with atomic_output(target, overwrite=overwrite or in_place) as tmp:
            shutil.copyfile(path, tmp)
            write_dot_table(tmp, segment, dot, replace=replace, source=str(path))
            written = fill_nwb_subject(tmp, dot.subject)
    except OSError as err:
        raise describe_write_error(err, target) from None
    return AnnotateResult(target, backup, "nwb", dot, segment, notes, tuple(written))


def _refuse_existing_nwb_dot(path: Path, *, replace: bool) -> None:
    """Before anything is written (so a refused command leaves no backup behind)."""
    import h5py

    with h5py.File(path, "r") as handle:
        if f"intervals/{DOT_TABLE}" in handle and not replace:
            raise FormatError(
                f"{path}: already holds an {DOT_TABLE} table; pass {option('replace', True)} to replace it"
            )


def write_dot_table(path: Path, segment: Segment, dot: DotMetadata, *, replace: bool, source: str) -> None:
    """Append the ``adhesive_baseline`` table to the NWB file at ``path`` (pynwb append mode)."""
    import h5py
    from pynwb import NWBHDF5IO

    with h5py.File(path, "r+") as handle:
        if f"intervals/{DOT_TABLE}" in handle:
            if not replace:
                raise FormatError(
                    f"{source}: already holds an {DOT_TABLE} table; pass {option('replace', True)} to replace it"
                )
            del handle[f"intervals/{DOT_TABLE}"]
    with NWBHDF5IO(str(path), "a") as io:
        nwbfile = io.read()
        add_dot_table(nwbfile, segment, dot)
        io.write(nwbfile)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented UTF-8 JSON (the layout mne-bids gives sidecars)."""
    path.write_text(json.dumps(data, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")


def _free_name(path: Path) -> Path:
    candidate, counter = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{counter}")
        counter += 1
    return candidate


def _annotate_bids_in_place(
    data_path: Path,
    segment: Segment,
    dot: DotMetadata,
    *,
    replace: bool,
    notes: tuple[str, ...],
    recording_duration: float | None = None,
) -> AnnotateResult:
    run = bids_run_of_file(data_path)
    if run is None:
        raise UnsupportedSourceError(f"{data_path}: not a run of a BIDS dataset")
    sidecar = read_sidecar(run.sidecar_path)
    if SIDECAR_KEY in sidecar and not replace:
        raise FormatError(
            f"{run.sidecar_path}: already holds an {SIDECAR_KEY} key; pass {option('replace', True)} to replace it"
        )
    if sidecar_path(data_path).exists() and not replace:
        raise FormatError(
            f"{sidecar_path(data_path)}: a dot is already recorded beside the run; pass "
            f"{option('replace', True)} to replace it"
        )
    backup = None
    if run.sidecar_path.exists():
        backup = _free_name(run.sidecar_path.with_name(run.sidecar_path.name + ".bak"))
        with atomic_output(backup) as tmp:
            shutil.copyfile(run.sidecar_path, tmp)
    sidecar[SIDECAR_KEY] = json.loads(dot.model_dump_json(exclude_none=True))
    written = fill_sidecar_fields(sidecar, dot, recording_duration=recording_duration)
    participants = run.root / "participants.tsv"
    subject = run.entities.get("subject")
    text, columns = fill_participant(participants, f"sub-{subject}", dot) if subject else (None, [])
    if text is not None and participants.exists():
        participants_backup = _free_name(participants.with_name(participants.name + ".bak"))
        with atomic_output(participants_backup) as tmp:
            shutil.copyfile(participants, tmp)
        notes = (*notes, f"backup of participants.tsv: {participants_backup}")
    with atomic_output(run.sidecar_path, overwrite=True) as tmp:
        write_json(tmp, sidecar)
    if text is not None:
        with atomic_output(participants, overwrite=True) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return AnnotateResult(run.sidecar_path, backup, "bids", dot, segment, notes, (*written, *columns))
