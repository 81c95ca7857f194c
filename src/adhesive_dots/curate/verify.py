"""Verifying a candidate pair on the samples: offset, rate ratio, gain, channel mapping, overlap.

:func:`verify_pair` decides whether two baselines hold (copies of) the same samples:

1. both are brought to a common rate ``fs_c = min(fs_a, fs_b, max_rate)`` (polyphase
   resampling) and band-passed to ``band`` (the upper edge at most ``0.4 * fs_c``; line
   noise at 50/60 Hz, shared by unrelated recordings, stays out of the default band);
2. the time offset is found in two steps: a coarse one from the cross-correlation of the
   log band-power courses of up to ``n_pilots`` *pilot* channels of ``b`` with every
   channel of ``a`` (rate-, gain- and channel-order-free, normalised by the overlap), then
   a fine one on the band-passed signals at ``fs_c`` within ``±refine_s`` of it;
3. channels are matched by name when at least half of the smaller set is shared and the
   name-matched channels correlate, otherwise by correlation (an optimal assignment,
   ``scipy.optimize.linear_sum_assignment``, on the channel-by-channel correlation matrix
   over the overlap);
4. each matched pair gives a correlation and a gain (regression slope of ``b`` on ``a``);
   correlations are computed as recorded and with the common mode of the matched channels
   removed (a re-referenced copy agrees after that), and the better of the two medians
   decides.

The pair is a duplicate when the overlap is at least ``min_overlap_s`` and the median
correlation at least ``min_correlation``. It is an *exact* duplicate when, in addition,
both have the same rate, channel count and length (±1 sample), the channels map onto
themselves in order, the offset is below one sample, the gain is 1 within ``exact_tolerance``
and the samples differ by at most ``exact_tolerance`` in relative RMS: the "same samples"
up to the rounding of a storage format (float32, 16-bit EDF, BrainVision resolution).
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


def _resample(x: np.ndarray, fs: float, fs_c: float) -> np.ndarray:
    if fs == fs_c:
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
    return zb @ za.T / za.shape[1]


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
    """
    params = params or VerifyParams()
    xa = np.atleast_2d(np.asarray(data_a, dtype=np.float64))
    xb = np.atleast_2d(np.asarray(data_b, dtype=np.float64))
    for label, x, fs in (("data_a", xa, fs_a), ("data_b", xb, fs_b)):
        if x.ndim != 2:
            raise DataError(f"{label} must be (n_channels, n_times), got shape {x.shape}")
        if not np.isfinite(fs) or fs <= 0:
            raise DataError(f"the sampling rate of {label} must be positive (Hz), got {fs!r}")
    names_a = [str(n) for n in names_a] if names_a is not None else [f"ch{i:03d}" for i in range(xa.shape[0])]
    names_b = [str(n) for n in names_b] if names_b is not None else [f"ch{i:03d}" for i in range(xb.shape[0])]
    if len(names_a) != xa.shape[0] or len(names_b) != xb.shape[0]:
        raise DataError("names_a / names_b must hold one name per channel of data_a / data_b")
    xa = np.where(np.isfinite(xa), xa, 0.0)
    xb = np.where(np.isfinite(xb), xb, 0.0)
    rate_ratio = fs_b / fs_a
    hop = params.course.hop_s

    # 1. coarse offset on the (rate- and gain-free) log band-power courses
    course_a = compute_power_course(xa, fs_a, params=params.course)
    course_b = compute_power_course(xb, fs_b, params=params.course)
    min_overlap_hops = max(2, int(params.min_overlap_s / hop))
    lag_hops, _ = _coarse_lag(course_a, course_b, n_pilots=params.n_pilots, min_overlap=min_overlap_hops)

    # 2. common rate, common band, fine offset
    fs_c = min(fs_a, fs_b, params.max_rate)
    high = min(params.band[1], 0.4 * fs_c)
    sos = sps.butter(4, (params.band[0], high), btype="bandpass", fs=fs_c, output="sos")
    ya = sps.sosfiltfilt(sos, _resample(xa, fs_a, fs_c), axis=-1)
    yb = sps.sosfiltfilt(sos, _resample(xb, fs_b, fs_c), axis=-1)
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

    # 3. channel matching
    corr = _correlations(ya[:, sa], yb[:, sb])  # (n_b, n_a)
    position_a = {name: i for i, name in enumerate(names_a)}
    shared = [(j, position_a[name]) for j, name in enumerate(names_b) if name in position_a]
    match_by_name = None
    if len(shared) >= 0.5 * min(len(names_a), len(names_b)):
        rows, cols = (np.array(v) for v in zip(*shared, strict=True))
        if np.median(corr[rows, cols]) >= params.min_correlation:
            match_by_name = (rows, cols)
    if match_by_name is not None:
        rows, cols = match_by_name
        method = "name"
    else:
        rows, cols = linear_sum_assignment(-corr)
        method = "correlation"

    # 4. correlations as recorded and with the common mode removed; gains
    raw = corr[rows, cols]
    ma, mb = ya[cols, sa], yb[rows, sb]
    if rows.size >= 3:
        cmr = np.diag(_correlations(ma - ma.mean(axis=0), mb - mb.mean(axis=0)))
    else:
        cmr = raw
    rereferenced = bool(np.median(cmr) > np.median(raw) + 0.05)
    chosen = cmr if rereferenced else raw
    if rereferenced:
        ma, mb = ma - ma.mean(axis=0), mb - mb.mean(axis=0)
    power_a = np.sum(ma * ma, axis=1)
    gains = np.divide(np.sum(ma * mb, axis=1), power_a, out=np.full(power_a.shape, np.nan), where=power_a > 0)
    gain = float(np.nanmedian(gains)) if np.isfinite(gains).any() else float("nan")
    correlation = float(np.median(chosen))
    duplicate = bool(overlap_s >= params.min_overlap_s and correlation >= params.min_correlation)

    # 5. exact: the same samples up to storage rounding
    relative_rms = None
    kind = "near" if duplicate else "distinct"
    same_layout = (
        fs_a == fs_b
        and xa.shape[0] == xb.shape[0]
        and abs(xa.shape[1] - xb.shape[1]) <= 1
        and np.array_equal(np.sort(rows), np.arange(xb.shape[0]))
        and np.array_equal(cols[np.argsort(rows)], np.arange(xa.shape[0]))
        and abs(offset_s) < 1.0 / fs_a
    )
    if duplicate and same_layout:
        length = min(xa.shape[1], xb.shape[1])
        scaled = gain * xa[:, :length]
        denominator = np.sqrt(np.mean(scaled**2))
        relative_rms = float(np.sqrt(np.mean((xb[:, :length] - scaled) ** 2)) / denominator) if denominator else None
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
