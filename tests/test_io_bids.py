"""BIDS datasets: EEG and iEEG runs through mne-bids, derivatives time series, sidecar metadata."""

from __future__ import annotations

import json

import mne
import numpy as np
import pandas as pd
import pytest

from adhesive_dots.baselines import find_baselines
from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError
from adhesive_dots.io import open_recording
from adhesive_dots.io.bids_write import write_bids_eeg
from adhesive_dots.metadata import Modality, Paradigm

FS = 200.0


@pytest.fixture
def bids_root(tmp_path):
    """A BIDS dataset: sub-01 rest run (eyes closed wording) and a task run, participants.tsv."""
    root = tmp_path / "bids"
    rng = np.random.default_rng(5)
    data = 1e-5 * rng.standard_normal((4, int(FS * 30)))
    names = ["Fz", "Cz", "Pz", "Oz"]
    sidecar = {
        "TaskDescription": "Resting state, eyes closed.",
        "Instructions": "Please keep your eyes closed and relax.",
    }
    write_bids_eeg(
        root, subject="01", session=None, task="rest", data=data, fs=FS, channel_names=names, sidecar=sidecar
    )
    events = pd.DataFrame({"onset": [2.0, 12.0], "duration": [5.0, 5.0], "description": ["stim", "stim"]})
    write_bids_eeg(
        root, subject="01", session=None, task="oddball", data=data, fs=FS, channel_names=names, events=events
    )
    pd.DataFrame({"participant_id": ["sub-01"], "age": ["34"], "sex": ["F"], "handedness": ["L"]}).to_csv(
        root / "participants.tsv", sep="\t", index=False
    )
    return root, data


def test_rest_run_is_read_with_its_sidecar_and_participants_metadata(bids_root):
    root, data = bids_root
    with open_recording(root, subject="01") as recording:  # task defaults to rest
        assert recording.modality == Modality.EEG
        assert (recording.n_channels, recording.fs) == (4, FS)
        np.testing.assert_allclose(
            recording.read(1.0, 2.0), data[:, 200:400], rtol=0, atol=1e-9
        )  # BrainVision µV resolution
        meta = recording.metadata
        baselines = find_baselines(recording)
    assert meta.paradigm.name == Paradigm.HUMAN_EYES_CLOSED and meta.paradigm.eyes_closed is True
    assert meta.paradigm.instructions == "Please keep your eyes closed and relax."
    assert (meta.subject.age, meta.subject.sex.value, meta.subject.handedness) == ("P34Y", "F", "left")
    assert meta.subject.species == "Homo sapiens"
    assert meta.identity.subject_id == "01" and meta.identity.source_uri.endswith("sub-01_task-rest_eeg.vhdr")
    assert meta.segment.duration == pytest.approx(30.0, abs=0.01)  # RecordingDuration
    assert baselines[0].segment.evidence == "bids row 0 labelled 'task-rest'"
    assert baselines[0].segment.stop == pytest.approx(30.0)


def test_task_run_has_annotations_and_no_baseline(bids_root):
    root, _ = bids_root
    with open_recording(root, subject="01", task="oddball") as recording:
        assert list(recording.intervals["label"]) == ["stim", "stim"]
        np.testing.assert_allclose(recording.intervals["start"], [2.0, 12.0])
        assert find_baselines(recording) == []


def test_run_file_inside_bids_is_read_as_that_run(bids_root):
    root, _ = bids_root
    path = root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.vhdr"
    with open_recording(path) as recording:
        assert recording.metadata.paradigm.eyes_closed is True  # sidecar metadata, not a bare raw file


def test_no_matching_run_and_missing_description(bids_root, tmp_path):
    root, _ = bids_root
    with pytest.raises(SourceNotFoundError, match=r"no EEG/MEG/iEEG/BOLD run .* match subject=99; tasks present"):
        open_recording(root, subject="99")
    bare = tmp_path / "not_bids"
    bare.mkdir()
    (bare / "sub-01").mkdir()
    with pytest.raises(FormatError, match="not a BIDS dataset \\(no dataset_description.json"):
        open_recording(bare, subject="01")


def test_ieeg_run_through_mne_bids(tmp_path):
    import mne_bids

    root = tmp_path / "ieeg"
    info = mne.create_info(["LA1", "LA2", "LA3"], sfreq=500.0, ch_types="seeg")
    data = 1e-4 * np.random.default_rng(1).standard_normal((3, 5000))
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.info["line_freq"] = 60.0
    path = mne_bids.BIDSPath(subject="02", task="rest", datatype="ieeg", root=root)
    mne_bids.write_raw_bids(raw, path, format="BrainVision", allow_preload=True, verbose=False)
    with open_recording(root, subject="02") as recording:
        assert recording.modality == Modality.IEEG
        np.testing.assert_allclose(recording.read(0, 1.0), data[:, :500], atol=1e-9)


def test_meg_run_through_mne_bids(tmp_path):
    import mne_bids

    root = tmp_path / "meg"
    info = mne.create_info(["MEG0111", "MEG0112", "MEG0113"], sfreq=300.0, ch_types=["mag", "grad", "grad"])
    data = 1e-12 * np.random.default_rng(1).standard_normal((3, 3000))
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.info["line_freq"] = 50.0
    path = mne_bids.BIDSPath(subject="05", task="rest", datatype="meg", root=root)
    mne_bids.write_raw_bids(raw, path, format="FIF", allow_preload=True, verbose=False)
    with open_recording(root, subject="05") as recording:
        assert recording.modality == Modality.MEG and recording.units == "T (mag), T/m (grad)"
        # FIF may store single precision (mne-bids chooses): 1e-6 relative covers float32 rounding
        np.testing.assert_allclose(recording.read(), data, rtol=1e-6, atol=0)
        assert find_baselines(recording)[0].segment.label == "task-rest"


def test_derivative_roi_timeseries_with_repetition_time(tmp_path):
    root = tmp_path / "fmri"
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "rois", "BIDSVersion": "1.9.0"}))
    folder = root / "derivatives" / "roi" / "sub-03" / "func"
    folder.mkdir(parents=True)
    values = np.arange(300.0).reshape(100, 3)
    pd.DataFrame(values, columns=["V1", "V2", "MT"]).to_csv(
        folder / "sub-03_task-rest_timeseries.tsv", sep="\t", index=False
    )
    sidecar = folder / "sub-03_task-rest_timeseries.json"
    sidecar.write_text(json.dumps({"RepetitionTime": 2.0}))
    with open_recording(root, subject="03") as recording:
        assert recording.fs == pytest.approx(0.5) and recording.channel_names == ("V1", "V2", "MT")
        assert recording.modality == Modality.FMRI
        np.testing.assert_array_equal(recording.read(20.0, 40.0), values[10:20].T)
        assert find_baselines(recording)[0].segment.pieces == ((0.0, 200.0),)
    sidecar.write_text(json.dumps({"Description": "no rate"}))
    with pytest.raises(DataError, match="gives no positive SamplingFrequency .* or RepetitionTime"):
        open_recording(root, subject="03")


def test_corpus_bids_run_reads_the_stored_dot(small_corpus):
    entry = next(e for e in small_corpus.entries if e.format == "bids" and not e.defects)
    with open_recording(small_corpus.root / entry.path, subject=entry.subject, session=entry.session) as recording:
        baselines = find_baselines(recording)
        assert baselines[0].segment.evidence.startswith("adhesive_baseline")
        assert (baselines[0].segment.start, baselines[0].segment.stop) == entry.baseline
        assert recording.metadata.identity.lab == "lab2-eeg"  # from the AdhesiveDot key
