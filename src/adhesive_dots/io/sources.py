"""The one road from a source to its baselines: :class:`SourceSpec`, :func:`expand_sources`, :func:`resolve`.

Every command and every library entry point that starts from files goes this way::

    specs, problems = expand_sources(["data/", "rest.fif"], template=SourceSpec("", whole=True))
    with resolve(specs[0]) as resolved:        # opens the recording, finds the candidate baselines
        baseline = resolved.baseline           # the best one, or BaselineNotFoundError saying what to do

A :class:`SourceSpec` says where a recording is, how to read it and which segment is its
baseline:

* **where**: ``source`` -- a file, an NWB Zarr store, a BIDS root, a BIDS run's data file, a URL,
  ``dandi:...`` or ``openneuro:...``;
* **how to read it**: ``fs`` (Hz, tables), ``modality``, ``series`` and ``units_bin_width``
  (s, NWB), ``channels`` (a selection, any source), BIDS entities ``subject``, ``session``,
  ``task``, ``run``, ``acquisition`` (for a source outside BIDS, ``subject`` and ``session``
  name the dot's subject and session);
* **fMRI** (BOLD NIfTI runs and fMRI ROI tables, :mod:`adhesive_dots.io.fmri`): ``atlas`` (a label
  image or 4-D probabilistic atlas), ``atlas_labels`` (TSV of ROI names), ``mask`` (brain mask),
  ``confounds`` (a strategy: ``simple``, ``scrubbing`` or components ``motion+wm_csf+global_signal+
  scrubbing``), ``standardize`` (``zscore``/``psc``), ``detrend``, ``fd_threshold`` (mm, scrubbing);
* **which baseline**: the intervals whose label contains a word of the vocabulary
  (:data:`~adhesive_dots.baselines.SPONTANEOUS_VOCABULARY` plus ``labels``), an explicit
  ``start``/``stop`` (s), or the ``whole`` recording.

An option applies to the sources it concerns and is ignored by the others with a note
(``--fs`` sets the rate of tables; an EDF has its own): one set of flags can be given for a
folder of mixed files. A dot sidecar beside a file (``NAME.dot.json``,
:mod:`adhesive_dots.io.sidecar`) supplies the reading options and the baseline it records;
options given explicitly override it, with a note.

:func:`expand_sources` turns what a user names into specs: folders are searched (NWB files
and Zarr stores, raw EEG/MEG files, BIDS roots -- each run once, fetched or not --, and tables
when a rate is given or a dot sidecar describes them), globs are expanded, URLs pass as they
are; a target that yields nothing becomes a :class:`SourceProblem` for batch work to record.
:func:`read_sources_table` reads ``--sources-from`` tables (a ``source`` column plus any option
as a column, one row per source).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from adhesive_dots.baselines import SPONTANEOUS_VOCABULARY, baseline_of, describe_intervals, find_baselines
from adhesive_dots.core import Baseline, Recording, Segment
from adhesive_dots.errors import (
    BaselineNotFoundError,
    DataError,
    FormatError,
    SourceNotFoundError,
    option,
)
from adhesive_dots.io._meta import overlay
from adhesive_dots.io.bids import (
    ENTITIES,
    BIDSRun,
    bids_run_of_file,
    check_bids_root,
    find_run,
    placeholder_recording,
    scan_bids,
)
from adhesive_dots.io.fmri import (
    CONFOUND_SIGNAL,
    add_preprocessing,
    check_standardize,
    clean_fmri,
    parse_confounds,
    split_confound_columns,
)
from adhesive_dots.io.nwb_write import DOT_TABLE
from adhesive_dots.io.physio import describe_physio, physio_signals
from adhesive_dots.io.raw import RAW_SUFFIXES
from adhesive_dots.io.read import open_recording
from adhesive_dots.io.remote import is_remote
from adhesive_dots.io.sidecar import SIDECAR_SUFFIX, read_dot_sidecar, reading_options, sidecar_path
from adhesive_dots.io.tables import TABLE_SUFFIXES
from adhesive_dots.metadata import DotMetadata, Modality

FMRI_READING = ("atlas", "atlas_labels", "mask")
"""How a BOLD volume becomes ROI time series (fields of :class:`SourceSpec`)."""
FMRI_CLEANING = ("confounds", "standardize", "detrend", "fd_threshold")
"""What is done to fMRI ROI series after reading (fields of :class:`SourceSpec`)."""
READING_OPTIONS = ("fs", "modality", "series", "units_bin_width", "channels", *ENTITIES, *FMRI_READING, *FMRI_CLEANING)
"""How to read a source (fields of :class:`SourceSpec`)."""
BASELINE_OPTIONS = ("labels", "start", "stop", "whole")
"""Which segment is the baseline (fields of :class:`SourceSpec`)."""
FOLDER_TABLE_SUFFIXES = (".tsv", ".csv", ".npy")
"""Tables picked up in folders (when a rate is given or a dot sidecar describes them); ``.txt`` only by name."""
NOT_RECORDINGS = (
    "_events.tsv",
    "_channels.tsv",
    "_electrodes.tsv",
    "_scans.tsv",
    "_sessions.tsv",
    "participants.tsv",
    "confounds_timeseries.tsv",
    "_physio.tsv",
    "_stim.tsv",
)
"""Table names that are never recordings (BIDS sidecar tables, fMRIPrep confounds)."""

_KIND_OPTIONS = {
    "table": {"fs", "modality", "channels", *FMRI_CLEANING},
    "nifti": {"modality", "channels", *FMRI_READING, *FMRI_CLEANING},
    "nwb": {"modality", "channels", "series", "units_bin_width"},
    "raw": {"modality", "channels"},
    "bids-run": {"modality", "channels", *FMRI_READING, *FMRI_CLEANING},
    "bids-root": {"modality", "channels", *ENTITIES, *FMRI_READING, *FMRI_CLEANING},
    "remote": {"modality", "channels", "series", "units_bin_width"},
}
_KIND_NAMES = {
    "table": "a table",
    "nifti": "a NIfTI volume",
    "nwb": "an NWB file",
    "raw": "a raw EEG/MEG file",
    "bids-run": "a BIDS run",
    "bids-root": "a BIDS dataset",
    "remote": "a remote file",
}
_APPLIES_TO = {
    "fs": "the rate of TSV/CSV/NPY tables",
    "series": "NWB files",
    "units_bin_width": "NWB files with spike times",
    "task": "BIDS datasets",
    "run": "BIDS datasets",
    "acquisition": "BIDS datasets",
    "subject": "BIDS datasets",
    "session": "BIDS datasets",
    "atlas": "BOLD NIfTI volumes",
    "atlas_labels": "BOLD NIfTI volumes",
    "mask": "BOLD NIfTI volumes",
    "confounds": "fMRI recordings",
    "standardize": "fMRI recordings",
    "detrend": "fMRI recordings",
    "fd_threshold": "fMRI recordings",
}


@dataclass(frozen=True)
class SourceSpec:
    """One source, how to read it and which segment is its baseline (see the module docs).

    Parameters
    ----------
    source : str
        Path, URL, ``dandi:``/``openneuro:`` identifier, or BIDS root.
    fs : float, optional
        Sampling rate in Hz of a table (TSV/CSV/NPY).
    modality : str, optional
        ``eeg``, ``meg``, ``ieeg``, ``lfp``, ``spikes``, ``calcium``, ``fmri`` or ``other``;
        overrides what the file says.
    series : str, optional
        NWB: the series to read (name or path; ``units`` for the binned Units table).
    units_bin_width : float, optional
        NWB: bin spike times at this width in s.
    channels : tuple of str, optional
        Read only these channels (names, in this order).
    subject, session, task, run, acquisition : str, optional
        BIDS entities of the run; outside BIDS, ``subject``/``session`` name the dot's subject and session.
    labels : tuple of str
        Interval labels that mark the baseline, added to the vocabulary (e.g. ``("T0",)``).
    start, stop : float, optional
        The baseline in s (one side may be left to the recording's edge).
    whole : bool
        The whole recording is the baseline.
    allow_external_links : bool
        Follow links that leave the source (HDF5 external links, Zarr links, symbolic links out of a
        store); refused by default, naming the link.
    timeout : float, optional
        Seconds a remote read may take (default :data:`~adhesive_dots.io.remote.HTTP_TIMEOUT_S`).
    atlas, atlas_labels, mask : str, optional
        BOLD volumes: the atlas (3-D label image or 4-D probabilistic atlas), a TSV of ROI names
        (``index``, ``name``), a brain mask (NIfTI files).
    confounds : str, optional
        fMRI: confound strategy (:func:`adhesive_dots.io.fmri.parse_confounds`), kept as ``a+b+c``.
    standardize : str, optional
        fMRI: ``zscore`` or ``psc`` (percent signal change).
    detrend : bool
        fMRI: remove a linear trend.
    fd_threshold : float, optional
        fMRI scrubbing: framewise displacement in mm above which a volume is censored (default 0.5).
    key : str
        The name of the recording in results (the file actually read, e.g. a BIDS run's data
        file); defaults to ``source``.
    """

    source: str
    fs: float | None = None
    modality: str | None = None
    series: str | None = None
    units_bin_width: float | None = None
    channels: tuple[str, ...] | None = None
    subject: str | None = None
    session: str | None = None
    task: str | None = None
    run: str | None = None
    acquisition: str | None = None
    labels: tuple[str, ...] = ()
    start: float | None = None
    stop: float | None = None
    whole: bool = False
    allow_external_links: bool = False
    timeout: float | None = None
    atlas: str | None = None
    atlas_labels: str | None = None
    mask: str | None = None
    confounds: str | None = None
    standardize: str | None = None
    detrend: bool = False
    fd_threshold: float | None = None
    key: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "source", str(self.source))
        set_(self, "key", str(self.key or self.source))
        positive = ("fs", "units_bin_width", "timeout", "fd_threshold")
        for name in ("fs", "units_bin_width", "start", "stop", "timeout", "fd_threshold"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise DataError(f"{self._where()}{option(name)} must be a number, got {value!r}") from None
            if not math.isfinite(value) or (name in positive and value <= 0) or value < 0:
                what = "a positive number" if name in positive else "a number of seconds >= 0"
                raise DataError(f"{self._where()}{option(name)} must be {what}, got {value!r}")
            set_(self, name, value)
        if self.modality is not None:
            set_(self, "modality", check_modality(self.modality))
        for name in ("series", *ENTITIES):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, str(value))
        set_(self, "labels", tuple(str(w) for w in _as_tuple(self.labels) if str(w).strip()))
        channels = _as_tuple(self.channels)
        set_(self, "channels", tuple(str(c) for c in channels) if channels else None)
        for name in ("whole", "detrend", "allow_external_links"):  # flags; "false" in a --sources-from table is False
            value = getattr(self, name)
            set_(self, name, _boolean(value, self._where() + name) if isinstance(value, str) else bool(value))
        for name in ("atlas", "atlas_labels", "mask"):
            value = getattr(self, name)
            set_(self, name, str(value) if value not in (None, "") else None)
        components = parse_confounds(self.confounds)
        set_(self, "confounds", "+".join(components) if components else None)
        set_(self, "standardize", check_standardize(self.standardize))
        if self.whole and (self.start is not None or self.stop is not None):
            raise DataError(
                f"{self._where()}give either {option('whole', True)} or {option('start')}/{option('stop')}, not both"
            )
        if self.start is not None and self.stop is not None and self.stop <= self.start:
            raise DataError(
                f"{self._where()}{option('stop')} ({self.stop:g} s) must be after {option('start')} ({self.start:g} s)"
            )

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    # -- naming ------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The key, with the options that distinguish it (for messages and tables)."""
        options = self.options()
        options.pop("key", None)
        if not options:
            return self.key
        return self.key + " (" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"

    @property
    def is_remote(self) -> bool:
        return is_remote(self.source)

    @property
    def explicit_baseline(self) -> bool:
        """The user said where the baseline is (``start``/``stop`` or ``whole``)."""
        return self.whole or self.start is not None or self.stop is not None

    def replace(self, **changes: Any) -> SourceSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def options(self) -> dict[str, Any]:
        """Every field that differs from its default, except ``source`` (JSON-compatible)."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            if item.name == "source":
                continue
            value = getattr(self, item.name)
            if item.name == "key" and value == self.source:
                continue
            if value is not None and value != () and value is not False:
                out[item.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"source": ..., **options}`` (JSON-compatible; :meth:`from_dict` inverts it)."""
        return {"source": self.source, **self.options()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "source specification") -> SourceSpec:
        """A spec from a mapping of field names (unknown names are an error naming them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise DataError(f"{where}: unknown option(s) {unknown}; allowed: {sorted(names)}")
        if not data.get("source"):
            raise DataError(f"{where}: no source given")
        return cls(**data)

    @classmethod
    def for_dot(cls, metadata: DotMetadata, *, source: str | None = None) -> SourceSpec:
        """The spec that reads a stored dot again: its source, its reading options and its segment."""
        uri = source or metadata.identity.source_uri
        if not uri:
            raise DataError("this dot records no source (identity.source_uri); it cannot be read again")
        options = reading_options(metadata)
        spec = cls(str(uri), modality=options.get("modality"))
        kind = source_kind(spec)
        applies = _KIND_OPTIONS.get(kind, set())
        spec = spec.replace(**{k: v for k, v in options.items() if k in applies and k != "modality"})
        segment = metadata.segment
        if segment.start is not None and segment.stop is not None:
            spec = spec.replace(start=segment.start, stop=segment.stop)
        return spec

    # -- the bytes behind it -----------------------------------------------------------------
    def files(self) -> list[Path]:
        """The local files this source reads (a Zarr store's files, a BIDS run's files, its dot sidecar)."""
        if self.is_remote:
            return []
        path = Path(self.key)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        elif path.name.startswith("sub-") and "_" in path.name:
            stem = path.name.rsplit("_", 1)[0]  # sub-X[_ses-Y]_task-rest[_run-N]
            files = sorted(p for p in path.parent.iterdir() if p.name.startswith(stem + "_") and p.is_file())
        else:
            files = [path]
        sidecar = sidecar_path(path)
        return files + ([sidecar] if sidecar.is_file() and sidecar not in files else [])

    def content_hash(self) -> str:
        """``sha256:`` of the bytes behind a local source and of its reading options; ``""`` when remote."""
        if self.is_remote:
            return ""
        digest = hashlib.sha256()
        for path in self.files():
            if not path.is_file():  # missing, or a FIFO/device (never read: it could block)
                continue
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
        digest.update(json.dumps(self.options(), sort_keys=True).encode())
        return f"sha256:{digest.hexdigest()}"


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


def check_modality(value: Any) -> str:
    """``value`` as a :class:`~adhesive_dots.metadata.Modality` value; an error lists the allowed ones."""
    try:
        return Modality(str(value).strip().lower()).value
    except ValueError:
        allowed = ", ".join(m.value for m in Modality)
        raise DataError(f"{option('modality')} must be one of {allowed}; got {value!r}") from None


@dataclass(frozen=True)
class SourceProblem:
    """A named target that yields no recording: ``code`` is a validation check id."""

    source: str
    code: str  # "source.unreadable", "source.empty" or "baseline.exists"
    message: str
    fix: str = ""


@dataclass
class Expansion:
    """What :func:`expand_sources` found: the specs to open and the targets that yield none."""

    specs: list[SourceSpec] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:  # specs, problems = expand_sources(...)
        yield self.specs
        yield self.problems


# -- kinds of source -------------------------------------------------------------------------------
def source_kind(spec: SourceSpec) -> str:
    """``remote``, ``nwb`` (a file or Zarr store), ``bids-root``, ``bids-run``, ``raw``, ``table`` or ``folder``;
    ``missing`` when the path does not exist, ``unknown`` otherwise."""
    if spec.is_remote:
        return "remote"
    path = Path(spec.source).expanduser()
    if not path.exists() and not path.is_symlink():
        return "missing"
    name = path.name.lower()
    if path.is_dir():
        if name.endswith(".zarr"):
            return "nwb"
        if (path / "dataset_description.json").is_file():
            return "bids-root"
        if name.startswith("sub-") and name.endswith((".ds", ".mefd", ".mff")):
            return "bids-run"
        return "folder"
    if name.endswith(".nwb"):
        return "nwb"
    if name.startswith("sub-") and bids_run_of_file(path) is not None:
        return "bids-run"
    if name.endswith((*RAW_SUFFIXES, ".fif.gz")):
        return "raw"
    if name.endswith(TABLE_SUFFIXES):
        return "table"
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    return "unknown"


# -- expanding targets ---------------------------------------------------------------------------
def expand_sources(targets: Iterable[str | Path | SourceSpec], *, template: SourceSpec | None = None) -> Expansion:
    """Specs of the recordings named by ``targets``, and the problems of targets that yield none.

    Parameters
    ----------
    targets : iterable of str, Path or SourceSpec
        Files, folders (searched recursively), BIDS roots, globs (``data/*.edf``), URLs, archive
        ids, or specs (kept as they are).
    template : SourceSpec, optional
        Options for every source (its ``source`` is ignored): reading options, BIDS entity
        filters, the baseline choice.

    Returns
    -------
    Expansion
        Specs in the order given (folders sorted by path), each recording once; problems.
    """
    template = template or SourceSpec("")
    found = Expansion()
    for target in targets:
        if isinstance(target, SourceSpec):
            found.specs.append(target)
            continue
        text = str(target)
        if is_remote(text):
            found.specs.append(template.replace(source=text, key=""))
            continue
        path = Path(text).expanduser()
        if not path.exists() and not path.is_symlink() and glob.has_magic(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                found.problems.append(SourceProblem(text, "source.unreadable", f"{text}: the pattern matches no file"))
            for match in matches:
                _expand_path(Path(match), template, found)
            continue
        _expand_path(path, template, found)
    seen: set[str] = set()
    found.specs = [s for s in found.specs if not (s.key in seen or seen.add(s.key))]
    return found


def _expand_path(path: Path, template: SourceSpec, found: Expansion) -> None:
    text = str(path)
    spec = template.replace(source=text, key="")
    kind = source_kind(spec)
    if kind == "missing":
        found.problems.append(
            SourceProblem(
                text,
                "source.unreadable",
                f"{text}: no such file or folder",
                fix="check the path (relative paths start from the current folder)",
            )
        )
    elif kind == "bids-root":
        _expand_bids(path, template, found)
    elif kind == "folder":
        try:
            check_folder(path)
        except FormatError as err:
            found.problems.append(SourceProblem(text, "source.unreadable", str(err)))
            return
        before = len(found.specs), len(found.problems)
        _walk(path, template, found)
        if (len(found.specs), len(found.problems)) == before:
            tables = (
                "" if template.fs is not None else f"; tables (TSV/CSV/NPY) are picked up when {option('fs')} is given"
            )
            found.problems.append(
                SourceProblem(
                    text, "source.empty", f"{text}: folder holds no NWB file, BIDS dataset or raw recording{tables}"
                )
            )
    else:
        found.specs.append(spec)


def _expand_bids(root: Path, template: SourceSpec, found: Expansion) -> None:
    scan = scan_bids(root)
    entities = {k: getattr(template, k) for k in ENTITIES if getattr(template, k) is not None}
    runs = scan.select(**entities)
    if runs:
        clear = dict.fromkeys(ENTITIES)
        found.specs.extend(template.replace(source=str(r.data_path), key="", **clear) for r in runs)
        return
    if entities:
        asked = " ".join(option(k, v) for k, v in entities.items())
        message = f"{root}: no run matches {asked}; subjects: {', '.join(scan.subjects) or 'none'}; tasks: "
        message += ", ".join(scan.tasks) or "none"
    else:
        message = (
            f"{root}: BIDS dataset without a resting-state run (no task containing 'rest'); tasks present: "
            f"{', '.join(scan.tasks) or 'none'}"
        )
    found.problems.append(
        SourceProblem(str(root), "baseline.exists", message, fix=f"name the task of the baseline with {option('task')}")
    )


def _walk(folder: Path, template: SourceSpec, found: Expansion) -> None:
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in list(dirs):
            path = here / name
            if name.lower().endswith(".zarr"):
                found.specs.append(template.replace(source=str(path), key=""))
                dirs.remove(name)
            elif (path / "dataset_description.json").is_file():
                _expand_bids(path, template, found)  # its runs, found from its file names
                dirs.remove(name)
        for name in sorted(files):
            lower = name.lower()
            if name.startswith(".") or lower.endswith(SIDECAR_SUFFIX):
                continue
            path = here / name
            is_table = lower.endswith(FOLDER_TABLE_SUFFIXES) and not any(lower.endswith(n) for n in NOT_RECORDINGS)
            if is_table and template.fs is None and not sidecar_path(path).is_file():
                continue
            is_bold = lower.endswith(("_bold.nii", "_bold.nii.gz")) and template.atlas is not None
            if lower.endswith((".nwb", *RAW_SUFFIXES, ".fif.gz")) or is_table or is_bold:
                found.specs.append(template.replace(source=str(path), key=""))


def check_folder(folder: Path) -> None:
    """Raise :class:`~adhesive_dots.errors.FormatError` for a BIDS layout (``sub-*`` folders) without its
    ``dataset_description.json``: a dataset copied incompletely, not a folder of recordings."""
    if any(child.is_dir() and child.name.startswith("sub-") for child in folder.iterdir()):
        check_bids_root(folder)


def expand_one(
    target: str | Path | SourceSpec, *, template: SourceSpec | None = None, name: str = "SOURCE"
) -> SourceSpec:
    """The single recording ``target`` names (commands that take one source); an error lists several."""
    found = expand_sources([target], template=template)
    if not found.specs:
        problem = found.problems[0]
        raise SourceNotFoundError(problem.message + (f"; {problem.fix}" if problem.fix else ""))
    if len(found.specs) > 1:
        labels = ", ".join(Path(s.key).name for s in found.specs[:5]) + (" ..." if len(found.specs) > 5 else "")
        flags = ", ".join(option(k) for k in ("subject", "session", "run"))
        raise DataError(
            f"{name} {target} names {len(found.specs)} recordings ({labels}); name one file, or narrow a BIDS "
            f"dataset with {flags}"
        )
    return found.specs[0]


def read_sources_table(path: str | Path, *, template: SourceSpec | None = None) -> list[SourceSpec]:
    """The specs of a ``--sources-from`` table: TSV or CSV, a ``source`` column plus any option as a column.

    Empty cells leave an option to ``template`` (the command line); ``labels`` and ``channels``
    take comma-separated words; ``whole`` takes true/false/1/0/yes/no. Relative sources are
    relative to the table's folder.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceNotFoundError(f"{path}: no such sources table (--sources-from)")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: the sources table is not UTF-8 text") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise FormatError(f"{path}: not a readable {'CSV' if sep == ',' else 'TSV'} table ({err})") from None
    frame.columns = [str(c).strip().replace("-", "_") for c in frame.columns]
    if "source" not in frame.columns:
        raise DataError(f"{path}: the sources table needs a 'source' column; it has {list(frame.columns)}")
    allowed = set(READING_OPTIONS) | set(BASELINE_OPTIONS) | {"source", "label"}
    unknown = sorted(set(frame.columns) - allowed)
    if unknown:
        columns = ", ".join(sorted(allowed - {"source"}))
        raise DataError(f"{path}: unknown column(s) {unknown}; allowed: source, {columns}")
    template = template or SourceSpec("")
    specs = []
    for number, row in enumerate(frame.to_dict("records"), start=2):
        values = {k.replace("label", "labels") if k == "label" else k: v.strip() for k, v in row.items() if v.strip()}
        source = values.pop("source", "")
        if not source:
            raise DataError(f"{path}, line {number}: empty source")
        if not is_remote(source) and not Path(source).expanduser().is_absolute():
            source = str(path.parent / source)
        for flag in ("whole", "detrend"):
            if flag in values:
                values[flag] = _boolean(values[flag], f"{path}, line {number}: {flag}")
        for name in ("atlas", "atlas_labels", "mask"):
            if name in values and not Path(values[name]).expanduser().is_absolute():
                values[name] = str(path.parent / values[name])
        try:
            specs.append(template.replace(source=source, key="", **values))
        except DataError as err:
            raise DataError(f"{path}, line {number}: {err}") from None
    return specs


def _boolean(text: str, where: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "y"):
        return True
    if lowered in ("false", "0", "no", "n"):
        return False
    raise DataError(f"{where} must be true or false, got {text!r}")


# -- resolving a spec ------------------------------------------------------------------------------
@dataclass
class Resolved:
    """An opened source: its recording, its candidate baselines (best first), and notes for the user.

    Use it as a context manager to close the recording. ``present`` is False for a BIDS run whose
    data were not fetched: the recording is then described by its sidecars, and reading samples
    raises :class:`~adhesive_dots.errors.DataNotPresentError`.
    """

    spec: SourceSpec
    recording: Recording
    candidates: list[Baseline]
    notes: list[str] = field(default_factory=list)
    present: bool = True
    sidecar: Path | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def baseline(self) -> Baseline:
        """The best candidate; :class:`BaselineNotFoundError` saying how to name one when there is none."""
        if self.candidates:
            return self.candidates[0]
        words = (*SPONTANEOUS_VOCABULARY, *self.spec.labels)
        raise BaselineNotFoundError(
            f"{self.recording.source}: no interval marks spontaneous activity (vocabulary: {', '.join(words)}). "
            f"{describe_intervals(self.recording)}. Say where the baseline is: {option('labels', 'WORD')} (a label "
            f"above), {option('start', 'S')} {option('stop', 'S')}, or {option('whole', True)} (the whole recording); "
            "or record it once with `adots annotate`"
        )

    def distinct(self) -> list[Baseline]:
        """Candidates in order of preference, dropping any that overlaps one already kept."""
        kept: list[Baseline] = []
        for baseline in self.candidates:
            a0, a1 = baseline.segment.start, baseline.segment.stop
            if all(a1 <= b.segment.start or a0 >= b.segment.stop for b in kept):
                kept.append(baseline)
        return kept

    def close(self) -> None:
        self.recording.close()

    def __enter__(self) -> Resolved:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve(spec: SourceSpec | str | Path) -> Resolved:
    """Open ``spec``'s recording and find its candidate baselines (see the module docs).

    Raises
    ------
    SourceNotFoundError, FormatError, UnsupportedSourceError, RemoteError, DataError
        From the readers; each names the source, the problem and the fix.
    UnitsBinWidthRequired
        An NWB file holds spike times only and no bin width was given or recorded.
    """
    spec = spec if isinstance(spec, SourceSpec) else SourceSpec(str(spec))
    kind = source_kind(spec)
    if kind == "missing":
        raise SourceNotFoundError(f"{spec.source}: no such file or folder; check the path")
    if kind == "folder":
        check_folder(Path(spec.source))
        raise DataError(
            f"{spec.source}: a folder that is not a BIDS dataset or NWB Zarr store; name one file in it "
            "(commands that take several sources search folders)"
        )
    notes: list[str] = []
    run = _bids_run(spec, kind)
    key = str(run.data_path) if run is not None else spec.key
    where = Path(key) if not spec.is_remote else None
    stored = read_dot_sidecar(where) if where is not None else None
    options = _open_options(spec, kind, stored, notes)
    present = True
    if run is not None and not run.present:
        recording, present = placeholder_recording(run), False
    elif run is not None:
        bold = {k: v for k, v in options.items() if k in FMRI_READING} if run.kind == "bold" else {}
        recording = open_recording(str(run.data_path), **bold)
    else:
        safety = {"allow_external_links": spec.allow_external_links, "timeout": spec.timeout}
        recording = open_recording(spec.source, **options, **safety)
    if run is not None:  # physiology recorded beside the run (cardiac, respiratory ...): arousal signals
        physio = physio_signals(run)
        if physio:
            recording.signals = {**recording.signals, **physio}
            recording.metadata = DotMetadata.from_dict(
                overlay(recording.metadata.model_dump(mode="json", exclude_none=True), describe_physio(physio)),
                source=recording.source,
            )
    try:
        notes.extend(recording.problems)
        recording = _describe(recording, spec, kind, options, stored, notes)
        candidates = _candidates(recording, spec, stored, sidecar_path(where) if stored is not None else None)
    except BaseException:
        recording.close()
        raise
    used = {k: v for k, v in options.items() if k in ("fs", "series", "units_bin_width")}
    resolved_spec = spec.replace(key=key, **used)
    return Resolved(
        resolved_spec, recording, candidates, notes, present, sidecar_path(where) if stored is not None else None
    )


def _bids_run(spec: SourceSpec, kind: str) -> BIDSRun | None:
    if kind == "bids-run":
        return bids_run_of_file(Path(spec.source))
    if kind == "bids-root":
        return find_run(spec.source, **{k: getattr(spec, k) for k in ENTITIES})
    return None


def _open_options(spec: SourceSpec, kind: str, stored: DotMetadata | None, notes: list[str]) -> dict[str, Any]:
    """The options for :func:`open_recording`: the spec's where they apply, else the sidecar's; notes for the rest."""
    applies = _KIND_OPTIONS.get(kind, set())
    if kind == "remote" and not spec.source.split("?")[0].lower().endswith(".nwb"):
        applies = applies - {"series", "units_bin_width"}
    recorded = reading_options(stored) if stored is not None else {}
    out: dict[str, Any] = {}
    for name in ("fs", "series", "units_bin_width", *ENTITIES, *FMRI_READING):
        given, kept = getattr(spec, name), recorded.get(name)
        if given is not None and name not in applies:
            if kind in ("table", "nwb", "raw", "bids-run", "remote") and name in ("subject", "session"):
                continue  # outside BIDS they name the dot's subject and session (see _describe)
            notes.append(
                f"{option(name, given)} does not apply to {_KIND_NAMES.get(kind, kind)} "
                f"({_APPLIES_TO.get(name, 'other sources')}); ignored"
            )
            continue
        if given is not None and kept is not None and name in applies and not _same(given, kept):
            shown = f"{kept:g}" if isinstance(kept, float) else repr(kept)
            notes.append(f"{option(name, given)} overrides {shown} recorded in {sidecar_path(spec.key).name}")
        value = given if given is not None else kept if name in applies else None
        if value is not None and name in applies:
            out[name] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return a == b


def _describe(
    recording: Recording,
    spec: SourceSpec,
    kind: str,
    options: dict[str, Any],
    stored: DotMetadata | None,
    notes: list[str],
) -> Recording:
    """Apply what the spec and the sidecar say beyond reading: metadata, modality, channels, reading options."""
    metadata = recording.metadata.model_dump(mode="json", exclude_none=True)
    if stored is not None:
        dot = stored.model_dump(mode="json", exclude_none=True)
        dot.pop("segment", None)  # the segment becomes a candidate baseline, not the recording's metadata
        metadata = overlay(metadata, dot)
    reading: dict[str, Any] = {}
    if recording.modality is Modality.SPIKES and recording.spikes is not None:  # binned spike times
        reading = {"units_bin_width": options.get("units_bin_width") or 1.0 / recording.fs, "series": "units"}
    elif options.get("series") is not None:
        reading = {"series": options["series"]}
    modality = spec.modality or (
        stored.recording.modality.value if stored is not None and stored.recording.modality is not None else None
    )
    if spec.modality is not None and stored is not None and stored.recording.modality is not None:
        if stored.recording.modality.value != spec.modality:
            notes.append(
                f"{option('modality', spec.modality)} overrides {stored.recording.modality.value!r} recorded "
                f"in {sidecar_path(spec.key).name}"
            )
    if modality is not None:
        recording.modality = Modality(modality)
    reading["modality"] = recording.modality.value  # what the dot is read as, recorded for every source
    metadata = overlay(metadata, {"recording": {"sampling_frequency": recording.fs, **reading}})
    if kind not in ("bids-root", "bids-run"):
        identity = {k: v for k, v in (("subject_id", spec.subject), ("session_id", spec.session)) if v is not None}
        if identity:
            metadata = overlay(metadata, {"identity": identity, "subject": {"subject_id": spec.subject}})
    recording.metadata = DotMetadata.from_dict(metadata, source=recording.source)
    fmri = recording.modality is Modality.FMRI
    if fmri and kind in ("table", "bids-run", "bids-root") and CONFOUND_SIGNAL not in recording.signals:
        recording = split_confound_columns(recording)  # nuisance columns (WM, CSF, ...) are confounds, not ROIs
    if spec.channels:
        recording = recording.select_channels(list(spec.channels))
    cleaning = {k: getattr(spec, k) for k in FMRI_CLEANING if getattr(spec, k) not in (None, False)}
    if cleaning and not fmri:
        notes.append(
            f"{', '.join(option(k) for k in cleaning)} apply to fMRI recordings (this one is read as "
            f"{recording.modality.value}; give {option('modality', 'fmri')}); ignored"
        )
    elif cleaning:
        recording, done = clean_fmri(
            recording,
            confounds=spec.confounds,
            standardize=spec.standardize,
            detrend=spec.detrend,
            fd_threshold=spec.fd_threshold,
        )
        recording.metadata = add_preprocessing(recording.metadata, done.describe(), source=recording.source)
    return recording


def _candidates(
    recording: Recording, spec: SourceSpec, stored: DotMetadata | None, sidecar: Path | None
) -> list[Baseline]:
    """Candidate baselines, best first: the user's segment (and only it), else the sidecar's dot, then the
    marked intervals."""
    if spec.whole:
        whole = Segment.between(
            recording.t0, recording.t0 + recording.duration, evidence="whole recording", label="whole"
        )
        if recording.n_times == 0:
            return []
        return [baseline_of(recording, whole)]
    vocabulary = (*SPONTANEOUS_VOCABULARY, *spec.labels)
    if spec.start is not None or spec.stop is not None:
        return find_baselines(recording, vocabulary=vocabulary, start=spec.start, stop=spec.stop)[:1]
    found: list[Baseline] = []
    if stored is not None and stored.segment.start is not None and stored.segment.stop is not None:
        found.append(baseline_of(recording, _stored_segment(stored, sidecar)))
    for baseline in find_baselines(recording, vocabulary=vocabulary):
        if not any(b.segment.pieces == baseline.segment.pieces for b in found):
            found.append(baseline)
    return found


def _stored_segment(stored: DotMetadata, sidecar: Path | None) -> Segment:
    segment = stored.segment
    edges = [segment.start]
    for gap_start, gap_stop in segment.gaps:
        edges.extend([gap_start, gap_stop])
    edges.append(segment.stop)
    pieces = tuple((float(edges[i]), float(edges[i + 1])) for i in range(0, len(edges), 2))
    name = sidecar.name if sidecar is not None else "dot sidecar"
    return Segment(pieces, evidence=f"the dot recorded in {name}", label=DOT_TABLE)


def open_baseline(spec: SourceSpec | str | Path) -> tuple[Resolved, Baseline]:
    """``resolve(spec)`` and its best baseline (the recording is closed when that raises)."""
    resolved = resolve(spec)
    try:
        return resolved, resolved.baseline
    except BaseException:
        resolved.close()
        raise


__all__ = [
    "BASELINE_OPTIONS",
    "READING_OPTIONS",
    "Expansion",
    "Resolved",
    "SourceProblem",
    "SourceSpec",
    "check_folder",
    "check_modality",
    "expand_one",
    "expand_sources",
    "open_baseline",
    "read_sources_table",
    "resolve",
    "source_kind",
]
