"""Sketches, MinHash and LSH: known answers and invariances (tolerances stated per test)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from adhesive_dots.curate import (
    Sketch,
    SketchParams,
    compute_landmarks,
    compute_power_course,
    compute_sketch,
    find_candidate_pairs,
    minhash_signature,
)
from adhesive_dots.errors import DataError
from adhesive_dots.sim import sim_powerlaw

FS = 250.0


@pytest.fixture(scope="module")
def eeg_like():
    """19 channels, 300 s at 250 Hz: 1/f background, 30 % shared across channels."""
    rng = np.random.default_rng(3)
    n = int(300 * FS)
    private = sim_powerlaw(n, FS, 1.5, f_flat=0.5, n_signals=19, rng=rng)
    shared = sim_powerlaw(n, FS, 1.5, f_flat=0.5, rng=rng)
    return 1e-5 * (np.sqrt(0.7) * private + np.sqrt(0.3) * shared)


def test_power_course_known_answer():
    # white noise whose amplitude doubles after 60 s: power x4, i.e. +0.602 log10 units
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, int(120 * FS)))
    x[:, int(60 * FS) :] *= 2.0
    course = compute_power_course(x, FS)
    hop = SketchParams().hop_s
    first, second = course[:, int(5 / hop) : int(55 / hop)], course[:, int(65 / hop) : int(115 / hop)]
    # each half-minute median of a 1-5 Hz power course scatters by about 0.03 log10 units
    # around the truth; over 20 channels the mean difference is within 0.02 (3 standard errors)
    step = np.median(second, axis=1) - np.median(first, axis=1)
    assert step.mean() == pytest.approx(np.log10(4.0), abs=0.02)


def test_power_course_is_gain_free_and_rate_free(eeg_like):
    course = compute_power_course(eeg_like, FS)
    assert np.allclose(compute_power_course(1e6 * eeg_like, FS), course, atol=1e-9)  # units: exact
    resampled = sps.resample_poly(eeg_like, 4, 5, axis=-1)  # 250 -> 200 Hz
    other = compute_power_course(resampled, 200.0)
    n = min(course.shape[1], other.shape[1])
    r = [np.corrcoef(course[i, 40 : n - 40], other[i, 40 : n - 40])[0, 1] for i in range(19)]
    assert min(r) > 0.95  # the same band power seen at another rate


def test_landmarks_of_known_peaks():
    hop = SketchParams().hop_s
    t = np.arange(0, 60, hop)
    peaks = np.array([5.0, 13.0, 22.5, 40.0])
    course = sum(np.exp(-0.5 * ((t - p) / 0.8) ** 2) for p in peaks)
    times, heights = compute_landmarks(course, 1 / hop)
    assert times == pytest.approx(peaks, abs=0.05)  # parabolic interpolation on a 0.25 s grid
    assert heights == pytest.approx(np.ones(4), abs=0.01)


@pytest.mark.parametrize(
    "variant",
    ["cropped", "resampled", "rescaled", "half-channels", "rereferenced", "combined"],
)
def test_sketch_survives_copies(eeg_like, variant):
    x = eeg_like
    if variant == "cropped":
        y, fs = x[:, int(40.3 * FS) : int(250 * FS)], FS
    elif variant == "resampled":
        y, fs = sps.resample_poly(x, 4, 5, axis=-1), 200.0
    elif variant == "rescaled":
        y, fs = 1e6 * x, FS
    elif variant == "half-channels":
        y, fs = x[:9], FS
    elif variant == "rereferenced":
        y, fs = x - x[9], FS  # to channel 9 (e.g. Cz)
    else:
        y, fs = 1e3 * sps.resample_poly(x[:9, int(40 * FS) : int(250 * FS)], 4, 5, axis=-1), 200.0
    a, b = compute_sketch(x, FS), compute_sketch(y, fs)
    # LSH pairs sketches sharing >= 4 of 256 MinHash values; 0.1 gives about 26 on average
    assert a.jaccard(b) >= 0.1


def test_distinct_recordings_share_almost_nothing(eeg_like):
    rng = np.random.default_rng(11)
    other = 1e-5 * sim_powerlaw(eeg_like.shape[1], FS, 1.5, f_flat=0.5, n_signals=19, rng=rng)
    assert compute_sketch(eeg_like, FS).jaccard(compute_sketch(other, FS)) <= 0.02


def test_minhash_estimates_jaccard():
    rng = np.random.default_rng(5)
    universe = rng.integers(0, 2**63, size=6000, dtype=np.uint64)
    a, b = universe[:4000], universe[2000:]  # |a & b| = 2000, |a | b| = 6000: J = 1/3
    sig_a, sig_b = minhash_signature(a, n_hashes=512, seed=1), minhash_signature(b, n_hashes=512, seed=1)
    estimate = np.mean(sig_a == sig_b)
    assert estimate == pytest.approx(1 / 3, abs=4 * np.sqrt((1 / 3) * (2 / 3) / 512))  # 4 standard errors


def test_sketch_round_trip_and_checks(eeg_like):
    sketch = compute_sketch(eeg_like[:, : int(120 * FS)], FS)
    again = Sketch.from_dict(sketch.to_dict())
    assert np.array_equal(again.signature, sketch.signature) and again.params == sketch.params
    assert again.jaccard(sketch) == 1.0
    other = compute_sketch(eeg_like[:, : int(120 * FS)], FS, params=SketchParams(n_hashes=64))
    with pytest.raises(DataError, match="different SketchParams"):
        sketch.jaccard(other)
    with pytest.raises(DataError, match="missing or malformed"):
        Sketch.from_dict({"signature": []})
    with pytest.raises(DataError, match="band"):
        SketchParams(band=(5.0, 1.0))
    with pytest.raises(DataError, match="too low for the sketch band"):
        compute_sketch(np.ones((2, 100)), 2.0)
    with pytest.raises(DataError, match="channel names"):
        compute_sketch(eeg_like[:2, :1000], FS, channel_names=["a"])


def test_lsh_finds_planted_pairs_and_nothing_else():
    rng = np.random.default_rng(9)
    n, k = 400, 128
    sig = rng.integers(0, 2**32 - 1, size=(n, k), dtype=np.uint64).astype(np.uint32)
    planted = {(i, i + 1) for i in range(0, 100, 2)}
    for i, j in planted:
        share = rng.random(k) < 0.15  # Jaccard about 0.15
        sig[j, share] = sig[i, share]
    sig[399] = np.iinfo(np.uint32).max  # an empty sketch
    sig[398] = np.iinfo(np.uint32).max
    found = find_candidate_pairs(sig)
    assert {tuple(p) for p in found.pairs.tolist()} == planted
    assert np.all(found.jaccard >= 4 / k)
    with pytest.raises(DataError, match="rows_per_band"):
        find_candidate_pairs(sig, rows_per_band=0)
    with pytest.raises(DataError, match="shape"):
        find_candidate_pairs(sig[0])
