"""Connectome identification (Finn et al. 2015) on simulated subjects with known individual FC."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots.cli import main
from adhesive_dots.compare import identify_subjects
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint.slow import compute_fc_array, fc_edges
from adhesive_dots.sim.bold import sim_roi_series, sim_subject_fc
from adhesive_dots.workflows.compare import identify_sources, session_records


def _edges(fc: np.ndarray, n_times: int, rng: np.random.Generator) -> np.ndarray:
    return fc_edges(compute_fc_array(sim_roi_series(fc, n_times, hurst=0.7, rng=rng))[1])


@pytest.fixture(scope="module")
def sessions():
    """20 subjects x 2 sessions of 30 ROIs, 300 volumes each (10 min at TR 2 s)."""
    rng = np.random.default_rng(11)
    fc = sim_subject_fc(20, 30, individuality=0.5, rng=rng)
    a = np.stack([_edges(f, 300, rng) for f in fc])
    b = np.stack([_edges(f, 300, rng) for f in fc])
    return a, b


def test_fc_identification_is_above_0_9_with_two_sessions(sessions):
    a, b = sessions
    result = identify_subjects(a, b, standardize=False)
    assert result.accuracy > 0.9
    assert result.chance == pytest.approx(1 / 20)
    assert result.p < 1e-10


def test_fc_identification_is_at_chance_on_shuffled_labels(sessions):
    # b's rows belong to other subjects than a's: correct matches only by luck (expected 1 / 20)
    a, b = sessions
    rng = np.random.default_rng(0)
    accuracies = []
    for _ in range(30):
        order = rng.permutation(20)
        while np.any(order == np.arange(20)):
            order = rng.permutation(20)
        accuracies.append(identify_subjects(a, b[order], standardize=False).accuracy)
    assert np.mean(accuracies) < 0.1  # chance 0.05; a real signal would sit near 0 (derangements: exactly 0)
    assert max(accuracies) <= 0.15


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    from adhesive_dots.sim.bold_dataset import write_bold_dataset

    return write_bold_dataset(
        tmp_path_factory.mktemp("ident"), n_subjects=3, n_sessions=2, n_rois=10, n_volumes=200, rng=2
    )


def test_identify_on_bids_runs_uses_fc_and_subjects_from_metadata(bids):
    from adhesive_dots.io.sources import SourceSpec

    template = SourceSpec("", atlas=str(bids.atlas), atlas_labels=str(bids.atlas_labels))
    records, notes = session_records([bids.bids], template=template, effects=False, seed=0)
    assert not notes and len(records) == 6
    assert sorted({r.subject for r in records}) == ["01", "02", "03"]  # BIDS sub-, not file names
    result = identify_sources(records)
    assert result.accuracy == 1.0
    assert result.features[0] == "ROI01~ROI02" and len(result.features) == 45
    summary = identify_sources(records, method="summary")
    assert "aperiodic_exponent" in summary.features or summary.features


def test_identify_never_takes_the_subject_from_file_names(bids, tmp_path):
    # four ROI tables of two people: without a subject they are not identifiable; with a subject column they are
    rows = []
    for i, run in enumerate(bids.runs[:4]):
        import nibabel as nib

        series = nib.load(str(run)).get_fdata().mean(axis=(1, 2))
        path = tmp_path / f"scan{i}.csv"
        np.savetxt(path, series.T, delimiter=",", header=",".join(f"R{k}" for k in range(10)), comments="")
        rows.append(path)
    from adhesive_dots.io.sources import SourceSpec

    specs = [SourceSpec(str(p), fs=0.5, modality="fmri", whole=True) for p in rows]
    records, _ = session_records(specs, effects=False)
    with pytest.raises(DataError, match="no subject in their metadata"):
        identify_sources(records)
    named = [s.replace(subject=subject) for s, subject in zip(specs, ["A", "A", "B", "B"], strict=True)]
    records, _ = session_records(named, effects=False)
    result = identify_sources(records, method="fc")
    assert list(result.matches["subject"]) == ["A", "B"] and result.accuracy == 1.0


def test_identify_cli_reports_fc_edges(bids, capsys):
    import json

    with pytest.raises(SystemExit) as exit_:
        main(["identify", str(bids.bids), "--atlas", str(bids.atlas), "--json"])
    assert exit_.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["accuracy"] == 1.0 and len(out["features"]) == 45
