"""Input checks shared by the fingerprint functions (errors name the parameter and the fix)."""

from __future__ import annotations

import numpy as np

from adhesive_dots.errors import DataError


def _check_fs(fs: float) -> float:
    """``fs`` as a positive finite float (Hz)."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise DataError(f"fs must be a sampling rate in Hz (a positive number), got {fs!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"fs must be a sampling rate in Hz (a positive number), got {fs!r}")
    return value


def _check_data(data: np.ndarray, *, name: str = "data", min_times: int = 2, finite: bool = True) -> np.ndarray:
    """``data`` as a float array shaped ``(..., n_times)``, finite (unless ``finite=False``: the caller has
    checked), with enough samples.

    Float32 input stays float32 (the caller decides where to promote); everything else becomes float64.
    """
    array = np.asarray(data)
    if array.dtype.kind not in "fiub":
        raise DataError(f"{name} must be a numeric array shaped (..., n_times), got dtype {array.dtype}")
    if array.dtype != np.float32:
        array = array.astype(np.float64, copy=False)
    if array.ndim == 0:
        raise DataError(f"{name} must be shaped (..., n_times), got a scalar")
    if array.shape[-1] < min_times:
        raise DataError(
            f"{name} has {array.shape[-1]} samples along its last (time) axis; at least {min_times} are needed "
            "(is the array transposed? time must be the last axis)"
        )
    if finite and not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise DataError(
            f"{name} contains {bad} NaN or infinite value(s); fingerprints need finite samples "
            "(interpolate or cut the bad stretch, or drop the channel, before computing)"
        )
    return array


def _check_range(name: str, value: tuple[float, float], *, low: float = 0.0, high: float = np.inf) -> tuple:
    """A ``(low, high)`` tuple with ``low < high`` inside ``[low, high]``."""
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a (low, high) pair of numbers, got {value!r}") from None
    if not (low <= a < b <= high):
        raise DataError(f"{name} must satisfy {low:g} <= low < high <= {high:g}, got ({a:g}, {b:g})")
    return a, b


def _check_positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a positive number, got {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise DataError(f"{name} must be a positive number, got {value!r}")
    return number
