"""Reading NWB files: series, Units binning, behaviour signals, timestamps, metadata, real files."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.baselines import SPONTANEOUS_VOCABULARY, STATE_VOCABULARY, find_baselines, select_baseline
from adhesive_dots.errors import BaselineNotFoundError, DataError
from adhesive_dots.io import open_recording
from adhesive_dots.metadata import ArousalMeasure, Modality


@pytest.fixture
def lfp_file(make_nwb):
    rng = np.random.default_rng(3)
    data = rng.standard_normal((250 * 60, 8)).astype(np.float32)  # (n_times, n_channels), 60 s at 250 Hz
    pupil = np.linspace(2.0, 3.0, 30 * 60)
    running = np.abs(rng.standard_normal(30 * 60))
    epochs = pd.DataFrame({"start_time": [0.0, 30.0], "stop_time": [30.0, 60.0], "tags": [["spontaneous"], ["task"]]})
    path = make_nwb(
        "lfp.nwb",
        data=data,
        kind="lfp",
        chunks=(250, 8),
        intervals={"epochs": epochs},
        behaviour={"pupil_diameter": (pupil, 30.0), "running_speed": (running, 30.0)},
    )
    return path, data, pupil


def test_nwb_samples_come_back_exactly(lfp_file):
    path, data, pupil = lfp_file
    with open_recording(path) as recording:
        assert recording.modality == Modality.LFP
        assert (recording.fs, recording.n_channels, recording.n_times) == (250.0, 8, 15000)
        block = recording.read(10.0, 20.0)
        # float32 on disk -> float64: exact (tolerance 0)
        np.testing.assert_array_equal(block, data[2500:5000].T.astype(np.float64))
        subset = recording.read(10.0, 11.0, channels=[recording.channel_names[5], recording.channel_names[2]])
        np.testing.assert_array_equal(subset, data[2500:2750, [5, 2]].T)
        assert set(recording.signals) == {"pupil_diameter", "running_speed"}
        np.testing.assert_allclose(recording.signals["pupil_diameter"].read()[0], pupil, rtol=0, atol=0)


def test_nwb_metadata_is_filled_from_the_file(lfp_file):
    path, _, _ = lfp_file
    with open_recording(path) as recording:
        meta = recording.metadata
    assert meta.identity.lab == "test-lab" and meta.identity.session_id == "s01"
    assert meta.identity.institution == "test institute"
    assert meta.identity.source_uri == str(path)
    assert meta.subject.species == "Mus musculus" and meta.subject.ncbi_taxon_id == 10090
    assert meta.subject.sex.value == "F" and meta.subject.age == "P90D"
    assert meta.recording.sampling_frequency == 250.0 and meta.recording.n_channels == 8
    assert meta.recording.brain_areas == ["CA1"]
    assert ArousalMeasure.PUPIL in meta.arousal.measures and ArousalMeasure.LOCOMOTION in meta.arousal.measures
    assert meta.arousal.locations["pupil"].endswith("pupil_diameter")


def test_baseline_load_reads_only_the_segment_and_stays_within_memory(lfp_file):
    path, data, _ = lfp_file
    with open_recording(path) as recording:
        (baseline,) = find_baselines(recording)
        assert baseline.segment.evidence.startswith("epochs row 0")
        tracemalloc.start()
        segment = baseline.load()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    np.testing.assert_array_equal(segment, data[:7500].T)
    # the stored float32 block plus the float64 result: 1.5x the result (+64 KiB of bookkeeping)
    assert peak <= 1.5 * segment.nbytes + 64 * 1024, (peak, segment.nbytes)


def test_units_binned_at_explicit_width_match_numpy_histogram(make_nwb):
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 100, n)) for n in (50, 400, 1200)]
    path = make_nwb("units.nwb", units=trains)
    with pytest.raises(DataError, match="units_bin_width"):
        open_recording(path)
    with open_recording(path, units_bin_width=0.05) as recording:
        assert recording.modality == Modality.SPIKES and recording.units == "spikes/s"
        assert recording.fs == pytest.approx(20.0)
        rates = recording.read()
        edges = 0.05 * np.arange(recording.n_times + 1)
        expected = np.stack([np.histogram(t, bins=edges)[0] for t in trains]) / 0.05
        np.testing.assert_allclose(rates, expected, rtol=0, atol=1e-9)  # counts are exact
        assert rates.sum() * 0.05 == pytest.approx(sum(len(t) for t in trains), abs=1e-6)
        # a piece in the middle equals the same bins of the whole
        np.testing.assert_allclose(recording.read(10.0, 20.0), expected[:, 200:400], atol=1e-9)
        assert recording.spikes.n_units == 3
        np.testing.assert_array_equal(recording.spikes.unit(1), trains[1])
        coarse = recording.spikes.bin(1.0, start=0.0, stop=100.0)
        np.testing.assert_array_equal(
            coarse.read() * 1.0, np.stack([np.histogram(t, bins=np.arange(101))[0] for t in trains])
        )
    with pytest.raises(DataError, match="units_bin_width must be a positive"):
        open_recording(path, units_bin_width=-1)


def test_series_with_explicit_timestamps(make_nwb):
    stamps = 5.0 + np.arange(1000) / 100.0
    values = np.sin(np.arange(1000) / 10.0)[:, None]
    path = make_nwb("stamps.nwb", data=values, timestamps=stamps, kind="timeseries")
    with open_recording(path) as recording:
        assert recording.fs == pytest.approx(100.0, rel=1e-12)
        assert recording.t0 == pytest.approx(5.0)
        np.testing.assert_allclose(recording.read(6.0, 7.0)[0], values[100:200, 0], atol=0)


def test_non_monotonic_timestamps_name_the_series(make_nwb):
    stamps = np.arange(100) / 10.0
    stamps[50] = stamps[48]
    path = make_nwb("bad_stamps.nwb", data=np.zeros((100, 1)), timestamps=stamps, kind="timeseries")
    with pytest.raises(DataError, match=r"timestamps of series signal are not monotonic.*sample 50"):
        open_recording(path)


def test_irregular_timestamps_are_refused(make_nwb):
    stamps = np.arange(100) / 10.0
    stamps[40:] += 0.3  # a clock jump of 3 samples (the grid is fitted end to end)
    path = make_nwb("jump.nwb", data=np.zeros((100, 1)), timestamps=stamps, kind="timeseries")
    with pytest.raises(DataError, match="timestamps of series signal are irregular: sample"):
        open_recording(path)
    jitter = np.arange(100) / 10.0 + np.random.default_rng(0).uniform(-0.02, 0.02, 100)  # a fifth of a sample
    path = make_nwb("jitter.nwb", data=np.zeros((100, 1)), timestamps=np.sort(jitter), kind="timeseries")
    with open_recording(path) as recording:
        assert recording.fs == pytest.approx(10.0, rel=0.01)


def test_binning_piece_by_piece_counts_spikes_on_edges_once(make_nwb):
    trains = [np.array([0.25, 1.0, 1.0 + 1e-12, 2.0, 2.75]), np.array([0.5, 1.5])]  # spikes exactly on 0.25 s edges
    path = make_nwb("edges.nwb", units=trains)
    with open_recording(path, units_bin_width=0.25) as recording:
        whole = recording.read() * 0.25
        pieces = np.concatenate([recording.read(a, a + 1.0) for a in (0.0, 1.0, 2.0)], axis=1) * 0.25
    np.testing.assert_array_equal(whole[:, :12], pieces)
    assert whole.sum() == 7 and whole[0, 4] == 2 and whole[0, 8] == 1  # bins are [a, a + 0.25)
    assert whole[1, 2] == 1 and whole[1, 6] == 1


def test_non_standard_metadata_values_are_left_out_with_a_warning(make_nwb):
    from adhesive_dots.errors import AdhesiveWarning

    path = make_nwb(
        "odd.nwb", data=np.zeros((100, 1)), subject={"subject_id": "m2", "species": "mouse", "age": "90 days"}
    )
    with pytest.warns(AdhesiveWarning, match=r"subject.species='mouse'.*subject.age='90 days'"):
        recording = open_recording(path)
    with recording:
        assert recording.metadata.subject.species is None and recording.metadata.subject.subject_id == "m2"


def test_all_nan_series_is_a_data_error(make_nwb):
    path = make_nwb("nan.nwb", data=np.full((500, 2), np.nan))
    with open_recording(path) as recording:
        with pytest.raises(DataError, match="all NaN"):
            recording.read()


def test_arousal_series_outside_the_behavior_module_are_found_by_name(make_nwb):
    whisking, gaze = np.arange(100.0), np.ones(100)
    path = make_nwb(
        "arousal.nwb",
        data=np.zeros((1000, 2)),
        acquisition={"whisking_energy": (whisking, 50.0), "eye_position_x": (gaze, 50.0), "lick_times": (gaze, 50.0)},
    )
    with open_recording(path) as recording:
        assert set(recording.signals) == {"whisking_energy", "eye_position_x"}  # not 'lick_times'
        np.testing.assert_array_equal(recording.signals["whisking_energy"].read()[0], whisking)
        measures = recording.metadata.arousal.measures
    assert ArousalMeasure.WHISKING in measures and ArousalMeasure.EYE_TRACKING in measures


def test_series_option_selects_and_lists(make_nwb):
    path = make_nwb("two.nwb", data=np.ones((100, 2)), behaviour={"pupil_area": (np.arange(50.0), 10.0)})
    with open_recording(path, series="pupil_area") as recording:
        np.testing.assert_array_equal(recording.read()[0], np.arange(50.0))
    with pytest.raises(DataError, match=r"no series named 'nope'; available: .*pupil_area"):
        open_recording(path, series="nope")


def test_allen_style_stimulus_name_rows_are_found_and_concatenated(make_nwb):
    table = pd.DataFrame(
        {
            "start_time": [0.0, 100.0, 200.0, 300.0],
            "stop_time": [100.0, 200.0, 300.0, 400.0],
            "stimulus_name": ["spontaneous", "gabors", "spontaneous", "natural_scenes"],
        }
    )
    path = make_nwb("allen.nwb", data=np.zeros((400 * 10, 1)), rate=10.0, intervals={"stimulus_presentations": table})
    with open_recording(path) as recording:
        (baseline,) = find_baselines(recording)
    assert baseline.segment.pieces == ((0.0, 100.0), (200.0, 300.0))
    assert not baseline.segment.contiguous and baseline.segment.gaps == ((100.0, 200.0),)
    assert baseline.duration == 200.0
    assert "stimulus_presentations rows 0, 2 labelled 'spontaneous'" == baseline.segment.evidence
    assert baseline.metadata.segment.gaps == [(100.0, 200.0)]


def test_calcium_corpus_file(small_corpus):
    entry = next(e for e in small_corpus.entries if e.kind == "calcium")
    with open_recording(small_corpus.root / entry.path) as recording:
        assert recording.modality == Modality.CALCIUM and recording.fs == 30.0
        baselines = find_baselines(recording)
        assert baselines[0].segment.evidence.startswith("adhesive_baseline")
        assert (baselines[0].segment.start, baselines[0].segment.stop) == entry.baseline
        assert baselines[0].load().shape == (recording.n_channels, round(30 * (entry.baseline[1] - entry.baseline[0])))
        assert "pupil_diameter" in recording.signals


def test_ephys_corpus_file_has_lfp_and_spike_trains(small_corpus):
    entry = next(e for e in small_corpus.entries if e.kind == "ephys")
    with open_recording(small_corpus.root / entry.path) as recording:
        assert recording.modality == Modality.LFP and recording.fs == 250.0
        assert recording.spikes is not None and recording.spikes.n_units > 0
    with open_recording(small_corpus.root / entry.path, units_bin_width=0.1) as rates:
        assert rates.modality == Modality.SPIKES and rates.fs == pytest.approx(10.0)


# -- real recordings ---------------------------------------------------------------------------
def test_real_a8604_units_binned_and_wake_reported(real_data):
    path = real_data / "A8604-211122.nwb"
    with open_recording(path, units_bin_width=0.01) as recording:
        assert recording.n_channels == 3 and recording.spikes.n_spikes == 21354
        # every spike falls in exactly one bin: the counts add up to the README's 21,354
        assert recording.read().sum() * 0.01 == pytest.approx(21354, abs=1e-6)
        assert find_baselines(recording) == []  # 'wake' is a state, not a task-free marker (default)
        with pytest.raises(BaselineNotFoundError, match=r"epochs \(1 row, 0.0-1087.5 s; labels 'wake'\)"):
            select_baseline(recording)
        (wake,) = find_baselines(recording, vocabulary=(*SPONTANEOUS_VOCABULARY, *STATE_VOCABULARY))
        assert wake.segment.label == "wake" and wake.segment.stop == pytest.approx(1087.5289)


def test_real_rutishauser_file_lists_its_interval_tables(real_data):
    path = real_data / "sub-4_ses-4_ecephys+image.nwb"
    with pytest.warns(UserWarning, match="OpticalSeries"):  # pynwb's own warnings pass through, not as errors
        recording = open_recording(path, units_bin_width=0.05)
    with recording:
        assert recording.n_channels == 35
        assert recording.metadata.subject.species == "Homo sapiens" and recording.metadata.subject.age == "P49Y"
        assert recording.metadata.identity.lab == "Rutishauser"
        with pytest.raises(BaselineNotFoundError) as info:
            select_baseline(recording)
    message = str(info.value)
    for table in ("encoding_table (90 rows", "recognition_table (180 rows", "timediscrimination_table (180 rows"):
        assert table in message
    assert "adots annotate" in message
