"""Aperiodic (1/f-like) component of power spectra, fitted with oscillatory peaks excluded.

Model (as specparam's ``fixed`` and ``knee`` modes), in log10 power::

    fixed:  log10 P(f) = offset - exponent * log10(f)
    knee:   log10 P(f) = offset - log10(knee + f ** exponent)

:func:`compute_aperiodic_array` fits the ``fixed`` model to every spectrum at once (closed-form
weighted least squares over ``(..., n_freqs)``). Peaks are excluded by robust iteration, in the
spirit of specparam's robust initial fit: after each fit, points lying more than
``peak_threshold`` robust standard deviations (1.4826 x median absolute deviation of the
residuals) *above* the line are dropped and the line is refitted, until the kept set stops
changing. The ``knee`` model is fitted per spectrum with :func:`scipy.optimize.curve_fit` on the
points the fixed fit kept. Full peak parameterisation (centre, power, bandwidth of every peak) is
available on request through :func:`fit_specparam_array`, which needs the optional ``specparam``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_range


@dataclass(frozen=True)
class Aperiodic:
    """Aperiodic fits of spectra.

    Attributes
    ----------
    offset : ndarray, shape (...)
        log10 power at 1 Hz of the fitted line (log10 of units**2/Hz).
    exponent : ndarray, shape (...)
        Aperiodic exponent chi (unitless; P ~ 1/f**chi).
    knee : ndarray, shape (...)
        Knee parameter (Hz**exponent); NaN in ``fixed`` mode.
    r_squared : ndarray, shape (...)
        R^2 of the fit on the kept (non-peak) points.
    error : ndarray, shape (...)
        Root-mean-square residual on the kept points (log10 units).
    n_points : ndarray of int, shape (...)
        Number of frequency bins kept (the rest were excluded as peaks).
    freq_range : tuple of float
        The fitted range in Hz (inclusive).
    mode : str
        ``"fixed"`` or ``"knee"``.
    """

    offset: np.ndarray
    exponent: np.ndarray
    knee: np.ndarray
    r_squared: np.ndarray
    error: np.ndarray
    n_points: np.ndarray
    freq_range: tuple[float, float]
    mode: str


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of ``y ~ a + b x`` per row, weights ``w`` (rows: (..., n))."""
    sw = w.sum(-1)
    sx = w @ x
    sy = (w * y).sum(-1)
    sxx = w @ (x * x)
    sxy = (w * y) @ x if y.ndim == 1 else np.einsum("...n,...n->...", w * y, np.broadcast_to(x, y.shape))
    det = sw * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (sw * sxy - sx * sy) / det
        intercept = (sy - slope * sx) / sw
    return intercept, slope


def _nanmedian_last(values: np.ndarray) -> np.ndarray:
    """``np.nanmedian(values, axis=-1, keepdims=True)`` for rows with at least one value, by one sort (faster)."""
    ordered = np.sort(values, axis=-1)  # NaN sort last
    count = np.isfinite(values).sum(-1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis=-1)
    high = np.take_along_axis(ordered, count // 2, axis=-1)
    return (low + high) / 2.0


def compute_aperiodic_array(
    freqs: np.ndarray,
    psd: np.ndarray,
    *,
    freq_range: tuple[float, float] = (1.0, 40.0),
    knee: bool = False,
    peak_threshold: float = 2.0,
    max_iter: int = 20,
) -> Aperiodic:
    """Fit offset and exponent (optionally a knee) to spectra, oscillatory peaks excluded.

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz.
    psd : ndarray, shape (..., n_freqs)
        Power spectral densities (positive), any leading shape.
    freq_range : (low, high)
        Fitted range in Hz, inclusive; ``low`` must be above 0 Hz.
    knee : bool
        Fit the ``knee`` model instead of the ``fixed`` one.
    peak_threshold : float
        Points more than this many robust standard deviations above the fit are treated as
        peaks and excluded.
    max_iter : int
        Maximum number of exclusion rounds.

    Returns
    -------
    Aperiodic
        Arrays shaped like ``psd`` without its last axis.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.arange(1, 41, 0.5)
    >>> fit = compute_aperiodic_array(f, 10 * f ** -1.5)
    >>> round(float(fit.exponent), 6), round(float(fit.offset), 6)
    (1.5, 1.0)
    """
    freqs = np.asarray(freqs, dtype=float)
    psd = np.asarray(psd, dtype=float)
    if psd.shape[-1] != freqs.size:
        raise DataError(f"psd has {psd.shape[-1]} frequencies along its last axis but freqs has {freqs.size}")
    low, high = _check_range("freq_range", freq_range, low=1e-12)
    inside = (freqs >= low) & (freqs <= high)
    if inside.sum() < 4:
        raise DataError(
            f"freq_range=({low:g}, {high:g}) Hz holds {int(inside.sum())} frequency bins (spectrum "
            f"{freqs[0]:g}-{freqs[-1]:g} Hz); at least 4 are needed: widen the range or use longer segments"
        )
    power = psd[..., inside]
    if np.any(~np.isfinite(power)) or np.any(power <= 0):
        raise DataError(
            "psd must be positive and finite inside freq_range to fit an aperiodic component "
            "(a flat or zero channel gives zero power: drop it first)"
        )
    x = np.log10(freqs[inside])
    y = np.log10(power)
    w = np.ones_like(y)
    shape = y.shape
    y, w = y.reshape(-1, x.size), w.reshape(-1, x.size)
    active = np.arange(y.shape[0])  # spectra whose set of kept points still changes
    for _ in range(max_iter):
        ya, wa = y[active], w[active]
        intercept, slope = _weighted_line(x, ya, wa)
        resid = ya - (intercept[:, None] + slope[:, None] * x)
        kept = np.where(wa > 0, resid, np.nan)
        center = _nanmedian_last(kept)
        spread = 1.4826 * _nanmedian_last(np.abs(kept - center))
        new_w = (resid - center <= peak_threshold * np.maximum(spread, 1e-12)).astype(float)
        enough = new_w.sum(-1, keepdims=True) >= max(4, x.size // 4)
        new_w = np.where(enough, new_w, wa)
        changed = np.any(new_w != wa, axis=-1)
        w[active[changed]] = new_w[changed]
        active = active[changed]
        if not active.size:
            break
    y, w = y.reshape(shape), w.reshape(shape)
    intercept, slope = _weighted_line(x, y, w)
    offset, exponent = intercept, -slope
    knee_value = np.full(offset.shape, np.nan)
    if knee:
        offset, exponent, knee_value = _fit_knee(x, y, w, offset, exponent)
        model = offset[..., None] - np.log10(knee_value[..., None] + (10**x) ** exponent[..., None])
    else:
        model = offset[..., None] - exponent[..., None] * x
    resid = (y - model) * w
    n_points = w.sum(-1)
    ybar = (y * w).sum(-1) / n_points
    ss_tot = (((y - ybar[..., None]) * w) ** 2).sum(-1)
    ss_res = (resid**2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_squared = 1.0 - ss_res / ss_tot
    error = np.sqrt(ss_res / n_points)
    return Aperiodic(
        offset=np.asarray(offset),
        exponent=np.asarray(exponent),
        knee=np.asarray(knee_value),
        r_squared=np.asarray(r_squared),
        error=np.asarray(error),
        n_points=np.asarray(n_points).astype(int),
        freq_range=(low, high),
        mode="knee" if knee else "fixed",
    )


def _fit_knee(x, y, w, offset0, exponent0):
    """Knee model per spectrum with scipy's curve_fit on the kept points."""
    from scipy.optimize import curve_fit

    f = 10**x

    def model(freq, offset, knee, exponent):
        return offset - np.log10(np.maximum(knee, 0.0) + freq**exponent)

    shape = y.shape[:-1]
    flat_y = y.reshape(-1, y.shape[-1])
    flat_w = w.reshape(-1, w.shape[-1]) > 0
    out = np.full((flat_y.shape[0], 3), np.nan)
    o0, e0 = np.ravel(offset0), np.ravel(exponent0)
    for i in range(flat_y.shape[0]):
        keep = flat_w[i]
        try:
            params, _ = curve_fit(
                model,
                f[keep],
                flat_y[i, keep],
                p0=(o0[i], 1.0, max(e0[i], 0.1)),
                bounds=([-np.inf, 0.0, 0.0], [np.inf, np.inf, 10.0]),
                maxfev=5000,
            )
        except RuntimeError:
            continue  # leaves NaN: the knee model did not converge on this spectrum
        out[i] = params
    return out[:, 0].reshape(shape), out[:, 2].reshape(shape), out[:, 1].reshape(shape)


def fit_specparam_array(
    freqs: np.ndarray,
    psd: np.ndarray,
    *,
    freq_range: tuple[float, float] = (1.0, 40.0),
    aperiodic_mode: str = "fixed",
    **settings,
):
    """Full peak parameterisation with specparam (optional dependency), on request.

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz.
    psd : ndarray, shape (n_spectra, n_freqs) or (n_freqs,)
        Power spectral densities.
    freq_range : (low, high)
        Fitted range in Hz.
    aperiodic_mode : {"fixed", "knee"}
        specparam's aperiodic mode.
    **settings
        Passed to ``specparam.SpectralGroupModel`` (``peak_width_limits``, ``max_n_peaks``, ...).

    Returns
    -------
    specparam.SpectralGroupModel
        The fitted group model (``get_params("aperiodic")``, ``get_params("periodic")``).

    Raises
    ------
    ImportError
        When specparam is not installed (``pip install specparam``).
    """
    try:
        from specparam import SpectralGroupModel
    except ImportError as err:
        raise ImportError(
            "fit_specparam_array needs the optional package 'specparam' (pip install 'specparam>=2.0.0rc7'); "
            "compute_aperiodic_array gives offset and exponent without it"
        ) from err
    low, high = _check_range("freq_range", freq_range, low=1e-12)
    group = SpectralGroupModel(aperiodic_mode=aperiodic_mode, verbose=False, **settings)
    group.fit(np.asarray(freqs, dtype=float), np.atleast_2d(np.asarray(psd, dtype=float)), [low, high])
    return group
