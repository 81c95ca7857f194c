"""Spectral features: Welch PSD, band powers, peak frequency (known answers and MNE as oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import (
    compute_band_power_array,
    compute_peak_frequency_array,
    compute_psd_array,
)
from adhesive_dots.sim import sim_oscillation, sim_powerlaw

FS = 250.0


def test_psd_matches_mne_psd_array_welch():
    """Same window (hann), segment (500 samples), overlap (250) and DC removal as MNE's default
    ``remove_dc=True``: both are the same arithmetic, so only float round-off may differ
    (relative difference <= 1e-8, the issue's bound)."""
    from mne.time_frequency import psd_array_welch

    x = sim_powerlaw(30_000, FS, 1.0, n_signals=3, rng=0) * 1e-5
    freqs, ours = compute_psd_array(x, FS, segment_s=2.0, overlap=0.5, window="hann")
    theirs, mne_freqs = psd_array_welch(
        x, FS, fmin=0, fmax=FS / 2, n_fft=500, n_per_seg=500, n_overlap=250, window="hann", verbose=False
    )
    np.testing.assert_allclose(freqs, mne_freqs, rtol=0, atol=1e-12)
    assert np.max(np.abs(ours - theirs) / theirs) <= 1e-8


def test_psd_matches_mne_with_hamming_and_odd_segment():
    """MNE's own default taper (hamming) and an odd segment length (no Nyquist bin): <= 1e-8."""
    from mne.time_frequency import psd_array_welch

    x = np.random.default_rng(1).standard_normal((2, 20_000))
    freqs, ours = compute_psd_array(x, 201.0, segment_s=1.0, overlap=0.25, window="hamming")
    theirs, _ = psd_array_welch(
        x, 201.0, fmin=0, fmax=100.5, n_fft=201, n_per_seg=201, n_overlap=50, window="hamming", verbose=False
    )
    assert np.max(np.abs(ours - theirs) / theirs) <= 1e-8


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
def test_psd_integrates_to_variance(exponent):
    """Parseval for Welch: each segment's periodogram integrates to its tapered mean square, and
    hann windows at 50% overlap weight every sample nearly equally, so sum(psd) * df equals the
    variance of a zero-mean signal up to the estimator's noise; the issue's bound is 2%.
    (With the default per-segment mean removal, power below the 0.5 Hz resolution is removed by
    design; the white-noise case checks that default too.)"""
    x = sim_powerlaw(150_000, FS, exponent, f_flat=0.5, n_signals=2, rng=2)
    x -= x.mean(axis=-1, keepdims=True)
    freqs, psd = compute_psd_array(x, FS, detrend=False)
    total = psd.sum(-1) * (freqs[1] - freqs[0])
    np.testing.assert_allclose(total, x.var(axis=-1), rtol=0.02)
    if exponent == 0.0:
        freqs, psd = compute_psd_array(x, FS)
        np.testing.assert_allclose(psd.sum(-1) * (freqs[1] - freqs[0]), x.var(axis=-1), rtol=0.02)


def test_sinusoid_peak_lands_in_its_bin():
    """A 10.5 Hz sinusoid on a 0.5 Hz grid: the PSD maximum is exactly the 10.5 Hz bin."""
    t = np.arange(60_000) / FS
    freqs, psd = compute_psd_array(np.sin(2 * np.pi * 10.5 * t), FS)
    assert freqs[np.argmax(psd)] == 10.5


def test_band_power_of_a_sinusoid_and_relative_power():
    """A unit sinusoid at 10 Hz has power 1/2, all in alpha (relative ~1); white noise of variance 1
    spreads evenly, so a band's relative power is its width over the total range (tolerance 5%)."""
    t = np.arange(120_000) / FS
    freqs, psd = compute_psd_array(np.sin(2 * np.pi * 10 * t), FS)
    bp = compute_band_power_array(freqs, psd)
    alpha = bp.bands.index("alpha")
    assert bp.absolute[alpha] == pytest.approx(0.5, rel=1e-3)
    assert bp.relative[alpha] == pytest.approx(1.0, abs=1e-3)
    noise = np.random.default_rng(3).standard_normal((4, 120_000))
    freqs, psd = compute_psd_array(noise, FS)
    bp = compute_band_power_array(freqs, psd)
    widths = bp.edges[:, 1] - bp.edges[:, 0]
    np.testing.assert_allclose(bp.relative, np.broadcast_to(widths / 44.0, bp.relative.shape), rtol=0.05)


def test_band_above_nyquist_is_nan():
    """At 30 Hz (calcium) beta (13-30 Hz) and gamma cannot be measured: NaN, not a partial band."""
    x = np.random.default_rng(4).standard_normal((2, 9000))
    freqs, psd = compute_psd_array(x, 30.0)
    bp = compute_band_power_array(freqs, psd)
    assert np.isnan(bp.absolute[:, bp.bands.index("beta")]).all()
    assert np.isfinite(bp.absolute[:, bp.bands.index("alpha")]).all()


def test_peak_frequency_recovers_an_alpha_rhythm():
    """1/f background plus a 9.6 Hz rhythm: the peak is within half a bin (0.25 Hz) of 9.6 Hz,
    and pure 1/f noise has no peak (NaN)."""
    n = 150_000
    x = sim_powerlaw(n, FS, 1.0, n_signals=1, rng=5)[0] + 0.7 * sim_oscillation(n, FS, 9.6, rng=6)
    freqs, psd = compute_psd_array(x, FS)
    peak = compute_peak_frequency_array(freqs, psd, freq_range=(7, 14))
    assert abs(float(peak.frequency) - 9.6) <= 0.25
    freqs, psd = compute_psd_array(sim_powerlaw(n, FS, 1.0, rng=7), FS)
    assert np.isnan(compute_peak_frequency_array(freqs, psd, min_height=0.1).frequency)


def test_spectral_errors_name_the_problem():
    with pytest.raises(DataError, match="NaN"):
        compute_psd_array(np.array([[0.0, np.nan] * 500]), FS)
    with pytest.raises(DataError, match="longer than the data"):
        compute_psd_array(np.zeros((2, 100)), FS)
    with pytest.raises(DataError, match="fs must be"):
        compute_psd_array(np.zeros((2, 1000)), -1.0)
    freqs, psd = compute_psd_array(np.random.default_rng(0).standard_normal(5000), FS)
    with pytest.raises(DataError, match="freq_range"):
        compute_peak_frequency_array(freqs, psd, freq_range=(10.0, 10.5))
    with pytest.raises(DataError, match="band 'bad'"):
        compute_band_power_array(freqs, psd, bands={"bad": (5.0, 2.0)})
