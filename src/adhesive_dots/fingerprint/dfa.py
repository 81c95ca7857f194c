"""Long-range temporal correlations: detrended fluctuation analysis (DFA) of many signals at once.

:func:`compute_dfa_array` computes DFA-1 (linear detrending; Peng et al. 1994) of every signal of an
array ``(..., n_times)`` at once. The fluctuation at window length ``n`` is, as in nolds and
neurodsp, the root of the mean squared residual of the profile ``cumsum(x - mean(x))`` around a
least-squares line in each window, over all windows::

    F(n) = sqrt( mean_windows( sum_window (y - a - b t)**2 / n ) )

and the DFA exponent is the slope of ``log F`` on ``log n`` over the fit range. The residual sum
of squares of every window is computed in closed form (``S_yy - S_y**2 / n - S_ty_c**2 / S_tt``)
from running sums of ``y``, ``t y`` and ``y**2`` taken once, anchored inside blocks of
``PREFIX_BLOCK`` samples so that round-off stays at the size of the local data rather than of the
whole record; a compiled kernel (:mod:`~adhesive_dots.fingerprint._dfa_kernel`, numba) does it in
one pass per signal plus a few operations per window, about 10x faster than NumPy could.

:func:`compute_envelope_array` gives band-limited amplitude envelopes from one real FFT per signal:
the analytic signal of the band (one-sided spectrum restricted to the band, doubled) is evaluated
at a reduced rate by an inverse FFT of only the band's bins (shifted to base band), which samples
the exact envelope of the band-limited signal at ``envelope_fs`` without filtering at full rate.

Defaults follow Hardstone et al. (2012): 20 scales log-spaced up to a tenth of the record (about
60 s of ten minutes) with 50% window overlap, from 0.1 s (at least 10 samples) for broadband
signals; the fingerprint starts envelope scales at ``max(1 s, ENVELOPE_MIN_CYCLES / f_low)`` and
fits them from 5 s (:data:`adhesive_dots.fingerprint.params.SLOW_FIT_MIN_S`). Fit range and R^2 are
reported with every exponent.

A straight line on log F vs log n is an assumption: a fluctuation function that bends (a crossover,
e.g. a plateau above the high-pass time constant of a recording) makes one exponent average two
regimes. :func:`compute_dfa_curvature` gives the slope of the upper half of the fit range minus that of
the lower half; :func:`dfa_findings` turns a median |curvature| above :data:`CURVATURE_LIMIT` into a
warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.fft

from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data, _check_fs, _check_positive, _check_range
from adhesive_dots.fingerprint._dfa_kernel import dfa_mean_rss

PREFIX_BLOCK = 256
"""Samples per block of the anchored running sums (see :mod:`adhesive_dots.fingerprint._dfa_kernel`)."""
ROWS_PER_CALL = 16
"""Signals per kernel call (bounds the float64 copy of float32 input)."""

DEFAULT_N_SCALES = 20
DEFAULT_MIN_SCALE_S = 0.1
"""Default shortest broadband scale in s (never under 10 samples)."""
DEFAULT_MAX_FRACTION = 0.1
"""Default longest scale as a fraction of the record (about 60 s of 10 minutes)."""
ENVELOPE_MIN_CYCLES = 3.0
"""Default shortest envelope scale in cycles of the band's lower edge (never under 1 s)."""
CURVATURE_LIMIT = 0.2
"""|slope of the upper half - slope of the lower half| of the fit range above which F(n) is called curved.

Calibrated on fractional Gaussian noise (H 0.5, 0.7, 0.9; 200 signals each; default scales): the
99th percentile of |curvature| is 0.09-0.11 for 600 s records and 0.14-0.15 for 60 s (largest seen 0.22
of 600 signals at 60 s); a 1/f signal high-passed at 0.1 Hz (a plateau above 10 s) gives about -0.5."""
MIN_HALF_SCALES = 3
"""Scales each half of the fit range needs for a curvature (fewer: NaN)."""


@dataclass(frozen=True)
class DfaResult:
    """DFA of signals.

    Attributes
    ----------
    exponent : ndarray, shape (...)
        DFA exponent alpha (unitless): 0.5 uncorrelated, (0.5, 1) long-range correlated.
    intercept : ndarray, shape (...)
        Intercept of the log10 F vs log10 scale(s) fit.
    r_squared : ndarray, shape (...)
        Goodness of the straight-line fit over the fit range.
    fluctuation : ndarray, shape (..., n_scales)
        F at each scale, in the signal's units x sqrt(samples).
    scales : ndarray, shape (n_scales,)
        Window lengths in s.
    window_lengths : ndarray of int, shape (n_scales,)
        Window lengths in samples.
    fit_range : tuple of float
        Scales (s, inclusive) used in the fit.
    overlap : float
        Fraction of overlap between consecutive windows.
    """

    exponent: np.ndarray
    intercept: np.ndarray
    r_squared: np.ndarray
    fluctuation: np.ndarray
    scales: np.ndarray
    window_lengths: np.ndarray
    fit_range: tuple[float, float]
    overlap: float

    @property
    def curvature(self) -> np.ndarray:
        """Slope over the upper half of the fit range minus slope over the lower half, shape (...)
        (:func:`compute_dfa_curvature`)."""
        return compute_dfa_curvature(self.scales, self.fluctuation, fit_range=self.fit_range)


def compute_dfa_curvature(
    scales: np.ndarray, fluctuation: np.ndarray, *, fit_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Bend of the fluctuation function: the log-log slope over the upper half of the fit range's scales
    minus the slope over the lower half.

    Parameters
    ----------
    scales : ndarray, shape (n_scales,)
        Window lengths in s.
    fluctuation : ndarray, shape (..., n_scales)
        F(n) at each scale.
    fit_range : (low, high), optional
        Scales in s (inclusive) of the fit; default all.

    Returns
    -------
    ndarray, shape (...)
        Unitless; about 0 for a straight line (fGn), negative for a plateau at long scales, NaN with fewer
        than :data:`MIN_HALF_SCALES` scales in a half or a non-positive F.

    Examples
    --------
    >>> from adhesive_dots.sim import sim_fgn
    >>> result = compute_dfa_array(sim_fgn(60_000, 0.7, n_signals=2, rng=1), 250.0)
    >>> bool(np.all(np.abs(result.curvature) < CURVATURE_LIMIT))
    True
    """
    scales = np.asarray(scales, dtype=float)
    fluctuation = np.asarray(fluctuation, dtype=float)
    low, high = (scales[0], scales[-1]) if fit_range is None else fit_range
    inside = np.flatnonzero((scales >= low * (1 - 1e-9)) & (scales <= high * (1 + 1e-9)))
    half = inside.size // 2
    if half < MIN_HALF_SCALES:
        return np.full(fluctuation.shape[:-1], np.nan)
    lower, upper = inside[:half], inside[inside.size - half :]
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = [_fit_loglog(scales, fluctuation, np.isin(np.arange(scales.size), part))[0] for part in (lower, upper)]
    return slopes[1] - slopes[0]


def dfa_findings(ds, *, source: str = "") -> list[Finding]:
    """Warnings about curved DFA fluctuation functions in a fingerprint dataset ``ds``.

    One warning (code ``dfa.curved``) per fit whose median curvature over channels
    (:func:`compute_dfa_curvature`) exceeds :data:`CURVATURE_LIMIT` in absolute value: the broadband fit
    and each envelope band. The message gives both half-range slopes, the exponent, R^2 and the fix.
    """
    findings = []
    fits = [("broadband DFA", "dfa_fluctuation", "dfa_exponent", "dfa_r_squared", "scale", None)]
    if "envelope_dfa_fluctuation" in ds:
        fits += [
            (
                f"{band} envelope DFA",
                "envelope_dfa_fluctuation",
                "envelope_dfa_exponent",
                "envelope_dfa_r_squared",
                "slow_scale",
                band,
            )
            for band in ds["envelope_band"].values
        ]
    for name, fluct_name, exp_name, r2_name, scale_name, band in fits:
        if fluct_name not in ds:
            continue
        pick = (lambda v: v) if band is None else (lambda v, b=band: v.sel(envelope_band=b))
        scales = ds[scale_name].values
        fluct = pick(ds[fluct_name]).values
        fit_range = ds[exp_name].attrs.get("fit_range")
        if fit_range is None and scale_name == "slow_scale":
            fit_range = _stored_parameters(ds).get("slow_fit_range")
        fit_range = tuple(fit_range) if fit_range is not None else (scales[0], scales[-1])
        curvature = compute_dfa_curvature(scales, fluct, fit_range=fit_range)
        if not np.isfinite(curvature).any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = float(np.nanmedian(curvature))
            exponent = float(np.nanmedian(pick(ds[exp_name]).values))
            r_squared = float(np.nanmedian(pick(ds[r2_name]).values)) if r2_name in ds else float("nan")
        if abs(median) <= CURVATURE_LIMIT:
            continue
        inside = scales[(scales >= fit_range[0] * (1 - 1e-9)) & (scales <= fit_range[1] * (1 + 1e-9))]
        middle = inside[inside.size // 2]
        n_curved = int(np.sum(np.abs(curvature) > CURVATURE_LIMIT))
        shape = "flattens (a plateau or crossover)" if median < 0 else "steepens"
        findings.append(
            Finding(
                code="dfa.curved",
                severity=Severity.WARNING,
                message=(
                    f"{name}: the fluctuation function {shape} inside the fit range {fit_range[0]:.3g}-"
                    f"{fit_range[1]:.3g} s (slope change {median:+.2f} between its halves, median over channels; "
                    f"{n_curved} of {np.isfinite(curvature).sum()} channels beyond {CURVATURE_LIMIT}); the exponent "
                    f"{exponent:.2f} (R² {r_squared:.3f}) averages two regimes"
                ),
                source=source,
                location=name,
                value=round(median, 3),
                fix=(
                    f"read the exponent over one regime: fit below or above about {middle:.3g} s "
                    f"(FingerprintParams({'dfa_fit_range' if band is None else 'slow_fit_range'}=(low, high)))"
                ),
            )
        )
    return findings


def _stored_parameters(ds) -> dict:
    import json

    try:
        return json.loads(ds.attrs.get("parameters", "{}"))
    except ValueError:
        return {}


def default_scales(
    fs: float, n_times: int, *, min_scale: float | None = None, n_scales: int = DEFAULT_N_SCALES
) -> np.ndarray:
    """Log-spaced scales in s from ``min_scale`` (default 0.1 s, at least 10 samples) to a tenth of the record."""
    fs = _check_fs(fs)
    low = max(DEFAULT_MIN_SCALE_S if min_scale is None else float(min_scale), 10.0 / fs)
    high = DEFAULT_MAX_FRACTION * n_times / fs
    if not high > low:
        raise DataError(
            f"the record ({n_times / fs:.3g} s at {fs:g} Hz) is too short for DFA scales from {low:.3g} s to a tenth "
            f"of its length; need at least {10 * low:.3g} s"
        )
    lengths = np.unique(np.round(np.geomspace(low * fs, high * fs, n_scales)).astype(int))
    return lengths / fs


def _fit_loglog(scales: np.ndarray, fluctuation: np.ndarray, fit: np.ndarray):
    """Slope, intercept and R^2 of log10 F on log10 scale; NaN for constant signals (F = 0)."""
    x = np.log10(scales[fit])
    values = fluctuation[..., fit]
    constant = np.any(values <= 0, axis=-1)
    y = np.log10(np.where(values > 0, values, 1.0))
    xc = x - x.mean()
    yc = y - y.mean(-1, keepdims=True)
    slope = yc @ xc / (xc @ xc)
    intercept = y.mean(-1) - slope * x.mean()
    resid = y - (intercept[..., None] + slope[..., None] * x)
    ss_tot = (yc**2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_squared = 1.0 - (resid**2).sum(-1) / ss_tot
    nan = np.nan
    return np.where(constant, nan, slope), np.where(constant, nan, intercept), np.where(constant, nan, r_squared)


def compute_dfa_array(
    data: np.ndarray,
    fs: float,
    *,
    scales: np.ndarray | None = None,
    fit_range: tuple[float, float] | None = None,
    overlap: float = 0.5,
    min_scale: float | None = None,
    n_scales: int = DEFAULT_N_SCALES,
    check_finite: bool = True,
) -> DfaResult:
    """Detrended fluctuation analysis (DFA-1) of every signal of ``data``.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals; time last.
    fs : float
        Sampling rate in Hz.
    scales : ndarray of float, optional
        Window lengths in s (rounded to whole samples, at least 4); default :func:`default_scales`.
    fit_range : (low, high), optional
        Scales in s (inclusive) that enter the fit; default all of them.
    overlap : float
        Fraction of overlap between consecutive windows, in [0, 1); 0 reproduces nolds
        (``overlap=False``) and neurodsp.
    min_scale : float, optional
        Shortest default scale in s (ignored when ``scales`` is given).
    n_scales : int
        Number of default scales.
    check_finite : bool
        Check that ``data`` holds no NaN or infinity (as in SciPy; False saves a pass over data
        already checked, and gives undefined results if they are not finite).

    Returns
    -------
    DfaResult

    Examples
    --------
    >>> from adhesive_dots.sim import sim_fgn
    >>> x = sim_fgn(60_000, 0.7, n_signals=2, rng=1)
    >>> result = compute_dfa_array(x, 250.0)
    >>> bool(abs(result.exponent - 0.7).max() < 0.1)
    True
    """
    data = _check_data(data, min_times=20, finite=check_finite)
    return _dfa(data, fs, scales=scales, fit_range=fit_range, overlap=overlap, min_scale=min_scale, n_scales=n_scales)


def _dfa(
    data: np.ndarray,
    fs: float,
    *,
    scales: np.ndarray | None = None,
    fit_range: tuple[float, float] | None = None,
    overlap: float = 0.5,
    min_scale: float | None = None,
    n_scales: int = DEFAULT_N_SCALES,
) -> DfaResult:
    """:func:`compute_dfa_array` of data already checked to be finite (the fingerprint checks once)."""
    fs = _check_fs(fs)
    n_times = data.shape[-1]
    if not 0 <= overlap < 1:
        raise DataError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if scales is None:
        scales = default_scales(fs, n_times, min_scale=min_scale, n_scales=n_scales)
    lengths = np.unique(np.round(np.asarray(scales, dtype=float) * fs).astype(int))
    if lengths.size < 2 or lengths[0] < 4 or lengths[-1] > n_times:
        raise DataError(
            f"scales must give at least 2 distinct window lengths between 4 samples and the record length "
            f"({n_times} samples at {fs:g} Hz); got {lengths.tolist()} samples"
        )
    scales = lengths / fs
    fit_range = (float(scales[0]), float(scales[-1])) if fit_range is None else fit_range
    low, high = _check_range("fit_range", fit_range)
    fit = (scales >= low * (1 - 1e-9)) & (scales <= high * (1 + 1e-9))
    if fit.sum() < 2:
        raise DataError(
            f"fit_range=({low:g}, {high:g}) s contains {int(fit.sum())} of the scales "
            f"{np.round(scales, 4).tolist()} s; it needs at least 2"
        )
    lead = data.shape[:-1]
    flat = data.reshape(-1, n_times)
    lengths = lengths.astype(np.int64)
    steps = np.array([max(1, int(round(n * (1.0 - overlap)))) for n in lengths], dtype=np.int64)
    mean_rss = np.empty((flat.shape[0], lengths.size))
    for r0 in range(0, flat.shape[0], ROWS_PER_CALL):  # bounded float64 copies of float32 input
        rows = np.ascontiguousarray(flat[r0 : r0 + ROWS_PER_CALL], dtype=np.float64)
        mean_rss[r0 : r0 + rows.shape[0]] = dfa_mean_rss(rows, lengths, steps, PREFIX_BLOCK)
    fluctuation = np.sqrt(mean_rss / lengths)
    slope, intercept, r_squared = _fit_loglog(scales, fluctuation, fit)
    return DfaResult(
        exponent=slope.reshape(lead),
        intercept=intercept.reshape(lead),
        r_squared=r_squared.reshape(lead),
        fluctuation=fluctuation.reshape(*lead, lengths.size),
        scales=scales,
        window_lengths=lengths,
        fit_range=(low, high),
        overlap=float(overlap),
    )


def envelope_rate(band: tuple[float, float]) -> float:
    """Default envelope sampling rate for ``band``: twice its upper edge, at least 8 x its width (Hz)."""
    low, high = band
    return float(max(2.0 * high, 8.0 * (high - low)))


def envelope_length(n_times: int, fs: float, band: tuple[float, float], envelope_fs: float | None = None) -> int:
    """Samples of the envelope of ``band`` over ``n_times`` samples at ``fs`` (see :func:`compute_envelope_array`)."""
    rate = envelope_rate(band) if envelope_fs is None else _check_positive("envelope_fs", envelope_fs)
    return min(int(np.ceil(rate * n_times / fs)), n_times)


def compute_envelope_array(
    data: np.ndarray,
    fs: float,
    *,
    band: tuple[float, float],
    envelope_fs: float | None = None,
    spectrum: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Amplitude envelope of the band-limited signal, sampled at ``envelope_fs``.

    The band-limited analytic signal ``z(t) = (2/N) sum_{k in band} X_k exp(2 pi i k t / N)`` (an
    ideal, zero-phase band-pass; ``X`` the real FFT of the data) is evaluated at ``M`` equally spaced
    times over the record by an inverse FFT of length ``M`` of the band's bins, and ``|z|`` is
    returned. At those times the values are exactly those of the full-rate Hilbert envelope of
    the FFT-filtered signal.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals; time last.
    fs : float
        Sampling rate in Hz.
    band : (low, high)
        Pass band in Hz (inclusive), below the Nyquist frequency.
    envelope_fs : float, optional
        Output rate in Hz; default :func:`envelope_rate`. Must hold the band's width.
    spectrum : ndarray, shape (..., n_times // 2 + 1), optional
        ``scipy.fft.rfft(data)`` if already computed (saves the FFT when several bands are needed).

    Returns
    -------
    envelope : ndarray, shape (..., n_env)
        Amplitude envelope in the data's units.
    envelope_fs : float
        Its effective sampling rate in Hz (``n_env * fs / n_times``).
    """
    fs = _check_fs(fs)
    n_times = np.shape(data)[-1]
    low, high = _check_range("band", band, high=fs / 2.0)
    rate = envelope_rate((low, high)) if envelope_fs is None else _check_positive("envelope_fs", envelope_fs)
    if spectrum is None:
        data = _check_data(data, min_times=4)
        spectrum = scipy.fft.rfft(data, axis=-1, workers=-1)
    freqs = np.arange(spectrum.shape[-1]) * fs / n_times
    k0 = int(np.searchsorted(freqs, low, side="left"))
    k1 = int(np.searchsorted(freqs, high, side="right"))
    n_bins = k1 - k0
    if n_bins < 1:
        raise DataError(f"band ({low:g}, {high:g}) Hz holds no frequency bin of a {n_times / fs:g} s record")
    n_env = int(np.ceil(rate * n_times / fs))
    if n_env < n_bins:
        raise DataError(
            f"envelope_fs={rate:g} Hz cannot hold the {high - low:g} Hz wide band ({n_bins} bins > {n_env} samples); "
            "raise envelope_fs"
        )
    n_env = min(n_env, n_times)
    base = np.zeros((*spectrum.shape[:-1], n_env), dtype=complex)
    # bin k0 + j goes to j (a shift by k0 bins multiplies z by a phase only)
    base[..., :n_bins] = spectrum[..., k0:k1]
    z = scipy.fft.ifft(base, axis=-1) * (2.0 * n_env / n_times)
    return np.abs(z), n_env * fs / n_times
