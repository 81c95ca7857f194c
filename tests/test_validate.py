"""The validator: every check fires on a crafted bad case and stays silent on a good one.

Data are small in-memory baselines (``Baseline.from_array`` / ``Recording.from_array``);
sampling at 250 Hz unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.core import Baseline, Finding, Recording, Segment, Severity
from adhesive_dots.metadata import DotMetadata, ValidationStatus
from adhesive_dots.validate import (
    CHECKS,
    Thresholds,
    UnknownCheckError,
    ValidationOptionError,
    checks_table,
    compute_signal_quality,
    compute_timestamp_report,
    is_compliant,
    select_checks,
    validate_baseline,
    validate_recording,
)

FS = 250.0

HUMAN = {
    "identity": {"lab": "lab-x", "session_id": "01"},
    "recording": {"modality": "eeg", "sampling_frequency": FS, "n_channels": 4, "apparatus": {"amplifier": "amp"}},
    "segment": {"position": "before-task"},
    "paradigm": {"name": "human-eyes-closed", "eyes_closed": True, "fixation": False,
                 "instructions": "Close your eyes.", "screen": "off"},
    "environment": {"illumination": "dim", "local_time": "10:00:00", "sound_level_db_spl": 35.0},
    "subject": {"subject_id": "S1", "species": "Homo sapiens", "sex": "F", "age": "P30Y", "handedness": "right"},
    "context": {"preceding": "cap preparation"},
}  # fmt: skip
ANIMAL = {
    "identity": {"lab": "lab-y"},
    "recording": {"modality": "lfp", "brain_areas": ["VISp"], "apparatus": {"probe": "Neuropixels"}},
    "segment": {"position": "before-task"},
    "paradigm": {"name": "animal-head-fixed-task-free", "head_fixed": True, "screen": "grey"},
    "environment": {"illumination": "dim", "zeitgeber_time_h": 3.0},
    "arousal": {"measures": ["pupil"]},
    "subject": {"subject_id": "M1", "species": "Mus musculus", "sex": "M", "age": "P90D", "strain": "C57BL/6J"},
    "context": {"preceding": "habituation", "habituation": "5 days"},
}


def noise(n_channels: int, seconds: float, *, seed: int = 0, fs: float = FS) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n_channels, int(round(seconds * fs))))


def human_baseline(data: np.ndarray | None = None, *, seconds: float = 600.0, meta: dict | None = None,
                   fs: float = FS, **kwargs) -> Baseline:  # fmt: skip
    data = noise(4, seconds, fs=fs) if data is None else data
    metadata = DotMetadata.from_dict(meta if meta is not None else HUMAN)
    return Baseline.from_array(data, fs, metadata=metadata, modality="eeg", source="rest.vhdr", **kwargs)


def animal_baseline(*, pupil: np.ndarray | None, seconds: float = 600.0, meta: dict | None = None) -> Baseline:
    data = noise(4, seconds)
    signals = {} if pupil is None else {"pupil_diameter": Recording.from_array(pupil, 30.0, source="pupil")}
    recording = Recording.from_array(data, FS, source="mouse.nwb", modality="lfp", signals=signals,
                                     metadata=DotMetadata.from_dict(meta or ANIMAL))  # fmt: skip
    return Baseline(recording, Segment.between(0.0, seconds, evidence="test"), recording.metadata)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


# -- the good case: every check silent --------------------------------------------------------------------


def test_a_compliant_human_baseline_has_no_finding_and_is_marked_compliant():
    baseline = human_baseline()
    findings = validate_baseline(baseline)
    assert findings == []
    assert baseline.findings == []
    assert baseline.metadata.curation.validation_status is ValidationStatus.COMPLIANT


def test_a_compliant_animal_baseline_with_pupil_over_the_whole_segment_has_no_finding():
    pupil = 1.0 + 0.1 * np.random.default_rng(1).standard_normal(600 * 30)
    assert validate_baseline(animal_baseline(pupil=pupil)) == []


def test_findings_are_stored_on_the_baseline_most_severe_first_and_status_set():
    data = noise(4, 60.0)
    data[1] = 0.0
    baseline = human_baseline(data)
    findings = validate_baseline(baseline)
    assert baseline.findings == findings
    ranks = [Severity(f.severity).rank for f in findings]
    assert ranks == sorted(ranks)
    assert {"baseline.duration", "signal.flat"} <= set(codes(findings))
    assert baseline.metadata.curation.validation_status is ValidationStatus.NONCOMPLIANT
    assert not is_compliant(findings)


# -- baseline ---------------------------------------------------------------------------------------------


def test_baseline_exists_fires_without_spontaneous_interval_and_lists_the_tables():
    intervals = pd.DataFrame(
        {"start": [0.0, 10.0, 20.0], "stop": [5.0, 15.0, 25.0], "label": ["grating", "grating", "wake"],
         "table": ["trials", "trials", "epochs"]}
    )  # fmt: skip
    recording = Recording.from_array(noise(2, 30.0), FS, source="task.nwb", intervals=intervals)
    findings = validate_recording(recording)
    # the whole 30 s recording is also too short to hold a compliant baseline
    assert codes(findings) == ["baseline.exists", "baseline.duration"]
    assert findings[0].severity is Severity.CRITICAL
    assert "task.nwb" in findings[0].message
    assert "trials (2 rows: 'grating')" in findings[0].message and "epochs (1 row: 'wake')" in findings[0].message
    assert findings[0].value == {"trials": 2, "epochs": 1}
    assert "whole recording is 30.0 s long" in findings[1].message
    long = Recording.from_array(noise(2, 700.0), FS, source="long.nwb", intervals=intervals)
    assert codes(validate_recording(long)) == ["baseline.exists"]


def test_baseline_exists_silent_when_an_interval_is_labelled_spontaneous():
    intervals = pd.DataFrame({"start": [0.0], "stop": [600.0], "label": ["spontaneous"], "table": ["epochs"]})
    recording = Recording.from_array(noise(4, 600.0), FS, source="rest.nwb", intervals=intervals, modality="eeg",
                                     metadata=DotMetadata.from_dict(HUMAN))  # fmt: skip
    assert validate_recording(recording) == []


def test_baseline_duration_names_the_measured_length_and_the_minimum():
    findings = validate_baseline(human_baseline(seconds=60.0))
    (finding,) = only(findings, "baseline.duration")
    assert finding.severity is Severity.ERROR
    assert "rest.vhdr" in finding.message and "60.0 s long" in finding.message and "600.0 s" in finding.message
    assert finding.value == pytest.approx(60.0)
    assert "--min-duration" in finding.fix


def test_min_duration_relaxes_the_duration_check():
    assert validate_baseline(human_baseline(seconds=60.0), min_duration=60.0, select=["baseline"]) == []
    with pytest.raises(ValidationOptionError, match="min_duration"):
        validate_baseline(human_baseline(seconds=60.0), min_duration=-1.0)


def test_a_concatenated_baseline_is_a_warning_listing_its_gaps():
    recording = Recording.from_array(noise(4, 620.0), FS, source="cat.nwb", modality="eeg")
    segment = Segment(((0.0, 300.0), (310.0, 620.0)), evidence="two epochs")
    baseline = Baseline(recording, segment, DotMetadata.from_dict(HUMAN))
    findings = validate_baseline(baseline)
    assert codes(findings) == ["baseline.contiguity"]
    assert findings[0].severity is Severity.WARNING
    assert "300.0-310.0 s" in findings[0].message and "10.0 s" in findings[0].message
    # contiguous: silent (see the compliant cases above)


def test_baseline_coverage_fires_when_the_segment_runs_past_the_data():
    recording = Recording.from_array(noise(4, 600.0), FS, source="short.nwb", modality="eeg")
    baseline = Baseline(recording, Segment.between(0.0, 700.0), DotMetadata.from_dict(HUMAN))
    (finding,) = only(validate_baseline(baseline), "baseline.coverage")
    assert "100.0 s of the baseline have no data" in finding.message
    assert finding.value == pytest.approx(100.0)


# -- metadata ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "missing"),
    [
        ({**HUMAN, "paradigm": {"name": "human-eyes-closed"}}, {"paradigm.instructions"}),
        ({**HUMAN, "paradigm": {"name": "other"}},
         {"paradigm.eyes_closed", "paradigm.fixation", "paradigm.instructions"}),
        ({**ANIMAL, "paradigm": {"name": "sleep"}}, {"paradigm.head_fixed"}),
        ({**ANIMAL, "environment": {}, "arousal": {}}, {"environment.illumination", "arousal.measures"}),
        ({**ANIMAL, "paradigm": {"name": "anaesthetised", "head_fixed": True}}, {"context.anaesthesia"}),
        ({}, {"subject.species", "paradigm.name"}),
    ],
)  # fmt: skip
def test_metadata_required_names_each_missing_field(meta, missing):
    """Required fields depend on species and paradigm; a field the paradigm answers is not asked for."""
    baseline = human_baseline(meta=meta)
    found = only(validate_baseline(baseline, select=["metadata.required"]), "metadata.required")
    assert {f.location.removeprefix("DotMetadata.") for f in found} == missing
    assert all(f.severity is Severity.ERROR and "rest.vhdr" in f.message for f in found)


@pytest.mark.parametrize(
    "paradigm",
    [
        {"name": "animal-freely-moving-task-free"},
        {"name": "animal-head-fixed-task-free"},
    ],
)
def test_animal_task_free_paradigms_answer_head_fixation(paradigm):
    baseline = human_baseline(meta={**ANIMAL, "paradigm": paradigm})
    assert not validate_baseline(baseline, select=["metadata.required"])


def test_eyes_open_fixation_answers_eyes_and_fixation():
    meta = {**HUMAN, "paradigm": {"name": "human-eyes-open-fixation", "instructions": "look at the cross"}}
    assert not validate_baseline(human_baseline(meta=meta), select=["metadata.required"])


def test_metadata_required_for_animals_points_at_arousal_signals_present_in_the_file():
    meta = {**ANIMAL, "arousal": {}}
    baseline = animal_baseline(pupil=np.ones(600 * 30), meta=meta)
    (finding,) = only(validate_baseline(baseline), "metadata.required")
    assert "pupil_diameter" in finding.fix


def test_metadata_recommended_is_one_info_finding_listing_fields():
    meta = {**HUMAN, "subject": {"species": "Homo sapiens", "subject_id": "S1", "handedness": "right"}}
    findings = validate_baseline(human_baseline(meta=meta))
    assert codes(findings) == ["metadata.recommended"]
    assert findings[0].severity is Severity.INFO
    assert findings[0].value == ["subject.sex", "subject.age"]
    assert is_compliant(findings)


def test_metadata_consistency_compares_metadata_with_the_data():
    meta = {**HUMAN, "recording": {**HUMAN["recording"], "sampling_frequency": 500.0, "n_channels": 8}}
    found = only(validate_baseline(human_baseline(meta=meta)), "metadata.consistency")
    assert len(found) == 2
    assert "500 Hz" in found[0].message and "250 Hz" in found[0].message
    assert "8 channels" in found[1].message and "have 4" in found[1].message


# -- sampling and timestamps ------------------------------------------------------------------------------


def test_sampling_rate_must_suit_the_modality():
    meta = {**HUMAN, "recording": {**HUMAN["recording"], "sampling_frequency": 50.0}}
    findings = validate_baseline(human_baseline(seconds=600.0, fs=50.0, meta=meta), select=["recording"])
    (finding,) = findings
    assert finding.code == "recording.sampling_rate" and "50 Hz" in finding.message and "100 Hz" in finding.message
    assert validate_baseline(human_baseline(seconds=600.0), select=["recording"]) == []


def test_timestamp_report_known_answers():
    t = np.arange(1000) / FS
    clean = compute_timestamp_report(t, FS)
    assert (clean.n_nonincreasing, clean.n_gaps, clean.n_dropped) == (0, 0, 0)
    dropped = compute_timestamp_report(np.delete(t, np.arange(100, 125)), FS)
    assert (dropped.n_gaps, dropped.n_dropped) == (1, 25)
    assert dropped.first_gap == pytest.approx(99 / FS)
    backward = t.copy()
    backward[500] = backward[498]
    report = compute_timestamp_report(backward, FS)
    assert report.n_nonincreasing == 1 and report.first_nonincreasing == pytest.approx(498 / FS)


def test_timestamp_checks_fire_inside_the_baseline_and_stay_silent_when_regular():
    baseline = human_baseline()
    t = np.arange(baseline.recording.n_times) / FS
    assert validate_baseline(baseline, select=["timestamps"], timestamps=t) == []
    gappy = t.copy()
    gappy[1000:] += 2.0  # 500 samples missing after 4 s
    (gap,) = validate_baseline(baseline, select=["timestamps"], timestamps=gappy)
    assert gap.code == "timestamps.gaps" and gap.value == {"n_gaps": 1, "n_dropped": 500}
    backward = t.copy()
    backward[2000] = backward[1990]
    (mono,) = validate_baseline(baseline, select=["timestamps.monotonic"], timestamps=backward)
    assert mono.code == "timestamps.monotonic" and "7.960 s" in mono.message


def test_acquisition_skip_annotations_inside_the_baseline_are_gaps():
    intervals = pd.DataFrame(
        {"start": [100.0, 700.0], "stop": [101.0, 701.0], "label": ["BAD_ACQ_SKIP"] * 2, "table": ["annotations"] * 2}
    )  # fmt: skip
    recording = Recording.from_array(noise(4, 800.0), FS, source="skip.edf", intervals=intervals, modality="eeg")
    baseline = Baseline(recording, Segment.between(0.0, 600.0), DotMetadata.from_dict(HUMAN))
    (finding,) = validate_baseline(baseline, select=["timestamps.gaps"])
    assert "100.000-101.000 s" in finding.message  # the skip at 700 s lies outside the baseline


# -- signal quality ---------------------------------------------------------------------------------------


def test_signal_flat_fires_on_a_constant_channel_not_on_a_quiet_one():
    data = noise(4, 60.0)
    data[2] = 7.5
    data[3] *= 1e-6  # quiet but alive
    (finding,) = validate_baseline(human_baseline(data), select=["signal.flat"])
    assert finding.value["channels"] == {"ch002": 1.0}
    assert "ch002 (1)" in finding.location and "(1 of 4)" in finding.location


def test_signal_nonfinite_reports_fraction_and_start():
    data = noise(4, 60.0)
    data[:, int(10 * FS) : int(15 * FS)] = np.nan
    (finding,) = validate_baseline(human_baseline(data), select=["signal.nonfinite"])
    assert finding.value["first_s"] == pytest.approx(10.0)
    assert finding.value["max_seconds"] == pytest.approx(5.0)
    assert finding.value["channels"]["ch000"] == pytest.approx(5 / 60)
    assert "5.00 s" in finding.message and "10.00 s into the baseline" in finding.message


def test_signal_clipping_fires_on_a_saturated_channel():
    data = noise(4, 60.0)
    data[1] = np.clip(data[1], -1.5, 1.5)  # P(|z| > 1.5) = 13.4 % on the rails
    (finding,) = validate_baseline(human_baseline(data), select=["signal.clipping"])
    assert finding.value["channels"]["ch001"] == pytest.approx(0.1336, abs=0.01)
    assert list(finding.value["channels"]) == ["ch001"]


def test_signal_outliers_fire_on_planted_spikes():
    data = noise(4, 60.0)
    idx = np.random.default_rng(3).choice(data.shape[1], 30, replace=False)
    data[0, idx] = 50.0
    (finding,) = validate_baseline(human_baseline(data), select=["signal.outliers"])
    assert finding.value["channels"] == {"ch000": pytest.approx(30 / data.shape[1])}


def test_signal_line_noise_fires_on_a_50_hz_channel():
    data = noise(4, 60.0)
    t = np.arange(data.shape[1]) / FS
    data[3] += 1.0 * np.sin(2 * np.pi * 50.0 * t)
    (finding,) = validate_baseline(human_baseline(data), select=["signal.line_noise"])
    assert "50 Hz" in finding.message and list(finding.value["channels"]) == ["ch003"]


def test_line_noise_ratio_known_answer():
    # white noise of variance s2 has one-sided density 2 s2 / fs; a sinusoid of amplitude A at a bin centre
    # puts A^2 / 2 into the 5 bins (0.5 Hz apart) within +-1 Hz of the Hann-windowed Welch spectrum, so the
    # ratio is 1 + A^2 fs / (10 s2); tolerance 10 % (Welch estimate over 60 s, ~60 averaged segments)
    data = noise(1, 60.0, seed=5)
    amplitude = 0.5
    data[0] += amplitude * np.sin(2 * np.pi * 50.0 * np.arange(data.shape[1]) / FS)
    ratio = compute_signal_quality(data, FS).line_noise_ratio(50.0)[0]
    assert ratio == pytest.approx(1 + amplitude**2 * FS / 10, rel=0.1)
    assert compute_signal_quality(noise(1, 60.0), FS).line_noise_ratio(50.0)[0] == pytest.approx(1.0, abs=0.25)
    assert np.isnan(compute_signal_quality(noise(1, 60.0, fs=100.0), 100.0).line_noise_ratio(50.0)[0])


def test_signal_artefacts_fire_on_bursts_of_large_windows():
    data = noise(4, 60.0)
    for second in range(0, 60, 10):  # 6 of 60 windows: 10 % > 5 %
        data[2, int(second * FS) : int((second + 1) * FS)] *= 10.0
    (finding,) = validate_baseline(human_baseline(data), select=["signal.artefacts"])
    assert finding.value["channels"] == {"ch002": pytest.approx(0.1)}


def test_signal_usable_fraction_counts_bad_channels():
    data = noise(10, 60.0)
    data[0] = 0.0
    assert validate_baseline(human_baseline(data), select=["signal.usable_fraction"]) == []  # 90 % usable
    data[1:3] = 0.0
    (finding,) = validate_baseline(human_baseline(data), select=["signal.usable_fraction"])
    assert finding.value == pytest.approx(0.7) and "7 of 10 channels (70%)" in finding.message
    assert "ch000 (1)" in finding.message and "ch002 (1)" in finding.message  # the unusable channels, named


def test_brief_artefacts_leave_a_channel_usable():
    """One of two channels with a few outliers (0.03 % of samples) and blink-like bursts in 6 % of its
    windows stays usable (bad time 6 % <= 20 %); the same channel disconnected (flat) for 30 % of the time
    is not."""
    data = noise(2, 60.0)
    spikes = np.random.default_rng(1).choice(data.shape[1], 5, replace=False)
    data[0, spikes] = 40.0  # beyond 10 robust SD: outliers, 5 / 15000 = 0.033 %
    for second in (5, 20, 40, 55):  # 4 of 60 windows x8 amplitude
        data[0, int(second * FS) : int((second + 1) * FS)] *= 8.0
    found = validate_baseline(human_baseline(data), select=["signal"])
    assert "signal.usable_fraction" not in codes(found)
    (outliers,) = only(found, "signal.outliers")
    assert "ch000" in outliers.message  # reported, by name, as a warning
    data[0, : int(0.3 * data.shape[1])] = 0.0
    (finding,) = validate_baseline(human_baseline(data), select=["signal.usable_fraction"])
    assert "1 of 2 channels" in finding.message and "ch000" in finding.message


def test_signal_drift_known_answer_on_a_power_step():
    data = noise(4, 90.0)
    data[:, data.shape[1] // 2 :] *= 2.0  # power x4 from the middle on
    quality = compute_signal_quality(data, FS)
    assert quality.power_drift_ratio() == pytest.approx(4.0, rel=0.05)
    (finding,) = validate_baseline(human_baseline(data), select=["signal.drift"])
    assert finding.value == pytest.approx(4.0, rel=0.05)
    assert validate_baseline(human_baseline(noise(4, 90.0)), select=["signal.drift"]) == []


def test_mean_rate_drift_for_rate_modalities():
    rng = np.random.default_rng(0)
    rates = rng.poisson(np.r_[np.full(3000, 2.0), np.full(3000, 6.0)], size=(5, 6000)).astype(float)
    baseline = Baseline.from_array(rates, 10.0, modality="spikes", source="units.nwb")
    found = validate_baseline(baseline, select=["signal.drift"])
    assert any("mean rate" in f.message and f.value == pytest.approx(3.0, rel=0.1) for f in found)


def test_sparse_spike_counts_are_not_flat_clipped_or_outliers():
    counts = np.random.default_rng(2).poisson(0.05, size=(5, 6000)).astype(float)
    baseline = Baseline.from_array(counts, 10.0, modality="spikes", source="units.nwb")
    assert validate_baseline(baseline, select=["signal.flat", "signal.clipping", "signal.outliers"]) == []
    counts[4] = 0.0  # a unit that never fires is flat
    (finding,) = validate_baseline(Baseline.from_array(counts, 10.0, modality="spikes"), select=["signal.flat"])
    assert list(finding.value["channels"]) == ["ch004"]


# -- arousal ----------------------------------------------------------------------------------------------


def test_arousal_coverage_fires_when_pupil_stops_midway():
    pupil = np.ones(600 * 30)
    pupil[300 * 30 :] = np.nan
    (finding,) = validate_baseline(animal_baseline(pupil=pupil), select=["arousal"])
    assert finding.value == pytest.approx(0.5) and "50%" in finding.message and "pupil_diameter" in finding.message


def test_arousal_coverage_fires_when_the_declared_signal_is_absent():
    (finding,) = validate_baseline(animal_baseline(pupil=None), select=["arousal"])
    assert "'pupil' is declared but no pupil signal" in finding.message


def test_eeg_vigilance_is_derived_from_the_eeg_itself():
    meta = {**HUMAN, "arousal": {"measures": ["eeg-vigilance"]}}
    assert validate_baseline(human_baseline(meta=meta), select=["arousal"]) == []


# -- streaming, registry, table ---------------------------------------------------------------------------


def test_quality_does_not_depend_on_the_block_size():
    data = noise(3, 40.0)
    data[0, 1000:1300] = np.nan
    data[1] = np.clip(data[1], -2, 2)
    whole = compute_signal_quality(data, FS, block_seconds=1000.0)
    blocks = compute_signal_quality(data, FS, block_seconds=3.0)
    for name in ("n_samples", "n_nonfinite", "first_nonfinite", "minimum", "maximum", "n_at_min", "n_at_max"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(blocks, name), err_msg=name)
    for name in ("window_std", "window_ptp", "window_mean"):
        np.testing.assert_allclose(getattr(whole, name), getattr(blocks, name), rtol=1e-12, err_msg=name)


def test_block_averaged_psd_agrees_with_scipy_welch_on_the_whole_array():
    from scipy.signal import welch

    data = noise(2, 120.0, seed=9)
    quality = compute_signal_quality(data, FS, block_seconds=20.0)
    freqs, psd = welch(data, fs=FS, nperseg=int(2 * FS))
    np.testing.assert_allclose(quality.freqs, freqs)
    # same estimator, segments not crossing block seams: means agree within 2 % over 2-120 Hz
    band = (freqs > 2) & (freqs < 120)
    np.testing.assert_allclose(quality.psd[:, band].mean(axis=1), psd[:, band].mean(axis=1), rtol=0.02)


def test_baseline_is_read_in_bounded_blocks():
    reads = []
    data = noise(4, 600.0)

    def reader(i0, i1, index):
        reads.append(i1 - i0)
        return data[index, i0:i1]

    recording = Recording("big.nwb", fs=FS, channel_names=[f"c{i}" for i in range(4)], n_times=data.shape[1],
                          reader=reader, modality="eeg")  # fmt: skip
    baseline = Baseline(recording, Segment.between(0.0, 600.0), DotMetadata.from_dict(HUMAN))
    thresholds = Thresholds(block_bytes=4 * 8 * int(30 * FS))  # 30 s of 4 channels
    assert validate_baseline(baseline, thresholds=thresholds) == []
    assert max(reads) == int(30 * FS) and sum(reads) == data.shape[1]


def test_select_and_ignore_accept_ids_groups_and_wildcards_and_reject_typos():
    assert [c.id for c in select_checks(["baseline.duration"])] == ["baseline.duration"]
    assert {c.id for c in select_checks(["signal"])} == {i for i in CHECKS if i.startswith("signal.")}
    assert "baseline.duration" not in {c.id for c in select_checks(None, ["*.duration"])}
    with pytest.raises(UnknownCheckError, match="'signal.flatt' matches no check"):
        select_checks(["signal.flatt"])
    findings = validate_baseline(human_baseline(seconds=60.0), ignore=["baseline.duration"])
    assert "baseline.duration" not in codes(findings)


def test_checks_table_documents_every_check_and_the_module_docstring_lists_them():
    import adhesive_dots.validate as validate

    rows = checks_table()
    assert [r["id"] for r in rows] == list(CHECKS)
    for row in rows:
        assert row["severity"] in {s.value for s in Severity} and row["rationale"] and row["summary"] and row["fix"]
        assert row["id"] in validate.__doc__
    duration = next(r for r in rows if r["id"] == "baseline.duration")
    assert duration["thresholds"] == "min_duration=600"
