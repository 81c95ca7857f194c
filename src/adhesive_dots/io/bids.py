"""BIDS datasets: EEG, MEG and iEEG runs through mne-bids, ROI time series from derivatives.

A run is chosen by entity filters (``subject``, ``session``, ``task``, ``run``,
``acquisition``; ``task`` defaults to ``"rest"``). Raw runs are read with
``mne_bids.read_raw_bids`` (lazily). When no raw run matches, ``derivatives/**`` is searched
for ``*_timeseries.tsv`` (ROI time series, rows are time points) whose JSON sidecar gives
``SamplingFrequency`` (Hz) or ``RepetitionTime`` (s).

A ``task-rest`` run is a baseline as a whole (interval table ``"bids"``, label
``"task-rest"``). The run's sidecar (``TaskName``, ``TaskDescription``, ``Instructions`` with
their eyes open/closed wording, ``RecordingDuration``, ``EEGReference``, ``Manufacturer``) and
the subject's row of ``participants.tsv`` (``age``, ``sex``, ``handedness``, ``species``) fill
the DotMetadata; a dot stored under the sidecar key ``AdhesiveDot`` overrides them and its
segment becomes the ``adhesive_baseline`` interval.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError
from adhesive_dots.io._meta import bids_metadata
from adhesive_dots.io.bids_write import SIDECAR_KEY
from adhesive_dots.io.nwb_write import DOT_TABLE
from adhesive_dots.io.raw import annotation_intervals, modality_of, recording_from_raw
from adhesive_dots.io.tables import read_table
from adhesive_dots.metadata import DotMetadata, Modality

ENTITIES = ("subject", "session", "task", "run", "acquisition")
"""Entity filters understood by :func:`read_bids`."""

RAW_EXTENSIONS = [".vhdr", ".edf", ".bdf", ".fif", ".set", ".con", ".sqd", ".ds", ".mefd", ".nwb"]


@dataclass(frozen=True)
class BIDSRun:
    """A resolved run: its data file, its JSON sidecar and its entities."""

    root: Path
    data_path: Path
    sidecar_path: Path
    entities: dict[str, str]
    kind: str  # "raw" or "timeseries"
    datatype: str


def check_bids_root(root: Path) -> None:
    """Raise :class:`FormatError` unless ``root`` has ``dataset_description.json``."""
    if not (root / "dataset_description.json").is_file():
        raise FormatError(
            f"{root}: not a BIDS dataset (no dataset_description.json at its top); "
            "point at the dataset's root folder, or add the file (mne_bids.make_dataset_description)"
        )


def find_run(root: str | Path, **entities: Any) -> BIDSRun:
    """The one run of ``root`` that matches the entity filters (``task`` defaults to rest)."""
    import mne_bids

    root = Path(root)
    check_bids_root(root)
    unknown = sorted(set(entities) - set(ENTITIES))
    if unknown:
        raise DataError(f"{root}: unknown BIDS entity option(s) {unknown}; allowed: {list(ENTITIES)}")
    wanted = {"task": "rest", **{k: str(v) for k, v in entities.items() if v is not None}}
    plural = {
        "subject": "subjects",
        "session": "sessions",
        "task": "tasks",
        "run": "runs",
        "acquisition": "acquisitions",
    }
    matches = mne_bids.find_matching_paths(
        root,
        extensions=RAW_EXTENSIONS,
        suffixes=["eeg", "meg", "ieeg"],
        ignore_nosub=True,
        **{plural[k]: v for k, v in wanted.items()},
    )
    matches = [m for m in matches if "derivatives" not in m.fpath.relative_to(root).parts]
    if len(matches) > 1:
        listing = ", ".join(m.basename for m in matches[:6])
        raise DataError(f"{root}: {len(matches)} runs match {wanted} ({listing}); narrow with run=, session= ...")
    if matches:
        path = matches[0]
        sidecar = path.copy().update(extension=".json").fpath
        ents = {k: v for k, v in path.entities.items() if v is not None}
        return BIDSRun(root, path.fpath, sidecar, ents, "raw", path.datatype or path.suffix)
    series = _find_timeseries(root, wanted)
    if series is not None:
        return series
    raise SourceNotFoundError(
        f"{root}: no EEG/MEG/iEEG run and no derivatives *_timeseries.tsv match {wanted}; "
        "check subject/session/task/run (task defaults to 'rest')"
    )


def _find_timeseries(root: Path, wanted: dict[str, str]) -> BIDSRun | None:
    keys = {"subject": "sub", "session": "ses", "task": "task", "run": "run", "acquisition": "acq"}
    found = []
    for path in sorted((root / "derivatives").rglob("*_timeseries.tsv*")) if (root / "derivatives").is_dir() else []:
        parsed = dict(re.findall(r"([a-zA-Z]+)-([a-zA-Z0-9]+)", path.name.split("_timeseries")[0]))
        if all(parsed.get(keys[k]) == v for k, v in wanted.items()):
            found.append((path, parsed))
    if len(found) > 1:
        raise DataError(f"{root}: {len(found)} derivative time series match {wanted}; narrow the entities")
    if not found:
        return None
    path, parsed = found[0]
    sidecar = path.with_name(path.name.split(".tsv")[0] + ".json")
    ents = {name: parsed[short] for name, short in keys.items() if short in parsed}
    return BIDSRun(root, path, sidecar, ents, "timeseries", "timeseries")


def read_sidecar(path: Path) -> dict[str, Any]:
    """The run's JSON sidecar (empty when absent); malformed JSON -> FormatError."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise FormatError(f"{path}: the sidecar is not valid JSON ({err}); fix or regenerate it") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path}: the sidecar must be a JSON object, got {type(data).__name__}")
    return data


def participant_row(root: Path, subject: str | None) -> dict[str, Any]:
    """The subject's row of ``participants.tsv`` as a dict (empty when absent)."""
    table = root / "participants.tsv"
    if subject is None or not table.is_file():
        return {}
    frame = pd.read_csv(table, sep="\t", dtype=str, keep_default_na=False)
    if "participant_id" not in frame.columns:
        return {}
    rows = frame[frame["participant_id"] == f"sub-{subject}"]
    if not len(rows):
        return {}
    return {k: (None if v in ("n/a", "") else v) for k, v in rows.iloc[0].to_dict().items()}


def read_bids(root: str | Path, **entities: Any) -> Recording:
    """Open one BIDS run lazily (see the module docs for how it is chosen and described)."""
    import mne_bids

    run = find_run(root, **entities)
    sidecar = read_sidecar(run.sidecar_path)
    participant = participant_row(run.root, run.entities.get("subject"))
    dataset = read_sidecar(run.root / "dataset_description.json")
    source = str(run.data_path)
    rest = run.entities.get("task", "").lower() == "rest"
    if run.kind == "raw":
        bids_path = mne_bids.get_bids_path_from_fname(run.data_path)
        bids_path.update(root=run.root)
        try:
            raw = mne_bids.read_raw_bids(bids_path, verbose="error")
        except Exception as err:  # mne-bids raises many kinds for broken runs
            raise FormatError(f"{source}: mne-bids cannot read this run ({type(err).__name__}: {err})") from err
        modality = modality_of(raw)
        if modality == Modality.OTHER and run.datatype in ("eeg", "meg", "ieeg"):
            modality = Modality(run.datatype)
        fs, n_channels = float(raw.info["sfreq"]), len(raw.ch_names)
        first_time = raw.first_samp / fs
        intervals = annotation_intervals(raw, first_time=first_time if raw.annotations.orig_time is not None else 0.0)
        duration = raw.n_times / fs
    else:
        fs = _timeseries_fs(run, sidecar)
        table = read_table(run.data_path, fs=fs, columns=sidecar.get("Columns"), source=source)
        modality = Modality.FMRI if "RepetitionTime" in sidecar else Modality.OTHER
        n_channels, duration = table.n_channels, table.duration
        intervals = pd.DataFrame(columns=["start", "stop", "label", "table"])
    metadata = bids_metadata(
        source=source,
        sidecar=sidecar,
        participant=participant,
        subject=run.entities.get("subject"),
        session=run.entities.get("session"),
        modality=modality,
        fs=fs,
        n_channels=n_channels,
        dataset_name=dataset.get("Name"),
        stored_key=SIDECAR_KEY,
        rest=rest,
    )
    rows = list(intervals.itertuples(index=False, name=None))
    if rest:
        rows.append((0.0, duration, "task-rest", "bids"))
    if SIDECAR_KEY in sidecar:
        rows.extend(_dot_rows(metadata))
    intervals = pd.DataFrame(rows, columns=["start", "stop", "label", "table"])
    if run.kind == "raw":
        return recording_from_raw(raw, source=source, metadata=metadata, intervals=intervals)
    # the table recording was made by this call: complete it with what BIDS says
    table.modality, table.units = modality, str(sidecar.get("Units", ""))
    table.metadata, table.intervals = metadata, intervals
    return table


def _dot_rows(metadata: DotMetadata) -> list[tuple[float, float, str, str]]:
    segment = metadata.segment
    if segment.start is None or segment.stop is None:
        return []
    edges = [segment.start]
    for gap_start, gap_stop in segment.gaps:
        edges.extend([gap_start, gap_stop])
    edges.append(segment.stop)
    label = metadata.paradigm.name.value if metadata.paradigm.name else DOT_TABLE
    return [(float(edges[i]), float(edges[i + 1]), label, DOT_TABLE) for i in range(0, len(edges), 2)]


def _timeseries_fs(run: BIDSRun, sidecar: dict[str, Any]) -> float:
    if "SamplingFrequency" in sidecar:
        value = sidecar["SamplingFrequency"]
        label = "SamplingFrequency"
    elif "RepetitionTime" in sidecar:
        repetition = sidecar["RepetitionTime"]
        if not isinstance(repetition, int | float) or repetition <= 0:
            raise DataError(f"{run.sidecar_path}: RepetitionTime must be a positive number of s, got {repetition!r}")
        return 1.0 / float(repetition)
    else:
        raise DataError(
            f"{run.sidecar_path}: the sidecar of {run.data_path.name} gives neither SamplingFrequency (Hz) "
            "nor RepetitionTime (s); add one so the time series has a sampling rate"
        )
    if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise DataError(f"{run.sidecar_path}: {label} must be a positive number of Hz, got {value!r}")
    return float(value)


def bids_run_of_file(path: Path) -> tuple[Path, dict[str, str]] | None:
    """(root, entities) when ``path`` is a run file inside a BIDS dataset, else None."""
    import mne_bids

    for parent in path.resolve().parents:
        if (parent / "dataset_description.json").is_file():
            if not path.name.startswith("sub-") or "derivatives" in path.resolve().relative_to(parent).parts:
                return None
            entities = mne_bids.get_entities_from_fname(path.name, on_error="ignore")
            return parent, {k: v for k, v in entities.items() if k in ENTITIES and v is not None}
    return None
