"""What a source holds, for people and scripts (``adots inspect``).

:func:`inspect_target` describes anything a user names:

* one recording (a file, a Zarr store, a URL, a BIDS run, a BIDS dataset narrowed to one run):
  it is resolved through the one road, a short probe of samples is read (at most
  ``probe_seconds`` from the start, to show value ranges and catch an all-NaN series) and its
  candidate baselines are listed (:func:`describe`); a file of spike times is described
  (units, spikes, intervals) without a bin width; a BIDS run whose data were not fetched is
  described from its sidecars;
* a BIDS dataset: its subjects, sessions and tasks and every run with its duration and rate
  from the sidecars and whether its data are present (:func:`describe_bids`);
* a folder: the recordings it holds (:func:`describe_folder`).

Every result is a JSON-compatible dict with a ``kind`` (``recording``, ``bids-dataset``, ``folder``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from adhesive_dots.baselines import SPONTANEOUS_VOCABULARY
from adhesive_dots.errors import BaselineNotFoundError, UnitsBinWidthRequired, option
from adhesive_dots.io.bids import scan_bids, sidecar_rate
from adhesive_dots.io.sources import Resolved, SourceSpec, check_folder, expand_sources, resolve, source_kind

NOMINAL_BIN_WIDTH = 0.1
"""s; spike times of a file without a bin width are binned at this width only to read its structure."""


def inspect_target(
    target: str | Path | SourceSpec, *, template: SourceSpec | None = None, probe_seconds: float = 10.0
) -> dict[str, Any]:
    """Describe what ``target`` holds (see the module docs); ``template`` gives reading options and filters."""
    template = template or SourceSpec("")
    spec = target if isinstance(target, SourceSpec) else template.replace(source=str(target), key="")
    kind = source_kind(spec)
    if kind == "bids-root":
        entities = {k: getattr(spec, k) for k in ("subject", "session", "task", "run", "acquisition")}
        runs = scan_bids(spec.source).select(**entities)
        if len(runs) != 1 or not any(entities.values()):
            return describe_bids(Path(spec.source), template=spec)
        spec = spec.replace(
            source=str(runs[0].data_path), key="", subject=None, session=None, task=None, run=None, acquisition=None
        )
    if kind == "folder":
        check_folder(Path(spec.source))
        return describe_folder(Path(spec.source), template=spec)
    if spec.atlas is None and not spec.is_remote and spec.source.lower().endswith((".nii", ".nii.gz")):
        return describe_volume(Path(spec.source))
    spikes_only = False
    try:
        resolved = resolve(spec)
    except UnitsBinWidthRequired:
        resolved, spikes_only = resolve(spec.replace(units_bin_width=NOMINAL_BIN_WIDTH)), True
    with resolved:
        return describe(resolved, probe_seconds=probe_seconds, spikes_only=spikes_only)


def describe(resolved: Resolved, *, probe_seconds: float = 10.0, spikes_only: bool = False) -> dict[str, Any]:
    """The summary of a resolved recording (see :func:`inspect_target`).

    Returns
    -------
    dict
        ``kind`` (``"recording"``), ``source``, ``modality``, ``n_channels``, ``channels`` (first 10),
        ``fs_hz``, ``duration_s``, ``t0_s``, ``units``, ``data_present``, ``spikes`` (units and spike
        counts, if any), ``spikes_only`` (true when the file holds spike times only and no bin width
        was given: ``fs_hz`` and ``probe`` then describe a nominal binning), ``signals`` (auxiliary
        series), ``intervals`` (per table), ``metadata`` (what the source says, DotMetadata as JSON),
        ``probe`` (min/max/NaN fraction of the first ``probe_seconds``), ``baselines`` (candidates
        with start, stop, duration, contiguous, gaps, evidence), ``no_baseline`` (why none, when
        none) and ``notes``.
    """
    recording = resolved.recording
    vocabulary = (*SPONTANEOUS_VOCABULARY, *resolved.spec.labels)
    probe = np.zeros((0, 0))
    if resolved.present and recording.n_times:
        probe = recording.read(recording.t0, recording.t0 + min(probe_seconds, recording.duration))
    finite = probe[np.isfinite(probe)]
    candidates = resolved.candidates
    tables = []
    for table, rows in recording.intervals.groupby("table", sort=False):
        tables.append(
            {
                "table": str(table),
                "rows": int(len(rows)),
                "start_s": float(rows["start"].min()),
                "stop_s": float(rows["stop"].max()),
                "labels": list(dict.fromkeys(str(v) for v in rows["label"]))[:10],
            }
        )
    spikes = recording.spikes
    summary: dict[str, Any] = {
        "kind": "recording",
        "source": resolved.key,
        "modality": recording.modality.value,
        "n_channels": recording.n_channels,
        "channels": list(recording.channel_names[:10]),
        "fs_hz": recording.fs,
        "duration_s": recording.duration,
        "t0_s": recording.t0,
        "units": recording.units,
        "data_present": resolved.present,
        "spikes_only": spikes_only,
        "spikes": None if spikes is None else {"n_units": spikes.n_units, "n_spikes": spikes.n_spikes},
        "signals": {
            name: {"fs_hz": s.fs, "duration_s": s.duration, "units": s.units, "source": s.source}
            for name, s in recording.signals.items()
        },
        "intervals": tables,
        "metadata": recording.metadata.model_dump(mode="json", exclude_none=True),
        "probe": {
            "seconds": probe.shape[-1] / recording.fs if probe.size else 0.0,
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None,
            "nan_fraction": float(1 - finite.size / probe.size) if probe.size else 0.0,
        },
        "vocabulary": list(vocabulary),
        "baselines": [
            {
                "start_s": b.segment.start,
                "stop_s": b.segment.stop,
                "duration_s": b.segment.duration,
                "contiguous": b.segment.contiguous,
                "gaps": [list(g) for g in b.segment.gaps],
                "evidence": b.segment.evidence,
                "label": b.segment.label,
            }
            for b in candidates
        ],
        "no_baseline": None,
        "notes": list(resolved.notes),
    }
    if spikes_only:  # the nominal binning is not the file's: leave it out
        for name in ("sampling_frequency", "units_bin_width", "series", "units", "channel_kind"):
            summary["metadata"].get("recording", {}).pop(name, None)
        summary["notes"].append(
            f"spike times only: give a bin width ({option('units_bin_width', 0.01)}) to read them as rates"
        )
    if not candidates:
        try:
            resolved.baseline  # noqa: B018  (raises the message that says how to name one)
        except BaselineNotFoundError as err:
            summary["no_baseline"] = str(err).split(": ", 1)[-1]
    return summary


def describe_volume(path: Path) -> dict[str, Any]:
    """A BOLD NIfTI given without an atlas: what its header says (no ROI series can be read without one).

    Returns
    -------
    dict
        ``kind`` (``"bold-volume"``), ``source``, ``shape``, ``n_volumes``, ``voxel_mm``, ``tr_s``,
        ``tr_from``, ``duration_s`` (see :func:`~adhesive_dots.io.fmri.bold_header`), ``sidecar`` (the
        JSON read for it: BIDS inheritance inside a dataset, else the file beside it) and ``no_baseline``
        (what to give to read it).
    """
    from adhesive_dots.io.bids import bids_run_of_file
    from adhesive_dots.io.fmri import atlas_needed, bold_header, sidecar_beside

    run = bids_run_of_file(path) if path.name.startswith("sub-") else None
    sidecar = run.sidecar() if run is not None else sidecar_beside(path)
    return {
        "kind": "bold-volume",
        "source": str(path),
        **bold_header(path, sidecar),
        "sidecar": sorted(sidecar),
        "no_baseline": atlas_needed(),
    }


def describe_bids(root: Path, *, template: SourceSpec | None = None) -> dict[str, Any]:
    """A BIDS dataset: subjects, sessions, tasks and its runs (rest runs, or those the entity filters select).

    Returns
    -------
    dict
        ``kind`` (``"bids-dataset"``), ``source``, ``name``, ``subjects``, ``sessions``, ``tasks``,
        ``n_runs``, ``runs`` (``file``, ``subject``, ``session``, ``task``, ``run``, ``datatype``,
        ``duration_s`` and ``fs_hz`` from the sidecars, ``data_present``, ``rest``) and ``selected``
        (what the runs listed are: rest runs unless a task is given).
    """
    from adhesive_dots.io.bids import read_sidecar
    from adhesive_dots.io.fmri import bold_duration

    template = template or SourceSpec("")
    scan = scan_bids(root)
    entities = {k: getattr(template, k) for k in ("subject", "session", "task", "run", "acquisition")}
    chosen = scan.select(**entities)
    runs = []
    for run in chosen:
        try:
            sidecar = run.sidecar()
        except Exception as err:  # a broken sidecar is reported on its run, the others go on
            sidecar = {"_error": str(err)}
        duration = sidecar.get("RecordingDuration")
        if duration is None and run.datatype == "bold" and run.present and "_error" not in sidecar:
            duration = bold_duration(run.data_path, sidecar)  # volumes x TR from the NIfTI header
        runs.append(
            {
                "file": str(run.data_path.relative_to(root)),
                "subject": run.entities.get("subject"),
                "session": run.entities.get("session"),
                "task": run.task,
                "run": run.entities.get("run"),
                "datatype": run.datatype,
                "duration_s": float(duration) if isinstance(duration, int | float) else None,
                "fs_hz": sidecar_rate(run, sidecar) if "_error" not in sidecar else None,
                "data_present": run.present,
                "rest": run.is_rest,
                "error": sidecar.get("_error"),
            }
        )
    described = read_sidecar(root / "dataset_description.json")
    filters = {k: v for k, v in entities.items() if v is not None}
    return {
        "kind": "bids-dataset",
        "source": str(root),
        "name": described.get("Name"),
        "subjects": scan.subjects,
        "sessions": scan.sessions,
        "tasks": scan.tasks,
        "n_runs": len(scan.runs),
        "selected": ", ".join(f"{k}={v}" for k, v in filters.items()) if filters else "rest runs",
        "runs": runs,
    }


def describe_folder(folder: Path, *, template: SourceSpec | None = None) -> dict[str, Any]:
    """A folder: the recordings found in it (as the batch commands would find them) and why others are not.

    Returns
    -------
    dict
        ``kind`` (``"folder"``), ``source``, ``recordings`` (``source``, ``kind``, ``bytes``) and ``problems``.
    """
    specs, problems = expand_sources([folder], template=template)
    recordings = []
    for spec in specs:
        size = sum(p.stat().st_size for p in spec.files() if p.exists())
        recordings.append({"source": spec.key, "kind": source_kind(spec), "bytes": int(size)})
    return {
        "kind": "folder",
        "source": str(folder),
        "recordings": recordings,
        "problems": [p.message for p in problems],
    }
