"""Spiking statistics and baseline dynamics: known answers."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import (
    compute_arousal_coupling_array,
    compute_drift_array,
    compute_nonstationarity_array,
    compute_spiking_array,
    sliding_windows,
)
from adhesive_dots.fingerprint.dynamics import segment_membership


def _poisson(rate, duration, rng):
    n = rng.poisson(rate * duration)
    return np.sort(rng.uniform(0, duration, n))


def test_poisson_units_have_cv_and_fano_of_one():
    """Homogeneous Poisson units over 600 s: rate within 5% of the truth, ISI CV and Fano factor
    (1 s bins) within 0.1 of 1 (their sampling sd at these counts is about 0.03-0.06), and no
    population coupling between independent units (|r| < 0.05)."""
    rng = np.random.default_rng(0)
    rates = np.array([2.0, 5.0, 10.0, 20.0])
    units = [_poisson(r, 600.0, rng) for r in rates]
    result = compute_spiking_array(units, start=0.0, stop=600.0)
    np.testing.assert_allclose(result.rate, rates, rtol=0.05)
    np.testing.assert_allclose(result.isi_cv, 1.0, atol=0.1)
    np.testing.assert_allclose(result.fano_factor, 1.0, atol=0.1)
    assert np.all(np.abs(result.population_coupling) < 0.05)
    assert result.population_rate.mean() == pytest.approx(rates.sum(), rel=0.05)


def test_regular_and_coupled_units():
    """A clock (one spike every 0.1 s) has ISI CV 0 and Fano factor 0; units sharing a slowly
    modulated rate (inhomogeneous Poisson, common modulation) are positively coupled (r > 0.2)."""
    clock = np.arange(0.05, 600.0, 0.1)
    result = compute_spiking_array([clock, clock + 0.01], start=0.0, stop=600.0)
    np.testing.assert_allclose(result.isi_cv, 0.0, atol=1e-9)
    np.testing.assert_allclose(result.fano_factor, 0.0, atol=1e-9)
    rng = np.random.default_rng(1)
    t = np.arange(0, 600.0, 0.01)
    rate = 10.0 * (1 + 0.9 * np.sin(2 * np.pi * t / 7.0))
    units = []
    for _ in range(5):
        spikes = t[rng.uniform(size=t.size) < rate * 0.01]
        units.append(spikes + rng.uniform(0, 0.01, spikes.size))
    coupled = compute_spiking_array(units, start=0.0, stop=600.0)
    assert np.all(coupled.population_coupling > 0.2)


def test_spiking_errors():
    with pytest.raises(DataError, match="empty"):
        compute_spiking_array([], start=0.0, stop=10.0)
    with pytest.raises(DataError, match="must be after"):
        compute_spiking_array([np.array([1.0])], start=5.0, stop=1.0)
    with pytest.raises(DataError, match="NaN"):
        compute_spiking_array([np.array([1.0, np.nan])], start=0.0, stop=10.0)


def test_sliding_windows_and_membership():
    """600 s at 100 Hz in 30 s windows with 50% overlap: 39 windows 15 s apart; 2 s segments
    every 1 s belong to a window when they lie wholly inside it (29 per window)."""
    starts, length = sliding_windows(60_000, 100.0)
    assert starts.size == 39 and length == 3000 and starts[1] == 1500
    segment_starts = np.arange(0, 60_000 - 200 + 1, 100)
    membership = segment_membership(segment_starts, 200, starts, length)
    np.testing.assert_allclose(membership.sum(axis=1), 1.0)
    assert np.all((membership > 0).sum(axis=1) == 29)
    with pytest.raises(DataError, match="longer than the record"):
        sliding_windows(1000, 100.0)


def test_nonstationarity_index():
    """Independent segment powers (stationary) give an index near 1 (0.6-1.6 over 39 windows and
    5 series, the chi-square spread of a variance ratio); a power that doubles half way gives an
    index far above 1: between-half variance (log10 2)**2 / 4 against a within-window variance of
    about 0.0033 predicts ~8; we require > 4."""
    rng = np.random.default_rng(2)
    segment_starts = np.arange(0, 600 - 2 + 1, 1)
    starts, length = sliding_windows(600, 1.0)
    membership = segment_membership(segment_starts, 2, starts, length)
    stationary = rng.chisquare(4, size=(segment_starts.size, 5))
    index = compute_nonstationarity_array(stationary, membership, rng=3)
    assert np.all((index > 0.6) & (index < 1.6)), index
    step = stationary * np.where(np.arange(segment_starts.size) < 300, 1.0, 2.0)[:, None]
    assert np.all(compute_nonstationarity_array(step, membership, rng=3) > 4)


def test_drift_and_arousal_coupling():
    """A pure ramp has drift index sqrt(12) * (n - 1) / n ~ 3.4 and the ramp's slope per minute;
    a constant-plus-noise series has a small index (< 1.5). A trajectory that follows the arousal
    signal has r = 1; an independent one r ~ 0 (|r| < 0.4 over 39 windows)."""
    times = np.arange(39) * 15.0 + 15.0
    ramp = 0.5 * times / 60.0
    drift = compute_drift_array(times, ramp)
    assert float(drift.slope) == pytest.approx(0.5)
    assert float(drift.index) == pytest.approx(np.sqrt(12) * 38 / 39, rel=0.05)
    noise = np.random.default_rng(4).standard_normal(39)
    assert float(compute_drift_array(times, noise).index) < 1.5
    arousal = np.sin(times / 50.0)
    trajectory = np.column_stack([2 * arousal + 1, np.random.default_rng(5).standard_normal(39)])
    r = compute_arousal_coupling_array(trajectory, arousal)
    assert r[0] == pytest.approx(1.0)
    assert abs(r[1]) < 0.4
