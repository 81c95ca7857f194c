"""Slow-signal (BOLD) fingerprint: known answers on simulated slow signals, agreement with nilearn."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.fingerprint import compute_dfa_array, compute_fingerprint_array
from adhesive_dots.fingerprint.params import FingerprintParams
from adhesive_dots.fingerprint.slow import (
    ALFF_BAND,
    SLOW_BANDS,
    compute_alff_array,
    compute_fc_array,
    compute_slow_band_power_array,
    fc_edges,
)
from adhesive_dots.sim import sim_fgn
from adhesive_dots.sim.bold import block_fc, sim_roi_series


def _powerlaw_spectrum(n_times: int, fs: float, chi: float, n_signals: int, rng: int) -> tuple[np.ndarray, np.ndarray]:
    """Signals whose expected amplitude spectrum is f**(-chi/2) exactly (complex Gaussian coefficients)."""
    gen = np.random.default_rng(rng)
    freqs = np.fft.rfftfreq(n_times, 1 / fs)
    amplitude = np.zeros_like(freqs)
    amplitude[1:] = freqs[1:] ** (-chi / 2)
    coefficients = amplitude * (gen.standard_normal((n_signals, freqs.size)) + 1j * gen.standard_normal(freqs.size))
    return np.fft.irfft(coefficients, n=n_times, axis=-1), amplitude


@pytest.mark.parametrize("chi", [0.0, 1.0, 2.0])
def test_falff_matches_the_analytic_value_of_a_powerlaw_spectrum(chi):
    # the expected amplitude of every bin is proportional to f**(-chi/2) (Rayleigh mean factor cancels in the
    # ratio), so fALFF = sum over 0.01-0.08 Hz / sum over (0, Nyquist]; median of 40 signals within 0.05
    fs, n = 1 / 0.72, 1200
    x, amplitude = _powerlaw_spectrum(n, fs, chi, 40, rng=3)
    freqs = np.fft.rfftfreq(n, 1 / fs)
    band = (freqs >= ALFF_BAND[0]) & (freqs <= ALFF_BAND[1])
    analytic = amplitude[band].sum() / amplitude[1:].sum()
    _, falff = compute_alff_array(x, fs)
    assert abs(np.median(falff) - analytic) < 0.05


def test_alff_and_falff_are_scale_free_and_alff_scales_with_amplitude():
    fs = 0.5
    x = sim_fgn(600, 0.7, n_signals=4, rng=1)
    alff, falff = compute_alff_array(x, fs)
    alff10, falff10 = compute_alff_array(10 * x, fs)
    np.testing.assert_allclose(falff10, falff, rtol=1e-12)
    np.testing.assert_allclose(alff10, 10 * alff, rtol=1e-12)


def test_alff_band_beyond_nyquist_is_nan_never_a_range_outside_it():
    # TR 100 s: Nyquist 0.005 Hz, below the ALFF band's 0.01 Hz
    alff, falff = compute_alff_array(np.random.default_rng(0).standard_normal((2, 200)), 0.01)
    assert np.isnan(alff).all() and np.isnan(falff).all()


def test_slow_band_power_of_a_sinusoid_lands_in_slow5():
    # a 0.02 Hz sinusoid of amplitude 2 at TR 1 s over 50 cycles: power A**2 / 2 = 2 in slow-5, ~0 in slow-4
    fs, n = 1.0, 2500
    t = np.arange(n) / fs
    x = 2.0 * np.sin(2 * np.pi * 0.02 * t)
    power, relative = compute_slow_band_power_array(x[np.newaxis], fs)
    assert power["slow5"][0] == pytest.approx(2.0, rel=0.05)
    assert power["slow4"][0] < 0.01
    assert relative["slow5"][0] == pytest.approx(1.0, abs=0.02)
    assert set(SLOW_BANDS) == {"slow5", "slow4"}


def test_fc_equals_nilearn_connectivity_measure():
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import EmpiricalCovariance

    x = sim_roi_series(block_fc(12, 3), 400, hurst=0.7, rng=2)
    r, z = compute_fc_array(x)
    measure = ConnectivityMeasure(kind="correlation", cov_estimator=EmpiricalCovariance())
    theirs = measure.fit_transform([x.T])[0]
    np.testing.assert_allclose(r, theirs, atol=1e-10)
    off = ~np.eye(12, dtype=bool)
    np.testing.assert_allclose(z[off], np.arctanh(theirs[off]), atol=1e-10)
    assert np.isnan(np.diag(z)).all()
    assert fc_edges(z).shape == (66,)


def test_block_structured_fc_is_recovered():
    # 2,000 volumes of 4 networks: within-network r 0.5, between 0.1 (Fisher z within 0.05)
    truth = block_fc(16, 4, within=0.5, between=0.1)
    x = sim_roi_series(truth, 2000, hurst=0.5, rng=4)
    _, z = compute_fc_array(x)
    same = (np.arange(16)[:, None] // 4 == np.arange(16)[None, :] // 4) & ~np.eye(16, dtype=bool)
    assert np.nanmean(z[same]) == pytest.approx(np.arctanh(0.5), abs=0.05)
    assert np.nanmean(z[~same & ~np.eye(16, dtype=bool)]) == pytest.approx(np.arctanh(0.1), abs=0.05)


@pytest.mark.parametrize(
    ("tr", "tolerance"),
    [
        (0.72, 0.05),  # the Acceptance: 14 min at TR 0.72 s (1,166 volumes)
        (2.0, 0.06),  # 420 volumes: DFA from 20 s to 84 s only, a slightly looser bound
    ],
)
@pytest.mark.parametrize("hurst", [0.6, 0.75, 0.9])
def test_dfa_of_fgn_returns_its_hurst_exponent_on_14_min_of_bold(tr, tolerance, hurst):
    n = int(14 * 60 / tr)
    x = sim_fgn(n, hurst, n_signals=16, rng=1)
    params = FingerprintParams().resolve(fs=1 / tr, n_times=n, n_channels=16, modality="fmri")
    assert params.dfa_scales[-1] <= n * tr / 10 + tr  # up to a tenth of the run (rounded to a volume)
    result = compute_dfa_array(x, 1 / tr, scales=params.dfa_scales, fit_range=params.dfa_fit_range)
    assert abs(np.median(result.exponent) - hurst) < tolerance


def test_fmri_fingerprint_has_slow_features_inside_nyquist():
    tr, n = 0.72, 1166
    x = sim_roi_series(block_fc(8, 2), n, hurst=0.8, rng=5)
    fp = compute_fingerprint_array(x, 1 / tr, modality="fmri", rng=0, workers=1)
    ds = fp.dataset
    for name in ("alff", "falff", "slow_band_power", "slow_relative_power", "fc_fisher_z"):
        assert name in ds
    low, high = fp.params.aperiodic_range
    assert 0 < low < high < 0.5 / tr
    assert abs(float(ds["dfa_exponent"].median()) - 0.8) < 0.07  # 8 ROIs only: looser than the 16-signal test
    assert fp.params.window_s >= 20  # BOLD windows (60 s base, the shared rule)
    _, z = compute_fc_array(x)
    np.testing.assert_allclose(ds["fc_fisher_z"].values, z, equal_nan=True)


def test_aperiodic_exponent_of_bold_like_powerlaw_noise():
    # 1/f**chi noise at TR 0.72 s over 20 min: the slow fit range (0.01 Hz to 0.8 x Nyquist) returns chi
    from adhesive_dots.sim import sim_powerlaw

    fs = 1 / 0.72
    x = sim_powerlaw(1666, fs, 1.0, n_signals=8, rng=6)
    fp = compute_fingerprint_array(x, fs, modality="fmri", rng=0, workers=1, correlation=False)
    assert abs(float(fp.dataset["aperiodic_exponent"].median()) - 1.0) < 0.25


def test_ordinary_signals_get_no_slow_features():
    from adhesive_dots.sim import sim_powerlaw

    x = sim_powerlaw(250 * 60, 250.0, 1.5, n_signals=3, rng=0)
    ds = compute_fingerprint_array(x, 250.0, modality="eeg", rng=0, workers=1).dataset
    assert "falff" not in ds and "fc_fisher_z" not in ds
