"""Heart and respiration rates from physiological traces recorded beside a rest run (layer 2: arrays only).

* :func:`compute_heart_rate_array` -- beats of a cardiac trace (ECG or pulse oximetry) found as peaks at
  least 0.33 s apart (at most 180 bpm) whose prominence exceeds half the trace's robust range; the rate
  ``60 / inter-beat interval`` (bpm) is interpolated onto a regular grid.
* :func:`compute_respiration_rate_array` -- breaths of a respiratory belt trace, low-passed at 1 Hz, found as
  peaks at least 1.5 s apart (at most 40 breaths/min); the rate in breaths/min on a regular grid.

Both return a :class:`RateSeries`: the rate series (what the fingerprint's arousal coupling and windows use) and
the event times. Their mean and variability over the dot's windows follow from the fingerprint's
``arousal_windows``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_fs

RATE_FS = 4.0
"""Sampling rate (Hz) of the interpolated rate series."""


@dataclass(frozen=True)
class RateSeries:
    """A physiological rate: ``rate`` ``(n,)`` at ``fs`` Hz (per minute), ``events`` (s), ``mean`` and ``sd``."""

    rate: np.ndarray
    fs: float
    events: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.nanmean(self.rate)) if self.rate.size else float("nan")

    @property
    def sd(self) -> float:
        return float(np.nanstd(self.rate)) if self.rate.size else float("nan")


def _rate_from_events(events: np.ndarray, duration: float, *, name: str) -> RateSeries:
    if events.size < 3:
        raise DataError(f"{name}: fewer than 3 events found; the trace may be flat or too short")
    intervals = np.diff(events)
    times = events[1:]
    grid = np.arange(0.0, duration, 1.0 / RATE_FS)
    rate = np.interp(grid, times, 60.0 / intervals)
    return RateSeries(rate, RATE_FS, events)


def _events(x: np.ndarray, fs: float, *, min_interval: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise DataError(f"a physiological trace is 1-D, got shape {x.shape}")
    finite = np.isfinite(x)
    if finite.sum() < 10:
        raise DataError("a physiological trace needs finite samples")
    x = np.where(finite, x, np.nanmedian(x))
    low, high = np.percentile(x, [5, 95])
    peaks, _ = sps.find_peaks(x, distance=max(1, int(min_interval * fs)), prominence=0.5 * (high - low))
    return peaks / fs


def compute_heart_rate_array(cardiac: np.ndarray, fs: float) -> RateSeries:
    """Heart rate (bpm) of a cardiac trace ``(n_times,)`` sampled at ``fs`` Hz (see the module docs)."""
    fs = _check_fs(fs)
    x = np.asarray(cardiac, dtype=float)
    if fs > 2.0:  # remove baseline wander below 0.5 Hz
        sos = sps.butter(2, 0.5, btype="highpass", fs=fs, output="sos")
        x = sps.sosfiltfilt(sos, np.nan_to_num(x, nan=float(np.nanmedian(x))))
    return _rate_from_events(_events(x, fs, min_interval=60.0 / 180.0), x.size / fs, name="cardiac trace")


def compute_respiration_rate_array(respiratory: np.ndarray, fs: float) -> RateSeries:
    """Respiration rate (breaths/min) of a respiratory trace ``(n_times,)`` at ``fs`` Hz (see the module docs)."""
    fs = _check_fs(fs)
    x = np.asarray(respiratory, dtype=float)
    x = np.nan_to_num(x, nan=float(np.nanmedian(x)))
    if fs > 2.5:
        sos = sps.butter(2, 1.0, btype="lowpass", fs=fs, output="sos")
        x = sps.sosfiltfilt(sos, x)
    return _rate_from_events(_events(x, fs, min_interval=1.5), x.size / fs, name="respiratory trace")


__all__ = ["RATE_FS", "RateSeries", "compute_heart_rate_array", "compute_respiration_rate_array"]
