"""Single raw files that MNE reads (EDF/BDF, BrainVision, FIF, EEGLAB), with their annotations.

The file is opened with ``preload=False``: samples are read by ``raw.get_data(start, stop)``
only when asked. Annotations become ``recording.intervals`` (table ``"annotations"``).
EDF, BDF, GDF and FIF can also be read from an HTTP file object (see :mod:`.remote`); MNE
accepts file objects only with ``preload=True``, so such a file is transferred whole (only
NWB files are read by byte ranges).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import AdhesiveError, FormatError
from adhesive_dots.io._checks import check_not_all_nan
from adhesive_dots.io._meta import paradigm_from_text, validated
from adhesive_dots.metadata import Modality

RAW_SUFFIXES = (".edf", ".bdf", ".vhdr", ".fif", ".set", ".gdf")
"""File endings read by :func:`read_raw` (``.fif.gz`` too)."""

_STREAMABLE = {".edf": "read_raw_edf", ".bdf": "read_raw_bdf", ".fif": "read_raw_fif", ".gdf": "read_raw_gdf"}


def read_raw(
    path_or_file: Any,
    *,
    source: str | None = None,
    suffix: str | None = None,
    on_read_error: Callable[[Exception, str], AdhesiveError] | None = None,
    close_extra: Callable[[], None] | None = None,
) -> Recording:
    """Open a raw file with MNE lazily.

    Parameters
    ----------
    path_or_file : path or file-like
        The file (file objects: EDF, BDF, GDF and FIF only).
    source : str, optional
        Name used in messages and ``identity.source_uri``.
    suffix : str, optional
        File type when ``path_or_file`` is a file object (``".edf"``...).
    """
    import mne

    source = str(source if source is not None else path_or_file)
    suffix = (suffix or Path(str(path_or_file)).suffix).lower()
    if suffix in (".edf", ".bdf"):
        check_edf_size(path_or_file, source=source)
    try:
        if hasattr(path_or_file, "read"):
            if suffix not in _STREAMABLE:
                raise FormatError(f"{source}: {suffix} files cannot be streamed; download the file and open it locally")
            # MNE reads file objects only with preload=True: a streamed EDF/BDF/GDF/FIF is read whole
            raw = getattr(mne.io, _STREAMABLE[suffix])(path_or_file, preload=True, verbose="error")
        else:
            raw = mne.io.read_raw(str(path_or_file), preload=False, verbose="error")
    except AdhesiveError:
        raise
    except Exception as err:  # MNE raises ValueError, OSError, RuntimeError ... for corrupt files
        raise FormatError(
            f"{source}: MNE cannot read this file as {suffix or 'a raw recording'} ({type(err).__name__}: {err}); "
            "the file may be truncated or of another format"
        ) from err
    return recording_from_raw(raw, source=source, on_read_error=on_read_error, close_extra=close_extra)


def check_edf_size(path_or_file: Any, *, source: str) -> None:
    """Raise :class:`FormatError` when an EDF/BDF file holds fewer data records than its header declares.

    MNE reads such a file with a warning only (and pads or drops the missing records); a truncated
    download or copy must not pass for a shorter recording. Reads the header only: its length
    (bytes 184-192), the number of data records (236-244, ``-1`` = unknown), the number of signals
    (252-256) and each signal's samples per record; a sample is 2 bytes (EDF) or 3 (BDF).
    """
    if hasattr(path_or_file, "read"):
        position = path_or_file.tell()
        path_or_file.seek(0, 2)
        size = path_or_file.tell()
        path_or_file.seek(0)
        head = path_or_file.read(256)
        ns = _edf_int(head[252:256])
        head += path_or_file.read(256 * ns) if ns is not None and 0 < ns < 100_000 else b""
        path_or_file.seek(position)
    else:
        with open(path_or_file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(256)
            ns = _edf_int(head[252:256])
            head += handle.read(256 * ns) if ns is not None and 0 < ns < 100_000 else b""
    header_bytes, n_records, record_s = _edf_int(head[184:192]), _edf_int(head[236:244]), head[244:252]
    if ns is None or header_bytes is None or n_records is None or ns <= 0 or len(head) < 256 * (ns + 1):
        return  # not an EDF header MNE can read; MNE's own error names the problem
    offset = 256 + ns * 216
    per_record = [_edf_int(head[offset + 8 * i : offset + 8 * (i + 1)]) for i in range(ns)]
    if n_records <= 0 or any(n is None or n < 0 for n in per_record):
        return
    width = 3 if head[:1] == b"\xff" else 2
    record_bytes = sum(per_record) * width  # type: ignore[arg-type]
    if record_bytes <= 0:
        return
    expected = header_bytes + n_records * record_bytes
    if size < expected:
        complete = max(size - header_bytes, 0) // record_bytes
        duration = record_s.decode("ascii", "replace").strip()
        raise FormatError(
            f"{source}: the file is truncated: its header declares {n_records} data records (of {duration} s each) "
            f"but it holds only {complete} complete records ({size} of {expected} bytes); it was not copied or "
            "downloaded completely; fetch it again"
        )


def _edf_int(field: bytes) -> int | None:
    try:
        return int(field.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def modality_of(raw: Any) -> Modality:
    """EEG, MEG or iEEG from the channel types of an MNE Raw."""
    types = set(raw.get_channel_types())
    if types & {"mag", "grad"}:
        return Modality.MEG
    if types & {"seeg", "ecog", "dbs"}:
        return Modality.IEEG
    if "eeg" in types:
        return Modality.EEG
    return Modality.OTHER


def annotation_intervals(raw: Any, *, first_time: float = 0.0) -> pd.DataFrame:
    """MNE annotations as intervals (s from the first sample), table ``"annotations"``."""
    annotations = raw.annotations
    onset = np.asarray(annotations.onset, dtype=float) - first_time
    duration = np.asarray(annotations.duration, dtype=float)
    return pd.DataFrame(
        {
            "start": onset,
            "stop": onset + duration,
            "label": [str(d) for d in annotations.description],
            "table": "annotations",
        }
    )


def recording_from_raw(
    raw: Any,
    *,
    source: str,
    metadata: Any = None,
    intervals: pd.DataFrame | None = None,
    on_read_error: Callable[[Exception, str], AdhesiveError] | None = None,
    close_extra: Callable[[], None] | None = None,
) -> Recording:
    """Wrap an MNE Raw (not preloaded) as a lazy :class:`Recording` in volts (or T, T/m for MEG)."""
    fs = float(raw.info["sfreq"])
    first_time = raw.first_samp / fs
    modality = modality_of(raw)

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        try:
            values = raw.get_data(picks=index, start=i0, stop=i1)
        except Exception as err:
            if on_read_error is not None:
                raise on_read_error(err, f"reading samples {i0}:{i1}") from err
            raise FormatError(
                f"{source}: reading samples {i0}:{i1} failed ({type(err).__name__}: {err}); the file may be truncated"
            ) from err
        return check_not_all_nan(values, source=source, name="data", i0=i0, i1=i1)

    if metadata is None:
        metadata = _raw_metadata(raw, source=source, modality=modality)
    if intervals is None:
        intervals = annotation_intervals(raw, first_time=first_time if raw.annotations.orig_time is not None else 0.0)

    def close() -> None:
        raw.close() if hasattr(raw, "close") else None
        if close_extra is not None:
            close_extra()

    return Recording(
        source,
        fs=fs,
        channel_names=raw.ch_names,
        n_times=raw.n_times,
        reader=reader,
        modality=modality,
        units=_units(raw, modality),
        metadata=metadata,
        intervals=intervals,
        close=close,
    )


def _raw_metadata(raw: Any, *, source: str, modality: Modality) -> Any:
    info = raw.info
    subject_info = info.get("subject_info") or {}
    sex = {1: "M", 2: "F"}.get(subject_info.get("sex"))
    hand = {1: "right", 2: "left", 3: "ambidextrous"}.get(subject_info.get("hand"))
    age = None
    birthday, meas_date = subject_info.get("birthday"), info.get("meas_date")
    if isinstance(birthday, dt.date) and isinstance(meas_date, dt.datetime):
        years = int((meas_date.date() - birthday).days // 365.25)
        age = f"P{years}Y" if years >= 0 else None
    labels = " ".join(str(d) for d in raw.annotations.description)
    subject_id = subject_info.get("his_id")
    subject_id = None if subject_id in ("X", "x", "") else subject_id  # EDF+ "X": not given
    data = {
        "identity": {"source_uri": source, "subject_id": subject_id},
        "recording": {
            "modality": modality.value,
            "sampling_frequency": float(info["sfreq"]),
            "n_channels": len(raw.ch_names),
            "channel_kind": f"{modality.value.upper()} channels",
            "units": _units(raw, modality),
        },
        "subject": {"subject_id": subject_id, "sex": sex, "handedness": hand, "age": age},
        "paradigm": paradigm_from_text(labels, info.get("description")),
    }
    return validated(data, source=source)


def _units(raw: Any, modality: Modality) -> str:
    """SI units of ``raw.get_data()``: V, or T for magnetometers and T/m for gradiometers."""
    if modality != Modality.MEG:
        return "V"
    types = set(raw.get_channel_types())
    return "T" if "grad" not in types else "T/m" if "mag" not in types else "T (mag), T/m (grad)"
