"""Signal quality of a baseline in one streaming pass, at the array level.

:class:`QualityAccumulator` takes blocks ``(n_channels, n_block)`` one after the other and
keeps only small summaries per channel (counts, extremes, per-window statistics, an
averaged Welch spectrum), so a baseline of any length is read in bounded memory.
:func:`compute_signal_quality` runs it over one in-memory array. The resulting
:class:`SignalQuality` answers every per-channel question the checks ask (flat, NaN/Inf,
clipped, outliers, line noise, artefact-like windows, drift).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> data = rng.standard_normal((2, 2500))
>>> data[1] = 3.0
>>> quality = compute_signal_quality(data, 250.0)
>>> quality.flat_window_fraction().tolist()
[0.0, 1.0]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from adhesive_dots.errors import DataError

MAD_TO_SD = 1.4826
"""Scale from the median absolute deviation to the SD of a normal distribution."""


MIN_WINDOW_SAMPLES = 5
"""Fewest samples in a quality window (slow signals such as BOLD get windows longer than ``window``)."""


@dataclass(frozen=True)
class SignalQuality:
    """Per-channel summaries of a (possibly concatenated) segment.

    Attributes
    ----------
    fs : float
        Sampling rate, Hz.
    window : float
        Window length, s, of the ``window_*`` arrays.
    n_samples : ndarray, shape (n_channels,)
        Samples seen per channel.
    n_nonfinite : ndarray, shape (n_channels,)
        NaN or Inf samples per channel.
    first_nonfinite : ndarray, shape (n_channels,)
        Offset in s from the segment start of the first NaN/Inf sample (NaN when none).
    minimum, maximum : ndarray, shape (n_channels,)
        Extremes of the finite samples (NaN for an all-NaN channel).
    n_at_min, n_at_max : ndarray, shape (n_channels,)
        Samples exactly equal to the minimum / maximum.
    n_outliers : ndarray, shape (n_channels,)
        Samples more than ``outlier_z`` robust SDs from their block's median.
    outlier_z : float
        The robust z-score limit used for ``n_outliers``.
    window_std, window_ptp, window_mean : ndarray, shape (n_channels, n_windows)
        SD, peak-to-peak range and mean of each whole window (NaN-aware; NaN when a
        window holds no finite sample).
    freqs : ndarray, shape (n_freqs,)
        Frequencies of ``psd``, Hz (empty when the segment is shorter than a Welch segment).
    psd : ndarray, shape (n_channels, n_freqs)
        Welch power spectral density averaged over the segment, units**2 / Hz.
    """

    fs: float
    window: float
    n_samples: np.ndarray
    n_nonfinite: np.ndarray
    first_nonfinite: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    n_at_min: np.ndarray
    n_at_max: np.ndarray
    n_outliers: np.ndarray
    outlier_z: float
    window_std: np.ndarray
    window_ptp: np.ndarray
    window_mean: np.ndarray
    freqs: np.ndarray
    psd: np.ndarray

    @property
    def n_channels(self) -> int:
        return int(self.n_samples.shape[0])

    @property
    def n_windows(self) -> int:
        return int(self.window_std.shape[1])

    # -- per-channel measures, each (n_channels,) ------------------------------------------
    def nonfinite_fraction(self) -> np.ndarray:
        """Fraction of NaN/Inf samples per channel."""
        return self.n_nonfinite / np.maximum(self.n_samples, 1)

    def flat_windows(self, *, rtol: float = 1e-9) -> np.ndarray:
        """Windows whose range is at most ``rtol`` x the median window range, shape (n_channels, n_windows).

        The median is over all channels and windows, so a constant channel among live ones
        is flat while a quiet one is not; when most windows are constant it is 0 and only
        exactly constant windows count. Windows without finite samples are not flat.
        """
        ptp = self.window_ptp
        valid = np.isfinite(ptp)
        if not valid.any():
            return np.zeros(ptp.shape, dtype=bool)
        tolerance = rtol * float(np.median(ptp[valid]))
        return valid & (ptp <= tolerance)

    def flat_window_fraction(self, *, rtol: float = 1e-9) -> np.ndarray:
        """Fraction of a channel's windows that are flat (:meth:`flat_windows`); windows without finite samples
        do not count."""
        if self.n_windows == 0:
            return np.zeros(self.n_channels)
        valid = np.isfinite(self.window_ptp)
        return self.flat_windows(rtol=rtol).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)

    def rail_fraction(self) -> np.ndarray:
        """Fraction of finite samples sitting exactly on the channel's min or max (0 if constant), not counting
        the one minimum and one maximum every channel has (a few hundred BOLD volumes are not clipped)."""
        n_finite = np.maximum(self.n_samples - self.n_nonfinite, 1)
        fraction = np.maximum(self.n_at_min + self.n_at_max - 2, 0) / n_finite
        constant = ~(self.maximum > self.minimum)  # also True for all-NaN channels
        return np.where(constant, 0.0, fraction)

    def outlier_fraction(self) -> np.ndarray:
        """Fraction of samples beyond ``outlier_z`` robust SDs."""
        return self.n_outliers / np.maximum(self.n_samples, 1)

    def line_noise_ratio(self, line_freq: float) -> np.ndarray:
        """Mean PSD within ±1 Hz of ``line_freq`` over the median PSD 2-5 Hz either side.

        NaN per channel when the spectrum does not reach ``line_freq + 5`` Hz.
        """
        freqs = self.freqs
        if freqs.size == 0 or freqs[-1] < line_freq + 5.0:
            return np.full(self.n_channels, np.nan)
        distance = np.abs(freqs - line_freq)
        peak = self.psd[:, distance <= 1.0].mean(axis=1)
        flank = np.median(self.psd[:, (distance >= 2.0) & (distance <= 5.0)], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = peak / flank
        return np.where(flank > 0, ratio, np.where(peak > 0, np.inf, 1.0))

    def artefact_windows(self, *, factor: float = 5.0) -> np.ndarray:
        """Windows whose SD exceeds ``factor`` x the channel's median window SD, shape (n_channels, n_windows)."""
        std = self.window_std
        if self.n_windows == 0:
            return np.zeros(std.shape, dtype=bool)
        valid = np.isfinite(std)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a channel without finite windows -> NaN
            typical = np.nanmedian(std, axis=1)
        with np.errstate(invalid="ignore"):
            bad = valid & (std > factor * typical[:, None])
        return bad & (typical > 0)[:, None]

    def artefact_window_fraction(self, *, factor: float = 5.0) -> np.ndarray:
        """Fraction of a channel's windows that are artefact-like (:meth:`artefact_windows`)."""
        if self.n_windows == 0:
            return np.zeros(self.n_channels)
        valid = np.isfinite(self.window_std)
        return self.artefact_windows(factor=factor).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)

    def power_drift_ratio(self) -> float:
        """Median over channels of the mean window variance in the last third over the first third.

        NaN with fewer than 3 windows or when no channel has power in its first third.
        """
        first, last = self._thirds(self.window_std**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = last / first
        ratio = ratio[np.isfinite(ratio) & (first > 0)]
        return float(np.median(ratio)) if ratio.size else float("nan")

    def mean_drift_ratio(self) -> float:
        """Population mean (over channels) in the last third over the first third.

        For rate-like signals (spikes/s, dF/F); NaN when the first-third mean is not positive.
        """
        first, last = self._thirds(self.window_mean)
        first_mean, last_mean = np.nanmean(first), np.nanmean(last)
        if not np.isfinite(first_mean) or first_mean <= 0:
            return float("nan")
        return float(last_mean / first_mean)

    def _thirds(self, per_window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.n_windows
        if n < 3:
            empty = np.full(self.n_channels, np.nan)
            return empty, empty
        third = n // 3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN thirds give NaN, handled by callers
            return np.nanmean(per_window[:, :third], axis=1), np.nanmean(per_window[:, n - third :], axis=1)


class QualityAccumulator:
    """Streaming computation of :class:`SignalQuality` over blocks of one segment.

    Parameters
    ----------
    n_channels : int
        Channels of every block.
    fs : float
        Sampling rate, Hz.
    window : float
        Window length, s; blocks should hold whole windows (a trailing partial window of
        a block is left out of the per-window statistics only).
    outlier_z : float
        Robust z-score beyond which a sample is an outlier (median and MAD per block).
    welch_seconds : float
        Length of a Welch segment, s (frequency resolution ``1 / welch_seconds`` Hz).
    """

    def __init__(
        self, n_channels: int, fs: float, *, window: float = 1.0, outlier_z: float = 10.0, welch_seconds: float = 2.0
    ) -> None:
        if not fs > 0:
            raise DataError(f"sampling rate fs must be positive, got {fs!r} Hz")
        if not window > 0:
            raise DataError(f"window must be positive, got {window!r} s")
        self.n_channels = int(n_channels)
        self.fs = float(fs)
        self.window = float(window)
        # at least MIN_WINDOW_SAMPLES samples: a window of one BOLD volume is always "flat"
        self.window_samples = max(int(round(window * fs)), MIN_WINDOW_SAMPLES)
        self.outlier_z = float(outlier_z)
        self.nperseg = max(int(round(welch_seconds * fs)), 8)
        c = self.n_channels
        self._n = np.zeros(c, dtype=np.int64)
        self._nonfinite = np.zeros(c, dtype=np.int64)
        self._first_nonfinite = np.full(c, np.nan)
        self._min = np.full(c, np.inf)
        self._max = np.full(c, -np.inf)
        self._n_min = np.zeros(c, dtype=np.int64)
        self._n_max = np.zeros(c, dtype=np.int64)
        self._outliers = np.zeros(c, dtype=np.int64)
        self._windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._psd_sum: np.ndarray | None = None
        self._psd_weight = 0
        self._freqs = np.empty(0)
        self._offset = 0  # samples seen per channel before the current block

    def update(self, block: np.ndarray) -> None:
        """Add the next ``(n_channels, n_block)`` samples of the segment."""
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 2 or block.shape[0] != self.n_channels:
            raise DataError(f"block must be ({self.n_channels}, n_times), got shape {block.shape}")
        n = block.shape[1]
        if n == 0:
            return
        finite = np.isfinite(block)
        all_finite = bool(finite.all())
        self._n += n
        if not all_finite:
            bad = ~finite
            counts = bad.sum(axis=1)
            first = np.argmax(bad, axis=1)
            new = (counts > 0) & np.isnan(self._first_nonfinite)
            self._first_nonfinite[new] = (self._offset + first[new]) / self.fs
            self._nonfinite += counts
            work = np.where(finite, block, np.nan)
        else:
            work = block
        self._update_extremes(work, all_finite)
        self._update_outliers(work, all_finite)
        self._update_windows(work, all_finite)
        self._update_psd(work, finite, all_finite)
        self._offset += n

    def _update_extremes(self, work: np.ndarray, all_finite: bool) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channel in this block
            bmin = work.min(axis=1) if all_finite else np.nanmin(work, axis=1)
            bmax = work.max(axis=1) if all_finite else np.nanmax(work, axis=1)
        n_min = (work == bmin[:, None]).sum(axis=1)
        n_max = (work == bmax[:, None]).sum(axis=1)
        has = np.isfinite(bmin)
        lower, same_min = has & (bmin < self._min), has & (bmin == self._min)
        self._n_min = np.where(lower, n_min, np.where(same_min, self._n_min + n_min, self._n_min))
        self._min = np.where(lower, bmin, self._min)
        higher, same_max = has & (bmax > self._max), has & (bmax == self._max)
        self._n_max = np.where(higher, n_max, np.where(same_max, self._n_max + n_max, self._n_max))
        self._max = np.where(higher, bmax, self._max)

    def _update_outliers(self, work: np.ndarray, all_finite: bool) -> None:
        if work.shape[1] < 3:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.median(work, axis=1) if all_finite else np.nanmedian(work, axis=1)
            deviation = np.abs(work - median[:, None])
            mad = np.median(deviation, axis=1) if all_finite else np.nanmedian(deviation, axis=1)
        scale = MAD_TO_SD * mad
        with np.errstate(invalid="ignore"):
            outlier = deviation > self.outlier_z * scale[:, None]
        self._outliers += np.where(scale > 0, outlier.sum(axis=1), 0)

    def _update_windows(self, work: np.ndarray, all_finite: bool) -> None:
        w = self.window_samples
        n_windows = work.shape[1] // w
        if n_windows == 0:
            return
        shaped = work[:, : n_windows * w].reshape(self.n_channels, n_windows, w)
        if all_finite:
            std, mean = shaped.std(axis=2), shaped.mean(axis=2)
            ptp = shaped.max(axis=2) - shaped.min(axis=2)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # windows with no finite sample -> NaN
                std, mean = np.nanstd(shaped, axis=2), np.nanmean(shaped, axis=2)
                ptp = np.nanmax(shaped, axis=2) - np.nanmin(shaped, axis=2)
        self._windows.append((std, ptp, mean))

    def _update_psd(self, work: np.ndarray, finite: np.ndarray, all_finite: bool) -> None:
        n = work.shape[1]
        if n < self.nperseg:
            return
        data = work
        if not all_finite:
            fill = np.nanmean(np.where(finite, work, np.nan), axis=1) if finite.any() else np.zeros(self.n_channels)
            data = np.where(finite, work, np.nan_to_num(fill)[:, None])
        freqs, psd = sps.welch(data, fs=self.fs, nperseg=self.nperseg, axis=-1)
        n_segments = 1 + (n - self.nperseg) // (self.nperseg // 2)
        if self._psd_sum is None:
            self._psd_sum = np.zeros_like(psd)
            self._freqs = freqs
        self._psd_sum += psd * n_segments
        self._psd_weight += n_segments

    def result(self) -> SignalQuality:
        """The summaries of everything added so far."""
        if self._windows:
            std, ptp, mean = (np.concatenate(parts, axis=1) for parts in zip(*self._windows, strict=True))
        else:
            std = ptp = mean = np.empty((self.n_channels, 0))
        if self._psd_sum is None:
            psd = np.empty((self.n_channels, 0))
        else:
            psd = self._psd_sum / self._psd_weight
        missing = ~np.isfinite(self._min)
        return SignalQuality(
            fs=self.fs,
            window=self.window_samples / self.fs,
            n_samples=self._n.copy(),
            n_nonfinite=self._nonfinite.copy(),
            first_nonfinite=self._first_nonfinite.copy(),
            minimum=np.where(missing, np.nan, self._min),
            maximum=np.where(missing, np.nan, self._max),
            n_at_min=self._n_min.copy(),
            n_at_max=self._n_max.copy(),
            n_outliers=self._outliers.copy(),
            outlier_z=self.outlier_z,
            window_std=std,
            window_ptp=ptp,
            window_mean=mean,
            freqs=self._freqs,
            psd=psd,
        )


def compute_signal_quality(
    data: np.ndarray,
    fs: float,
    *,
    window: float = 1.0,
    outlier_z: float = 10.0,
    block_seconds: float = 60.0,
) -> SignalQuality:
    """:class:`SignalQuality` of an in-memory array.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times) or (n_times,)
        Samples (any units).
    fs : float
        Sampling rate, Hz.
    window : float
        Window length of the per-window statistics, s.
    outlier_z : float
        Robust z-score limit of an amplitude outlier (median/MAD per block).
    block_seconds : float
        Block length, s, in which the data are processed (outlier medians are per block).

    Returns
    -------
    SignalQuality
    """
    array = np.asarray(data, dtype=np.float64)
    if array.ndim == 1:
        array = array[np.newaxis]
    if array.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {array.shape}")
    accumulator = QualityAccumulator(array.shape[0], fs, window=window, outlier_z=outlier_z)
    for i0, i1 in block_bounds(array.shape[1], accumulator.window_samples, block_seconds * fs):
        accumulator.update(array[:, i0:i1])
    return accumulator.result()


def block_bounds(n_times: int, window_samples: int, max_block: float) -> list[tuple[int, int]]:
    """``(i0, i1)`` sample bounds of blocks of whole windows covering ``n_times`` samples.

    Blocks hold ``max(1, floor(max_block / window_samples))`` windows; a final remainder
    shorter than a window joins the previous block.
    """
    step = max(int(max_block) // window_samples, 1) * window_samples
    bounds = [(i0, min(i0 + step, n_times)) for i0 in range(0, n_times, step)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < window_samples:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds
