"""Verifying a candidate pair on the samples: offset, rate ratio, gain, channel mapping, overlap.

:func:`verify_pair` decides whether two baselines hold (copies of) the same samples:

1. both are brought to a common rate ``fs_c = min(fs_a, fs_b, max_rate)`` (polyphase
   resampling) and band-passed to ``band`` (the upper edge at most ``0.35 * fs_c``, below
   the resampling filters' transition; line noise at 50/60 Hz, shared by unrelated
   recordings, stays out of the default band);
2. the time offset is found in two steps: a coarse one from the cross-correlation of the
   log band-power courses of up to ``n_pilots`` *pilot* channels of ``b`` with every
   channel of ``a`` (rate-, gain- and channel-order-free, normalised by the overlap; done
   as recorded and after average re-referencing, the stronger peak wins), then
   a fine one on the band-passed signals at ``fs_c`` within ``±refine_s`` of it;
3. channels are matched by name when at least half of the smaller set is shared and the
   name-matched channels correlate, otherwise by correlation (an optimal assignment,
   ``scipy.optimize.linear_sum_assignment``, on the channel-by-channel correlation matrix
   over the overlap); this is done on the signals as recorded and on the signals with the
   mean over channels removed (the same for any common reference, so a re-referenced copy
   agrees there), and the variant with the higher median correlation is kept when it is
   better by more than 0.05 (``rereferenced`` in the evidence);
4. each matched pair gives a correlation and a gain (regression slope of ``b`` on ``a``);
   their medians are reported.

The pair is a duplicate when the overlap is at least ``min_overlap_s`` and the median
correlation at least ``min_correlation``. It is an *exact* duplicate when, in addition,
both have the same rate, channel count and length (±1 sample), the channels map onto
themselves in order, the offset is below one sample, the gain is 1 within ``exact_tolerance``
and the samples (compared in the verification band, at the common rate) differ by at most
``exact_tolerance`` in relative RMS: the "same samples" up to the rounding of a storage
format (float32, 16-bit EDF, BrainVision resolution).

Cost: channel matching correlates every channel of ``b`` with every channel of ``a`` over
the overlap (``n_a * n_b * n_times`` at ``fs_c``): seconds for hundreds of channels, too much
for tens of thousands of neurons (match such recordings by name, or subsample them first).
A copy that is both a channel subset and re-referenced is not recognised.

:func:`prepare_baseline` does the per-baseline work once (courses, resampling, band-pass)
so a baseline taking part in many candidate pairs is processed once
(:func:`compare_prepared` then compares two prepared baselines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.fft
from scipy import signal as sps
from scipy.optimize import linear_sum_assignment

from adhesive_dots.curate.sketch import SketchParams, compute_power_course
from adhesive_dots.errors import DataError


@dataclass(frozen=True)
class VerifyParams:
    """Thresholds and settings of :func:`verify_pair` (see the module docstring).

    Attributes
    ----------
    band : (float, float)
        Hz, inclusive; the band in which samples are compared.
    max_rate : float
        Hz; the common rate is at most this (faster data are resampled down).
    min_overlap_s : float
        s of overlap required for a duplicate.
    min_correlation : float
        Median correlation over matched channels required for a duplicate.
    n_pilots : int
        Channels of ``b`` used to find the coarse offset.
    refine_s : float
        s searched on either side of the coarse offset.
    exact_tolerance : float
        Relative RMS difference (and gain deviation) allowed for an exact duplicate.
    course : SketchParams
        Settings of the log band-power courses used for the coarse offset.
    """

    band: tuple[float, float] = (0.1, 40.0)
    max_rate: float = 100.0
    min_overlap_s: float = 30.0
    min_correlation: float = 0.9
    n_pilots: int = 8
    refine_s: float = 0.5
    exact_tolerance: float = 1e-3
    course: SketchParams = field(default_factory=SketchParams)

    def __post_init__(self) -> None:
        if not 0 < self.band[0] < self.band[1]:
            raise DataError(f"VerifyParams.band must be (low, high) Hz with 0 < low < high, got {self.band!r}")
        if not 0 < self.min_correlation <= 1:
            raise DataError(f"VerifyParams.min_correlation must lie in (0, 1], got {self.min_correlation!r}")
        if self.min_overlap_s <= 0 or self.max_rate <= 0 or self.refine_s <= 0:
            raise DataError("VerifyParams.min_overlap_s, max_rate and refine_s must be positive")


@dataclass(frozen=True)
class PairEvidence:
    """What :func:`verify_pair` found about two baselines ``a`` and ``b``.

    Attributes
    ----------
    duplicate : bool
        The pair passes the thresholds of :class:`VerifyParams`.
    kind : str
        ``"exact"``, ``"near"`` or ``"distinct"``.
    overlap_s : float
        s of signal the two share at the recovered offset.
    offset_s : float
        Time in ``a`` of the first sample of ``b`` (s; negative when ``b`` starts earlier).
    rate_ratio : float
        ``fs_b / fs_a``.
    gain : float
        Median over matched channels of the regression slope of ``b`` on ``a`` (``b``'s units
        per unit of ``a``).
    correlation : float
        Median correlation over matched channels (the better of as-recorded and
        common-mode removed).
    correlation_min : float
        Lowest matched-channel correlation (same variant as ``correlation``).
    rereferenced : bool
        The common-mode-removed correlation was the better one by more than 0.05.
    n_matched : int
        Channels of ``b`` matched to channels of ``a``.
    channel_match : str
        ``"name"`` or ``"correlation"``.
    channel_map : dict of str to str
        Channel of ``b`` -> channel of ``a``.
    relative_rms : float or None
        RMS of ``b - gain * a`` over RMS of ``gain * a`` on the raw samples (only when rates and
        lengths allow a sample-by-sample comparison).
    """

    duplicate: bool
    kind: str
    overlap_s: float
    offset_s: float
    rate_ratio: float
    gain: float
    correlation: float
    correlation_min: float
    rereferenced: bool
    n_matched: int
    channel_match: str
    channel_map: dict[str, str]
    relative_rms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable evidence (what the catalog's ``duplicates.evidence`` holds)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = None if not np.isfinite(value) else round(value, 6)
        return out


def _same_rate(fs_a: float, fs_b: float) -> bool:
    """Rates equal up to the float rounding of file headers (1e-9 relative)."""
    return abs(fs_a - fs_b) <= 1e-9 * max(fs_a, fs_b)


def _resample(x: np.ndarray, fs: float, fs_c: float) -> np.ndarray:
    if _same_rate(fs, fs_c):
        return x
    ratio = Fraction(fs_c / fs).limit_denominator(1000)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)


def _zscore(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    scale = centred.std(axis=-1, keepdims=True)
    return np.divide(centred, scale, out=np.zeros_like(centred), where=scale > 0)


def _coarse_lag(course_a: np.ndarray, course_b: np.ndarray, *, n_pilots: int, min_overlap: int) -> tuple[int, float]:
    """Lag (hops) of ``b``'s start in ``a`` maximising the summed best pilot correlation."""
    za, zb = _zscore(course_a), _zscore(course_b)
    n_a, n_b = za.shape[1], zb.shape[1]
    pilots = np.unique(np.linspace(0, zb.shape[0] - 1, min(n_pilots, zb.shape[0])).astype(int))
    n_fft = scipy.fft.next_fast_len(n_a + n_b - 1)
    fa = np.fft.rfft(za, n_fft, axis=-1)
    lags = np.arange(-(n_b - 1), n_a)
    overlap = np.minimum(n_a, lags + n_b) - np.maximum(0, lags)
    valid = overlap >= min_overlap
    if not valid.any():
        return 0, 0.0
    total = np.zeros(lags.size)
    for p in pilots:
        fb = np.fft.rfft(zb[p], n_fft)
        xc = np.fft.irfft(fa * np.conj(fb)[None, :], n_fft, axis=-1)  # xc[k] = sum a[t + k] b[t]
        full = np.concatenate([xc[:, n_fft - (n_b - 1) :], xc[:, :n_a]], axis=1)  # lags -(n_b-1)..n_a-1
        r = full / np.maximum(overlap, 1)[None, :]
        total += np.where(valid, r.max(axis=0), -np.inf)
    best = int(np.argmax(total))
    return int(lags[best]), float(total[best] / len(pilots))


def _overlap_slices(lag: int, n_a: int, n_b: int) -> tuple[slice, slice]:
    a0 = max(0, lag)
    b0 = max(0, -lag)
    length = max(0, min(n_a - a0, n_b - b0))
    return slice(a0, a0 + length), slice(b0, b0 + length)


def _correlations(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """``(n_b, n_a)`` correlation matrix of the rows of ``xb`` with those of ``xa``."""
    za, zb = _zscore(xa), _zscore(xb)
    return np.einsum("it,jt->ij", zb, za, optimize=False) / za.shape[1]


@dataclass(frozen=True)
class PreparedBaseline:
    """A baseline made ready for :func:`compare_prepared` (what verification caches per baseline).

    Attributes
    ----------
    course : ndarray, shape (n_channels, n_hops)
        Log band-power courses (:func:`~adhesive_dots.curate.sketch.compute_power_course`).
    course_cmr : ndarray, shape (n_channels, n_hops)
        The same after removing the mean over channels (average reference).
    signal : ndarray of float32, shape (n_channels, n_times_c)
        Samples resampled to ``fs_signal`` and band-passed to ``VerifyParams.band``.
    fs_signal : float
        ``min(fs, max_rate)`` in Hz.
    fs : float
        Original sampling rate in Hz.
    n_times : int
        Original number of samples.
    channel_names : tuple of str
    """

    course: np.ndarray
    course_cmr: np.ndarray
    signal: np.ndarray
    fs_signal: float
    fs: float
    n_times: int
    channel_names: tuple[str, ...]


def prepare_baseline(
    data: np.ndarray,
    fs: float,
    *,
    channel_names: Sequence[str] | None = None,
    params: VerifyParams | None = None,
) -> PreparedBaseline:
    """Courses and band-limited samples of one baseline ``(n_channels, n_times)`` at ``fs`` Hz."""
    params = params or VerifyParams()
    x = np.atleast_2d(np.asarray(data, dtype=np.float64))
    if x.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {x.shape}")
    if not np.isfinite(fs) or fs <= 0:
        raise DataError(f"fs must be a positive sampling rate in Hz, got {fs!r}")
    names = (
        tuple(str(n) for n in channel_names)
        if channel_names is not None
        else tuple(f"ch{i:03d}" for i in range(x.shape[0]))
    )
    if len(names) != x.shape[0]:
        raise DataError(f"{len(names)} channel names for {x.shape[0]} channels")
    x = np.where(np.isfinite(x), x, 0.0)
    course = compute_power_course(x, fs, params=params.course)
    course_cmr = compute_power_course(x - x.mean(axis=0), fs, params=params.course) if x.shape[0] >= 3 else course
    fs_signal = min(fs, params.max_rate)
    y = _bandpass(_resample(x, fs, fs_signal), fs_signal, params.band)
    return PreparedBaseline(course, course_cmr, y.astype(np.float32), fs_signal, float(fs), x.shape[1], names)


def _bandpass(x: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
    high = min(band[1], 0.35 * fs)
    sos = sps.butter(4, (band[0], high), btype="bandpass", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=-1)


def verify_pair(
    data_a: np.ndarray,
    fs_a: float,
    data_b: np.ndarray,
    fs_b: float,
    *,
    names_a: Sequence[str] | None = None,
    names_b: Sequence[str] | None = None,
    params: VerifyParams | None = None,
) -> PairEvidence:
    """Compare two baselines sample by sample (see the module docstring).

    Parameters
    ----------
    data_a, data_b : ndarray, shape (n_channels, n_times)
        Samples of each baseline (any units; non-finite samples count as zero).
    fs_a, fs_b : float
        Their sampling rates in Hz.
    names_a, names_b : sequence of str, optional
        Channel names (default ``ch000``, ...).
    params : VerifyParams, optional

    Returns
    -------
    PairEvidence

    Examples
    --------
    >>> from adhesive_dots.sim import sim_powerlaw
    >>> x = sim_powerlaw(30_000, 250.0, 1.0, n_signals=3, rng=1)
    >>> evidence = verify_pair(x, 250.0, 1e6 * x[:, 5_000:], 250.0)  # cropped by 20 s, in microvolts
    >>> round(evidence.offset_s, 3), round(evidence.gain / 1e6, 2), evidence.kind
    (20.0, 1.0, 'near')
    """
    params = params or VerifyParams()
    a = prepare_baseline(data_a, fs_a, channel_names=names_a, params=params)
    b = prepare_baseline(data_b, fs_b, channel_names=names_b, params=params)
    return compare_prepared(a, b, params=params)


def compare_prepared(a: PreparedBaseline, b: PreparedBaseline, *, params: VerifyParams | None = None) -> PairEvidence:
    """:func:`verify_pair` on baselines already passed through :func:`prepare_baseline`."""
    params = params or VerifyParams()
    rate_ratio = b.fs / a.fs
    hop = params.course.hop_s

    # 1. coarse offset on the (rate- and gain-free) log band-power courses
    min_overlap_hops = max(2, int(params.min_overlap_s / hop))
    lag_hops, peak = _coarse_lag(a.course, b.course, n_pilots=params.n_pilots, min_overlap=min_overlap_hops)
    lag_cmr, peak_cmr = _coarse_lag(a.course_cmr, b.course_cmr, n_pilots=params.n_pilots, min_overlap=min_overlap_hops)
    if peak_cmr > peak:
        lag_hops = lag_cmr

    # 2. common rate, common band, fine offset
    fs_c = min(a.fs_signal, b.fs_signal)
    ya = np.asarray(a.signal, dtype=np.float64)
    yb = np.asarray(b.signal, dtype=np.float64)
    if not _same_rate(a.fs_signal, fs_c):
        ya = _bandpass(_resample(ya, a.fs_signal, fs_c), fs_c, params.band)
    if not _same_rate(b.fs_signal, fs_c):
        yb = _bandpass(_resample(yb, b.fs_signal, fs_c), fs_c, params.band)
    n_a, n_b = ya.shape[1], yb.shape[1]
    coarse = int(round(lag_hops * hop * fs_c))
    search = int(np.ceil(params.refine_s * fs_c))
    pilots = np.unique(np.linspace(0, yb.shape[0] - 1, min(params.n_pilots, yb.shape[0])).astype(int))
    sa, sb = _overlap_slices(coarse, n_a, n_b)
    if sa.stop - sa.start < 2:
        return _distinct(rate_ratio)
    pilot_match = np.argmax(_correlations(ya[:, sa], yb[pilots, sb]), axis=1)
    pa, pb = _zscore(ya[pilot_match]), _zscore(yb[pilots])
    best_lag, best_score = coarse, -np.inf
    for lag in range(coarse - search, coarse + search + 1):
        sa, sb = _overlap_slices(lag, n_a, n_b)
        if sa.stop - sa.start < 2:
            continue
        score = np.einsum("ij,ij->", pa[:, sa], pb[:, sb]) / (sa.stop - sa.start)
        if score > best_score:
            best_lag, best_score = lag, score
    sa, sb = _overlap_slices(best_lag, n_a, n_b)
    overlap_s = (sa.stop - sa.start) / fs_c
    offset_s = best_lag / fs_c

    # 3. channel matching, as recorded and with the common mode removed (a re-referenced copy)
    names_a, names_b = a.channel_names, b.channel_names
    position_a = {name: i for i, name in enumerate(names_a)}
    shared = [(j, position_a[name]) for j, name in enumerate(names_b) if name in position_a]
    oa, ob = ya[:, sa], yb[:, sb]
    variants = [("raw", oa, ob)]
    if oa.shape[0] >= 3 and ob.shape[0] >= 3:
        variants.append(("cmr", oa - oa.mean(axis=0), ob - ob.mean(axis=0)))
    results = []
    for label, va, vb in variants:
        corr = _correlations(va, vb)  # (n_b, n_a)
        matched = None
        if len(shared) >= 0.5 * min(len(names_a), len(names_b)):
            rows, cols = (np.array(v) for v in zip(*shared, strict=True))
            if np.median(corr[rows, cols]) >= params.min_correlation:
                matched = (rows, cols, "name")
        if matched is None:
            rows, cols = linear_sum_assignment(-corr)
            matched = (rows, cols, "correlation")
        rows, cols, method = matched
        results.append((float(np.median(corr[rows, cols])), label, rows, cols, method, corr[rows, cols], va, vb))
    raw_score = results[0][0]
    score, label, rows, cols, method, chosen, va, vb = max(results, key=lambda r: r[0])
    rereferenced = bool(label == "cmr" and score > raw_score + 0.05)
    if not rereferenced:
        score, label, rows, cols, method, chosen, va, vb = results[0]

    # 4. gains (regression slope of b on a over matched channels)
    ma, mb = va[cols], vb[rows]
    power_a = np.sum(ma * ma, axis=1)
    gains = np.divide(np.sum(ma * mb, axis=1), power_a, out=np.full(power_a.shape, np.nan), where=power_a > 0)
    gain = float(np.nanmedian(gains)) if np.isfinite(gains).any() else float("nan")
    correlation = float(np.median(chosen))
    duplicate = bool(overlap_s >= params.min_overlap_s and correlation >= params.min_correlation)

    # 5. exact: the same samples up to storage rounding (compared in the verification band)
    relative_rms = None
    kind = "near" if duplicate else "distinct"
    same_layout = (
        _same_rate(a.fs, b.fs)
        and len(names_a) == len(names_b)
        and abs(a.n_times - b.n_times) <= 1
        and np.array_equal(np.sort(rows), np.arange(len(names_b)))
        and np.array_equal(cols[np.argsort(rows)], np.arange(len(names_a)))
        and abs(offset_s) < 1.0 / a.fs
    )
    if duplicate and same_layout:
        scaled = gain * ma
        denominator = np.sqrt(np.mean(scaled**2))
        relative_rms = float(np.sqrt(np.mean((mb - scaled) ** 2)) / denominator) if denominator else None
        tolerance = params.exact_tolerance
        if relative_rms is not None and relative_rms <= tolerance and abs(gain - 1) <= tolerance:
            kind = "exact"
    return PairEvidence(
        duplicate=duplicate,
        kind=kind,
        overlap_s=overlap_s,
        offset_s=offset_s,
        rate_ratio=rate_ratio,
        gain=gain,
        correlation=correlation,
        correlation_min=float(np.min(chosen)),
        rereferenced=rereferenced,
        n_matched=int(rows.size),
        channel_match=method,
        channel_map={names_b[j]: names_a[i] for j, i in zip(rows, cols, strict=True)},
        relative_rms=relative_rms,
    )


def _distinct(rate_ratio: float) -> PairEvidence:
    return PairEvidence(False, "distinct", 0.0, 0.0, rate_ratio, float("nan"), 0.0, 0.0, False, 0, "none", {})
