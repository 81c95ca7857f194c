"""Verification of candidate pairs and exact content hashes (known transforms, stated tolerances)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from adhesive_dots.curate import (
    LoadedBaseline,
    VerifyParams,
    compute_content_hash,
    compute_sketch,
    find_duplicates,
    unit_scale,
    verify_pair,
)
from adhesive_dots.errors import DataError
from adhesive_dots.sim import sim_powerlaw

FS = 250.0
NAMES = [f"E{i}" for i in range(12)]


@pytest.fixture(scope="module")
def recording():
    """12 channels, 200 s at 250 Hz, 40 % shared background (volts)."""
    rng = np.random.default_rng(21)
    n = int(200 * FS)
    private = sim_powerlaw(n, FS, 1.2, f_flat=0.5, n_signals=12, rng=rng)
    shared = sim_powerlaw(n, FS, 1.2, f_flat=0.5, rng=rng)
    return 1e-5 * (np.sqrt(0.6) * private + np.sqrt(0.4) * shared)


def test_recovers_offset_rate_gain_and_channels(recording):
    # cropped 37.2 s in, resampled to 200 Hz, in microvolts, channels 2..9 reversed and renamed
    keep = np.arange(9, 1, -1)
    copy = 1e6 * sps.resample_poly(recording[keep, int(37.2 * FS) : int(160 * FS)], 4, 5, axis=-1)
    evidence = verify_pair(recording, FS, copy, 200.0, names_a=NAMES, names_b=[f"X{i}" for i in range(8)])
    assert evidence.duplicate and evidence.kind == "near"
    assert evidence.offset_s == pytest.approx(37.2, abs=1 / 100)  # one sample of the common 100 Hz rate
    assert evidence.rate_ratio == pytest.approx(0.8)
    assert evidence.gain == pytest.approx(1e6, rel=0.01)  # filter edges and resampling: within 1 %
    assert evidence.overlap_s == pytest.approx(160 - 37.2, abs=0.05)
    # the two rates pass different anti-aliasing filters before the comparison: not 1, but close
    assert evidence.correlation > 0.98
    assert evidence.channel_match == "correlation"
    assert evidence.channel_map == {f"X{j}": NAMES[i] for j, i in enumerate(keep)}


def test_offset_agrees_with_scipy_cross_correlation(recording):
    # peer: the lag of the maximum of scipy.signal.correlate on the raw first channel
    copy = recording[:, int(12.34 * FS) :]
    evidence = verify_pair(recording, FS, copy, FS, names_a=NAMES, names_b=NAMES)
    xc = sps.correlate(recording[0], copy[0], mode="full", method="fft")
    lags = sps.correlation_lags(recording.shape[1], copy.shape[1], mode="full")
    assert evidence.offset_s == pytest.approx(lags[np.argmax(xc)] / FS, abs=1 / 100)
    assert evidence.channel_match == "name"


def test_rereferenced_copy_is_recognised(recording):
    copy = recording - recording[4]  # re-referenced to channel 4 (which becomes flat)
    evidence = verify_pair(recording, FS, copy, FS, names_a=NAMES, names_b=NAMES)
    assert evidence.duplicate and evidence.rereferenced
    assert evidence.correlation > 0.95


def test_exact_copy_through_float32_and_16_bit(recording):
    float32 = recording.astype(np.float32)
    assert verify_pair(recording, FS, float32, FS).kind == "exact"
    # 16-bit quantisation over the physical range, as EDF stores it
    low, high = recording.min(), recording.max()
    step = (high - low) / 65535
    edf_like = np.round((recording - low) / step) * step + low
    evidence = verify_pair(recording, FS, edf_like, FS)
    assert evidence.kind == "exact" and evidence.relative_rms < 1e-3
    assert verify_pair(recording, FS, 2 * recording, FS).kind == "near"  # other units: not the same samples


def test_distinct_recordings_are_not_duplicates(recording):
    rng = np.random.default_rng(99)
    other = 1e-5 * sim_powerlaw(recording.shape[1], FS, 1.2, f_flat=0.5, n_signals=12, rng=rng)
    evidence = verify_pair(recording, FS, other, FS, names_a=NAMES, names_b=NAMES)
    assert not evidence.duplicate and evidence.kind == "distinct"
    assert evidence.correlation < 0.3


def test_short_overlap_is_not_a_duplicate(recording):
    evidence = verify_pair(recording, FS, recording[:, : int(20 * FS)], FS, params=VerifyParams(min_overlap_s=30.0))
    assert not evidence.duplicate


def test_verify_checks_inputs(recording):
    with pytest.raises(DataError, match="channel names"):
        verify_pair(recording, FS, recording, FS, names_a=["a"])
    with pytest.raises(DataError, match="sampling rate"):
        verify_pair(recording, 0.0, recording, FS)
    with pytest.raises(DataError, match="min_correlation"):
        VerifyParams(min_correlation=1.5)


def test_content_hash_is_canonical(recording):
    x = recording.astype(np.float32).astype(np.float64)
    assert compute_content_hash(x, FS, units="V") == compute_content_hash(1e6 * x, FS, units="uV")
    assert compute_content_hash(x, FS, units="V") == compute_content_hash(x, 250.0000000000001, units="V")
    assert compute_content_hash(x, FS) != compute_content_hash(x[:, 1:], FS)
    assert compute_content_hash(x, FS) != compute_content_hash(x, 200.0)
    assert compute_content_hash(x, FS) != compute_content_hash(x[::-1], FS)
    assert unit_scale("mV") == 1e-3 and unit_scale("%") == 1e-2 and unit_scale("furlongs") == 1.0
    with pytest.raises(DataError, match="fs must be"):
        compute_content_hash(x, -1.0)


def test_find_duplicates_end_to_end(recording):
    rng = np.random.default_rng(4)
    other = 1e-5 * sim_powerlaw(recording.shape[1], FS, 1.2, f_flat=0.5, n_signals=12, rng=rng)
    items = {
        "original": LoadedBaseline(recording, FS, tuple(NAMES)),
        "same-bytes": LoadedBaseline(recording.copy(), FS, tuple(NAMES)),
        "cropped": LoadedBaseline(recording[:, int(50 * FS) :], FS, tuple(NAMES)),
        "other": LoadedBaseline(other, FS, tuple(NAMES)),
    }
    sketches = {k: compute_sketch(v.data, v.fs) for k, v in items.items()}
    hashes = {k: compute_content_hash(v.data, v.fs, units="V") for k, v in items.items()}
    loads = []

    def load(key: str) -> LoadedBaseline:
        loads.append(key)
        return items[key]

    search = find_duplicates(list(items), sketches, load=load, content_hashes=hashes)
    found = {(p.a, p.b): p for p in search.pairs}
    assert set(found) == {("original", "same-bytes"), ("original", "cropped"), ("same-bytes", "cropped")}
    assert found["original", "same-bytes"].evidence["method"] == "content-hash"
    assert found["original", "cropped"].evidence["offset_s"] == pytest.approx(50.0, abs=0.01)
    assert len(loads) == len(set(loads))  # each baseline prepared once (cache)
    with pytest.raises(DataError, match="unique"):
        find_duplicates(["a", "a"], {})

    def gone(key: str) -> LoadedBaseline:
        raise FileNotFoundError(f"{key}: moved")

    unverified = find_duplicates(list(items), sketches, load=gone)
    assert unverified.pairs == [] and {p.kind for p in unverified.rejected} == {"unverified"}
    assert all("moved" in p.evidence["error"] for p in unverified.rejected)
    unchecked = find_duplicates(list(items), sketches)  # no loader: LSH candidates, unverified
    assert {(p.a, p.b) for p in unchecked.pairs} == set(found) and unchecked.n_candidates == 3
