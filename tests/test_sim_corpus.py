"""The simulated corpus: real files that pynwb and mne-bids read cleanly, with true ground truth."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy import signal as sps

from adhesive_dots.sim import Corpus
from adhesive_dots.sim.sessions import DEFECTS, EEG_CHANNELS
from adhesive_dots.testing import loglog_slope


def _read_nwb(path):
    from pynwb import NWBHDF5IO

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of any kind while reading our files
        io = NWBHDF5IO(str(path), "r")
        return io, io.read()


def _read_bids(root, subject, session, task="rest"):
    from mne_bids import BIDSPath, read_raw_bids

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = BIDSPath(root=root, subject=subject, session=session, task=task, datatype="eeg")
        return read_raw_bids(path, verbose=False)


def test_manifest_lists_every_session_with_defects(small_corpus):
    frame = small_corpus.to_frame()
    assert len(frame) == 6
    assert set(frame["kind"]) == {"calcium", "ephys", "eeg"}
    assert set(frame["format"]) == {"nwb", "bids"}
    planted = [d for ds in frame["defects"] for d in ds]
    assert planted and set(planted) <= set(DEFECTS)
    again = Corpus.load(small_corpus.root)
    assert again.entries == small_corpus.entries


def test_nwb_sessions_read_back_with_pynwb(small_corpus):
    for entry in small_corpus.entries:
        if entry.format != "nwb":
            continue
        io, nwbfile = _read_nwb(small_corpus.root / entry.path)
        try:
            truth = small_corpus.truth(entry.key)
            epochs = nwbfile.epochs.to_dataframe()
            spont = epochs[epochs["tags"].apply(lambda t: "spontaneous" in t)].iloc[0]
            assert (spont.start_time, spont.stop_time) == (truth["baseline"]["start"], truth["baseline"]["stop"])
            assert nwbfile.subject.species == "Mus musculus"
            assert len(nwbfile.trials) > 10
            dot = nwbfile.intervals["adhesive_baseline"].to_dataframe().iloc[0]
            assert dot["paradigm.name"] == dot["paradigm"] == "animal-head-fixed-task-free"
            if entry.kind == "calcium":
                series = nwbfile.processing["ophys"]["DfOverF"]["RoiResponseSeries"]
                assert series.data.shape == (int(truth["recording_duration"] * 30), truth["n_channels"])
            else:
                series = nwbfile.processing["ecephys"]["LFP"]["LFP"]
                assert series.data.shape == (int(truth["recording_duration"] * 250), truth["n_channels"])
                assert len(nwbfile.units) == truth["n_units"]
            if "missing-metadata" not in entry.defects:
                assert set(nwbfile.processing["behavior"].data_interfaces) == {"PupilTracking", "BehavioralTimeSeries"}
        finally:
            io.close()


def test_bids_runs_read_back_with_mne_bids(small_corpus):
    entries = [e for e in small_corpus.entries if e.format == "bids"]
    assert entries
    for entry in entries:
        root = small_corpus.root / entry.path
        raw = _read_bids(root, entry.subject, entry.session)
        assert raw.ch_names == list(EEG_CHANNELS)
        assert raw.info["sfreq"] == 250.0
        assert raw.n_times == 600 * 250
        sidecar = json.loads(
            next(root.rglob(f"sub-{entry.subject}_ses-{entry.session}_task-rest_eeg.json")).read_text()
        )
        assert sidecar["TaskName"] == "rest" and "AdhesiveDot" in sidecar
        if "missing-metadata" in entry.defects:
            assert "Instructions" not in sidecar
        else:
            assert sidecar["AdhesiveDot"]["paradigm"]["eyes_closed"] is True and sidecar["Instructions"]
        task = _read_bids(root, entry.subject, entry.session, task="visual")
        assert len(task.annotations) > 10
    participants = (small_corpus.root / entries[0].path / "participants.tsv").read_text()
    assert entries[0].subject in participants


@pytest.mark.parametrize("kind", ["ephys", "eeg"])
def test_spectrum_exponent_matches_ground_truth(small_corpus, kind):
    """Plain log-log fit of the baseline's Welch PSD, 1-40 Hz without the peak: within 0.1."""
    for entry in [e for e in small_corpus.entries if e.kind == kind]:
        truth = small_corpus.truth(entry.key)
        if kind == "eeg":
            data = _read_bids(small_corpus.root / entry.path, entry.subject, entry.session).get_data()
            fs = 250.0
        else:
            io, nwbfile = _read_nwb(small_corpus.root / entry.path)
            series = nwbfile.processing["ecephys"]["LFP"]["LFP"]
            fs = series.rate
            i0, i1 = int(truth["baseline"]["start"] * fs), int(truth["baseline"]["stop"] * fs)
            data = series.data[i0:i1].T.astype(float)
            io.close()
        data = data[:, np.isfinite(data).all(axis=0)]
        freqs, psd = sps.welch(data, fs=fs, nperseg=int(4 * fs))
        peak = truth["peak_frequency"]
        fitted = loglog_slope(freqs, np.median(psd, axis=0), (1, 40), exclude=(peak - 3, peak + 3))
        assert abs(fitted - truth["aperiodic_exponent"]) < 0.1, (entry.key, fitted, truth["aperiodic_exponent"])
        # and the oscillatory peak is where the truth says (within one 0.25 Hz bin)
        strongest = freqs[np.argmax(psd.mean(axis=0) * (freqs > 3))]
        assert abs(strongest - peak) <= 0.25 + 0.25


def test_defective_sessions_carry_their_defects(small_corpus):
    for entry in small_corpus.entries:
        truth = small_corpus.truth(entry.key)
        assert truth["defects"] == list(entry.defects)
        if "too-short" in entry.defects:
            assert entry.baseline[1] - entry.baseline[0] < 600
        else:
            assert entry.baseline[1] - entry.baseline[0] == 600
