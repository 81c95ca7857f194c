"""Dynamics of the baseline: sliding windows, non-stationarity, drift, coupling to arousal.

A baseline is a fluctuating dynamic, not a point. The fingerprint cuts it into sliding windows
(50% overlap; 30 s for baselines of 10 min or more, shorter for shorter ones: the rule of
:mod:`~adhesive_dots.fingerprint.params`) and follows a *state trajectory*: per-window band powers,
aperiodic exponent and mean absolute correlation. This module holds the array-level pieces:

* :func:`sliding_windows` -- window start samples of a record.
* :func:`segment_membership` -- which spectral segments (of the one-pass spectrogram) lie inside
  which window, as an averaging matrix; every window's PSD is ``membership @ periodograms``
  (:func:`segment_window_means` computes it from running sums).
* :func:`compute_nonstationarity_array` -- variance of a windowed feature over windows, divided by
  its mean variance under a stationary surrogate (the same segments in random order: same
  marginal distribution, no slow structure). 1 means stationary; above 1, the baseline drifts or
  fluctuates on the scale of the windows.
* :func:`compute_drift_array` -- least-squares slope of each feature on window time (per
  minute) and a drift index ``|slope| x duration / sd`` (0 none; about 3.5 for a pure ramp).
* :func:`compute_arousal_coupling_array` -- Pearson correlation of each feature's trajectory with
  an arousal signal (pupil diameter, running speed) averaged over the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_fs, _check_positive

DEFAULT_WINDOW_S = 30.0
DEFAULT_WINDOW_OVERLAP = 0.5


def sliding_windows(
    n_times: int, fs: float, *, window_s: float = DEFAULT_WINDOW_S, overlap: float = DEFAULT_WINDOW_OVERLAP
) -> tuple[np.ndarray, int]:
    """Start samples of windows of ``window_s`` s overlapping by ``overlap``, and the window length in samples.

    Only whole windows are kept (a last partial one is dropped).
    """
    fs = _check_fs(fs)
    length = int(round(_check_positive("window_s", window_s) * fs))
    if not 0 <= overlap < 1:
        raise DataError(f"window overlap must be a fraction in [0, 1), got {overlap!r}")
    if length > n_times:
        raise DataError(f"window_s={window_s} s is longer than the record ({n_times / fs:.1f} s); use shorter windows")
    step = max(1, int(round(length * (1 - overlap))))
    return np.arange(0, n_times - length + 1, step), length


def segment_membership(segment_starts: np.ndarray, nperseg: int, window_starts: np.ndarray, length: int) -> np.ndarray:
    """Averaging matrix ``(n_windows, n_segments)``: row ``w`` is 1/count over the segments inside window ``w``."""
    seg0 = np.asarray(segment_starts)[None, :]
    win0 = np.asarray(window_starts)[:, None]
    inside = (seg0 >= win0) & (seg0 + nperseg <= win0 + length)
    counts = inside.sum(axis=1, keepdims=True)
    if np.any(counts == 0):
        raise DataError("a sliding window holds no whole spectral segment; use windows longer than the segments")
    return inside / counts


def segment_window_means(values: np.ndarray, membership: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """``einsum("ws,s...->w...", membership, values[order])``: the mean over each window's segments.

    Each window (row of ``membership``) averages a run of consecutive segments, so its mean is a
    difference of two running sums over the segments (exact to round-off, and several times faster
    than the matrix product).

    Parameters
    ----------
    values : ndarray, shape (n_segments, ...)
        A feature per spectral segment.
    membership : ndarray, shape (n_windows, n_segments)
        From :func:`segment_membership`.
    order : ndarray of int, optional
        The segments in another order (a shuffle), without copying ``values``.

    Returns
    -------
    ndarray, shape (n_windows, ...)
    """
    inside = membership > 0
    first, count = inside.argmax(axis=1), inside.sum(axis=1)
    order = range(values.shape[0]) if order is None else order
    running = np.empty((values.shape[0] + 1, *values.shape[1:]))
    running[0] = 0.0
    for i, segment in enumerate(order):
        np.add(running[i], values[segment], out=running[i + 1])
    return (running[first + count] - running[first]) / count.reshape(-1, *([1] * (values.ndim - 1)))


def compute_nonstationarity_array(
    segment_values: np.ndarray,
    membership: np.ndarray,
    *,
    n_surrogates: int = 20,
    log: bool = True,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Non-stationarity index of windowed features against a segment-shuffle surrogate.

    Parameters
    ----------
    segment_values : ndarray, shape (n_segments, ...)
        A positive feature per spectral segment (e.g. band power).
    membership : ndarray, shape (n_windows, n_segments)
        From :func:`segment_membership`.
    n_surrogates : int
        Number of shuffles.
    log : bool
        Compare variances of log10 window means (scale-free) rather than of the means.
    rng : Generator, int or None
        Randomness of the shuffles.

    Returns
    -------
    ndarray, shape (...)
        ``var_windows(observed) / mean_surrogates(var_windows(shuffled))``; 1 for a stationary signal.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if n_surrogates < 1:
        raise DataError(f"n_surrogates must be at least 1, got {n_surrogates!r}")
    values = np.asarray(segment_values, dtype=float)
    flat = values.reshape(values.shape[0], -1)

    def windowed_variance(v: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
        means = segment_window_means(v, membership, order)
        with np.errstate(divide="ignore", invalid="ignore"):
            if log:
                means = np.log10(means)
            return means.var(axis=0)

    observed = windowed_variance(flat)
    null = np.zeros_like(observed)
    for _ in range(n_surrogates):
        null += windowed_variance(flat, rng.permutation(flat.shape[0]))
    null /= n_surrogates
    with np.errstate(divide="ignore", invalid="ignore"):
        return (observed / null).reshape(values.shape[1:])


@dataclass(frozen=True)
class Drift:
    """Linear drift of windowed features.

    Attributes
    ----------
    slope : ndarray, shape (...)
        Least-squares slope per minute (feature units / min).
    index : ndarray, shape (...)
        ``|slope| x duration / sd over windows`` (unitless; 0 none, about 3.5 for a pure ramp).
    """

    slope: np.ndarray
    index: np.ndarray


def compute_drift_array(times: np.ndarray, values: np.ndarray) -> Drift:
    """Linear drift of ``values`` ``(n_windows, ...)`` over window centre ``times`` ``(n_windows,)`` in s."""
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    if v.shape[0] != t.size or t.size < 3:
        raise DataError(f"drift needs at least 3 windows and one time per window; got {t.size} times for {v.shape}")
    tc = (t - t.mean()) / 60.0
    vc = v - v.mean(axis=0)
    slope = np.tensordot(tc, vc, axes=(0, 0)) / (tc @ tc)
    sd = v.std(axis=0)
    span = (t[-1] - t[0]) / 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        index = np.abs(slope) * span / sd
    return Drift(slope=slope, index=index)


def window_average(signal: np.ndarray, fs: float, window_starts_s: np.ndarray, window_s: float) -> np.ndarray:
    """Mean of a 1-D ``signal`` (sampled at ``fs``) over each window ``[start, start + window_s)`` (s)."""
    signal = np.asarray(signal, dtype=float).ravel()
    fs = _check_fs(fs)
    out = np.full(len(window_starts_s), np.nan)
    for i, start in enumerate(window_starts_s):
        i0, i1 = int(round(start * fs)), int(round((start + window_s) * fs))
        piece = signal[max(i0, 0) : min(i1, signal.size)]
        piece = piece[np.isfinite(piece)]
        if piece.size:
            out[i] = piece.mean()
    return out


def compute_arousal_coupling_array(trajectory: np.ndarray, arousal: np.ndarray) -> np.ndarray:
    """Pearson correlation of each feature trajectory ``(n_windows, ...)`` with ``arousal`` ``(n_windows,)``.

    Windows where either is NaN are left out; NaN when fewer than 3 windows remain or a series is constant.
    """
    y = np.asarray(arousal, dtype=float)
    x = np.asarray(trajectory, dtype=float)
    flat = x.reshape(x.shape[0], -1)
    out = np.full(flat.shape[1], np.nan)
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j]) & np.isfinite(y)
        if ok.sum() >= 3 and flat[ok, j].std() > 0 and y[ok].std() > 0:
            out[j] = np.corrcoef(flat[ok, j], y[ok])[0, 1]
    return out.reshape(x.shape[1:])
