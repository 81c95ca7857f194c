"""Physiology beside a rest run: heart and respiration rates (known answers), BIDS physio files as arousal signals."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint.physio import RATE_FS, compute_heart_rate_array, compute_respiration_rate_array
from adhesive_dots.io.sources import expand_sources, resolve


def _pulses(bpm: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A pulse-like trace: a narrow Gaussian bump per beat at the instantaneous rate ``bpm`` (per sample)."""
    phase = np.cumsum(bpm / 60.0 / fs)
    beat = np.abs(((phase + 0.5) % 1.0) - 0.5)
    return np.exp(-((beat / 0.05) ** 2)) + 0.05 * rng.standard_normal(bpm.size)


def test_heart_rate_of_pulses_at_a_known_rate():
    # 70 bpm for 5 min, then 90 bpm: the mean of each half within 1 bpm
    fs, rng = 50.0, np.random.default_rng(0)
    bpm = np.r_[np.full(15000, 70.0), np.full(15000, 90.0)]
    rate = compute_heart_rate_array(_pulses(bpm, fs, rng), fs)
    assert rate.fs == RATE_FS and rate.rate.size == int(600 * RATE_FS)
    half = rate.rate.size // 2
    assert np.median(rate.rate[20:half]) == pytest.approx(70.0, abs=1.0)
    assert np.median(rate.rate[half + 20 :]) == pytest.approx(90.0, abs=1.0)
    assert rate.events.size == pytest.approx(5 * 70 + 5 * 90, abs=3)


def test_respiration_rate_of_a_15_per_minute_breath():
    fs = 50.0
    t = np.arange(int(300 * fs)) / fs
    x = np.sin(2 * np.pi * 0.25 * t) + 0.1 * np.random.default_rng(1).standard_normal(t.size)
    rate = compute_respiration_rate_array(x, fs)
    assert rate.mean == pytest.approx(15.0, abs=0.5)
    assert rate.sd < 1.0


def test_flat_trace_is_an_error():
    with pytest.raises(DataError, match="fewer than 3 events"):
        compute_heart_rate_array(np.zeros(5000), 50.0)


def test_ds210_rest_physio_becomes_arousal_signals(real_data):
    root = real_data.parent / "bids-examples" / "ds210"
    if not root.is_dir():
        pytest.skip("shared/data/bids-examples/ds210 is absent")
    specs, _ = expand_sources([root])
    spec = next(s for s in specs if "sub-04" in s.source)
    with resolve(spec) as resolved:
        assert not resolved.present  # the BOLD files of this layout are placeholders; the physio is real
        signals = resolved.recording.signals
        assert {"cardiac", "respiratory", "heart_rate", "respiration_rate"} <= set(signals)
        assert signals["cardiac"].fs == 50.0 and signals["cardiac"].duration == pytest.approx(612.0)
        heart = signals["heart_rate"].read()[0]
        breath = signals["respiration_rate"].read()[0]
        assert 40 < np.median(heart) < 110  # a resting adult
        assert 8 < np.median(breath) < 25
        arousal = resolved.recording.metadata.arousal
        assert [m.value for m in arousal.measures] == ["heart-rate"]
        assert arousal.locations["heart-rate"].endswith("_physio.tsv.gz")


def test_simulated_rest_run_with_physio_fingerprints_heart_rate_as_arousal(tmp_path):
    import json

    from adhesive_dots.io.sources import SourceSpec, open_baseline
    from adhesive_dots.sim.bold_dataset import write_bold_dataset
    from adhesive_dots.workflows.fingerprint import fingerprint_baseline

    ds = write_bold_dataset(tmp_path, n_subjects=1, n_sessions=1, n_rois=4, n_volumes=300, physio=True, rng=0)
    truth = json.loads((tmp_path / "truth.json").read_text())
    (stem,) = truth["heart_rate"]
    resolved, baseline = open_baseline(SourceSpec(str(ds.runs[0]), atlas=str(ds.atlas)))
    with resolved:
        heart = baseline.load_signal("heart_rate")[0]
        assert np.median(heart) == pytest.approx(truth["heart_rate"][stem], abs=1.0)
        breath = baseline.load_signal("respiration_rate")[0]
        assert np.median(breath) == pytest.approx(truth["respiration_rate"][stem], abs=0.5)
        fp = fingerprint_baseline(baseline)
    assert set(fp.dataset["arousal"].values) == {"heart_rate", "respiration_rate"}
    windows = fp.dataset["arousal_windows"].sel(arousal="heart_rate").values
    assert np.nanmean(windows) == pytest.approx(truth["heart_rate"][stem], abs=1.0)
