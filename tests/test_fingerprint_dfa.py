"""DFA and amplitude envelopes: known answers (fGn, white/brown noise), nolds as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import compute_dfa_array, compute_envelope_array
from adhesive_dots.fingerprint.dfa import default_scales
from adhesive_dots.sim import sim_fgn, sim_fgn_envelope, sim_oscillation

FS = 250.0
N_10MIN = int(600 * FS)


def _direct_rss(profile: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Residual sums of squares of each window's least-squares line, window by window (the oracle)."""
    windows = profile[:, starts[:, None] + np.arange(n)]  # (m, n_windows, n)
    windows = windows - windows.mean(axis=-1, keepdims=True)
    t = np.arange(n) - (n - 1) / 2.0
    sty = windows @ t
    return np.maximum(np.einsum("...i,...i->...", windows, windows) - sty * sty / (t @ t), 0.0)


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7, 0.9])
def test_dfa_of_fractional_gaussian_noise(hurst):
    """fGn of Hurst H, 10 min at 250 Hz, default scales (0.1-60 s, 50% overlap): |DFA - H| <= 0.05
    (the issue's tolerance; the estimator's sd at this length is about 0.015)."""
    x = sim_fgn(N_10MIN, hurst, n_signals=3, rng=int(hurst * 100))
    result = compute_dfa_array(x, FS)
    assert np.all(np.abs(result.exponent - hurst) <= 0.05), result.exponent
    assert np.all(result.r_squared > 0.98)
    assert result.fit_range == pytest.approx((0.1, 60.0))


def test_white_noise_and_its_cumulative_sum():
    """White noise gives 0.5 and its cumulative sum 1.5 (tolerance 0.05, as for fGn)."""
    x = np.random.default_rng(0).standard_normal((2, N_10MIN))
    assert np.all(np.abs(compute_dfa_array(x, FS).exponent - 0.5) <= 0.05)
    assert np.all(np.abs(compute_dfa_array(np.cumsum(x, axis=-1), FS).exponent - 1.5) <= 0.05)


@pytest.mark.parametrize("kind", ["white", "brown", "integrated-brown"])
def test_prefix_sums_equal_window_by_window_computation(kind):
    """The closed-form prefix-sum residuals equal an explicit per-window least-squares fit to 1e-8
    (relative), also for steep profiles where the round-off guard falls back to direct sums."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(40_000)
    if kind != "white":
        x = np.cumsum(x)
    if kind == "integrated-brown":
        x = np.cumsum(x) / 1e3
    lengths = np.array([4, 5, 17, 63, 64, 65, 129, 1000, 4000])
    result = compute_dfa_array(x[None], FS, scales=lengths / FS, overlap=0.5)
    profile = np.cumsum(x - x.mean())[None]
    for i, n in enumerate(lengths):
        starts = np.arange(0, x.size - n + 1, max(1, int(round(n * 0.5))))
        direct = np.sqrt(_direct_rss(profile, starts, n).mean() / n)
        assert result.fluctuation[0, i] == pytest.approx(direct, rel=1e-8)


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7, 0.9])
def test_agrees_with_nolds_on_fgn(hurst):
    """nolds 0.6.2 with the same window lengths, no overlap and a least-squares fit of the log-log
    line computes the same quantity: |diff| <= 0.02 is the issue's bound; the implementations
    are the same arithmetic, so we also require 1e-6."""
    import nolds

    x = sim_fgn(N_10MIN, hurst, rng=int(hurst * 1000))
    scales = default_scales(FS, x.size, n_scales=12)
    ours = compute_dfa_array(x, FS, scales=scales, overlap=0.0)
    theirs = nolds.dfa(x, nvals=ours.window_lengths, overlap=False, fit_exp="poly")
    assert abs(float(ours.exponent) - theirs) <= 0.02
    assert abs(float(ours.exponent) - theirs) <= 1e-6


def test_agrees_with_nolds_on_real_lfp(real_data):
    """Rat CA1 LFP (neurodsp sample data, 150 s at 1 kHz), scales 0.1-15 s, no overlap: within 0.02
    of nolds (and 1e-6, as the arithmetic is the same). Above the theta period the hippocampal
    rhythm flattens F, so the exponent over this range is low (about 0.2)."""
    import nolds

    lfp = np.load(real_data / "rat_ca1_lfp_150s_1kHz.npy")
    ours = compute_dfa_array(lfp, 1000.0, scales=default_scales(1000.0, lfp.size, n_scales=12), overlap=0.0)
    theirs = nolds.dfa(lfp, nvals=ours.window_lengths, overlap=False, fit_exp="poly")
    assert abs(float(ours.exponent) - theirs) <= 0.02
    assert abs(float(ours.exponent) - theirs) <= 1e-6


def test_scaling_and_permutation_invariance():
    """Scaling a signal by 1e-6 leaves its exponent unchanged (1e-9); permuting signals permutes
    results exactly (each row is computed on its own)."""
    x = sim_fgn(30_000, 0.7, n_signals=4, rng=2) * np.array([1.0, 2.0, 3.0, 4.0])[:, None]
    a = compute_dfa_array(x, FS)
    b = compute_dfa_array(x * 1e-6, FS)
    np.testing.assert_allclose(a.exponent, b.exponent, atol=1e-9)
    order = np.array([3, 1, 0, 2])
    c = compute_dfa_array(x[order], FS)
    np.testing.assert_allclose(c.exponent, a.exponent[order], rtol=0, atol=1e-12)
    d = compute_dfa_array(x.reshape(2, 2, -1), FS)
    np.testing.assert_allclose(d.exponent.ravel(), a.exponent, rtol=0, atol=1e-12)


def test_envelope_of_an_amplitude_modulated_rhythm():
    """(1 + 0.5 sin(2 pi 0.25 t)) sin(2 pi 10 t) over whole cycles: the 8-12 Hz envelope equals the
    modulation at every output sample to 1e-9 (the band holds the whole signal, and the FFT
    band-pass of a periodic signal is exact)."""
    t = np.arange(int(40 * FS)) / FS
    modulation = 1 + 0.5 * np.sin(2 * np.pi * 0.25 * t)
    x = modulation * np.sin(2 * np.pi * 10 * t)
    envelope, rate = compute_envelope_array(x, FS, band=(8, 12))
    times = np.arange(envelope.size) / rate
    np.testing.assert_allclose(envelope, 1 + 0.5 * np.sin(2 * np.pi * 0.25 * times), atol=1e-9)
    assert rate == pytest.approx(32.0)


def test_envelope_dfa_recovers_the_hurst_exponent_of_the_modulation():
    """A 10 Hz rhythm whose amplitude follows sim_fgn_envelope(H=0.75) plus weak white noise, 10 min
    at 250 Hz: the alpha-envelope DFA over 5-60 s is within 0.1 of H. Tolerance: the envelope is a
    nonlinear (exp) map of one fGn realisation, whose DFA alone scatters by about 0.05 at this
    length; shorter scales are excluded because the simulator interpolates the envelope linearly
    from 10 Hz and the band-pass smooths it."""
    rng = np.random.default_rng(3)
    amplitude = sim_fgn_envelope(N_10MIN, FS, 0.75, rng=rng)
    x = sim_oscillation(N_10MIN, FS, 10.0, envelope=amplitude, rng=rng) + 0.2 * rng.standard_normal(N_10MIN)
    envelope, rate = compute_envelope_array(x, FS, band=(8, 12))
    result = compute_dfa_array(
        envelope, rate, scales=default_scales(rate, envelope.size, min_scale=1.0), fit_range=(5.0, 60.0)
    )
    assert abs(float(result.exponent) - 0.75) <= 0.1


def test_dfa_errors():
    x = np.random.default_rng(0).standard_normal(5000)
    with pytest.raises(DataError, match="overlap"):
        compute_dfa_array(x, FS, overlap=1.0)
    with pytest.raises(DataError, match="distinct window lengths"):
        compute_dfa_array(x, FS, scales=np.array([0.004]))
    with pytest.raises(DataError, match="fit_range"):
        compute_dfa_array(x, FS, fit_range=(100.0, 200.0))
    with pytest.raises(DataError, match="too short"):
        compute_dfa_array(x[:50], FS)
    with pytest.raises(DataError, match="envelope_fs"):
        compute_envelope_array(x, FS, band=(5, 60), envelope_fs=10.0)
    with pytest.raises(DataError, match="band"):
        compute_envelope_array(x, FS, band=(100, 200))


# -- curvature of the fluctuation function ---------------------------------------------------------


def test_dfa_curvature_straight_fgn_is_not_flagged():
    """fGn is a straight line in log F vs log n: |curvature| below CURVATURE_LIMIT (0.2) for all 60 signals of
    H 0.5, 0.7, 0.9 at 600 s (measured 99th percentile 0.09-0.11), and no dfa.curved finding."""
    from adhesive_dots.fingerprint import compute_fingerprint_array
    from adhesive_dots.fingerprint.dfa import CURVATURE_LIMIT, compute_dfa_array, dfa_findings
    from adhesive_dots.sim import sim_fgn

    for hurst in (0.5, 0.7, 0.9):
        result = compute_dfa_array(sim_fgn(50 * 600, hurst, n_signals=20, rng=3), 50.0)
        assert np.all(np.abs(result.curvature) < CURVATURE_LIMIT)
        assert np.all(result.r_squared > 0.98)
    fp = compute_fingerprint_array(sim_fgn(50 * 600, 0.7, n_signals=3, rng=4), 50.0, rng=0)
    assert not [f for f in dfa_findings(fp.dataset) if f.location == "broadband DFA"]


def test_dfa_curvature_flags_a_plateau_above_10_s():
    """1/f noise high-passed at 0.1 Hz (as a recording's hardware filter does): F(n) flattens above ~10 s;
    curvature below -CURVATURE_LIMIT on every channel and one dfa.curved warning naming the fit range."""
    from scipy.signal import butter, sosfiltfilt

    from adhesive_dots.core import Severity
    from adhesive_dots.fingerprint import compute_fingerprint_array
    from adhesive_dots.fingerprint.dfa import CURVATURE_LIMIT, compute_dfa_array, dfa_findings
    from adhesive_dots.sim import sim_powerlaw

    fs = 50.0
    x = sim_powerlaw(int(fs * 600), fs, 1.0, n_signals=3, rng=5)
    x = sosfiltfilt(butter(2, 0.1, btype="highpass", fs=fs, output="sos"), x, axis=-1)
    result = compute_dfa_array(x, fs)
    assert np.all(result.curvature < -CURVATURE_LIMIT)
    fp = compute_fingerprint_array(x, fs, rng=0)
    found = [f for f in dfa_findings(fp.dataset, source="sim") if f.location == "broadband DFA"]
    assert len(found) == 1 and found[0].severity == Severity.WARNING and found[0].code == "dfa.curved"
    assert "flattens" in found[0].message and "R²" in found[0].message and found[0].value < -CURVATURE_LIMIT


def test_dfa_curvature_needs_three_scales_per_half():
    from adhesive_dots.fingerprint.dfa import compute_dfa_curvature

    scales = np.array([1.0, 2.0, 4.0, 8.0])
    assert np.isnan(compute_dfa_curvature(scales, np.ones((2, 4)) * scales**0.5)).all()
    scales = np.geomspace(1, 100, 8)
    assert compute_dfa_curvature(scales, scales**0.7) == pytest.approx(0.0, abs=1e-12)
