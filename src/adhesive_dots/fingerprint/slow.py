"""Slow-signal (BOLD) features: ALFF, fALFF, slow-5/slow-4 band powers, Fisher-z functional connectivity.

Added to the fingerprint of every signal sampled below :data:`~adhesive_dots.fingerprint.params.SLOW_FS`
(fMRI BOLD ROI series), beside the spectrum, aperiodic fit, DFA, correlation structure and dynamics that
every fingerprint has.

* **ALFF** (amplitude of low-frequency fluctuations, Zang et al. 2007): the mean amplitude
  ``sqrt(P(f))`` of the linearly detrended series' one-sided periodogram over :data:`ALFF_BAND`
  (0.01-0.08 Hz), in units of the samples per sqrt(Hz). The whole-run periodogram is used (not Welch
  segments) so that the band holds many bins at BOLD rates.
* **fALFF** (Zou et al. 2008): the summed amplitude over the ALFF band divided by the summed amplitude
  over every frequency above 0 up to Nyquist; unitless, 0..1, independent of scale.
* **slow-5** (0.01-0.027 Hz) and **slow-4** (0.027-0.073 Hz) powers (Zuo et al. 2010): the periodogram
  integrated over each band, units**2, and as fractions of the total power above 0 Hz.
* **FC**: the Pearson correlation matrix of the ROI series and its Fisher z-transform
  ``arctanh(r)`` (diagonal NaN); the same numbers as nilearn's ``ConnectivityMeasure(kind="correlation",
  cov_estimator=EmpiricalCovariance())`` (the agreement test checks 1e-10). :func:`fc_edges` gives the
  upper-triangle edge vector used for connectome identification (Finn et al. 2015).

Bands above Nyquist are cut at it; a band entirely above it gives NaN (never a range outside it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import signal as sps

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data, _check_fs

ALFF_BAND = (0.01, 0.08)
"""Band of ALFF and the numerator of fALFF, Hz."""
SLOW_BANDS = {"slow5": (0.01, 0.027), "slow4": (0.027, 0.073)}
"""Buzsaki's slow-5 and slow-4 bands as used for BOLD (Zuo et al. 2010), Hz."""


@dataclass(frozen=True)
class SlowFeatures:
    """Per-channel slow-signal features (see the module docs); arrays ``(n_channels,)``, ``fc_z`` ``(n, n)``."""

    alff: np.ndarray
    falff: np.ndarray
    band_power: dict[str, np.ndarray]
    relative_band_power: dict[str, np.ndarray]
    fc: np.ndarray
    fc_z: np.ndarray
    alff_band: tuple[float, float]


def _periodogram(data: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided periodogram ``(n_channels, n_freqs)`` of linearly detrended data, in units**2/Hz."""
    freqs, psd = sps.periodogram(data, fs=fs, detrend="linear", scaling="density", axis=-1)
    return freqs, psd


def _band_mask(freqs: np.ndarray, band: tuple[float, float], nyquist: float) -> np.ndarray:
    low, high = band
    return (freqs >= low) & (freqs <= min(high, nyquist)) & (freqs > 0)


def compute_alff_array(
    data: np.ndarray, fs: float, *, band: tuple[float, float] = ALFF_BAND
) -> tuple[np.ndarray, np.ndarray]:
    """ALFF and fALFF of ``(..., n_times)`` signals sampled at ``fs`` Hz (see the module docs).

    Returns
    -------
    alff, falff : ndarray, shape (...)
        ALFF in units/sqrt(Hz); fALFF unitless in [0, 1]. NaN when the band holds no frequency bin
        below Nyquist, or for a constant signal.

    Examples
    --------
    >>> from adhesive_dots.sim import sim_powerlaw
    >>> x = sim_powerlaw(1200, 1 / 0.72, 0.0, n_signals=2, rng=0)    # white noise
    >>> alff, falff = compute_alff_array(x, 1 / 0.72)
    >>> bool(abs(falff.mean() - 0.07 / 0.69) < 0.03)   # flat spectrum: the band's share of the bins
    True
    """
    fs = _check_fs(fs)
    data = _check_data(data)
    freqs, psd = _periodogram(data, fs)
    amplitude = np.sqrt(psd)
    inside = _band_mask(freqs, band, fs / 2)
    if not inside.any():
        nan = np.full(data.shape[:-1], np.nan)
        return nan, nan
    total = amplitude[..., freqs > 0].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alff = amplitude[..., inside].mean(axis=-1)
        falff = np.where(total > 0, amplitude[..., inside].sum(axis=-1) / total, np.nan)
    return alff, falff


def compute_slow_band_power_array(
    data: np.ndarray, fs: float, *, bands: dict[str, tuple[float, float]] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Powers (units**2) and fractions of the total power above 0 Hz of ``bands`` (default slow-5, slow-4)."""
    fs = _check_fs(fs)
    data = _check_data(data)
    bands = SLOW_BANDS if bands is None else bands
    freqs, psd = _periodogram(data, fs)
    df = freqs[1] - freqs[0]
    total = psd[..., freqs > 0].sum(axis=-1) * df
    power, relative = {}, {}
    for name, band in bands.items():
        inside = _band_mask(freqs, band, fs / 2)
        value = psd[..., inside].sum(axis=-1) * df if inside.any() else np.full(data.shape[:-1], np.nan)
        power[name] = value
        with np.errstate(invalid="ignore", divide="ignore"):
            relative[name] = np.where(total > 0, value / total, np.nan)
    return power, relative


def compute_fc_array(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation ``(n, n)`` of ``(n_channels, n_times)`` ROI series and its Fisher z (diagonal NaN).

    Constant channels give NaN rows. Computed in float64.
    """
    data = _check_data(data)
    if data.ndim != 2:
        raise DataError(f"FC needs (n_channels, n_times) data, got shape {data.shape}")
    centred = data - data.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = centred / norms[:, np.newaxis]
        r = np.clip(unit @ unit.T, -1.0, 1.0)
    np.fill_diagonal(r, np.where(norms > 0, 1.0, np.nan))
    with np.errstate(divide="ignore"):
        z = np.arctanh(r)
    np.fill_diagonal(z, np.nan)
    return r, z


def fc_edges(fc_z: np.ndarray) -> np.ndarray:
    """The upper-triangle edges (``k=1``, row-major) of an ``(n, n)`` FC matrix: ``(n * (n - 1) / 2,)``."""
    fc_z = np.asarray(fc_z, dtype=float)
    rows, cols = np.triu_indices(fc_z.shape[0], k=1)
    return fc_z[rows, cols]


def compute_slow_features_array(data: np.ndarray, fs: float) -> SlowFeatures:
    """Every slow-signal feature of ``(n_channels, n_times)`` ROI series at ``fs`` Hz."""
    alff, falff = compute_alff_array(data, fs)
    power, relative = compute_slow_band_power_array(data, fs)
    fc, fc_z = compute_fc_array(data)
    return SlowFeatures(alff, falff, power, relative, fc, fc_z, ALFF_BAND)


def add_slow_features(ds: xr.Dataset, data: np.ndarray, fs: float) -> xr.Dataset:
    """``ds`` (a fingerprint's dataset) with the slow features of ``data`` added (``alff``, ``falff``,
    ``slow_band_power`` and ``slow_relative_power`` [channel, slow_band], ``fc_fisher_z`` [channel, channel_b])."""
    features = compute_slow_features_array(data, fs)
    if "channel_b" in ds.coords and ds.sizes["channel_b"] != ds.sizes["channel"]:
        raise DataError(
            f"the fingerprint's correlation covers {ds.sizes['channel_b']} of {ds.sizes['channel']} channels"
        )
    names = list(SLOW_BANDS)
    ds = ds.assign_coords(slow_band=("slow_band", names))
    ds["alff"] = ("channel",), features.alff
    ds["alff"].attrs.update(units="units/sqrt(Hz)", band_hz=list(ALFF_BAND), long_name="ALFF")
    ds["falff"] = ("channel",), features.falff
    ds["falff"].attrs.update(units="1", band_hz=list(ALFF_BAND), long_name="fALFF")
    ds["slow_band_power"] = ("channel", "slow_band"), np.stack([features.band_power[n] for n in names], axis=-1)
    edges = [float(v) for n in names for v in SLOW_BANDS[n]]
    ds["slow_band_power"].attrs.update(units="units**2", band_edges_hz=edges, long_name="(low, high) per band, flat")
    ds["slow_relative_power"] = (
        ("channel", "slow_band"),
        np.stack([features.relative_band_power[n] for n in names], axis=-1),
    )
    ds["slow_relative_power"].attrs.update(units="1")
    if "channel_b" not in ds.coords:
        ds = ds.assign_coords(channel_b=("channel_b", ds["channel"].values))
    ds["fc_fisher_z"] = ("channel", "channel_b"), features.fc_z
    ds["fc_fisher_z"].attrs.update(units="1", long_name="Fisher z of the Pearson correlation (diagonal NaN)")
    return ds


__all__ = [
    "ALFF_BAND",
    "SLOW_BANDS",
    "SlowFeatures",
    "add_slow_features",
    "compute_alff_array",
    "compute_fc_array",
    "compute_slow_band_power_array",
    "compute_slow_features_array",
    "fc_edges",
]
