"""Spiking statistics from spike times: rates, ISI variability, Fano factor, population coupling.

:func:`compute_spiking_array` takes one array of spike times (s) per unit and the interval they
belong to, and returns per-unit:

``rate``
    Spikes per second over the interval (Hz).
``isi_cv``
    Coefficient of variation of the inter-spike intervals (1 for a Poisson process, 0 for a clock);
    NaN for units with fewer than 3 spikes.
``fano_factor``
    Variance over mean of spike counts in ``bin_s`` bins (default 1 s; 1 for Poisson); NaN for
    silent units.
``population_coupling``
    Pearson correlation of the unit's binned count with the summed count of all *other* units
    (Okun et al. 2015), in ``coupling_bin_s`` bins.

and the population rate (summed counts / bin width, Hz), whose DFA the fingerprint reports for
spiking data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_positive


@dataclass(frozen=True)
class SpikingResult:
    """Spiking statistics (see the module docstring). Arrays are ``(n_units,)`` unless stated."""

    rate: np.ndarray
    isi_cv: np.ndarray
    fano_factor: np.ndarray
    population_coupling: np.ndarray
    population_rate: np.ndarray  # (n_bins,), Hz, in coupling_bin_s bins
    population_fs: float  # Hz, 1 / coupling_bin_s
    bin_s: float
    coupling_bin_s: float


def bin_spike_times(spike_times: Sequence[np.ndarray], *, start: float, stop: float, bin_s: float) -> np.ndarray:
    """Spike counts ``(n_units, n_bins)`` in ``bin_s`` bins from ``start`` (s); a last partial bin is dropped."""
    bin_s = _check_positive("bin_s", bin_s)
    n_bins = int(np.floor((stop - start) / bin_s + 1e-9))
    if n_bins < 1:
        raise DataError(f"interval {start:g}-{stop:g} s is shorter than one bin of {bin_s:g} s")
    edges = start + bin_s * np.arange(n_bins + 1)
    return np.stack([np.histogram(np.asarray(t, dtype=float), bins=edges)[0] for t in spike_times]).astype(float)


def compute_spiking_array(
    spike_times: Sequence[np.ndarray],
    *,
    start: float,
    stop: float,
    bin_s: float = 1.0,
    coupling_bin_s: float = 0.1,
) -> SpikingResult:
    """Rates, ISI CV, Fano factor and population coupling of units (see the module docstring).

    Parameters
    ----------
    spike_times : sequence of ndarray
        One array of spike times in s per unit (any order; spikes outside the interval are ignored).
    start, stop : float
        The interval in s.
    bin_s : float
        Bin of the Fano factor in s.
    coupling_bin_s : float
        Bin of the population coupling and of the population rate in s.

    Returns
    -------
    SpikingResult
    """
    if not len(spike_times):
        raise DataError("spike_times is empty: pass one array of spike times (s) per unit")
    if not stop > start:
        raise DataError(f"stop ({stop!r} s) must be after start ({start!r} s)")
    duration = stop - start
    units = []
    for i, times in enumerate(spike_times):
        t = np.sort(np.asarray(times, dtype=float).ravel())
        if not np.all(np.isfinite(t)):
            raise DataError(f"spike_times[{i}] contains NaN or infinite times")
        units.append(t[(t >= start) & (t < stop)])
    rate = np.array([t.size / duration for t in units])
    isi_cv = np.full(len(units), np.nan)
    for i, t in enumerate(units):
        if t.size >= 3:
            isi = np.diff(t)
            isi_cv[i] = isi.std() / isi.mean() if isi.mean() > 0 else np.nan
    counts = bin_spike_times(units, start=start, stop=stop, bin_s=bin_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        fano = counts.var(axis=-1) / counts.mean(axis=-1)
    fine = bin_spike_times(units, start=start, stop=stop, bin_s=coupling_bin_s)
    total = fine.sum(axis=0)
    coupling = np.full(len(units), np.nan)
    for i in range(len(units)):
        others = total - fine[i]
        if fine[i].std() > 0 and others.std() > 0:
            coupling[i] = np.corrcoef(fine[i], others)[0, 1]
    return SpikingResult(
        rate=rate,
        isi_cv=isi_cv,
        fano_factor=fano,
        population_coupling=coupling,
        population_rate=total / coupling_bin_s,
        population_fs=1.0 / coupling_bin_s,
        bin_s=float(bin_s),
        coupling_bin_s=float(coupling_bin_s),
    )
