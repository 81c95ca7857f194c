"""Object-level features of a :class:`~adhesive_dots.core.Baseline`, labelled with xarray.

Each reads only the baseline's segment, takes ``fs`` and channel names from it, calls the
array-level function with the same keyword options and labels the result (dims ``channel``,
``freq``, ``scale``); the values are exactly those of the array level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from adhesive_dots.core import Baseline
from adhesive_dots.fingerprint.aperiodic import compute_aperiodic_array
from adhesive_dots.fingerprint.correlation import compute_correlation_array
from adhesive_dots.fingerprint.dfa import compute_dfa_array
from adhesive_dots.fingerprint.spectral import compute_psd_array


def _attrs(baseline: Baseline, **extra: Any) -> dict[str, Any]:
    return {"source": baseline.source, "fs": baseline.fs, "units": baseline.recording.units, **extra}


def compute_psd(baseline: Baseline, **options: Any) -> xr.DataArray:
    """Welch PSD of a baseline, ``(channel, freq)`` in units**2/Hz (options of :func:`compute_psd_array`)."""
    freqs, psd = compute_psd_array(baseline.load(), baseline.fs, **options)
    units = baseline.recording.units or "units"
    return xr.DataArray(
        psd,
        dims=("channel", "freq"),
        coords={"channel": list(baseline.channel_names), "freq": ("freq", freqs, {"units": "Hz"})},
        name="psd",
        attrs=_attrs(baseline, psd_units=f"({units})**2/Hz", **{k: str(v) for k, v in options.items()}),
    )


def compute_aperiodic(baseline: Baseline, *, psd_options: dict | None = None, **options: Any) -> xr.Dataset:
    """Aperiodic fit of a baseline's Welch PSD per channel (options of :func:`compute_aperiodic_array`)."""
    psd = compute_psd(baseline, **(psd_options or {}))
    fit = compute_aperiodic_array(psd.freq.values, psd.values, **options)
    names = ("offset", "exponent", "knee", "r_squared", "error", "n_points")
    return xr.Dataset(
        {name: ("channel", np.asarray(getattr(fit, name))) for name in names},
        coords={"channel": psd.channel.values},
        attrs=_attrs(baseline, freq_range=list(fit.freq_range), mode=fit.mode),
    )


def compute_dfa(baseline: Baseline, **options: Any) -> xr.Dataset:
    """DFA of a baseline's channels: exponent, R^2 and ``(channel, scale)`` fluctuations (options of
    :func:`compute_dfa_array`)."""
    result = compute_dfa_array(baseline.load(), baseline.fs, **options)
    return xr.Dataset(
        {
            "exponent": ("channel", result.exponent),
            "r_squared": ("channel", result.r_squared),
            "fluctuation": (("channel", "scale"), result.fluctuation),
        },
        coords={"channel": list(baseline.channel_names), "scale": ("scale", result.scales, {"units": "s"})},
        attrs=_attrs(baseline, fit_range=list(result.fit_range), overlap=result.overlap),
    )


def compute_correlation(baseline: Baseline, **options: Any) -> xr.Dataset:
    """Correlation structure of a baseline's channels (options of :func:`compute_correlation_array`)."""
    result = compute_correlation_array(baseline.load(), **options)
    names = list(baseline.channel_names)
    data = {
        "eigenvalues": ("component", result.eigenvalues),
        "eigenspectrum_exponent": ((), result.eigenspectrum_exponent),
        "participation_ratio": ((), result.participation_ratio),
        "mean_abs_correlation": ((), result.mean_abs_correlation),
        "eigenspectrum_knee": ((), result.knee),
    }
    coords: dict[str, Any] = {"channel": names}
    if result.matrix is not None:
        data["correlation"] = (("channel", "channel_b"), result.matrix)
        coords["channel_b"] = names
    return xr.Dataset(data, coords=coords, attrs=_attrs(baseline, rank_range=list(result.rank_range)))
