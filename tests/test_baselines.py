"""find_baselines / select_baseline on in-memory recordings with labelled intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.baselines import (
    SPONTANEOUS_VOCABULARY,
    describe_intervals,
    find_baselines,
    select_baseline,
)
from adhesive_dots.core import Recording
from adhesive_dots.errors import BaselineNotFoundError, DataError


def _recording(rows, *, seconds=1000.0, fs=10.0) -> Recording:
    intervals = pd.DataFrame(rows, columns=["start", "stop", "label", "table"])
    data = np.arange(int(seconds * fs), dtype=float)[None]
    return Recording.from_array(data, fs, source="mem.nwb", intervals=intervals)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("spontaneous", True),
        ("Gray screen", True),
        ("grey screen", True),
        ("resting-state", True),
        ("Resting state, eyes open", True),
        ("pre-task baseline", True),
        ("task-free", True),
        ("blank", True),
        ("task-rest", True),
        ("forest", False),  # 'rest' inside a word does not count
        ("restart", False),
        ("interest", False),
        ("wake", False),  # a vigilance state, not a task-free marker (the default; see the module docs)
        ("gabors", False),
    ],
)
def test_vocabulary_matches_words_not_substrings(label, expected):
    recording = _recording([(0.0, 100.0, label, "epochs")])
    assert bool(find_baselines(recording)) is expected


def test_vocabulary_is_configurable():
    recording = _recording([(0.0, 100.0, "wake", "epochs"), (100.0, 200.0, "quiet", "epochs")])
    assert [b.segment.label for b in find_baselines(recording, vocabulary=(*SPONTANEOUS_VOCABULARY, "wake"))] == [
        "wake"
    ]
    assert [b.segment.label for b in find_baselines(recording, vocabulary=["quiet"])] == ["quiet"]
    with pytest.raises(DataError, match="vocabulary is empty"):
        find_baselines(recording, vocabulary=[])


def test_rows_with_the_same_label_concatenate_with_gaps():
    recording = _recording(
        [
            (0.0, 200.0, "spontaneous", "epochs"),
            (200.0, 300.0, "task", "epochs"),
            (300.0, 500.0, "spontaneous", "epochs"),
        ]
    )
    (baseline,) = find_baselines(recording)
    assert baseline.segment.pieces == ((0.0, 200.0), (300.0, 500.0))
    assert baseline.segment.gaps == ((200.0, 300.0),)
    assert baseline.duration == 400.0 and not baseline.segment.contiguous
    assert baseline.segment.evidence == "epochs rows 0, 2 labelled 'spontaneous'"
    loaded = baseline.load()
    assert loaded.shape == (1, 4000)
    np.testing.assert_array_equal(loaded[0], np.r_[np.arange(0, 2000), np.arange(3000, 5000)].astype(float))
    assert baseline.metadata.segment.duration == 400.0 and baseline.metadata.segment.gaps == [(200.0, 300.0)]


def test_dot_table_comes_first_and_user_segment_before_it():
    recording = _recording(
        [(10.0, 20.0, "rest", "epochs"), (100.0, 700.0, "animal-head-fixed-task-free", "adhesive_baseline")]
    )
    found = find_baselines(recording)
    assert [b.segment.evidence for b in found] == ["adhesive_baseline table (1 row(s))", "epochs row 0 labelled 'rest'"]
    user = find_baselines(recording, start=0.0, stop=50.0)
    assert user[0].segment.evidence == "user start/stop" and user[0].segment.pieces == ((0.0, 50.0),)
    with pytest.raises(DataError, match="outside the recording"):
        find_baselines(recording, start=900.0, stop=1200.0)
    with pytest.raises(DataError, match="must be after start"):
        find_baselines(recording, start=50.0, stop=40.0)


def test_position_relative_to_task_intervals():
    recording = _recording([(0.0, 600.0, "spontaneous", "epochs"), (600.0, 900.0, "gratings", "trials")])
    assert find_baselines(recording)[0].metadata.segment.position.value == "before-task"
    recording = _recording([(0.0, 300.0, "gratings", "trials"), (300.0, 900.0, "spontaneous", "epochs")])
    assert find_baselines(recording)[0].metadata.segment.position.value == "after-task"


def test_nothing_qualifies_lists_the_tables():
    recording = _recording(
        [(0.0, 10.0, "go", "trials"), (10.0, 20.0, "nogo", "trials"), (0.0, 900.0, "wake", "epochs")]
    )
    assert find_baselines(recording) == []
    with pytest.raises(BaselineNotFoundError) as info:
        select_baseline(recording)
    message = str(info.value)
    assert message.startswith("mem.nwb: no interval marks spontaneous activity")
    assert "trials (2 rows, 0.0-20.0 s; labels 'go', 'nogo')" in message
    assert "epochs (1 row, 0.0-900.0 s; labels 'wake')" in message
    assert "adots annotate" in message
    assert describe_intervals(_recording([])) == "The recording has no interval tables or annotations"
