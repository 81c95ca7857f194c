"""Spectral features: Welch power spectra, band powers, relative power and peak frequency.

Array level (time last, explicit ``fs`` in Hz, everything else keyword-only):

* :func:`compute_psd_array` -- Welch PSD ``(..., n_freqs)`` in units**2/Hz (one-sided, density scaling;
  agrees with MNE's ``psd_array_welch`` to 1e-8 for the same window, segment length and overlap).
* :func:`compute_band_power_array` -- power in frequency bands (units**2), absolute and relative.
* :func:`compute_peak_frequency_array` -- the frequency of the largest oscillatory peak above the
  aperiodic fit inside a range (the peak alpha frequency with the default human range).

The fingerprint computes segment periodograms once (:func:`compute_segment_periodograms_array`)
and derives the overall Welch PSD and every sliding window's PSD from them by averaging, so the
data pass through an FFT only once.

Bands are half-open, ``low <= f < high`` in Hz, so adjacent bands never share a bin; a band whose
``high`` exceeds the Nyquist frequency gives NaN (it cannot be measured at that sampling rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.signal import get_window

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data, _check_fs, _check_positive, _check_range

DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}
"""Default bands in Hz (half-open ``[low, high)``); gamma stops below 50 Hz mains."""

DEFAULT_SEGMENT_S = 2.0
"""Default Welch segment length in s (0.5 Hz resolution)."""

WORKERS = -1
"""Threads given to ``scipy.fft`` (``-1``: all cores)."""


@dataclass(frozen=True)
class SegmentPeriodograms:
    """Periodograms of overlapping segments (the spectrogram the fingerprint derives every PSD from).

    Attributes
    ----------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz.
    starts : ndarray, shape (n_segments,)
        Start sample of each segment.
    power : ndarray, shape (..., n_segments, n_freqs)
        One-sided periodograms in units**2/Hz; their mean over segments is the Welch PSD.
    nperseg : int
        Samples per segment.
    """

    freqs: np.ndarray
    starts: np.ndarray
    power: np.ndarray
    nperseg: int


def segment_layout(fs: float, n_times: int, segment_s: float, overlap: float) -> tuple[int, int]:
    """Samples per Welch segment and between segment starts (``segment_s`` s overlapping by ``overlap``)."""
    nperseg = int(round(_check_positive("segment_s", segment_s) * fs))
    if not 0 <= overlap < 1:
        raise DataError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if nperseg < 2:
        raise DataError(f"segment_s={segment_s} s is under 2 samples at fs={fs:g} Hz; use a longer segment")
    if nperseg > n_times:
        raise DataError(
            f"segment_s={segment_s} s ({nperseg} samples) is longer than the data ({n_times} samples); "
            "use a shorter segment or more data"
        )
    step = max(1, nperseg - int(round(overlap * nperseg)))
    return nperseg, step


def compute_segment_periodograms_array(
    data: np.ndarray,
    fs: float,
    *,
    segment_s: float = DEFAULT_SEGMENT_S,
    overlap: float = 0.5,
    window: str = "hann",
    detrend: bool = True,
    workers: int = WORKERS,
    check_finite: bool = True,
) -> SegmentPeriodograms:
    """Periodograms of overlapping windowed segments (one FFT pass over the data).

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals; time last.
    fs : float
        Sampling rate in Hz.
    segment_s : float
        Segment length in s (``round(segment_s * fs)`` samples; also the FFT length).
    overlap : float
        Fraction of a segment shared with the next one, in [0, 1).
    window : str
        Any window name :func:`scipy.signal.get_window` knows.
    detrend : bool
        Remove each segment's mean before windowing (as ``detrend="constant"`` in SciPy and
        ``remove_dc=True`` in MNE).
    workers : int
        Threads of the FFT (``-1``: all cores).
    check_finite : bool
        Check that ``data`` holds no NaN or infinity (False saves a pass over data already checked).

    Returns
    -------
    SegmentPeriodograms
    """
    return _segment_periodograms(
        _check_data(data, finite=check_finite),
        fs,
        segment_s=segment_s,
        overlap=overlap,
        window=window,
        detrend=detrend,
        workers=workers,
    )


def _segment_periodograms(
    data: np.ndarray,
    fs: float,
    *,
    segment_s: float = DEFAULT_SEGMENT_S,
    overlap: float = 0.5,
    window: str = "hann",
    detrend: bool = True,
    workers: int = WORKERS,
) -> SegmentPeriodograms:
    """:func:`compute_segment_periodograms_array` of data already checked to be finite."""
    fs = _check_fs(fs)
    nperseg, step = segment_layout(fs, data.shape[-1], segment_s, overlap)
    win = get_window(window, nperseg)
    scale = 1.0 / (fs * np.sum(win**2))
    frames = np.lib.stride_tricks.sliding_window_view(data, nperseg, axis=-1)[..., ::step, :]
    starts = np.arange(frames.shape[-2]) * step
    means = frames.mean(axis=-1) if detrend else None
    spectrum = scipy.fft.rfft(frames * win, axis=-1, workers=workers)
    if detrend:
        # FFT((x - m) w) = FFT(x w) - m FFT(w): only the bins where the taper's own spectrum is
        # non-zero change (3 bins for periodic hann/hamming), so no detrended copy is made
        taper = scipy.fft.rfft(win)
        bins = np.flatnonzero(np.abs(taper) > 1e-13 * np.abs(taper).max())
        spectrum[..., bins] -= means[..., None] * taper[bins]
    # |X|**2 in place on the float view of the complex array, then sum the real/imag pairs
    pairs = spectrum.view(np.float64)
    np.multiply(pairs, pairs, out=pairs)
    power = pairs[..., 0::2] + pairs[..., 1::2]
    del spectrum, pairs
    power *= scale
    last = None if nperseg % 2 else -1  # the Nyquist bin of an even FFT is not doubled
    power[..., 1:last] *= 2.0
    freqs = np.fft.rfftfreq(nperseg, 1.0 / fs)
    return SegmentPeriodograms(freqs=freqs, starts=starts, power=power, nperseg=nperseg)


def compute_psd_array(
    data: np.ndarray,
    fs: float,
    *,
    segment_s: float = DEFAULT_SEGMENT_S,
    overlap: float = 0.5,
    window: str = "hann",
    detrend: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density, one-sided, in units**2/Hz.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals; time last.
    fs : float
        Sampling rate in Hz.
    segment_s, overlap, window, detrend
        As in :func:`compute_segment_periodograms_array`.

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz, ``0 .. fs/2`` in steps of ``fs / nperseg``.
    psd : ndarray, shape (..., n_freqs)
        Mean of the segment periodograms. ``psd.sum(-1) * (freqs[1] - freqs[0])`` is the variance.

    Examples
    --------
    >>> import numpy as np
    >>> from adhesive_dots.sim import sim_powerlaw
    >>> x = sim_powerlaw(60_000, 250.0, 1.0, n_signals=2, rng=0)
    >>> freqs, psd = compute_psd_array(x, 250.0)
    >>> psd.shape, float(freqs[1])
    ((2, 251), 0.5)
    """
    segments = compute_segment_periodograms_array(
        data, fs, segment_s=segment_s, overlap=overlap, window=window, detrend=detrend
    )
    return segments.freqs, segments.power.mean(axis=-2)


def band_masks(freqs: np.ndarray, bands: dict[str, tuple[float, float]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, ``(n_bands, n_freqs)`` boolean masks (half-open bands) and a ``(n_bands,)`` "measurable" flag
    (the band lies below ``freqs[-1]``, the Nyquist frequency, and holds a bin)."""
    if not bands:
        raise DataError("bands must name at least one (low, high) band in Hz, got an empty mapping")
    names = list(bands)
    nyquist = float(freqs[-1])
    masks = np.zeros((len(names), freqs.size), dtype=bool)
    valid = np.zeros(len(names), dtype=bool)
    for i, name in enumerate(names):
        low, high = _check_range(f"band {name!r}", bands[name])
        masks[i] = (freqs >= low) & (freqs < high)
        valid[i] = high <= nyquist + 1e-9 and masks[i].any()
    return names, masks, valid


@dataclass(frozen=True)
class BandPower:
    """Band powers of spectra.

    Attributes
    ----------
    bands : tuple of str
        Band names, in order.
    edges : ndarray, shape (n_bands, 2)
        ``[low, high)`` of each band in Hz.
    absolute : ndarray, shape (..., n_bands)
        Power in each band (units**2): the PSD summed over the band's bins times the bin width.
        NaN when the band reaches above the Nyquist frequency.
    relative : ndarray, shape (..., n_bands)
        ``absolute`` divided by the power over ``total_range`` (unitless, 0..1).
    total_range : tuple of float
        The range (Hz, half-open) of the denominator of ``relative``.
    """

    bands: tuple[str, ...]
    edges: np.ndarray
    absolute: np.ndarray
    relative: np.ndarray
    total_range: tuple[float, float]


def compute_band_power_array(
    freqs: np.ndarray,
    psd: np.ndarray,
    *,
    bands: dict[str, tuple[float, float]] | None = None,
    total_range: tuple[float, float] | None = None,
) -> BandPower:
    """Absolute and relative power in frequency bands.

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
        Equally spaced frequencies in Hz.
    psd : ndarray, shape (..., n_freqs)
        Power spectral density in units**2/Hz.
    bands : dict of str to (low, high), optional
        Bands in Hz, half-open ``[low, high)``; :data:`DEFAULT_BANDS` if omitted.
    total_range : (low, high), optional
        Range for the relative-power denominator; default from the lowest band edge to the
        highest measurable band edge.

    Returns
    -------
    BandPower
    """
    bands = DEFAULT_BANDS if bands is None else bands
    freqs = np.asarray(freqs, dtype=float)
    psd = np.asarray(psd, dtype=float)
    if psd.shape[-1] != freqs.size:
        raise DataError(f"psd has {psd.shape[-1]} frequencies along its last axis but freqs has {freqs.size}")
    df = float(freqs[1] - freqs[0]) if freqs.size > 1 else 1.0
    names, masks, valid = band_masks(freqs, bands)
    absolute = (psd @ masks.T.astype(float)) * df
    absolute[..., ~valid] = np.nan
    edges = np.array([bands[n] for n in names], dtype=float)
    if total_range is None:
        highs = edges[valid, 1] if valid.any() else edges[:, 1]
        total_range = (float(edges[:, 0].min()), float(highs.max()))
    low, high = _check_range("total_range", total_range)
    total_mask = (freqs >= low) & (freqs < high)
    total = psd[..., total_mask].sum(axis=-1, keepdims=True) * df
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = absolute / total
    return BandPower(tuple(names), edges, absolute, relative, (low, high))


@dataclass(frozen=True)
class PeakFrequency:
    """The largest oscillatory peak above the aperiodic fit in a range.

    Attributes
    ----------
    frequency : ndarray, shape (...)
        Peak frequency in Hz (parabolic interpolation between bins); NaN where no peak rises
        ``min_height`` above the aperiodic fit inside the range, or the maximum sits on its edge.
    height : ndarray, shape (...)
        Height of the peak above the aperiodic fit in log10(power) units (0.3 is a doubling).
    freq_range : tuple of float
        The searched range in Hz (inclusive).
    """

    frequency: np.ndarray
    height: np.ndarray
    freq_range: tuple[float, float]


def compute_peak_frequency_array(
    freqs: np.ndarray,
    psd: np.ndarray,
    *,
    freq_range: tuple[float, float] = (7.0, 14.0),
    offset: np.ndarray | None = None,
    exponent: np.ndarray | None = None,
    min_height: float = 0.1,
) -> PeakFrequency:
    """Peak frequency (the peak alpha frequency with the default range) of spectra.

    The log10 spectrum is flattened by subtracting the aperiodic fit ``offset - exponent *
    log10(f)`` (pass the results of :func:`~adhesive_dots.fingerprint.aperiodic.compute_aperiodic_array`;
    when omitted, a straight line through the range's end points is removed), the maximum inside
    ``freq_range`` is located and refined by a parabola through the three bins around it.

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz.
    psd : ndarray, shape (..., n_freqs)
        Power spectral density.
    freq_range : (low, high)
        Search range in Hz, inclusive.
    offset, exponent : ndarray, shape (...), optional
        Aperiodic fit parameters (log10 power units, unitless).
    min_height : float
        Minimum height above the aperiodic fit (log10 units; 0.1 is a 26% rise) for a peak to count.

    Returns
    -------
    PeakFrequency
    """
    freqs = np.asarray(freqs, dtype=float)
    psd = np.asarray(psd, dtype=float)
    low, high = _check_range("freq_range", freq_range)
    inside = np.flatnonzero((freqs >= low) & (freqs <= high))
    if inside.size < 3:
        raise DataError(
            f"freq_range=({low:g}, {high:g}) Hz holds {inside.size} frequency bin(s) of the spectrum "
            f"(resolution {freqs[1] - freqs[0]:g} Hz, up to {freqs[-1]:g} Hz); widen it or use longer segments"
        )
    with np.errstate(divide="ignore"):
        logp = np.log10(psd[..., inside])
    logf = np.log10(freqs[inside])
    if offset is None or exponent is None:
        slope = (logp[..., -1] - logp[..., 0]) / (logf[-1] - logf[0])
        line = logp[..., :1] + slope[..., None] * (logf - logf[0])
    else:
        line = np.asarray(offset)[..., None] - np.asarray(exponent)[..., None] * logf
    flat = logp - line
    best = np.argmax(flat, axis=-1)
    height = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    interior = (best > 0) & (best < inside.size - 1)
    b = np.clip(best, 1, inside.size - 2)
    y0 = np.take_along_axis(flat, (b - 1)[..., None], axis=-1)[..., 0]
    y1 = np.take_along_axis(flat, b[..., None], axis=-1)[..., 0]
    y2 = np.take_along_axis(flat, (b + 1)[..., None], axis=-1)[..., 0]
    denom = y0 - 2 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    df = freqs[1] - freqs[0]
    frequency = freqs[inside][b] + np.clip(shift, -0.5, 0.5) * df
    ok = interior & (height >= min_height) & np.isfinite(height)
    return PeakFrequency(np.where(ok, frequency, np.nan), np.where(np.isfinite(height), height, np.nan), (low, high))
