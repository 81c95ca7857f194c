"""Known-answer tests of the simulator's signal primitives (the ground truth of all others)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from adhesive_dots import DataError
from adhesive_dots.sim import sim_fgn, sim_fgn_envelope, sim_oscillation, sim_powerlaw, sim_powerlaw_eigenspectrum
from adhesive_dots.testing import loglog_slope


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7, 0.9])
def test_fgn_autocovariance_matches_theory(hurst):
    """Autocovariance of unit fGn at lag k is (|k+1|^2H - 2|k|^2H + |k-1|^2H) / 2.

    Estimated over 20,000 independent short signals (mean known to be 0), so the standard
    error is about 1 / sqrt(20,000 * 256) < 0.001; tolerance 0.01.
    """
    x = sim_fgn(256, hurst, n_signals=20_000, rng=1)
    assert x.shape == (20_000, 256)
    for lag in (0, 1, 10):
        expected = 0.5 * (abs(lag + 1) ** (2 * hurst) - 2 * lag ** (2 * hurst) + abs(lag - 1) ** (2 * hurst))
        estimate = np.mean(x[:, : x.shape[1] - lag] * x[:, lag:])
        assert abs(estimate - expected) < 0.01, (lag, estimate, expected)


def test_fgn_rejects_bad_hurst():
    with pytest.raises(DataError, match=r"hurst must lie in \(0, 1\)"):
        sim_fgn(100, 1.2)


@pytest.mark.parametrize("exponent", [0.5, 1.0, 1.5, 2.0])
def test_powerlaw_spectrum_has_its_exponent(exponent):
    """Welch PSD, log-log fit over 1-40 Hz: within 0.05 of the exponent (8 signals, 10 min)."""
    fs = 250.0
    x = sim_powerlaw(int(600 * fs), fs, exponent, n_signals=8, rng=2)
    freqs, psd = sps.welch(x, fs=fs, nperseg=int(4 * fs))
    fitted = loglog_slope(freqs, psd.mean(axis=0), (1, 40))
    assert abs(fitted - exponent) < 0.05
    np.testing.assert_allclose(x.std(axis=-1), 1.0)


def test_oscillation_peak_lands_in_its_bin():
    fs, freq = 250.0, 10.25
    x = sim_oscillation(int(120 * fs), fs, freq, phase_diffusion=0.1, rng=3)
    freqs, psd = sps.welch(x, fs=fs, nperseg=int(8 * fs))
    assert abs(freqs[np.argmax(psd)] - freq) <= fs / int(8 * fs)


def test_fgn_envelope_is_positive_with_mean_one():
    env = sim_fgn_envelope(int(600 * 250), 250.0, 0.7, rng=4)
    assert env.min() > 0
    assert abs(env.mean() - 1) < 0.1


def test_eigenspectrum_data_have_the_requested_covariance():
    data, cov = sim_powerlaw_eigenspectrum(50_000, 20, 1.0, rng=5)
    eig = np.sort(np.linalg.eigvalsh(cov))[::-1]
    np.testing.assert_allclose(eig, np.arange(1, 21) ** -1.0, rtol=1e-10)
    sample = np.cov(data)
    assert np.abs(sample - cov).max() < 0.03
