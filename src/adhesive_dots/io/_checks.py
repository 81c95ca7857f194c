"""Checks shared by the readers of ``io``."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError


def check_not_all_nan(values: np.ndarray, *, source: str, name: str, i0: int, i1: int) -> np.ndarray:
    """Return ``values`` ``(n_channels, n_samples)``; raise :class:`DataError` if every value is NaN."""
    if values.size and _all_nan(values):
        raise DataError(
            f"{source}: series {name} is all NaN in samples {i0}:{i1}; there is no usable signal there; "
            "check the export or choose another series or segment"
        )
    return values


MAX_RECORDING_S = 30 * 86400.0
"""Longest recording (s) a file may declare: 30 days. Longer spans (a 31-year epoch, a spike at 1e12 s)
are taken for corrupt timing, refused before anything is read."""


def check_local_file(path: Path, source: str) -> None:
    """Raise for a missing path, a 0-byte file, or something that is neither a regular file nor a folder
    (a FIFO, a device, a socket: reading one could block forever), before any reader touches it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceNotFoundError(f"{source}: no such file or folder (or a broken link); check the path") from None
    except OSError as err:  # a symbolic link loop (ELOOP), a path too long, no permission
        raise FormatError(f"{source}: cannot be opened ({err.strerror or err})") from None
    check_regular(info.st_mode, source)
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        raise FormatError(f"{source}: the file is empty (0 bytes); it was probably not written completely")


def check_regular(mode: int, source: str) -> None:
    """Raise :class:`FormatError` unless ``mode`` (``st_mode``) is a regular file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise FormatError(
        f"{source}: is {kind}, not a regular file; adots reads regular files (and folders for Zarr stores and "
        "BIDS datasets) only"
    )


def check_duration(duration_s: float, *, source: str, what: str) -> None:
    """Raise :class:`DataError` when ``what`` spans more than :data:`MAX_RECORDING_S` or is not finite."""
    if not (duration_s <= MAX_RECORDING_S):  # also NaN
        days = duration_s / 86400.0
        raise DataError(
            f"{source}: {what} spans {duration_s:.4g} s ({days:.4g} days), more than the {MAX_RECORDING_S / 86400:g} "
            "days a recording may declare; its timing is probably corrupt (check the rate, timestamps and times)"
        )


def _all_nan(values: np.ndarray, *, block: int = 1 << 20) -> bool:
    """``np.isnan(values).all()`` in blocks (small temporaries), stopping at the first number."""
    flat = values.reshape(-1) if values.flags.c_contiguous else values.ravel()
    for i0 in range(0, flat.size, block):
        if not np.isnan(flat[i0 : i0 + block]).all():
            return False
    return True
