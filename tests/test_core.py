"""Core types: lazy reading, segments, baselines, content hashes, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adhesive_dots import Baseline, DataError, Recording, Segment
from adhesive_dots.core import Finding, Severity


@pytest.fixture
def recording():
    data = np.arange(3 * 1000, dtype=float).reshape(3, 1000)
    return Recording.from_array(data, 100.0, source="mem.npy", channel_names=["a", "b", "c"])


def test_read_slices_by_time_and_channel(recording):
    block = recording.read(1.0, 2.0, channels=["c", "a"])
    assert block.shape == (2, 100)
    assert block[0, 0] == 2000 + 100 and block[1, -1] == 199
    assert recording.read().shape == (3, 1000)
    assert recording.duration == 10.0


def test_reader_receives_only_the_requested_slice():
    calls = []

    def reader(i0, i1, index):
        calls.append((i0, i1, tuple(index)))
        return np.zeros((len(index), i1 - i0))

    rec = Recording("lazy", fs=10.0, channel_names=["x", "y"], n_times=100, reader=reader)
    rec.read(2.0, 3.0, channels=[1])
    assert calls == [(20, 30, (1,))]


def test_bad_channels_and_rates_are_named(recording):
    with pytest.raises(DataError, match="mem.npy: no channel named 'z'"):
        recording.read(channels=["z"])
    with pytest.raises(DataError, match="position 5 outside 0..2"):
        recording.read(channels=[5])
    with pytest.raises(DataError, match="sampling rate must be a positive"):
        Recording.from_array(np.zeros((1, 10)), 0.0)
    with pytest.raises(DataError, match=r"data must be \(n_channels, n_times\)"):
        Recording.from_array(np.zeros((1, 2, 3)), 10.0)
    with pytest.raises(DataError, match="intervals lack column"):
        Recording.from_array(np.zeros((1, 10)), 10.0, intervals=pd.DataFrame({"start": [0]}))


def test_segment_pieces_gaps_and_order():
    seg = Segment(((0, 100), (150, 400)), evidence="test")
    assert seg.duration == 350 and not seg.contiguous and seg.gaps == ((100.0, 150.0),)
    assert Segment.between(5, 605).contiguous
    with pytest.raises(DataError, match="stop must be after start"):
        Segment.between(10, 10)
    with pytest.raises(DataError, match="overlap"):
        Segment(((0, 100), (50, 200)))


def test_baseline_load_concatenates_only_its_pieces(recording):
    baseline = Baseline(recording, Segment(((1.0, 2.0), (5.0, 5.5))))
    data = baseline.load(channels=["a"])
    assert data.shape == (1, 150)
    np.testing.assert_array_equal(data[0, :100], np.arange(100, 200))
    np.testing.assert_array_equal(data[0, 100:], np.arange(500, 550))
    assert baseline.duration == 1.5


def test_content_hash_depends_on_samples_not_on_container():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 500))
    a = Baseline.from_array(data, 50.0, source="a.nwb")
    b = Baseline.from_array(data.astype(np.float32), 50.0, source="b.edf")
    c = Baseline.from_array(data * 1.001, 50.0)
    assert a.content_hash() == b.content_hash() != c.content_hash()
    assert a.content_hash().startswith("sha256:")


def test_auxiliary_signal_follows_the_segment():
    pupil = Recording.from_array(np.arange(100.0), 10.0, source="pupil")
    rec = Recording.from_array(np.zeros((1, 1000)), 100.0, signals={"pupil": pupil})
    baseline = Baseline(rec, Segment.between(2.0, 4.0))
    np.testing.assert_array_equal(baseline.load_signal("pupil")[0], np.arange(20.0, 40.0))
    with pytest.raises(DataError, match="no auxiliary signal 'running'"):
        baseline.load_signal("running")


def test_finding_serialises_and_severities_rank():
    finding = Finding("duration", Severity.ERROR, "too short", source="x.nwb", value=412.0, fix="record longer")
    assert finding.to_dict()["severity"] == "error"
    assert [s.rank for s in Severity] == [0, 1, 2, 3]
