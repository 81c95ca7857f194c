"""BIDS datasets: finding runs as they are found, reading EEG, MEG and iEEG runs through mne-bids.

Finding runs (:func:`scan_bids`)
    The dataset is walked by file name (``sub-*/[ses-*/]<datatype>/``; ``derivatives``,
    ``sourcedata`` and ``code`` are skipped), so a run is found whether or not its data were
    fetched. A run is the set of data files that share every entity but ``split`` and ``echo``
    (a BrainVision header and its ``.eeg``/``.vmrk``, split FIF files, the echoes of a
    multi-echo BOLD run): each run is reported once, under its first data file. Data files are
    ``*_eeg|_meg|_ieeg`` files of the formats BIDS allows and ``*_bold.nii[.gz]``. A run whose
    data files are empty (0 bytes) or broken links (a DataLad/git-annex clone whose content was
    never fetched) is *not present*: its sidecars can still be read and validated. Sidecars are
    merged by the BIDS inheritance principle (the top-level ``task-rest_bold.json`` first, the
    run's own JSON last).

Choosing a run (:func:`find_run`)
    By entity filters (``subject``, ``session``, ``task``, ``run``, ``acquisition``). Without
    ``task``, runs whose task contains ``rest`` are the candidates. When no raw run matches,
    ``derivatives/**`` is searched for ``*_timeseries.tsv`` (ROI time series, rows are time
    points) whose JSON sidecar gives ``SamplingFrequency`` (Hz) or ``RepetitionTime`` (s);
    fMRIPrep's confound tables (``desc-confounds``) are never taken for neural series.

Reading (:func:`read_bids`)
    Raw runs are read with ``mne_bids.read_raw_bids`` (lazily). A rest run is a baseline as a
    whole (interval table ``"bids"``, label ``"task-rest"``). The run's sidecar (``TaskName``,
    ``TaskDescription``, ``Instructions`` with their eyes open/closed wording,
    ``RecordingDuration``, ``EEGReference``, ``Manufacturer``) and the subject's row of
    ``participants.tsv`` (``age``, ``sex``, ``handedness``, ``species``) fill the DotMetadata; a
    dot stored under the sidecar key ``AdhesiveDot`` overrides them and its segment becomes the
    ``adhesive_baseline`` interval. A run whose data are not present raises
    :class:`~adhesive_dots.errors.DataNotPresentError`; :func:`placeholder_recording` describes it
    from its sidecars alone.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import DataError, DataNotPresentError, FormatError, SourceNotFoundError, option
from adhesive_dots.io._meta import bids_metadata
from adhesive_dots.io.bids_write import SIDECAR_KEY
from adhesive_dots.io.fmri import add_preprocessing, bold_repetition_time, read_bold
from adhesive_dots.io.nwb_write import DOT_TABLE
from adhesive_dots.io.raw import annotation_intervals, modality_of, recording_from_raw
from adhesive_dots.io.tables import read_table
from adhesive_dots.metadata import DotMetadata, Modality

ENTITIES = ("subject", "session", "task", "run", "acquisition")
"""Entity filters understood by :func:`find_run` and :func:`read_bids`."""

SHORT = {"subject": "sub", "session": "ses", "task": "task", "run": "run", "acquisition": "acq"}
"""File-name keys of :data:`ENTITIES`."""

DATA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "eeg": (".edf", ".bdf", ".vhdr", ".set", ".fif"),
    "ieeg": (".edf", ".bdf", ".vhdr", ".set", ".nwb", ".mefd", ".fif"),
    "meg": (".fif", ".ds", ".con", ".sqd", ".pdf", ".mff"),
    "bold": (".nii", ".nii.gz"),
}
"""Data-file extensions of each BIDS suffix that adhesive-dots recognises as a run."""

RAW_SUFFIXES = ("eeg", "meg", "ieeg")
"""Suffixes read through mne-bids."""

SKIPPED_FOLDERS = ("derivatives", "sourcedata", "code", "stimuli")
"""Top-level folders of a BIDS dataset that hold no raw runs."""

MAX_JSON_BYTES = 1 << 20
"""Sidecars larger than this (1 MiB) are refused: no real sidecar comes near it."""

_ENTITY = re.compile(r"^([a-zA-Z]+)-([a-zA-Z0-9+]+)$")


@dataclass(frozen=True)
class BIDSRun:
    """One run of a BIDS dataset.

    Attributes
    ----------
    root : Path
        The dataset's root folder.
    data_path : Path
        The run's (first) data file; names the run everywhere.
    sidecar_path : Path
        The run's own JSON sidecar (may not exist).
    entities : dict of str to str
        Long entity names (``subject``, ``session``, ``task``, ``run``, ``acquisition``) and any
        other key of the file name under its short name (``echo``, ``rec`` ...).
    kind : str
        ``"raw"`` (EEG/MEG/iEEG through mne-bids), ``"bold"`` (NIfTI) or ``"timeseries"``
        (a derivatives table).
    datatype : str
        The BIDS suffix (``eeg``, ``meg``, ``ieeg``, ``bold``) or ``timeseries``.
    present : bool
        Whether the data files hold bytes (False for placeholders and broken annex links).
    files : tuple of Path
        Every data file of the run (BrainVision companions, split files, echoes).
    """

    root: Path
    data_path: Path
    sidecar_path: Path
    entities: dict[str, str]
    kind: str
    datatype: str
    present: bool = True
    files: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def task(self) -> str:
        return self.entities.get("task", "")

    @property
    def is_rest(self) -> bool:
        return "rest" in self.task.lower()

    def sidecar(self) -> dict[str, Any]:
        """The run's sidecar merged by the inheritance principle (top level first, own file last)."""
        return inherited_sidecar(self.root, self.data_path)


@dataclass(frozen=True)
class BIDSScan:
    """Every run of a dataset (:func:`scan_bids`), with the dataset's subjects, sessions and tasks."""

    root: Path
    runs: tuple[BIDSRun, ...]

    @property
    def subjects(self) -> list[str]:
        return sorted({r.entities["subject"] for r in self.runs if "subject" in r.entities})

    @property
    def sessions(self) -> list[str]:
        return sorted({r.entities["session"] for r in self.runs if "session" in r.entities})

    @property
    def tasks(self) -> list[str]:
        return sorted({r.task for r in self.runs if r.task})

    def select(self, **entities: Any) -> list[BIDSRun]:
        """Runs matching the entity filters; without ``task``, the runs whose task contains ``rest``."""
        unknown = sorted(set(entities) - set(ENTITIES))
        if unknown:
            raise DataError(f"{self.root}: unknown BIDS entity option(s) {unknown}; allowed: {list(ENTITIES)}")
        wanted = {k: str(v) for k, v in entities.items() if v is not None}
        chosen = []
        for run in self.runs:
            if "task" not in wanted and not run.is_rest:
                continue
            if all(run.entities.get(k) == _bare(k, v) for k, v in wanted.items()):
                chosen.append(run)
        return chosen


def _bare(key: str, value: str) -> str:
    """``sub-01`` -> ``01`` (users often type the prefix)."""
    prefix = SHORT[key] + "-"
    return value[len(prefix) :] if value.startswith(prefix) else value


def check_bids_root(root: Path) -> None:
    """Raise :class:`FormatError` unless ``root`` has ``dataset_description.json``."""
    if not (root / "dataset_description.json").is_file():
        raise FormatError(
            f"{root}: not a BIDS dataset (no dataset_description.json at its top); "
            "point at the dataset's root folder, or add the file (mne_bids.make_dataset_description)"
        )


def parse_name(name: str) -> tuple[dict[str, str], str, str]:
    """(entities by short key, suffix, extension) of a BIDS file name; ``({}, "", "")`` when it is not one."""
    lower = name.lower()
    extension = ""
    for ext in (".nii.gz", ".tsv.gz", ".fif.gz"):
        if lower.endswith(ext):
            extension = name[-len(ext) :]
            break
    else:
        stem, dot, ext = name.rpartition(".")
        extension = dot + ext if dot else ""
    stem = name[: len(name) - len(extension)] if extension else name
    parts = stem.split("_")
    if len(parts) < 2 or not parts[0].startswith("sub-"):
        return {}, "", ""
    entities = {}
    for part in parts[:-1]:
        match = _ENTITY.match(part)
        if match is None:
            return {}, "", ""
        entities[match.group(1)] = match.group(2)
    return entities, parts[-1], extension.lower()


def _long(entities: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, value in entities.items():
        long = next((k for k, short in SHORT.items() if short == key), key)
        out[long] = value
    return out


def is_present(path: Path) -> bool:
    """False for a 0-byte file, a broken link (git-annex placeholder) or an empty folder."""
    if path.is_symlink() and not path.exists():
        return False
    if path.is_dir():
        return any(path.iterdir())
    try:
        return path.is_file() and os.path.getsize(path) > 0
    except OSError:
        return False


def scan_bids(root: str | Path) -> BIDSScan:
    """Every run of the BIDS dataset at ``root`` (see the module docs), present or not, each once."""
    root = Path(root)
    check_bids_root(root)
    return BIDSScan(root, tuple(_runs(root, _walk_subjects(root))))


def _walk_subjects(root: Path) -> list[tuple[Path, list[str]]]:
    """(folder, entry names) of every folder under the ``sub-*`` folders (links to folders already seen skipped)."""
    out = []
    seen: set[tuple[int, int]] = set()
    for current, dirs, files in os.walk(root, followlinks=False):
        here = Path(current)
        stat = here.stat()
        if (stat.st_dev, stat.st_ino) in seen:
            dirs.clear()
            continue
        seen.add((stat.st_dev, stat.st_ino))
        if here == root:
            dirs[:] = [d for d in dirs if d.startswith("sub-")]
            continue
        dirs.sort()
        packed = [d for d in dirs if d.lower().endswith((".ds", ".mefd", ".mff"))]  # a run stored as a folder
        dirs[:] = [d for d in dirs if d not in packed]
        out.append((here, sorted(files) + packed))
    return out


def _runs(root: Path, folders: list[tuple[Path, list[str]]]) -> list[BIDSRun]:
    """The runs among the entries of ``folders``: data files grouped by every entity but split and echo."""
    groups: dict[tuple, list[Path]] = {}
    for folder, names in folders:
        for name in names:
            entities, suffix, extension = parse_name(name)
            if suffix not in DATA_EXTENSIONS or extension not in DATA_EXTENSIONS[suffix]:
                continue
            identity = tuple(sorted((k, v) for k, v in entities.items() if k not in ("split", "echo")))
            groups.setdefault((str(folder), suffix, identity), []).append(folder / name)
    runs = []
    for (_, suffix, identity), paths in groups.items():
        paths = sorted(paths)
        files = list(dict.fromkeys(p for path in paths for p in _companions(path)))
        first = paths[0]
        runs.append(
            BIDSRun(
                root=root,
                data_path=first,
                sidecar_path=first.with_name(_stem(first.name) + ".json"),
                entities=_long(dict(identity)),
                kind="raw" if suffix in RAW_SUFFIXES else "bold",
                datatype=suffix,
                present=all(is_present(p) for p in files),
                files=tuple(files),
            )
        )
    runs.sort(key=lambda r: str(r.data_path))
    return runs


def _stem(name: str) -> str:
    """File name without its extension (``.nii.gz`` counts as one)."""
    entities, suffix, extension = parse_name(name)
    return name[: len(name) - len(extension)] if extension else name


def _companions(path: Path) -> list[Path]:
    """The data file and its companions sharing its stem (``.eeg``/``.vmrk`` of a ``.vhdr``, ``.fdt`` of a ``.set``)."""
    stem = _stem(path.name)
    out = [path]
    if path.is_dir():
        return out
    for sibling in sorted(path.parent.iterdir()):
        if sibling != path and _stem(sibling.name) == stem and sibling.suffix.lower() in (".eeg", ".vmrk", ".fdt"):
            out.append(sibling)
    return out


def inherited_sidecar(root: Path, data_path: Path) -> dict[str, Any]:
    """The JSON sidecar of ``data_path`` merged by the BIDS inheritance principle.

    Every ``*.json`` from the dataset root down to the file's folder whose entities are a
    subset of the file's and whose suffix is the file's applies; deeper files (and, in one
    folder, files with more entities) override shallower ones.
    """
    entities, suffix, _ = parse_name(data_path.name)
    if not suffix:
        return {}
    folders = [root]
    try:
        relative = data_path.parent.relative_to(root)
    except ValueError:
        relative = Path()
    for part in relative.parts:
        folders.append(folders[-1] / part)
    merged: dict[str, Any] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        candidates = []
        for path in folder.glob("*.json"):
            names = path.name[: -len(".json")].split("_")
            if names[-1] != suffix:
                continue
            ents = {}
            for part in names[:-1]:
                match = _ENTITY.match(part)
                if match is None:
                    break
                ents[match.group(1)] = match.group(2)
            else:
                if all(entities.get(k) == v for k, v in ents.items()):
                    candidates.append((len(ents), path))
        for _, path in sorted(candidates):
            merged.update(read_sidecar(path))
    return merged


def find_run(root: str | Path, **entities: Any) -> BIDSRun:
    """The one run of ``root`` that matches the entity filters (without ``task``: a rest run)."""
    root = Path(root)
    scan = scan_bids(root)
    matches = scan.select(**entities)
    wanted = {k: v for k, v in entities.items() if v is not None}
    if len(matches) > 1:
        listing = ", ".join(m.data_path.name for m in matches[:6]) + (" ..." if len(matches) > 6 else "")
        flags = ", ".join(option(k) for k in ("subject", "session", "run") if k not in wanted)
        raise DataError(f"{root}: {len(matches)} runs match ({listing}); name one with {flags} (or name its data file)")
    if matches:
        return matches[0]
    series = _find_timeseries(root, {"task": "rest", **{k: str(v) for k, v in wanted.items()}})
    if series is not None:
        return series
    what = ", ".join(f"{k}={v}" for k, v in wanted.items()) or "a task containing 'rest'"
    raise SourceNotFoundError(
        f"{root}: no EEG/MEG/iEEG/BOLD run and no derivatives *_timeseries.tsv match {what}; "
        f"tasks present: {', '.join(scan.tasks) or 'none'}; subjects: {', '.join(scan.subjects) or 'none'}"
    )


def _find_timeseries(root: Path, wanted: dict[str, str]) -> BIDSRun | None:
    found = []
    derivatives = root / "derivatives"
    for path in sorted(derivatives.rglob("*_timeseries.tsv*")) if derivatives.is_dir() else []:
        parsed, _, _ = parse_name(path.name)
        if parsed.get("desc", "").lower().startswith("confounds") or "confounds" in path.name.lower():
            continue  # fMRIPrep confound tables are regressors, never neural series
        if all(parsed.get(SHORT[k]) == _bare(k, v) for k, v in wanted.items()):
            found.append((path, parsed))
    if len(found) > 1:
        raise DataError(f"{root}: {len(found)} derivative time series match {wanted}; narrow the entities")
    if not found:
        return None
    path, parsed = found[0]
    sidecar = path.with_name(path.name.split(".tsv")[0] + ".json")
    ents = {name: parsed[short] for name, short in SHORT.items() if short in parsed}
    return BIDSRun(root, path, sidecar, ents, "timeseries", "timeseries", is_present(path), (path,))


def read_sidecar(path: Path) -> dict[str, Any]:
    """A JSON sidecar as a dict (empty when absent); malformed, non-UTF-8 or oversized -> FormatError."""
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_JSON_BYTES:
        raise FormatError(f"{path}: the sidecar is {path.stat().st_size} bytes, more than the 1 MiB a sidecar may have")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise FormatError(f"{path}: the sidecar is not UTF-8 as BIDS requires; re-save it as UTF-8") from None
    except RecursionError:
        raise FormatError(f"{path}: the sidecar's JSON is nested too deeply to be a sidecar") from None
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
    try:
        frame = pd.read_csv(table, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{table}: not UTF-8 as BIDS requires; re-save it as UTF-8") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise FormatError(f"{table}: not a readable tab-separated table ({err})") from None
    if "participant_id" not in frame.columns:
        return {}
    rows = frame[frame["participant_id"] == f"sub-{subject}"]
    if not len(rows):
        return {}
    return {k: (None if v in ("n/a", "") else v) for k, v in rows.iloc[0].to_dict().items()}


def run_metadata(run: BIDSRun, *, modality: Modality, fs: float | None, n_channels: int | None) -> DotMetadata:
    """The DotMetadata of ``run`` from its (inherited) sidecar, ``participants.tsv`` and stored dot."""
    sidecar = run.sidecar()
    dataset = read_sidecar(run.root / "dataset_description.json")
    return bids_metadata(
        source=str(run.data_path),
        sidecar=sidecar,
        participant=participant_row(run.root, run.entities.get("subject")),
        subject=run.entities.get("subject"),
        session=run.entities.get("session"),
        modality=modality,
        fs=fs,
        n_channels=n_channels,
        dataset_name=dataset.get("Name"),
        stored_key=SIDECAR_KEY,
        rest=run.is_rest,
    )


def sidecar_rate(run: BIDSRun, sidecar: dict[str, Any]) -> float | None:
    """Sampling rate in Hz from ``SamplingFrequency``, ``RepetitionTime`` or ``VolumeTiming``; None when absent."""
    value = sidecar.get("SamplingFrequency")
    if isinstance(value, int | float) and np.isfinite(value) and value > 0:
        return float(value)
    repetition = sidecar.get("RepetitionTime")
    if isinstance(repetition, int | float) and np.isfinite(repetition) and repetition > 0:
        return 1.0 / float(repetition)
    timing = sidecar.get("VolumeTiming")
    if isinstance(timing, list) and len(timing) > 2 and all(isinstance(t, int | float) for t in timing):
        steps = np.diff(np.asarray(timing, dtype=float))
        if np.all(steps > 0):
            return 1.0 / float(np.median(steps))
    return None


def placeholder_recording(run: BIDSRun) -> Recording:
    """A recording of ``run`` described by its sidecars alone (its data are not present).

    Its rate comes from the sidecar, its length from ``RecordingDuration`` (0 samples when the
    sidecar does not say), its channels from ``channels.tsv``; reading samples raises
    :class:`~adhesive_dots.errors.DataNotPresentError`.
    """
    sidecar = run.sidecar()
    fs = sidecar_rate(run, sidecar)
    modality = Modality.FMRI if run.datatype == "bold" else Modality(run.datatype)
    names = _channel_names(run)
    duration = sidecar.get("RecordingDuration")
    n_times = int(round(float(duration) * fs)) if fs and isinstance(duration, int | float) and duration > 0 else 0
    metadata = run_metadata(run, modality=modality, fs=fs, n_channels=len(names) or None)
    source = str(run.data_path)

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        raise not_present_error(run)

    rows = [(0.0, n_times / fs, "task-rest", "bids")] if run.is_rest and n_times else []
    if SIDECAR_KEY in sidecar:
        rows.extend(_dot_rows(metadata))
    return Recording(
        source,
        fs=fs or 1.0,
        channel_names=names or ["n/a"],
        n_times=n_times,
        reader=reader,
        modality=modality,
        metadata=metadata,
        intervals=pd.DataFrame(rows, columns=["start", "stop", "label", "table"]),
    )


def not_present_error(run: BIDSRun) -> DataNotPresentError:
    """The error of reading a run whose data files are placeholders."""
    missing = [p.name for p in run.files if not is_present(p)]
    how = "broken links" if any(p.is_symlink() for p in run.files) else "empty (0 bytes)"
    return DataNotPresentError(
        f"{run.data_path}: data not present ({', '.join(missing)} {how}, as in a DataLad clone whose content was "
        "never fetched); fetch it (datalad get / git annex get) to read the samples"
    )


def _channel_names(run: BIDSRun) -> list[str]:
    table = run.data_path.with_name(_stem(run.data_path.name).rsplit("_", 1)[0] + "_channels.tsv")
    if not table.is_file():
        return []
    try:
        frame = pd.read_csv(table, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError):
        return []
    return [str(v) for v in frame["name"]] if "name" in frame.columns else []


def read_bids(root: str | Path, **entities: Any) -> Recording:
    """Open one BIDS run lazily (see the module docs for how it is chosen and described)."""
    return read_bids_run(find_run(root, **entities))


def read_bids_run(run: BIDSRun, **bold_options: Any) -> Recording:
    """Open the BIDS run ``run`` lazily (``bold_options``: ``atlas``, ``atlas_labels``, ``mask`` of a BOLD run,
    :func:`adhesive_dots.io.fmri.read_bold`)."""
    import mne_bids

    if not run.present:
        raise not_present_error(run)
    source = str(run.data_path)
    sidecar = run.sidecar()
    if run.kind == "bold":
        fs = 1.0 / bold_repetition_time(run.data_path, sidecar)[0]
        recording = read_bold(run.data_path, sidecar=sidecar, source=source, **bold_options)
        metadata = run_metadata(run, modality=Modality.FMRI, fs=fs, n_channels=recording.n_channels)
        rows = [(0.0, recording.duration, "task-rest", "bids")] if run.is_rest else []
        if SIDECAR_KEY in sidecar:
            rows.extend(_dot_rows(metadata))
        extraction = recording.metadata.recording.preprocessing  # the atlas that read_bold used
        recording.metadata = add_preprocessing(metadata, extraction, source=source) if extraction else metadata
        recording.intervals = pd.DataFrame(rows, columns=["start", "stop", "label", "table"])
        return recording
    if run.kind == "raw":
        bids_path = mne_bids.get_bids_path_from_fname(run.data_path)
        bids_path.update(root=run.root)
        try:
            raw = mne_bids.read_raw_bids(bids_path, verbose="error")
        except Exception as err:  # mne-bids raises many kinds for broken runs
            raise FormatError(f"{source}: mne-bids cannot read this run ({type(err).__name__}: {err})") from err
        modality = modality_of(raw)
        if modality == Modality.OTHER and run.datatype in RAW_SUFFIXES:
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
    metadata = run_metadata(run, modality=modality, fs=fs, n_channels=n_channels)
    rows = list(intervals.itertuples(index=False, name=None))
    if run.is_rest:
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
    fs = sidecar_rate(run, sidecar)
    if fs is None:
        raise DataError(
            f"{run.sidecar_path}: the sidecar of {run.data_path.name} gives no positive SamplingFrequency (Hz) "
            "or RepetitionTime (s); add one so the time series has a sampling rate"
        )
    return fs


def bids_root_of(path: Path) -> Path | None:
    """The BIDS dataset holding ``path`` (a folder with ``dataset_description.json`` above it), else None."""
    for parent in Path(os.path.abspath(path)).parents:  # not resolve(): annexed files are links into .git
        if (parent / "dataset_description.json").is_file():
            return parent
    return None


def bids_run_of_file(path: Path) -> BIDSRun | None:
    """The run whose data file is ``path`` when it lies inside a BIDS dataset (not its derivatives), else None."""
    root = bids_root_of(path)
    if root is None or not path.name.startswith("sub-"):
        return None
    path = Path(os.path.abspath(path))
    if "derivatives" in path.relative_to(root).parts:
        return None
    folder = path.parent
    for run in _runs(root, [(folder, sorted(p.name for p in folder.iterdir()))]):
        if any(f.name == path.name for f in run.files):
            return run
    return None


def sibling_run(path: str | Path, *, task: str) -> BIDSRun:
    """The run of ``task`` with the same subject and session as the run whose data file is ``path``."""
    path = Path(path)
    root = bids_root_of(path)
    if root is None:
        raise DataError(f"{path}: not inside a BIDS dataset, so it has no task run {task!r}")
    entities = _long(parse_name(path.name)[0])
    return find_run(root, subject=entities.get("subject"), session=entities.get("session"), task=task)
