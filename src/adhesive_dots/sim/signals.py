"""Signals with known statistics (NumPy only; the ground truth of every numeric test).

All generators take an ``rng`` (a :class:`numpy.random.Generator`, a seed, or ``None``)
and return float64 arrays shaped ``(..., n_times)``.
"""

from __future__ import annotations

import numpy as np

from adhesive_dots.errors import DataError

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    """A Generator from a Generator, a seed or ``None`` (fresh entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_positive_int(name: str, value: int) -> int:
    if int(value) != value or value < 2:
        raise DataError(f"{name} must be an integer of at least 2, got {value!r}")
    return int(value)


def sim_fgn(n_times: int, hurst: float, *, n_signals: int | None = None, rng: RngLike = None) -> np.ndarray:
    """Fractional Gaussian noise of Hurst exponent ``hurst``, unit variance (exact).

    Uses the circulant-embedding method of Davies and Harte (1987); DFA of the result is
    ``hurst`` and DFA of its cumulative sum is ``hurst + 1``.

    Parameters
    ----------
    n_times : int
        Samples per signal.
    hurst : float
        Hurst exponent in (0, 1); 0.5 is white noise.
    n_signals : int, optional
        Number of independent signals; the result is then ``(n_signals, n_times)``.

    Returns
    -------
    ndarray, shape (n_times,) or (n_signals, n_times)
    """
    n_times = _check_positive_int("n_times", n_times)
    if not 0 < hurst < 1:
        raise DataError(f"hurst must lie in (0, 1), got {hurst!r}")
    rng = as_rng(rng)
    lags = np.arange(n_times + 1, dtype=float)
    two_h = 2.0 * hurst
    acov = 0.5 * (np.abs(lags + 1) ** two_h - 2 * lags**two_h + np.abs(lags - 1) ** two_h)
    circulant = np.concatenate([acov, acov[-2:0:-1]])  # length 2 * n_times
    eigenvalues = np.fft.fft(circulant).real
    eigenvalues = np.clip(eigenvalues, 0.0, None)  # tiny negative round-off only
    m = circulant.size
    count = 1 if n_signals is None else int(n_signals)
    noise = rng.standard_normal((count, m)) + 1j * rng.standard_normal((count, m))
    values = np.fft.fft(np.sqrt(eigenvalues / m) * noise, axis=-1).real[:, :n_times]
    return values[0] if n_signals is None else values


def sim_powerlaw(
    n_times: int,
    fs: float,
    exponent: float,
    *,
    f_flat: float = 0.0,
    n_signals: int | None = None,
    rng: RngLike = None,
) -> np.ndarray:
    """Noise whose power spectrum is ``1 / f**exponent`` at frequencies above ``f_flat``.

    White noise is shaped in the frequency domain (amplitude ``f**(-exponent / 2)``,
    constant below ``f_flat`` Hz, as a high-passed recording flattens) and scaled to unit
    variance; the DC component is zero.

    Returns
    -------
    ndarray, shape (n_times,) or (n_signals, n_times)
    """
    n_times = _check_positive_int("n_times", n_times)
    rng = as_rng(rng)
    count = 1 if n_signals is None else int(n_signals)
    spectrum = np.fft.rfft(rng.standard_normal((count, n_times)), axis=-1)
    freqs = np.fft.rfftfreq(n_times, d=1.0 / fs)
    scale = np.zeros_like(freqs)
    scale[1:] = np.maximum(freqs[1:], f_flat) ** (-exponent / 2.0)
    values = np.fft.irfft(spectrum * scale, n=n_times, axis=-1)
    values /= values.std(axis=-1, keepdims=True)
    return values[0] if n_signals is None else values


def sim_fgn_envelope(
    n_times: int,
    fs: float,
    hurst: float,
    *,
    envelope_fs: float = 10.0,
    depth: float = 0.5,
    rng: RngLike = None,
) -> np.ndarray:
    """A positive amplitude envelope whose fluctuations are fGn of Hurst ``hurst``.

    fGn is drawn at ``envelope_fs`` Hz, linearly interpolated to ``fs`` and mapped to
    ``exp(depth * x - depth**2 / 2)`` (mean 1). Its DFA exponent over scales longer than
    a few envelope samples is ``hurst``.

    Returns
    -------
    ndarray, shape (n_times,)
    """
    n_env = int(np.ceil(n_times / fs * envelope_fs)) + 2
    slow = sim_fgn(n_env, hurst, rng=rng)
    t_env = np.arange(n_env) / envelope_fs
    t = np.arange(n_times) / fs
    fast = np.interp(t, t_env, slow)
    return np.exp(depth * fast - depth**2 / 2.0)


def sim_oscillation(
    n_times: int,
    fs: float,
    freq: float,
    *,
    envelope: np.ndarray | None = None,
    phase_diffusion: float = 0.5,
    rng: RngLike = None,
) -> np.ndarray:
    """A narrow-band oscillation at ``freq`` Hz with slowly drifting phase.

    ``phase_diffusion`` (rad / sqrt(s)) widens the spectral peak to a realistic width; the
    amplitude is ``envelope`` (or 1). Mean square amplitude is ``mean(envelope**2) / 2``.

    Returns
    -------
    ndarray, shape (n_times,)
    """
    rng = as_rng(rng)
    steps = rng.standard_normal(n_times) * phase_diffusion / np.sqrt(fs)
    phase = 2 * np.pi * freq * np.arange(n_times) / fs + np.cumsum(steps) + rng.uniform(0, 2 * np.pi)
    amplitude = 1.0 if envelope is None else envelope
    return amplitude * np.sin(phase)


def sim_powerlaw_eigenspectrum(
    n_times: int,
    n_channels: int,
    alpha: float,
    *,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian data whose covariance eigenvalues fall as ``k**-alpha`` (k = 1..n_channels).

    Returns
    -------
    data : ndarray, shape (n_channels, n_times)
    covariance : ndarray, shape (n_channels, n_channels)
        The population covariance the data were drawn from.
    """
    rng = as_rng(rng)
    eigenvalues = np.arange(1, n_channels + 1, dtype=float) ** (-alpha)
    basis, _ = np.linalg.qr(rng.standard_normal((n_channels, n_channels)))
    covariance = (basis * eigenvalues) @ basis.T
    data = basis @ (np.sqrt(eigenvalues)[:, None] * rng.standard_normal((n_channels, n_times)))
    return data, covariance
