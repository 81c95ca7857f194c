"""Correlation structure: eigenspectra of known covariance, low-rank vs exact, invariances."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import compute_correlation_array
from adhesive_dots.sim import sim_powerlaw_eigenspectrum


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
def test_powerlaw_eigenspectrum_is_recovered(alpha):
    """Data drawn with covariance eigenvalues k**-alpha (64 channels, 20,000 samples), fitted over
    ranks 2-32: within 0.15 (the issue's tolerance) of alpha for the covariance eigenspectrum,
    and also for the correlation eigenspectrum (standardising reweights the eigenvalues a little,
    measured < 0.09 here)."""
    x, _ = sim_powerlaw_eigenspectrum(20_000, 64, alpha, rng=int(alpha * 10))
    cov = compute_correlation_array(x, matrix="covariance")
    corr = compute_correlation_array(x)
    assert abs(cov.eigenspectrum_exponent - alpha) <= 0.15
    assert abs(corr.eigenspectrum_exponent - alpha) <= 0.15
    assert corr.eigenvalues.sum() == pytest.approx(64.0, rel=1e-9)  # trace of a correlation matrix


def test_known_correlation_matrix_and_participation_ratio():
    """Independent channels: mean |r| ~ sqrt(2 / (pi T)) and participation ratio ~ n (within 5%);
    one shared signal with r = 0.5 between channels: mean |r| = 0.5 (within 0.02) and the
    eigenspectrum has its knee at rank 1."""
    rng = np.random.default_rng(0)
    n_times = 20_000
    independent = compute_correlation_array(rng.standard_normal((50, n_times)))
    assert independent.mean_abs_correlation == pytest.approx(np.sqrt(2 / (np.pi * n_times)), rel=0.05)
    assert independent.participation_ratio == pytest.approx(50, rel=0.05)
    shared = rng.standard_normal(n_times)
    x = np.sqrt(0.5) * shared + np.sqrt(0.5) * rng.standard_normal((50, n_times))
    result = compute_correlation_array(x)
    assert result.mean_abs_correlation == pytest.approx(0.5, abs=0.02)
    assert result.knee == 1
    np.testing.assert_allclose(result.matrix, np.corrcoef(x), atol=1e-10)


def test_low_rank_description_agrees_with_exact():
    """300 channels with max_channels=150: a rank-30 randomised SVD (4 power iterations) gives the
    leading 10 eigenvalues within 1e-3 (relative; the error grows as (lambda_31 / lambda_k)**9). Mean |r| and the
    participation ratio come from a random half of the channels: each estimate within 15% (channel
    sampling sd is about 6% here) and their average over 6 subsets within 5% (unbiased)."""
    x, _ = sim_powerlaw_eigenspectrum(5000, 300, 1.0, rng=1)
    exact = compute_correlation_array(x)
    ratios = []
    for seed in range(6):
        low = compute_correlation_array(x, max_channels=150, n_eigenvalues=20, rng=seed)
        assert low.matrix is None and not low.exact
        np.testing.assert_allclose(low.eigenvalues[:10], exact.eigenvalues[:10], rtol=1e-3)
        ratios.append(
            [low.mean_abs_correlation / exact.mean_abs_correlation, low.participation_ratio / exact.participation_ratio]
        )
    ratios = np.array(ratios)
    assert np.all(np.abs(ratios - 1) <= 0.15)
    assert np.all(np.abs(ratios.mean(axis=0) - 1) <= 0.05)


def test_permutation_and_scaling_invariance():
    """Permuting channels permutes the matrix and leaves the eigenvalues unchanged; scaling
    channels by different factors changes nothing (correlation is scale-free), to 1e-10."""
    x, _ = sim_powerlaw_eigenspectrum(5000, 20, 1.0, rng=2)
    a = compute_correlation_array(x)
    order = np.random.default_rng(3).permutation(20)
    b = compute_correlation_array(x[order] * np.linspace(1e-6, 1e3, 20)[:, None])
    np.testing.assert_allclose(b.matrix, a.matrix[np.ix_(order, order)], atol=1e-10)
    np.testing.assert_allclose(b.eigenvalues, a.eigenvalues, atol=1e-10)


def test_correlation_errors():
    with pytest.raises(DataError, match="at least 2 channels"):
        compute_correlation_array(np.zeros((1, 100)))
    with pytest.raises(DataError, match="matrix must be"):
        compute_correlation_array(np.ones((3, 100)), matrix="spearman")
    with pytest.raises(DataError, match="n_channels, n_times"):
        compute_correlation_array(np.ones((2, 3, 100)))


def test_windows_mean_abs_correlation_reuses_blocks_exactly():
    """Sliding windows (50% overlap) from reused block cross-products equal each window's own
    np.corrcoef (1e-12), constant channels ignored as NaN pairs."""
    from adhesive_dots.fingerprint.correlation import window_mean_abs_correlation
    from adhesive_dots.fingerprint.dynamics import sliding_windows

    rng = np.random.default_rng(4)
    data = rng.standard_normal((6, 3000)) + rng.standard_normal(3000)  # shared component: r about 0.5
    data[2] = 1.0
    starts, length = sliding_windows(3000, 10.0, window_s=40.0)
    expected = []
    for s in starts:
        r = np.corrcoef(np.delete(data[:, s : s + length], 2, axis=0))
        expected.append(np.abs(r[~np.eye(5, dtype=bool)]).mean())
    with np.errstate(invalid="ignore", divide="ignore"):
        got = window_mean_abs_correlation(data, starts, length)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert 0.3 < got.mean() < 0.7
