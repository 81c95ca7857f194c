"""Resting-state fMRI: BOLD NIfTI runs to ROI time series, confound tables, confound regression.

Reading (:func:`read_bold`)
    A 4-D BOLD volume (``*_bold.nii[.gz]``, a BIDS ``func/`` run or an fMRIPrep
    ``*_desc-preproc_bold.nii.gz``) is read with nibabel; its ROI time series are extracted with
    nilearn's maskers from an atlas file the user has (no download): a 3-D label image
    (``NiftiLabelsMasker``; ROI names from an optional labels TSV with ``index`` and ``name``
    columns, as BIDS ``*_dseg.tsv``) or a 4-D probabilistic atlas (``NiftiMapsMasker``; one map per
    ROI, names from the TSV's rows in order). An optional brain mask restricts the voxels. The
    repetition time comes from the sidecar (``RepetitionTime``, else ``VolumeTiming``), else from
    the header (``pixdim[4]`` in its time unit); a volume without either is refused. Both are kept as
    ``recording.repetition_times`` (``{"used": s, "header": s or None}``) for the check
    ``fmri.repetition_time``. Extraction runs once, at the first read.

Confounds
    An fMRIPrep confounds table beside the BOLD file (``*_desc-confounds_timeseries.tsv``, found by
    dropping the ``space``, ``res``, ``den`` and ``desc`` entities) and the nuisance columns of an ROI
    table (``WM``, ``Vent``, ``Brain``, ``white_matter``, ``csf``, ``global_signal``, ``trans_x`` ...,
    ``framewise_displacement``; see :data:`CONFOUND_ALIASES`) become the auxiliary signal
    ``"confounds"`` of the recording -- never ROIs, never fingerprinted -- and the framewise
    displacement, when there is one, also the signal ``"framewise_displacement"`` (mm; what the
    motion check of ``validate`` reads).

Confound regression (:func:`clean_fmri`)
    ``confounds`` names a strategy after nilearn's ``load_confounds``: a preset alone (``simple``:
    motion + wm_csf; ``scrubbing``: simple + scrubbing) or components joined by ``+`` or ``,``
    (``motion`` 6 rigid-body parameters; ``wm_csf`` white matter and CSF means; ``global_signal``;
    ``scrubbing``: volumes whose framewise displacement exceeds ``fd_threshold`` mm are left out of
    the fit and then filled by linear interpolation from their neighbours, so the series keeps its
    regular sampling). The regression, detrending and standardisation are nilearn's
    ``signal.clean`` (no filtering). What was done is recorded in the dot
    (``recording.preprocessing``).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import DataError, FormatError, option
from adhesive_dots.metadata import DotMetadata

FMRI_OPTIONS = ("atlas", "atlas_labels", "mask", "confounds", "standardize", "detrend", "fd_threshold")
"""Reading options of BOLD runs and fMRI ROI series (fields of :class:`~adhesive_dots.io.sources.SourceSpec`)."""

CONFOUND_SIGNAL = "confounds"
"""Name of the auxiliary signal holding the confounds (``recording.signals``)."""

FD_SIGNAL = "framewise_displacement"
"""Name of the auxiliary signal holding the framewise displacement (mm) when the confounds have it."""

DEFAULT_FD_THRESHOLD = 0.5
"""Framewise displacement (mm) above which scrubbing censors a volume (nilearn ``load_confounds``'s default)."""

MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
"""fMRIPrep's six rigid-body motion parameters (mm, rad)."""

COMPONENTS: dict[str, tuple[str, ...]] = {
    "motion": MOTION_COLUMNS,
    "wm_csf": ("white_matter", "csf"),
    "global_signal": ("global_signal",),
    "scrubbing": ("framewise_displacement",),
}
"""Strategy components and the (canonical) confound columns they need."""

PRESETS: dict[str, tuple[str, ...]] = {
    "simple": ("motion", "wm_csf"),
    "scrubbing": ("motion", "wm_csf", "scrubbing"),
    "none": (),
}
"""Named strategies (after nilearn's ``load_confounds_strategy``, without filtering)."""

CONFOUND_ALIASES: dict[str, tuple[str, ...]] = {
    "white_matter": ("white_matter", "wm", "whitematter"),
    "csf": ("csf", "vent", "ventricles"),
    "global_signal": ("global_signal", "brain", "global", "gs"),
    "framewise_displacement": ("framewise_displacement", "fd"),
    **{name: (name,) for name in MOTION_COLUMNS},
}
"""Canonical confound name -> column names (lower case) that carry it in a table."""

STANDARDIZE = {"zscore": "zscore_sample", "psc": "psc"}
"""``--standardize`` values and nilearn's names for them."""


# -- options ---------------------------------------------------------------------------------------
def parse_confounds(text: str | None) -> tuple[str, ...]:
    """The components of a confound strategy (``"simple"``, ``"motion+wm_csf"``, ``"motion,scrubbing"``).

    Raises
    ------
    DataError
        An unknown preset or component (the message lists the allowed ones).
    """
    if text is None or not str(text).strip():
        return ()
    words = [w.strip().lower() for w in re.split(r"[+,\s]+", str(text)) if w.strip()]
    out: list[str] = []
    for word in words:
        parts = PRESETS.get(word, (word,)) if len(words) == 1 else (word,)  # "scrubbing" alone is the preset
        for part in parts:
            if part not in COMPONENTS:
                allowed = ", ".join([*PRESETS, *COMPONENTS])
                raise DataError(f"{option('confounds', text)}: unknown strategy {word!r}; allowed: {allowed}")
            if part not in out:
                out.append(part)
    return tuple(out)


def check_standardize(value: Any) -> str | None:
    """``None`` (keep the scale), ``"zscore"`` or ``"psc"`` (percent signal change)."""
    if value is None or value is False or str(value).lower() in ("", "none", "false", "no", "0"):
        return None
    text = str(value).lower()
    if text in ("true", "yes", "1"):
        text = "zscore"
    if text not in STANDARDIZE:
        raise DataError(f"{option('standardize')} must be none, zscore or psc; got {value!r}")
    return text


# -- reading BOLD ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Atlas:
    """An atlas file: a 3-D label image or a 4-D probabilistic atlas, with optional ROI names."""

    path: Path
    labels: Path | None = None

    def names(self, ids: list[int] | None, n_maps: int | None) -> list[str]:
        """ROI names for label ``ids`` (label image) or ``n_maps`` maps (probabilistic)."""
        table = _read_labels(self.labels) if self.labels is not None else {}
        if ids is not None:
            return [table.get(i, f"roi{i:03d}") for i in ids]
        listed = list(table.values())
        if table and len(listed) != n_maps:
            raise DataError(f"{self.labels}: {len(listed)} ROI names for the {n_maps} maps of {self.path.name}")
        return listed or [f"roi{i:03d}" for i in range(n_maps or 0)]


def _read_labels(path: Path) -> dict[int, str]:
    """``{index: name}`` of a labels TSV (columns ``index`` and ``name``; or two columns without a header)."""
    if not path.is_file():
        raise DataError(f"{path}: no such atlas labels file ({option('atlas_labels')})")
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise FormatError(f"{path}: not a readable labels TSV ({err})") from None
    columns = [c.lower() for c in frame.columns]
    if "index" in columns and "name" in columns:
        index, name = frame.iloc[:, columns.index("index")], frame.iloc[:, columns.index("name")]
    else:
        raise DataError(f"{path}: the atlas labels TSV needs 'index' and 'name' columns; it has {list(frame.columns)}")
    try:
        return {int(i): str(n) for i, n in zip(index, name, strict=True)}
    except ValueError:
        raise DataError(f"{path}: the 'index' column must hold integers") from None


def bold_repetition_time(path: Path, sidecar: dict[str, Any] | None = None) -> tuple[float, float | None]:
    """The repetition time in s of a BOLD file (sidecar first, else header) and the header's own (or None).

    Raises
    ------
    DataError
        Neither the sidecar nor the header gives a positive repetition time.
    """
    import nibabel as nib

    image = nib.load(str(path))
    header_tr = None
    if len(image.shape) == 4:
        zoom = float(image.header.get_zooms()[3])
        unit = image.header.get_xyzt_units()[1] if hasattr(image.header, "get_xyzt_units") else "sec"
        scale = {"msec": 1e-3, "usec": 1e-6}.get(unit, 1.0)
        header_tr = zoom * scale if zoom > 0 else None
    sidecar = sidecar or {}
    value = sidecar.get("RepetitionTime")
    if isinstance(value, int | float) and value > 0:
        return float(value), header_tr
    timing = sidecar.get("VolumeTiming")
    if isinstance(timing, list) and len(timing) > 2:
        steps = np.diff(np.asarray(timing, dtype=float))
        if np.all(steps > 0):
            return float(np.median(steps)), header_tr
    if header_tr is None:
        raise DataError(
            f"{path}: no repetition time (no RepetitionTime or VolumeTiming in its sidecar, and pixdim[4] of the "
            "header is 0); add RepetitionTime (s) to its JSON sidecar"
        )
    return header_tr, header_tr


def atlas_needed() -> str:
    """Why a BOLD volume without an atlas gives no series, and which option to give (in the caller's words)."""
    return (
        f"a BOLD volume is read as ROI time series, which needs an atlas; give {option('atlas', 'labels.nii.gz')} "
        f"(a label image or a 4-D probabilistic atlas you have), optionally {option('atlas_labels', 'labels.tsv')}"
    )


def sidecar_beside(path: Path) -> dict[str, Any]:
    """The JSON sidecar with the NIfTI file's stem (``x_bold.nii.gz`` -> ``x_bold.json``), or ``{}``."""
    from adhesive_dots.io.bids import read_sidecar

    name = path.name[: -len(".nii.gz")] if path.name.lower().endswith(".nii.gz") else path.stem
    sidecar = path.with_name(name + ".json")
    return read_sidecar(sidecar) if sidecar.is_file() else {}


def bold_header(path: Path, sidecar: dict[str, Any] | None = None, *, source: str | None = None) -> dict[str, Any]:
    """What a BOLD NIfTI's header says, without reading a voxel: ``shape`` (x, y, z voxels), ``n_volumes``,
    ``voxel_mm`` (x, y, z), ``tr_s`` (the sidecar's, else the header's; None when neither gives one),
    ``tr_from`` (``"sidecar"``, ``"header"`` or None) and ``duration_s`` (volumes x TR, or None)."""
    import nibabel as nib

    source = str(source or path)
    try:
        image = nib.load(str(path))
    except Exception as err:  # nibabel raises ImageFileError, OSError, ValueError ...
        raise FormatError(f"{source}: nibabel cannot read it ({type(err).__name__}: {err})") from err
    if len(image.shape) != 4:
        raise DataError(f"{source}: a BOLD run is a 4-D volume (x, y, z, time); got shape {image.shape}")
    try:
        tr, header_tr = bold_repetition_time(path, sidecar)
    except DataError:
        tr, header_tr = None, None
    n_volumes = int(image.shape[3])
    return {
        "shape": [int(n) for n in image.shape[:3]],
        "n_volumes": n_volumes,
        "voxel_mm": [round(float(z), 4) for z in image.header.get_zooms()[:3]],
        "tr_s": tr,
        "tr_from": None if tr is None else ("header" if header_tr is not None and tr == header_tr else "sidecar"),
        "duration_s": None if tr is None else n_volumes * tr,
    }


def bold_duration(path: Path, sidecar: dict[str, Any] | None = None) -> float | None:
    """Duration in s of a BOLD run from its header alone (volumes x repetition time); None when unreadable."""
    import nibabel as nib

    try:
        shape = nib.load(str(path)).shape
        tr, _ = bold_repetition_time(path, sidecar)
    except (DataError, OSError, ValueError, nib.filebasedimages.ImageFileError):
        return None
    return float(shape[3] * tr) if len(shape) == 4 else None


def confounds_table_of(path: Path) -> Path | None:
    """The fMRIPrep confounds table of a BOLD file (same entities less space/res/den/desc), when it exists."""
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    parts = [p for p in name.split("_") if not p.startswith(("space-", "res-", "den-", "desc-")) and p != "bold"]
    candidate = path.with_name("_".join([*parts, "desc-confounds_timeseries.tsv"]))
    return candidate if candidate.is_file() else None


def read_confounds_table(path: Path, *, n_volumes: int | None = None) -> pd.DataFrame:
    """An fMRIPrep confounds table (``n/a`` as NaN); ``n_volumes`` rows are required when given."""
    try:
        frame = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise FormatError(f"{path}: not a readable confounds TSV ({err})") from None
    if n_volumes is not None and len(frame) != n_volumes:
        raise DataError(f"{path}: {len(frame)} rows of confounds for {n_volumes} volumes of the BOLD run")
    return frame


def read_bold(
    path: str | Path,
    *,
    atlas: str | Path | None = None,
    atlas_labels: str | Path | None = None,
    mask: str | Path | None = None,
    sidecar: dict[str, Any] | None = None,
    source: str | None = None,
    metadata: Any = None,
    intervals: pd.DataFrame | None = None,
) -> Recording:
    """Open a 4-D BOLD NIfTI as ROI time series ``(n_rois, n_volumes)`` at ``fs = 1 / TR`` Hz (see the module docs).

    Only the header is read here; the masker runs at the first read. The confounds table beside an
    fMRIPrep BOLD file becomes the signal ``"confounds"`` (one channel per column, at the same rate).
    """
    import nibabel as nib

    path = Path(path)
    source = str(source or path)
    if atlas is None:
        raise DataError(f"{source}: {atlas_needed()}")
    atlas_path = Path(atlas)
    if not atlas_path.is_file():
        raise DataError(f"{atlas_path}: no such atlas file ({option('atlas')})")
    if mask is not None and not Path(mask).is_file():
        raise DataError(f"{mask}: no such mask file ({option('mask')})")
    try:
        image = nib.load(str(path))
        atlas_image = nib.load(str(atlas_path))
    except Exception as err:  # nibabel raises ImageFileError, OSError, ValueError ...
        raise FormatError(f"{source}: nibabel cannot read it or its atlas ({type(err).__name__}: {err})") from err
    if len(image.shape) != 4:
        raise DataError(f"{source}: a BOLD run is a 4-D volume (x, y, z, time); got shape {image.shape}")
    if len(atlas_image.shape) not in (3, 4):
        raise DataError(f"{atlas_path}: an atlas is a 3-D label image or a 4-D set of maps; shape {atlas_image.shape}")
    tr, header_tr = bold_repetition_time(path, sidecar)
    n_volumes = int(image.shape[3])
    atlas_spec = Atlas(atlas_path, Path(atlas_labels) if atlas_labels is not None else None)
    probabilistic = len(atlas_image.shape) == 4
    if probabilistic:
        names = atlas_spec.names(None, int(atlas_image.shape[3]))
    else:
        values = np.unique(np.asarray(atlas_image.dataobj))
        ids = [int(v) for v in values if v != 0 and float(v).is_integer()]
        if not ids:
            raise DataError(f"{atlas_path}: the label image holds no label other than 0 (background)")
        names = atlas_spec.names(ids, None)
    cache: dict[str, np.ndarray] = {}

    def extract() -> np.ndarray:
        if "data" not in cache:
            from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker

            masker_class = NiftiMapsMasker if probabilistic else NiftiLabelsMasker
            key = "maps_img" if probabilistic else "labels_img"
            masker = masker_class(
                **{key: str(atlas_path)},
                mask_img=str(mask) if mask is not None else None,
                standardize=None,
                detrend=False,
                t_r=tr,
                resampling_target="data",
            )
            try:
                with warnings.catch_warnings():  # masked-out labels: our own error below names the file
                    warnings.filterwarnings("ignore", message=".*labels were removed", category=UserWarning)
                    series = masker.fit_transform(str(path))
            except Exception as err:  # nilearn raises many kinds for mismatched images
                raise FormatError(
                    f"{source}: nilearn could not extract ROI time series with atlas {atlas_path.name} "
                    f"({type(err).__name__}: {err})"
                ) from err
            series = np.asarray(series, dtype=np.float64).T
            if series.shape != (len(names), n_volumes):
                raise DataError(
                    f"{source}: atlas {atlas_path.name} gave {series.shape[0]} ROI series for {len(names)} labels; "
                    "some ROIs lie outside the BOLD field of view or the mask"
                )
            cache["data"] = series
        return cache["data"]

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        return extract()[index, i0:i1]

    signals: dict[str, Recording] = {}
    table = confounds_table_of(path)
    if table is not None:
        frame = read_confounds_table(table, n_volumes=n_volumes)
        signals = confound_signals(_frame_recording(frame, fs=1.0 / tr, source=str(table)))
    kwargs = {"metadata": metadata} if metadata is not None else {}
    recording = Recording(
        source,
        fs=1.0 / tr,
        channel_names=names,
        n_times=n_volumes,
        reader=reader,
        modality="fmri",
        units="BOLD (scanner units)",
        intervals=intervals,
        signals=signals,
        **kwargs,
    )
    recording.repetition_times = {"used": tr, "header": header_tr}
    masker = "NiftiMapsMasker" if probabilistic else "NiftiLabelsMasker"
    extraction = (
        f"ROI time series: atlas {atlas_path.name} ({'4-D maps' if probabilistic else '3-D labels'}, {len(names)} "
        f"ROIs, sha256 {_sha256(atlas_path)[:16]})" + (f", mask {Path(mask).name}" if mask is not None else "")
    )
    recording.metadata = add_preprocessing(recording.metadata, f"{extraction} (nilearn {masker})", source=source)
    return recording


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def add_preprocessing(metadata: DotMetadata, step: str, *, source: str) -> DotMetadata:
    """``metadata`` with ``step`` appended to ``recording.preprocessing`` (steps joined by ``"; "``)."""
    done = metadata.recording.preprocessing
    record = metadata.model_dump(mode="json", exclude_none=True)
    record.setdefault("recording", {})["preprocessing"] = f"{done}; {step}" if done else step
    return DotMetadata.from_dict(record, source=source)


def confound_signals(confounds: Recording) -> dict[str, Recording]:
    """``{"confounds": confounds}``, plus ``"framewise_displacement"`` (one channel, mm) when a column carries it."""
    out = {CONFOUND_SIGNAL: confounds}
    for name in confounds.channel_names:
        if canonical_confound(name) == "framewise_displacement":
            out[FD_SIGNAL] = confounds.select_channels([name])
            break
    return out


def _frame_recording(frame: pd.DataFrame, *, fs: float, source: str) -> Recording:
    values = frame.to_numpy(dtype=np.float64).T
    return Recording.from_array(values, fs, channel_names=[str(c) for c in frame.columns], source=source)


# -- confounds of ROI tables -----------------------------------------------------------------------
def canonical_confound(name: str) -> str | None:
    """The canonical confound a column name carries (``"WM"`` -> ``"white_matter"``), else None."""
    lowered = name.strip().lower()
    for canonical, aliases in CONFOUND_ALIASES.items():
        if lowered in aliases:
            return canonical
    return None


def split_confound_columns(recording: Recording) -> Recording:
    """``recording`` without its nuisance columns (:data:`CONFOUND_ALIASES`), which become its ``"confounds"``
    signal; the recording itself when it has none or already has confounds."""
    names = list(recording.channel_names)
    nuisance = [i for i, n in enumerate(names) if canonical_confound(n) is not None]
    if not nuisance or CONFOUND_SIGNAL in recording.signals or len(nuisance) == len(names):
        return recording
    rois = [i for i in range(len(names)) if i not in nuisance]
    values = recording.read(channels=[names[i] for i in nuisance])
    confounds = Recording.from_array(
        values, recording.fs, channel_names=[names[i] for i in nuisance], source=recording.source
    )
    kept = recording.select_channels([names[i] for i in rois])
    kept.signals = {**recording.signals, **confound_signals(confounds)}
    return kept


def confound_columns(available: list[str], components: tuple[str, ...], *, source: str) -> dict[str, str]:
    """``{canonical: column}`` of the regressors ``components`` need among ``available`` columns."""
    by_canonical: dict[str, str] = {}
    for column in available:
        canonical = canonical_confound(column)
        if canonical is not None and canonical not in by_canonical:
            by_canonical[canonical] = column
    out: dict[str, str] = {}
    for component in components:
        missing = [c for c in COMPONENTS[component] if c not in by_canonical]
        if missing:
            raise DataError(
                f"{source}: the confound strategy {component!r} needs {', '.join(missing)}; the confounds hold "
                f"{', '.join(available) or 'nothing'}"
            )
        for canonical in COMPONENTS[component]:
            out[canonical] = by_canonical[canonical]
    return out


@dataclass(frozen=True)
class Cleaning:
    """What :func:`clean_fmri` did: strategy components, regressors, volumes censored, options."""

    components: tuple[str, ...]
    regressors: tuple[str, ...]
    n_volumes: int
    n_censored: int
    fd_threshold: float
    standardize: str | None
    detrend: bool

    def describe(self) -> str:
        """One line for ``recording.preprocessing`` of the dot."""
        import nilearn

        parts = []
        if self.components:
            parts.append("confounds " + "+".join(self.components) + f" ({', '.join(self.regressors)})")
        if "scrubbing" in self.components:
            parts.append(
                f"scrubbing FD > {self.fd_threshold:g} mm: {self.n_censored} of {self.n_volumes} volumes censored "
                "and interpolated"
            )
        if self.detrend:
            parts.append("linear detrend")
        if self.standardize:
            parts.append(f"standardize {self.standardize}")
        return "; ".join(parts) + f" (nilearn {nilearn.__version__} signal.clean)"


def clean_fmri(
    recording: Recording,
    *,
    confounds: str | tuple[str, ...] | None = None,
    standardize: str | None = None,
    detrend: bool = False,
    fd_threshold: float | None = None,
) -> tuple[Recording, Cleaning]:
    """Regress confounds out of an fMRI recording, detrend and standardise it (nilearn ``signal.clean``).

    Parameters
    ----------
    recording : Recording
        ROI time series ``(n_rois, n_volumes)`` with a ``"confounds"`` signal when a strategy is given.
    confounds : str or tuple of str, optional
        A strategy (:func:`parse_confounds`).
    standardize : {None, "zscore", "psc"}
    detrend : bool
        Remove a linear trend.
    fd_threshold : float, optional
        Scrubbing threshold in mm (default :data:`DEFAULT_FD_THRESHOLD`).

    Returns
    -------
    Recording, Cleaning
        The cleaned recording (samples in memory; metadata, intervals and signals kept) and what was done.
    """
    from nilearn.signal import clean

    components = parse_confounds(confounds) if isinstance(confounds, str) or confounds is None else confounds
    standardize = check_standardize(standardize)
    threshold = DEFAULT_FD_THRESHOLD if fd_threshold is None else float(fd_threshold)
    if threshold <= 0:
        raise DataError(f"{option('fd_threshold', threshold)} must be a positive number of mm")
    source = recording.source
    data = recording.read()
    n_volumes = data.shape[1]
    regressors: dict[str, str] = {}
    confound_values = None
    keep = np.ones(n_volumes, dtype=bool)
    if components:
        signal = recording.signals.get(CONFOUND_SIGNAL)
        if signal is None:
            raise DataError(
                f"{source}: {option('confounds', '+'.join(components))} needs confounds, and none were found (an "
                "fMRIPrep *_desc-confounds_timeseries.tsv beside the BOLD file, or nuisance columns of the table "
                "such as WM, CSF, global_signal, trans_x ...)"
            )
        table = signal.read()
        regressors = confound_columns(list(signal.channel_names), components, source=source)
        index = {name: i for i, name in enumerate(signal.channel_names)}
        if "scrubbing" in components:
            fd = table[index[regressors["framewise_displacement"]]]
            keep = ~(np.nan_to_num(fd, nan=0.0) > threshold)
            if keep.sum() < 10:
                raise DataError(
                    f"{source}: scrubbing at FD > {threshold:g} mm leaves {int(keep.sum())} of {n_volumes} volumes; "
                    f"raise {option('fd_threshold')} or drop scrubbing"
                )
        columns = [c for canonical, c in regressors.items() if canonical != "framewise_displacement"]
        if columns:
            confound_values = np.nan_to_num(np.stack([table[index[c]] for c in columns], axis=1))
    cleaned = data
    if confound_values is not None or detrend or standardize or not keep.all():
        cleaned_kept = clean(
            data.T,
            detrend=detrend,
            standardize=STANDARDIZE[standardize] if standardize else None,
            confounds=confound_values,
            standardize_confounds=True,
            sample_mask=None if keep.all() else np.flatnonzero(keep),
            filter=False,
            t_r=1.0 / recording.fs,
        ).T
        cleaned = np.empty_like(data)
        cleaned[:, keep] = cleaned_kept
        if not keep.all():
            times = np.arange(n_volumes)
            for row in range(cleaned.shape[0]):
                cleaned[row, ~keep] = np.interp(times[~keep], times[keep], cleaned_kept[row])
    cleaning = Cleaning(
        components=tuple(components),
        regressors=tuple(c for canonical, c in regressors.items() if canonical != "framewise_displacement"),
        n_volumes=n_volumes,
        n_censored=int((~keep).sum()),
        fd_threshold=threshold,
        standardize=standardize,
        detrend=bool(detrend),
    )
    out = Recording.from_array(
        cleaned,
        recording.fs,
        channel_names=list(recording.channel_names),
        source=source,
        modality=recording.modality,
        units=recording.units,
        t0=recording.t0,
        metadata=recording.metadata,
        intervals=recording.intervals,
        signals=recording.signals,
        close=recording.close,  # closing the cleaned recording releases the file
    )
    out.repetition_times = getattr(recording, "repetition_times", None)
    return out, cleaning


# -- writing (simulated data) ---------------------------------------------------------------------
def write_label_atlas(
    path: str | Path, n_rois: int, *, voxels: tuple[int, int] = (3, 2), labels_tsv: bool = True
) -> Path:
    """Write a 3-D label image ``(n_rois, *voxels)`` whose ROI ``k + 1`` is the slab ``x = k`` (2 mm voxels),
    and beside it, with ``labels_tsv``, a TSV of names ``ROI01`` ... (``index``, ``name``)."""
    import nibabel as nib

    path = Path(path)
    labels = np.broadcast_to(np.arange(1, n_rois + 1, dtype=np.int16)[:, None, None], (n_rois, *voxels)).copy()
    nib.save(nib.Nifti1Image(labels, np.diag([2.0, 2.0, 2.0, 1.0])), str(path))
    if labels_tsv:
        frame = pd.DataFrame({"index": np.arange(1, n_rois + 1), "name": [f"ROI{k:02d}" for k in range(1, n_rois + 1)]})
        frame.to_csv(_tsv_beside(path), sep="\t", index=False)
    return path


def _tsv_beside(path: Path) -> Path:
    name = path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else path.stem
    return path.with_name(name + ".tsv")


def write_bold_nifti(
    path: str | Path,
    roi_series: np.ndarray,
    *,
    tr: float,
    voxels: tuple[int, int] = (3, 2),
    scale: float = 10.0,
    voxel_noise: float = 1.0,
    rng: np.random.Generator | None = None,
) -> Path:
    """Write ROI series ``(n_rois, n_volumes)`` as a 4-D BOLD NIfTI on the atlas of :func:`write_label_atlas`:
    every voxel of ROI ``k`` holds ``1000 + scale * roi_series[k]`` plus N(0, ``voxel_noise``) noise; TR in
    ``pixdim[4]`` (s)."""
    import nibabel as nib

    rng = np.random.default_rng(rng)
    n_rois, n_volumes = roi_series.shape
    data = (
        1000.0 + scale * roi_series[:, None, None, :] + voxel_noise * rng.standard_normal((n_rois, *voxels, n_volumes))
    )
    image = nib.Nifti1Image(data.astype(np.float32), np.diag([2.0, 2.0, 2.0, 1.0]))
    image.header.set_xyzt_units("mm", "sec")
    image.header["pixdim"][4] = float(tr)
    nib.save(image, str(path))
    return Path(path)


__all__ = [
    "COMPONENTS",
    "CONFOUND_ALIASES",
    "CONFOUND_SIGNAL",
    "DEFAULT_FD_THRESHOLD",
    "FD_SIGNAL",
    "FMRI_OPTIONS",
    "PRESETS",
    "Atlas",
    "Cleaning",
    "bold_duration",
    "bold_repetition_time",
    "canonical_confound",
    "check_standardize",
    "clean_fmri",
    "confound_columns",
    "confounds_table_of",
    "confound_signals",
    "parse_confounds",
    "read_bold",
    "read_confounds_table",
    "split_confound_columns",
    "write_bold_nifti",
    "write_label_atlas",
]
