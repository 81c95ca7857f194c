"""Window-level features (the state trajectory) and the block bootstrap over windows.

The state of a baseline is followed over sliding windows (see
:mod:`adhesive_dots.fingerprint.dynamics`): per window, the median over channels of the log10
band powers, of the aperiodic exponent, and the mean absolute correlation between channels.
The fingerprint stores this trajectory as ``state`` ``(window, state_feature)``;
:func:`compute_window_features_array` computes the same features for arbitrary windows (task
trials, baseline windows of a trial's length), reusing the fingerprint's PSD, band-power and
aperiodic functions.

Windows of one baseline are not independent (they overlap and the baseline drifts), so
uncertainty comes from a circular moving-block bootstrap (:func:`block_bootstrap_indices`):
blocks of ``block`` consecutive windows are resampled with wrap-around, which keeps the
dependence inside a block. The default block length is ``ceil(n_windows ** (1/3))`` windows
(the rate-optimal order for the variance of a mean, Hall, Horowitz & Jing 1995), at least 2;
with 30 s windows overlapping by 50% and a 600 s baseline (39 windows) that is 4 windows, about
75 s of data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import (
    DEFAULT_BANDS,
    Fingerprint,
    compute_aperiodic_array,
    compute_band_power_array,
    compute_psd_array,
)
from adhesive_dots.fingerprint.correlation import mean_abs_offdiagonal
from adhesive_dots.fingerprint.params import default_aperiodic_range, default_segment_s

WINDOW_CHUNK_SAMPLES = 4_000_000
"""Windows are processed in chunks of about this many samples (32 MB of float64)."""
MAX_CORRELATION_CHANNELS = 256
"""Window correlations use at most this many channels (evenly spaced over the channel list)."""


def window_covariance(window: np.ndarray) -> np.ndarray:
    """Sample covariance ``(..., C, C)`` of ``window`` ``(..., C, n_times)`` (ddof 1).

    Computed with ``einsum`` rather than ``np.cov``: on small matrices a multithreaded BLAS can spin
    for orders of magnitude longer on a loaded machine; the result is the same to round-off.
    """
    centred = window - window.mean(axis=-1, keepdims=True)
    return np.einsum("...it,...jt->...ij", centred, centred) / (window.shape[-1] - 1)


def covariance_to_correlation(cov: np.ndarray) -> np.ndarray:
    """Correlation matrices from covariance matrices ``(..., C, C)`` (NaN rows for zero-variance channels)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        return cov / (sd[..., :, None] * sd[..., None, :])


def state_feature_names(bands: Mapping[str, tuple[float, float]] | None = None) -> list[str]:
    """Names of the window-level features, in the order of the fingerprint's ``state``."""
    bands = DEFAULT_BANDS if bands is None else bands
    return [f"log_power_{b}" for b in bands] + ["aperiodic_exponent", "mean_abs_correlation"]


def default_block(n_windows: int) -> int:
    """Block length (windows) of the moving-block bootstrap: ``ceil(n ** (1/3))``, at least 2 (1 for n < 4)."""
    if n_windows < 4:
        return 1
    return max(2, int(np.ceil(n_windows ** (1.0 / 3.0))))


def block_bootstrap_indices(
    n: int, *, n_boot: int, block: int | None = None, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Indices ``(n_boot, n)`` of a circular moving-block bootstrap of ``n`` ordered windows.

    Each replicate concatenates blocks of ``block`` consecutive indices (wrapping around the end)
    starting at uniformly drawn positions, truncated to ``n``.

    >>> block_bootstrap_indices(6, n_boot=2, block=3, rng=0).shape
    (2, 6)
    """
    if n < 2:
        raise DataError(
            f"the block bootstrap needs at least 2 windows, got {n}; use shorter windows or a longer record"
        )
    if n_boot < 1:
        raise DataError(f"n_boot must be a positive number of replicates, got {n_boot}")
    block = default_block(n) if block is None else int(block)
    if not 1 <= block <= n:
        raise DataError(f"block must be between 1 and the number of windows ({n}), got {block}")
    rng = np.random.default_rng(rng)
    n_blocks = -(-n // block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return idx.reshape(n_boot, -1)[:, :n]


def fingerprint_states(fp: Fingerprint, *, name: str = "fingerprint") -> xr.DataArray:
    """The state trajectory ``(window, state_feature)`` of a fingerprint (all-NaN features dropped)."""
    if "state" not in fp.dataset:
        raise DataError(f"{name}: the fingerprint holds no 'state' variable; recompute it with adhesive-dots")
    state = fp.dataset["state"]
    if state.sizes["window"] < 4:
        raise DataError(
            f"{name}: {state.sizes['window']} sliding windows in the fingerprint; at least 4 are needed "
            "(fingerprint with a shorter window: --window-s, or FingerprintParams(window_s=...); or use a longer "
            "baseline)"
        )
    keep = np.isfinite(state.values).all(axis=0)
    return state.isel(state_feature=np.flatnonzero(keep))


def compute_window_features_array(
    data: np.ndarray,
    fs: float,
    *,
    starts: Sequence[int] | np.ndarray,
    length: int,
    bands: Mapping[str, tuple[float, float]] | None = None,
    aperiodic_range: tuple[float, float] | None = None,
    segment_s: float | None = None,
    segment_overlap: float = 0.5,
    taper: str = "hann",
) -> xr.DataArray:
    """Window-level features of ``data`` ``(n_channels, n_times)`` in windows ``[start, start + length)``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Signals sampled at ``fs``; flat channels and channels holding NaN are left out.
    fs : float
        Sampling rate in Hz.
    starts : array of int, shape (n_windows,)
        Window start samples.
    length : int
        Window length in samples (every window must fit in ``data``).
    bands : dict of name -> (low, high) Hz, optional
        Bands of the log powers (default :data:`~adhesive_dots.fingerprint.DEFAULT_BANDS`; bands above
        the Nyquist frequency give NaN).
    aperiodic_range : (low, high) Hz, optional
        Fit range of the aperiodic exponent (default: the fingerprint's rule,
        :func:`~adhesive_dots.fingerprint.params.default_aperiodic_range`).
    segment_s : float, optional
        Welch segment inside each window (default: the fingerprint's rule,
        :func:`~adhesive_dots.fingerprint.params.default_segment_s`, at most half a window).
    segment_overlap, taper
        Overlap fraction and taper of the Welch segments.

    Returns
    -------
    xarray.DataArray, dims (window, state_feature)
        Median over channels of log10 band power and aperiodic exponent, and the mean |r| between
        channels (NaN for one channel; at most :data:`MAX_CORRELATION_CHANNELS` evenly spaced channels),
        as in the fingerprint's ``state``.
    """
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {data.shape}")
    starts = np.asarray(starts, dtype=int).ravel()
    length = int(length)
    if starts.size == 0:
        raise DataError("starts is empty; give at least one window start sample")
    if length < 4 or starts.min() < 0 or starts.max() + length > data.shape[1]:
        raise DataError(
            f"windows of {length} samples starting at samples {starts.min()}..{starts.max()} do not fit in "
            f"data of {data.shape[1]} samples; check the segment times against the recording"
        )
    usable_channels = np.isfinite(data).all(axis=1) & (data.std(axis=1) > 0)
    if not usable_channels.any():
        raise DataError("every channel of data is flat or holds NaN; window features need a varying channel")
    data = data[usable_channels]  # flat / NaN channels left out of every feature (as NaN in the fingerprint)
    bands = dict(DEFAULT_BANDS if bands is None else bands)
    nyquist = fs / 2.0
    if aperiodic_range is None:
        aperiodic_range = default_aperiodic_range(fs)
    if segment_s is None:
        segment_s = min(default_segment_s(fs), length / fs / 2.0)
    usable = {k: v for k, v in bands.items() if v[1] <= nyquist}
    corr_index = np.unique(np.linspace(0, data.shape[0] - 1, min(data.shape[0], MAX_CORRELATION_CHANNELS)).astype(int))
    log_power = np.full((starts.size, len(usable)), np.nan)
    exponent = np.full(starts.size, np.nan)
    correlation = np.full(starts.size, np.nan)
    per_chunk = max(1, WINDOW_CHUNK_SAMPLES // max(1, data.shape[0] * length))
    for c0 in range(0, starts.size, per_chunk):  # chunks of windows: vectorised, memory bounded
        chunk = starts[c0 : c0 + per_chunk]
        windows = np.stack([data[:, s : s + length] for s in chunk])  # (w, C, L)
        freqs, psd = compute_psd_array(windows, fs, segment_s=segment_s, overlap=segment_overlap, window=taper)
        rows = slice(c0, c0 + chunk.size)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # flat channels: NaN
            if usable:
                power = compute_band_power_array(freqs, psd, bands=usable).absolute  # (w, C, B)
                log_power[rows] = np.nanmedian(np.log10(power), axis=1)
            fit = compute_aperiodic_array(freqs, psd, freq_range=aperiodic_range)
            exponent[rows] = np.nanmedian(fit.exponent, axis=1)
            if corr_index.size >= 2:
                cov = window_covariance(windows[:, corr_index])
                correlation[rows] = mean_abs_offdiagonal(covariance_to_correlation(cov))
    columns = [
        log_power[:, list(usable).index(name)] if name in usable else np.full(starts.size, np.nan) for name in bands
    ]
    columns += [exponent, correlation]
    values = np.column_stack(columns)
    return xr.DataArray(
        values,
        dims=("window", "state_feature"),
        coords={
            "window": np.arange(starts.size),
            "window_start": ("window", starts / fs, {"units": "s"}),
            "state_feature": state_feature_names(bands),
        },
        attrs={"fs": fs, "window_s": length / fs, "segment_s": segment_s},
    )
