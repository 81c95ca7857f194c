"""Plain tables of time x channels (TSV, CSV, NPY) with a sampling rate given by the user.

A table carries no sampling rate, so ``fs`` (Hz) is required and never guessed. Rows are
time points and columns channels (``time_axis=1`` for an NPY stored channels x time). A
TSV/CSV header row, when present, names the channels. NPY files are memory-mapped, so only
the rows asked for are read; text tables are parsed once.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import DataError, FormatError
from adhesive_dots.io._checks import check_not_all_nan
from adhesive_dots.io._meta import validated

TABLE_SUFFIXES = (".tsv", ".csv", ".npy", ".txt")


def read_table(
    path: str | Path,
    *,
    fs: float | None = None,
    time_axis: int = 0,
    source: str | None = None,
    columns: list[str] | None = None,
    t0: float = 0.0,
    **kwargs: Any,
) -> Recording:
    """Open a TSV/CSV/NPY table of samples.

    Parameters
    ----------
    path : path
        The table file.
    fs : float
        Sampling rate in Hz (required).
    time_axis : {0, 1}
        Axis of the array that is time (0: rows are time points).
    columns : list of str, optional
        Channel names for a text table without a header row.
    **kwargs
        Passed to :class:`Recording` (``modality``, ``units``, ``metadata``, ``intervals``).
    """
    path = Path(path)
    source = str(source or path)
    if fs is None:
        raise DataError(
            f"{source}: a plain table has no sampling rate; give it (open_recording(..., fs=250.0) or --fs 250)"
        )
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise DataError(f"{source}: fs must be a number of Hz, got {fs!r}") from None
    if not np.isfinite(fs) or fs <= 0:
        raise DataError(f"{source}: fs must be a positive number of Hz, got {fs!r}")
    if time_axis not in (0, 1):
        raise DataError(f"{source}: time_axis must be 0 (rows are time) or 1 (columns are time), got {time_axis!r}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array: Any = np.load(path, mmap_mode="r", allow_pickle=False)
            names = None
        else:
            array, names = _read_text(path, columns=columns)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise FormatError(f"{source}: cannot read a numeric table ({type(err).__name__}: {err})") from err
    if not isinstance(array, np.ndarray):  # an .npz archive named .npy
        with contextlib.suppress(Exception):
            array.close()
        raise FormatError(f"{source}: an .npz archive, not one .npy array; save one array with numpy.save")
    if array.ndim == 1:
        array = array[:, np.newaxis] if time_axis == 0 else array[np.newaxis, :]
    if array.ndim != 2:
        raise DataError(f"{source}: expected a 1-D or 2-D table (time x channels), got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise FormatError(f"{source}: the table is not numeric (dtype {array.dtype})")
    data = array if time_axis == 0 else array.T  # (n_times, n_channels) view
    n_times, n_channels = data.shape
    if n_times == 0 or n_channels == 0:
        raise DataError(
            f"{source}: the table has {n_times} time points and {n_channels} channels (shape {array.shape}); "
            "there is nothing to read"
        )
    names = names or [f"ch{i:03d}" for i in range(n_channels)]

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        values = np.asarray(data[i0:i1], dtype=np.float64).T[index]
        return check_not_all_nan(values, source=source, name="table", i0=i0, i1=i1)

    metadata = kwargs.pop("metadata", None) or validated(
        {
            "identity": {"source_uri": source},
            "recording": {"sampling_frequency": fs, "n_channels": n_channels, "channel_kind": "table columns"},
        },
        source=source,
    )
    return Recording(
        source, fs=fs, channel_names=names, n_times=n_times, reader=reader, metadata=metadata, t0=t0, **kwargs
    )


def _read_text(path: Path, *, columns: list[str] | None) -> tuple[np.ndarray, list[str] | None]:
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    with path.open() as handle:
        first = handle.readline()
    if path.suffix.lower() == ".txt" and sep not in first:
        sep = r"\s+"
    cells = [c.strip() for c in (first.split(sep) if sep != r"\s+" else first.split())]
    header = columns is None and any(not _is_number(c) for c in cells if c)
    frame = pd.read_csv(path, sep=sep, header=0 if header else None, engine="python" if sep == r"\s+" else "c")
    names = [str(c) for c in frame.columns] if header else columns
    if names is not None and len(names) != frame.shape[1]:
        raise DataError(f"{path}: {len(names)} column names for {frame.shape[1]} columns")
    return frame.to_numpy(dtype=np.float64), names


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.lower() in ("nan", "n/a")
    return True
