"""Timestamps of a sampled series: monotonicity and gaps (dropped samples), array level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError


@dataclass(frozen=True)
class TimestampReport:
    """What :func:`compute_timestamp_report` found.

    Attributes
    ----------
    n_nonincreasing : int
        Steps that do not increase (repeated or backward timestamps).
    first_nonincreasing : float
        Time in s of the first such step (NaN when none).
    n_gaps : int
        Steps longer than ``gap_factor`` sample periods.
    n_dropped : int
        Samples missing in those gaps (``round(step * fs) - 1`` per gap).
    first_gap : float
        Time in s where the first gap starts (NaN when none).
    """

    n_nonincreasing: int
    first_nonincreasing: float
    n_gaps: int
    n_dropped: int
    first_gap: float


def compute_timestamp_report(timestamps: np.ndarray, fs: float, *, gap_factor: float = 1.5) -> TimestampReport:
    """Check sample times for order and gaps.

    Parameters
    ----------
    timestamps : ndarray, shape (n_times,)
        Sample times, s.
    fs : float
        Nominal sampling rate, Hz.
    gap_factor : float
        A step longer than ``gap_factor / fs`` s is a gap.

    Returns
    -------
    TimestampReport

    Examples
    --------
    >>> t = np.arange(100) / 10.0
    >>> compute_timestamp_report(np.delete(t, [40, 41]), 10.0).n_dropped
    2
    """
    times = np.asarray(timestamps, dtype=np.float64)
    if times.ndim != 1:
        raise DataError(f"timestamps must be 1-D (n_times,), got shape {times.shape}")
    if not fs > 0:
        raise DataError(f"sampling rate fs must be positive, got {fs!r} Hz")
    steps = np.diff(times)
    backward = ~(steps > 0)  # NaN steps count as non-increasing
    gap = steps > gap_factor / fs
    nan = float("nan")
    return TimestampReport(
        n_nonincreasing=int(backward.sum()),
        first_nonincreasing=float(times[1:][backward][0]) if backward.any() else nan,
        n_gaps=int(gap.sum()),
        n_dropped=int(np.maximum(np.round(steps[gap] * fs) - 1, 1).sum()) if gap.any() else 0,
        first_gap=float(times[:-1][gap][0]) if gap.any() else nan,
    )
