"""Raw files MNE reads (EDF, BrainVision, FIF) and plain tables (TSV/CSV/NPY with fs)."""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pandas as pd
import pytest
from scipy.signal import welch

from adhesive_dots.baselines import find_baselines
from adhesive_dots.errors import DataError
from adhesive_dots.io import open_recording
from adhesive_dots.metadata import Modality

OCCIPITAL = ["O1..", "Oz..", "O2.."]


def _alpha_theta_ratio(recording) -> float:
    data = recording.read(channels=OCCIPITAL)
    freqs, power = welch(data, fs=recording.fs, nperseg=int(4 * recording.fs))
    alpha = power[:, (freqs >= 8) & (freqs <= 12)].mean()
    theta = power[:, (freqs >= 4) & (freqs < 8)].mean()
    return float(alpha / theta)


def test_real_edf_runs_64_channels_160_hz_60_s_with_annotations(real_data):
    with open_recording(real_data / "S001R01.edf") as eyes_open, open_recording(real_data / "S001R02.edf") as closed:
        for recording in (eyes_open, closed):
            assert recording.modality == Modality.EEG
            assert (recording.n_channels, recording.fs, recording.duration) == (64, 160.0, 60.0)
            assert list(recording.intervals["label"]) == ["T0"]
            assert (recording.intervals["start"][0], recording.intervals["stop"][0]) == (0.0, 60.0)
        # the README's known fact: occipital alpha/theta is about 10 eyes closed and below 1 eyes open
        ratio_open, ratio_closed = _alpha_theta_ratio(eyes_open), _alpha_theta_ratio(closed)
    assert ratio_open < 1.0
    assert 5.0 < ratio_closed < 20.0
    # 'T0' is not spontaneous vocabulary; the user gives the segment explicitly
    with open_recording(real_data / "S001R02.edf") as recording:
        (user,) = find_baselines(recording, start=0.0, stop=60.0)
        assert user.segment.evidence == "user start/stop" and user.load().shape == (64, 9600)


@pytest.mark.parametrize("kind", ["fif", "brainvision", "edf"])
def test_mne_raw_formats_round_trip_with_annotations(tmp_path, kind):
    info = mne.create_info(["C3", "C4"], sfreq=128.0, ch_types="eeg")
    data = 1e-5 * np.sin(np.arange(1280)[None] / 7.0 + np.array([[0.0], [1.0]]))
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.set_annotations(mne.Annotations(onset=[1.0], duration=[4.0], description=["resting"]))
    path = tmp_path / {"fif": "x_raw.fif", "brainvision": "x.vhdr", "edf": "x.edf"}[kind]
    if kind == "fif":
        raw.save(path, verbose=False)
    else:
        with warnings.catch_warnings():  # pybv: "Encountered data in 'double' format. Converting to float32."
            warnings.simplefilter("ignore", RuntimeWarning)
            mne.export.export_raw(path, raw, fmt=kind, verbose="error")
    with open_recording(path) as recording:
        assert recording.fs == 128.0 and recording.channel_names == ("C3", "C4")
        # EDF stores 16-bit integers over the physical range: 1e-5 V / 2^15 resolution
        np.testing.assert_allclose(recording.read(), data, rtol=0, atol=2e-9 if kind == "edf" else 1e-11)
        (baseline,) = find_baselines(recording)
    assert baseline.segment.pieces == ((1.0, 5.0),)
    # BrainVision markers come back as 'Comment/resting' (MNE's type/description convention)
    assert baseline.segment.evidence.startswith("annotations row 0 labelled") and baseline.segment.label.endswith(
        "resting"
    )


def test_tables_with_fs(tmp_path):
    values = np.arange(60.0).reshape(20, 3)  # (n_times, n_channels)
    pd.DataFrame(values, columns=["a", "b", "c"]).to_csv(tmp_path / "x.tsv", sep="\t", index=False)
    np.savetxt(tmp_path / "y.csv", values, delimiter=",")
    np.save(tmp_path / "z.npy", values.T)  # stored channels x time
    with open_recording(tmp_path / "x.tsv", fs=10.0) as tsv:
        assert tsv.channel_names == ("a", "b", "c") and tsv.duration == 2.0
        np.testing.assert_array_equal(tsv.read(0.5, 1.0), values[5:10].T)
    with open_recording(tmp_path / "y.csv", fs=10.0) as csv:
        np.testing.assert_array_equal(csv.read(), values.T)
    with open_recording(tmp_path / "z.npy", fs=10.0, time_axis=1) as npy:
        np.testing.assert_array_equal(npy.read(1.0, 2.0, channels=[2]), values[10:20, [2]].T)
    with pytest.raises(DataError, match=r"no sampling rate; give it"):
        open_recording(tmp_path / "x.tsv")
    with pytest.raises(DataError, match="fs must be a positive"):
        open_recording(tmp_path / "x.tsv", fs=-3)
    with pytest.raises(DataError, match=r"option\(s\) \['fs'\] do not apply to an NWB file"):
        open_recording(tmp_path / "x.nwb" if False else _touch_nwb(tmp_path), fs=10.0)


def _touch_nwb(tmp_path):
    path = tmp_path / "empty_but_named.nwb"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    return path


def test_real_rat_lfp_npy(real_data):
    with open_recording(real_data / "rat_ca1_lfp_150s_1kHz.npy", fs=1000.0) as recording:
        assert (recording.n_channels, recording.duration) == (1, 150.0)
        raw = np.load(real_data / "rat_ca1_lfp_150s_1kHz.npy")
        np.testing.assert_array_equal(recording.read(10.0, 11.0)[0], raw[10000:11000])


def test_eeglab_set_file_with_events(tmp_path):
    """A minimal EEGLAB .set (the MATLAB struct EEGLAB saves, written with scipy.io.savemat)."""
    from scipy.io import savemat

    n, p, fs = 2, 500, 100.0
    data = (10 * np.vstack([np.sin(np.arange(p) / 5), np.cos(np.arange(p) / 5)])).astype(np.float32)  # µV
    fields = [("labels", object), ("X", object), ("Y", object), ("Z", object), ("type", object)]
    chanlocs = np.zeros((1, n), dtype=fields)
    for i, name in enumerate(["C3", "C4"]):
        chanlocs[0, i] = (name, np.array([]), np.array([]), np.array([]), "EEG")
    event = np.zeros((1, 1), dtype=[("type", object), ("latency", object), ("duration", object)])
    event[0, 0] = ("rest", 101.0, 200.0)  # EEGLAB latencies are 1-based samples
    eeg = {
        "setname": "t",
        "nbchan": float(n),
        "trials": 1.0,
        "pnts": float(p),
        "srate": fs,
        "xmin": 0.0,
        "xmax": (p - 1) / fs,
        "data": data,
        "chanlocs": chanlocs,
        "event": event,
        "epoch": np.array([]),
        "ref": "common",
        "icawinv": np.array([]),
        "icasphere": np.array([]),
        "icaweights": np.array([]),
        "chaninfo": {"nodatchans": np.array([])},
        "urevent": np.array([]),
    }
    path = tmp_path / "x.set"
    savemat(path, {"EEG": eeg}, appendmat=False)
    with open_recording(path) as recording:
        assert recording.channel_names == ("C3", "C4") and recording.fs == fs
        np.testing.assert_allclose(recording.read(), data.astype(np.float64) * 1e-6, rtol=1e-6)  # µV -> V
        (baseline,) = find_baselines(recording)
    assert baseline.segment.pieces == ((1.0, 3.0),) and baseline.segment.label == "rest"
