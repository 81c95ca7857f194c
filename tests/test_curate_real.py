"""Duplicates among real EEG recordings (PhysioNet EEG Motor Movement/Imagery, subject S001)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from adhesive_dots.curate import LoadedBaseline, compute_content_hash, compute_sketch, find_duplicates

mne = pytest.importorskip("mne")


def _read(path) -> LoadedBaseline:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an annotation runs past the 60 records kept
        raw = mne.io.read_raw_edf(path, preload=True, verbose=False)
    return LoadedBaseline(raw.get_data(), raw.info["sfreq"], tuple(raw.ch_names))


@pytest.fixture(scope="module")
def real_eeg(real_data, tmp_path_factory):
    """R01 (eyes open), R02 (eyes closed), and an EDF copy of R01: 128 Hz, 45 s from 10 s, 32 channels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        raw = mne.io.read_raw_edf(real_data / "S001R01.edf", preload=True, verbose=False)
    copy = raw.copy().resample(128.0, verbose=False).crop(tmin=10.0, tmax=55.0, include_tmax=False)
    copy.pick(copy.ch_names[::2])  # 32 of 64 channels
    copy.set_annotations(None)
    path = tmp_path_factory.mktemp("real-copy") / "S001R01_copy.edf"
    mne.export.export_raw(path, copy, fmt="edf", verbose=False)
    return {
        "S001R01": _read(real_data / "S001R01.edf"),
        "copy": _read(path),
        "S001R02": _read(real_data / "S001R02.edf"),
        "paths": [real_data / "S001R01.edf", path, real_data / "S001R02.edf"],
    }


def test_real_copy_is_found_and_other_run_is_not(real_eeg):
    real_eeg = {k: v for k, v in real_eeg.items() if k != "paths"}
    assert real_eeg["copy"].fs == 128.0 and real_eeg["copy"].data.shape == (32, 45 * 128)
    sketches = {k: compute_sketch(v.data, v.fs) for k, v in real_eeg.items()}
    hashes = {k: compute_content_hash(v.data, v.fs, units="V") for k, v in real_eeg.items()}
    search = find_duplicates(list(real_eeg), sketches, load=real_eeg.__getitem__, content_hashes=hashes)
    assert [(p.a, p.b) for p in search.pairs] == [("S001R01", "copy")]
    assert search.rejected == []  # S001R02 is not even a candidate
    evidence = search.pairs[0].evidence
    assert search.pairs[0].kind == "near"
    assert evidence["offset_s"] == pytest.approx(10.0, abs=1 / 100)  # one sample at the common 100 Hz
    assert evidence["rate_ratio"] == pytest.approx(0.8)
    assert evidence["gain"] == pytest.approx(1.0, abs=0.02)  # EDF 16-bit rounding and filter edges
    assert evidence["overlap_s"] == pytest.approx(45.0, abs=0.05)
    assert evidence["correlation"] > 0.95
    assert evidence["n_matched"] == 32 and evidence["channel_match"] == "name"
    assert all(b == a for b, a in evidence["channel_map"].items())
    # the two runs of the same person share no landmark tokens
    assert sketches["S001R01"].jaccard(sketches["S001R02"]) < 0.02


def test_same_person_other_condition_is_distinct_on_the_samples(real_eeg):
    from adhesive_dots.curate import verify_pair

    r1, r2 = real_eeg["S001R01"], real_eeg["S001R02"]
    evidence = verify_pair(r1.data, r1.fs, r2.data, r2.fs, names_a=r1.channel_names, names_b=r2.channel_names)
    assert not evidence.duplicate
    assert evidence.correlation < 0.5
    assert np.isfinite(evidence.gain)


def test_adots_duplicates_on_the_real_files(real_eeg, capsys):
    """The same through open_recording and the CLI (no baseline is marked: --whole reads all of each file)."""
    from adhesive_dots.cli import main

    paths = [str(p) for p in real_eeg["paths"]]
    with pytest.raises(SystemExit) as exit_info:
        main(["duplicates", *paths])
    assert exit_info.value.code == 2  # without --whole nothing can be compared: no baseline is marked
    assert "no interval marks spontaneous" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["duplicates", "--whole", "--json", *paths])
    assert exit_info.value.code == 1  # duplicates found
    payload = json.loads(capsys.readouterr().out)
    assert [(p["a"], p["b"]) for p in payload["pairs"]] == [(paths[0], paths[1])]
    evidence = payload["pairs"][0]["evidence"]
    assert evidence["offset_s"] == pytest.approx(10.0, abs=1 / 100) and evidence["rate_ratio"] == pytest.approx(0.8)
    assert {s["segment"] for s in payload["sources"]} == {"whole recording"}
