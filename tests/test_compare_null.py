"""The null of ``compare``: block permutations at the observed length, and its false-positive rate.

The rate is measured on simulated pairs drawn from one stationary process (3 channels of AR(1) noise
mixed by one fixed matrix, so the pairs share their correlations): under the null the permutation
p-value is uniform, so the share of pairs with ``p <= alpha`` is ``alpha`` up to binomial noise. With
400 pairs at alpha = 0.05 the binomial sd is 1.1 percentage points; the tolerance is the issue's
+-3 points (2.75 sd). Window features are cheap ones (log variance per channel, mean |r|): the test is
of the null machinery, which :func:`compare_baselines` shares (:func:`compare_windows_array`).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from adhesive_dots.compare import (
    DIFFERENT,
    WITHIN,
    block_permutations,
    compare_baselines,
    compare_windows_array,
    riemann_distance_array,
)
from adhesive_dots.compare.windows import covariance_to_correlation, window_covariance
from adhesive_dots.fingerprint import sliding_windows

FS = 50.0
WINDOW_S = 2.0
MIXING = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.3, 0.4, 0.87]])
N_PAIRS = 400
ALPHA = 0.05


def _sim_windows(duration: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Window features (n_windows, 4) and covariances (n_windows, 3, 3) of one simulated baseline."""
    n = int(duration * FS)
    noise = lfilter([1.0], [1.0, -0.7], rng.standard_normal((3, n)), axis=1)  # AR(1), phi = 0.7
    data = MIXING @ noise
    starts, length = sliding_windows(n, FS, window_s=WINDOW_S, overlap=0.5)
    windows = np.stack([data[:, s : s + length] for s in starts])
    cov = window_covariance(windows)
    corr = covariance_to_correlation(cov)
    iu = np.triu_indices(3, 1)
    features = np.column_stack([np.log10(np.diagonal(cov, axis1=1, axis2=2)), np.abs(corr[:, iu[0], iu[1]]).mean(1)])
    return features, cov


def _rates(duration: float, seed: int) -> tuple[float, float, float, int]:
    rng = np.random.default_rng(seed)
    energy = riemann = verdict = 0
    n_windows = 0
    for _ in range(N_PAIRS):
        xa, ca = _sim_windows(duration, rng)
        xb, cb = _sim_windows(duration, rng)
        n_windows = xa.shape[0]
        result = compare_windows_array(xa, xb, cov_a=ca, cov_b=cb, window_overlap=0.5, alpha=ALPHA, n_perm=399, rng=rng)
        energy += result.energy_p <= ALPHA
        riemann += result.riemann_p <= ALPHA
        verdict += result.different
    return energy / N_PAIRS, riemann / N_PAIRS, verdict / N_PAIRS, n_windows


@pytest.mark.parametrize(("duration", "seed"), [(40.0, 1), (160.0, 2)])
def test_false_positive_rate_is_alpha_at_two_lengths(duration, seed):
    """Pairs from one process: each test rejects at alpha +- 3 points (400 pairs, binomial sd 1.1 points),
    at 39 and 159 windows of 50 % overlap; the verdict (Bonferroni over both tests) at most alpha + 3 points."""
    energy, riemann, verdict, n_windows = _rates(duration, seed)
    assert n_windows in (39, 159)
    assert abs(energy - ALPHA) <= 0.03, energy
    assert abs(riemann - ALPHA) <= 0.03, riemann
    assert verdict <= ALPHA + 0.03, verdict


def test_null_distances_have_the_observed_scale():
    """The old split-half null (halves of one baseline) lay above every same-process distance; the permutation
    null's median is within 25 % of the median observed distance over 60 same-process pairs."""
    rng = np.random.default_rng(5)
    observed, null_median = [], []
    for _ in range(60):
        xa, ca = _sim_windows(60.0, rng)
        xb, cb = _sim_windows(60.0, rng)
        result = compare_windows_array(xa, xb, cov_a=ca, cov_b=cb, window_overlap=0.5, n_perm=199, rng=rng)
        observed.append(result.riemann_distance)
        null_median.append(np.median(result.riemann_null))
    assert np.median(null_median) == pytest.approx(np.median(observed), rel=0.25)


def test_a_real_difference_is_detected():
    """Channel 2 mixed differently in b (its correlation with channel 1 from 0.6 to 0): both tests reject."""
    rng = np.random.default_rng(7)
    xa, ca = _sim_windows(60.0, rng)
    n = int(60 * FS)
    data = np.eye(3) @ lfilter([1.0], [1.0, -0.7], rng.standard_normal((3, n)), axis=1)
    starts, length = sliding_windows(n, FS, window_s=WINDOW_S, overlap=0.5)
    cb = window_covariance(np.stack([data[:, s : s + length] for s in starts]))
    corr = covariance_to_correlation(cb)
    xb = np.column_stack([np.log10(np.diagonal(cb, axis1=1, axis2=2)), np.abs(corr[:, [0, 0, 1], [1, 2, 2]]).mean(1)])
    result = compare_windows_array(xa, xb, cov_a=ca, cov_b=cb, n_perm=399, rng=0)
    assert result.riemann_p <= 0.01 and result.energy_p <= 0.01 and result.different


def test_block_permutations_keep_blocks_and_group_sizes():
    masks = block_permutations(10, 7, block_a=3, block_b=2, n_perm=200, rng=0)
    assert masks.shape == (200, 17)
    # blocks: a = [0-2][3-5][6-8][9], b = [10-11][12-13][14-15][16]; 4 blocks go to group a
    for lo, hi in [(0, 3), (3, 6), (6, 9), (10, 12), (12, 14), (14, 16)]:
        assert np.all(masks[:, lo:hi] == masks[:, [lo]])
    blocks = masks[:, [0, 3, 6, 9, 10, 12, 14, 16]]
    assert np.all(blocks.sum(axis=1) == 4)
    assert len({tuple(r) for r in blocks}) > 50  # many distinct deals of the C(8, 4) = 70


def test_riemann_distance_agrees_with_pyriemann():
    """Batched distance against pyRiemann's ``distance_riemann``: relative tolerance 1e-8."""
    from pyriemann.geometry.distance import distance_riemann

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 50))
    y = rng.standard_normal((5, 4, 50))
    a, b = window_covariance(x), window_covariance(y)
    ours = riemann_distance_array(a, b)
    theirs = [distance_riemann(a[i], b[i]) for i in range(5)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def _sim_eeg_like(n: int, rng: np.random.Generator) -> np.ndarray:
    """3 channels at 100 Hz: AR(1) background (phi 0.9) plus a 10 Hz AR(2) rhythm, mixed by ``MIXING``.

    Stationary and not rescaled per realization (a per-recording rescaling, as ``sim_powerlaw`` does,
    makes every session differ by its own gain: a real difference, not the null).
    """
    w = rng.standard_normal((2, 3, n))
    background = lfilter([1.0], [1.0, -0.9], w[0], axis=1)
    r, omega = 0.97, 2 * np.pi * 10 / 100
    rhythm = lfilter([1.0], [1.0, -2 * r * np.cos(omega), r * r], w[1], axis=1)
    return MIXING @ (background + 0.5 * rhythm)


@pytest.mark.slow
def test_compare_baselines_false_positive_rate_on_the_simulator():
    """The whole of ``compare_baselines`` (spectral window states, both tests, Bonferroni) on 300 pairs of 80 s
    stationary EEG-like signals with 4 s windows: "different" in alpha +- 3 points (measured 5.3 %; energy test
    alone 8.3 %, Riemannian 6.0 %). About 20 s."""
    from adhesive_dots import Baseline

    rng = np.random.default_rng(0)
    different = 0
    for seed in range(300):
        a, b = (Baseline.from_array(_sim_eeg_like(8000, rng), 100.0) for _ in range(2))
        result = compare_baselines(a, b, window_s=4.0, n_boot=20, n_perm=999, rng=seed)
        different += result.verdict == DIFFERENT
        assert result.verdict in (DIFFERENT, WITHIN)
    assert abs(different / 300 - ALPHA) <= 0.03, different
