"""Reading resting-state fMRI: BOLD NIfTI runs through an atlas, fMRIPrep confounds, ROI tables, BOLD checks."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.io.fmri import (
    CONFOUND_SIGNAL,
    FD_SIGNAL,
    parse_confounds,
    write_bold_nifti,
    write_label_atlas,
)
from adhesive_dots.io.sources import SourceSpec, expand_sources, open_baseline, read_sources_table, resolve
from adhesive_dots.sim.bold import block_fc, sim_roi_series
from adhesive_dots.sim.bold_dataset import write_bold_dataset
from adhesive_dots.validate import validate_baseline


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_bold_dataset(
        tmp_path_factory.mktemp("bold"), n_subjects=2, n_sessions=1, n_volumes=150, tr=2.0, n_motion_spikes=4, rng=0
    )


def _atlas(dataset) -> dict:
    return {"atlas": str(dataset.atlas), "atlas_labels": str(dataset.atlas_labels)}


def test_bids_func_runs_are_read_as_roi_series_through_the_atlas(dataset):
    specs, problems = expand_sources([dataset.bids], template=SourceSpec("", **_atlas(dataset)))
    assert not problems and len(specs) == 2
    with resolve(specs[0]) as resolved:
        rec = resolved.recording
        assert rec.modality.value == "fmri"
        assert rec.channel_names == tuple(f"ROI{k:02d}" for k in range(1, 9))
        assert rec.fs == pytest.approx(0.5)  # RepetitionTime 2 s from the inherited sidecar
        assert rec.metadata.identity.subject_id == "01"
        assert rec.metadata.subject.species == "Homo sapiens"
        baseline = resolved.baseline  # the rest run is a baseline as a whole
        assert baseline.duration == pytest.approx(300.0)
        data = baseline.load()
    # the ROI mean of the written voxels: 1000 + 10 x signal + noise averaged over 6 voxels
    image = nib.load(str(dataset.runs[0])).get_fdata()
    np.testing.assert_allclose(data, image.mean(axis=(1, 2)), rtol=1e-5)


def test_bold_without_atlas_says_how_to_give_one(dataset):
    with pytest.raises(DataError, match=r"sub-01_ses-01_task-rest_bold.nii.gz: .*needs an atlas"):
        resolve(SourceSpec(str(dataset.runs[0])))


def test_probabilistic_atlas_gives_the_label_atlas_series(dataset, tmp_path):
    labels = nib.load(str(dataset.atlas))
    values = np.asarray(labels.dataobj)
    maps = np.stack([(values == k).astype(np.float32) for k in range(1, 9)], axis=-1)
    nib.save(nib.Nifti1Image(maps, labels.affine), str(tmp_path / "maps.nii.gz"))
    with resolve(SourceSpec(str(dataset.runs[0]), **_atlas(dataset))) as a:
        expected = a.recording.read()
    with resolve(SourceSpec(str(dataset.runs[0]), atlas=str(tmp_path / "maps.nii.gz"))) as b:
        assert b.recording.channel_names[0] == "roi000"
        np.testing.assert_allclose(b.recording.read(), expected, rtol=1e-4)


def test_mask_that_drops_an_roi_is_an_error_naming_the_file(dataset, tmp_path):
    labels = nib.load(str(dataset.atlas))
    mask = (np.asarray(labels.dataobj) != 8).astype(np.uint8)
    nib.save(nib.Nifti1Image(mask, labels.affine), str(tmp_path / "mask.nii.gz"))
    with resolve(SourceSpec(str(dataset.runs[0]), mask=str(tmp_path / "mask.nii.gz"), **_atlas(dataset))) as r:
        with pytest.raises(DataError, match=r"sub-01.*outside the BOLD field of view or the mask"):
            r.recording.read()


def test_fmriprep_derivative_carries_its_confounds_never_as_rois(dataset):
    spec = SourceSpec(str(dataset.preproc[0]), **_atlas(dataset))
    with resolve(spec) as resolved:
        rec = resolved.recording
        assert len(rec.channel_names) == 8
        assert CONFOUND_SIGNAL in rec.signals and FD_SIGNAL in rec.signals
        assert "white_matter" in rec.signals[CONFOUND_SIGNAL].channel_names
        assert rec.metadata.identity.subject_id == "01"


def _fc_error(dataset, confounds):
    spec = SourceSpec(str(dataset.preproc[0]), confounds=confounds, **_atlas(dataset))
    with resolve(spec) as resolved:
        data = resolved.recording.read()
        described = resolved.recording.metadata.recording.preprocessing
    truth = dataset.fc[0]
    off = ~np.eye(8, dtype=bool)
    return float(np.abs(np.corrcoef(data)[off] - truth[off]).mean()), described


def test_wm_csf_strategy_removes_the_nuisance_signal_and_is_recorded(dataset):
    # the derivative's ROIs carry (wm + csf) / sqrt(2) with SD 1 on unit-variance neural series: FC is biased
    # towards 0.5 everywhere until the strategy regresses them out
    raw_error, none = _fc_error(dataset, None)
    clean_error, described = _fc_error(dataset, "wm_csf")
    assert none.startswith("ROI time series: atlas ") and "confounds" not in none  # the extraction alone
    assert clean_error < raw_error / 2
    assert clean_error < 0.15
    assert described.startswith(none + "; confounds wm_csf") and "white_matter" in described


def test_scrubbing_censors_the_volumes_above_the_fd_threshold(dataset):
    fd = np.genfromtxt(
        str(dataset.preproc[0]).replace("_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz", "")
        + "_desc-confounds_timeseries.tsv",
        delimiter="\t",
        names=True,
        missing_values="n/a",
    )["framewise_displacement"]
    expected = int((np.nan_to_num(fd) > 0.5).sum())
    assert expected >= 4  # the four planted 1 mm jumps
    spec = SourceSpec(str(dataset.preproc[0]), confounds="scrubbing", **_atlas(dataset))
    with resolve(spec) as resolved:
        text = resolved.recording.metadata.recording.preprocessing
        assert f"{expected} of 150 volumes censored" in text
        assert np.isfinite(resolved.recording.read()).all()  # censored volumes interpolated


def test_confound_strategies_are_checked():
    assert parse_confounds("simple") == ("motion", "wm_csf")
    assert parse_confounds("motion+global_signal, scrubbing") == ("motion", "global_signal", "scrubbing")
    with pytest.raises(DataError, match="unknown strategy 'compcor'.*allowed: simple"):
        parse_confounds("motion+compcor")
    with pytest.raises(DataError, match="standardize"):
        SourceSpec("x.nii.gz", standardize="robust")


def test_strategy_needing_a_missing_column_names_what_the_confounds_hold(real_data):
    spec = SourceSpec(
        str(real_data / "fmri_rest_roi_tr1.89.csv"), fs=1 / 1.89, modality="fmri", whole=True, confounds="motion"
    )
    with pytest.raises(DataError, match=r"needs trans_x.*confounds hold WM, Vent, Brain"):
        resolve(spec)


def test_fmri_options_round_trip_and_change_the_content_hash(dataset):
    spec = SourceSpec(str(dataset.preproc[0]), confounds="motion,wm_csf", detrend="true", fd_threshold=0.3)
    assert spec.confounds == "motion+wm_csf" and spec.detrend is True
    again = SourceSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert spec.content_hash() != spec.replace(confounds="motion").content_hash()


def test_sources_table_takes_fmri_columns(dataset, tmp_path):
    table = tmp_path / "sources.tsv"
    table.write_text(f"source\tatlas\tconfounds\tdetrend\n{dataset.preproc[0]}\t{dataset.atlas}\tsimple\tyes\n")
    (spec,) = read_sources_table(table)
    assert spec.atlas == str(dataset.atlas) and spec.confounds == "motion+wm_csf" and spec.detrend


def test_header_repetition_time_used_without_sidecar_and_a_contradiction_is_flagged(tmp_path):
    atlas = write_label_atlas(tmp_path / "atlas.nii.gz", 4)
    series = sim_roi_series(block_fc(4, 2), 400, rng=0)
    bold = write_bold_nifti(tmp_path / "rest_bold.nii.gz", series, tr=1.5)
    with resolve(SourceSpec(str(bold), atlas=str(atlas), whole=True)) as r:
        assert r.recording.fs == pytest.approx(1 / 1.5)
        assert not [f for f in validate_baseline(r.baseline) if f.code == "fmri.repetition_time"]
    (tmp_path / "rest_bold.json").write_text(json.dumps({"RepetitionTime": 2.0}))
    with resolve(SourceSpec(str(bold), atlas=str(atlas), whole=True)) as r:
        assert r.recording.fs == pytest.approx(0.5)  # the sidecar's wins, as BIDS says
        (finding,) = [f for f in validate_baseline(r.baseline) if f.code == "fmri.repetition_time"]
        assert "2 s" in finding.message and "1.5 s" in finding.message


@pytest.mark.parametrize(("moved", "flagged"), [(0.1, False), (0.3, True)])
def test_motion_findings_report_mean_fd_fraction_and_volumes_left(tmp_path, moved, flagged):
    # 400 volumes: a fraction `moved` at FD 1.0 mm, the rest at 0.1 mm; 10 %: mean 0.19 mm, 10 % above 0.5 mm (both
    # within 0.2 mm / 20 %); 30 %: mean 0.37 mm, 30 % above -> flagged, 280 volumes left after scrubbing
    n, rng = 400, np.random.default_rng(0)
    fd = np.full(n, 0.1)
    fd[rng.choice(n, int(moved * n), replace=False)] = 1.0
    rois = sim_roi_series(block_fc(4, 2), n, rng=1)
    path = tmp_path / "roi.tsv"
    header = "\t".join([f"R{k}" for k in range(4)] + ["framewise_displacement"])
    np.savetxt(path, np.vstack([rois, fd]).T, delimiter="\t", header=header, comments="")
    resolved, baseline = open_baseline(SourceSpec(str(path), fs=0.5, modality="fmri", whole=True))
    with resolved:
        assert resolved.recording.channel_names == ("R0", "R1", "R2", "R3")
        findings = {f.code: f for f in validate_baseline(baseline)}
    kept = n - int(moved * n)
    assert f"{kept} of {n} volumes ({kept * 2:.1f} s)" in findings["fmri.scrubbed_duration"].message
    assert ("fmri.motion" in findings) == flagged
    if flagged:
        message = findings["fmri.motion"].message
        assert "mean FD 0.370 mm" in message and "30% of volumes above 0.5 mm" in message
        assert f"{kept} of {n} volumes" in message


def test_real_roi_table_nuisance_columns_are_confounds_and_duration_is_flagged(real_data):
    spec = SourceSpec(str(real_data / "fmri_rest_roi_tr1.89.csv"), fs=1 / 1.89, modality="fmri", whole=True)
    resolved, baseline = open_baseline(spec)
    with resolved:
        rec = resolved.recording
        assert rec.channel_names[:2] == ("LCau", "LPut")
        assert not {"WM", "Vent", "Brain"} & set(rec.channel_names)
        assert rec.signals[CONFOUND_SIGNAL].channel_names == ("WM", "Vent", "Brain")
        findings = validate_baseline(baseline)
    (duration,) = [f for f in findings if f.code == "baseline.duration"]
    assert "472.5 s" in duration.message and "600" in duration.message
    # a BOLD table of 250 volumes is neither flat nor clipped
    assert not [f for f in findings if f.code in ("signal.flat", "signal.clipping", "signal.usable_fraction")]
    with resolve(spec.replace(confounds="wm_csf+global_signal")) as cleaned:
        text = cleaned.recording.metadata.recording.preprocessing
        assert "WM, Vent, Brain" in text
        data = cleaned.recording.read()
        # regressing the whole-brain signal out leaves ROI series orthogonal to it
        brain = cleaned.recording.signals[CONFOUND_SIGNAL].read(channels=["Brain"])[0]
        r = [np.corrcoef(row, brain)[0, 1] for row in data]
        assert np.max(np.abs(r)) < 1e-6


def test_real_small_bold_is_read_with_its_header_tr(real_data, tmp_path):
    image = nib.load(str(real_data / "fmri_small_bold.nii.gz"))
    labels = np.zeros(image.shape[:3], dtype=np.int16)
    labels[:5, :, :9], labels[5:, :, :9], labels[:, :, 9:] = 1, 2, 3
    nib.save(nib.Nifti1Image(labels, image.affine), str(tmp_path / "atlas.nii.gz"))
    spec = SourceSpec(str(real_data / "fmri_small_bold.nii.gz"), atlas=str(tmp_path / "atlas.nii.gz"), whole=True)
    with resolve(spec) as r:
        assert r.recording.fs == pytest.approx(1 / 1.35, rel=1e-6)
        assert r.recording.n_times == 40
        data = r.baseline.load()
    assert data.shape == (3, 40) and np.isfinite(data).all()
    ours = np.asarray(image.dataobj, dtype=float)[labels == 3].mean(axis=0)
    np.testing.assert_allclose(data[2], ours, rtol=1e-5)
