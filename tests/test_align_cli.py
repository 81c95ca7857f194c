"""``adots align`` and the demo's alignment stage, on the small simulated corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from adhesive_dots.align import load_aligner
from adhesive_dots.cli import app, main
from adhesive_dots.demo import DemoContext, _align
from adhesive_dots.io.read import open_recording
from adhesive_dots.workflows.align import read_task_trials

runner = CliRunner()


def _calcium(corpus):
    entries = [e for e in corpus.entries if e.kind == "calcium"]
    return corpus.root / entries[0].path, corpus.root / entries[1].path


def test_read_task_trials_from_nwb(small_corpus):
    path, _ = _calcium(small_corpus)
    with open_recording(path) as recording:
        trials = read_task_trials(recording)
    assert set(trials["condition"]) == {"grating-0", "grating-90"}
    assert np.allclose(trials["stop"] - trials["start"], 2.0)  # the simulator's 2 s stimuli


@pytest.mark.slow
def test_align_command_saves_transform_and_prints_quality_and_decoding_json(small_corpus, tmp_path):
    path_a, path_b = _calcium(small_corpus)
    out = tmp_path / "t.npz"
    result = runner.invoke(
        app, ["align", str(path_a), str(path_b), "--method", "latent", "-o", str(out), "--controls", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["method"] == "latent" and payload["output"] == str(out)
    assert {"dynamics_mismatch", "control_mismatch", "sign_agreement"} <= set(payload["quality"])
    assert payload["verdict"].split(":")[0] in (
        "Not aligned",
        "Identifiable, with good confidence",
        "Identifiable, with moderate confidence",
        "Not identifiable from the baselines alone",
    )
    evaluation = payload["evaluation"]
    assert {"cross", "within_a", "within_b", "unaligned", "control", "chance", "verdict"} <= set(evaluation)
    assert 0 <= evaluation["cross"] <= 1 and len(evaluation["controls"]) == 2
    aligner = load_aligner(out)
    with open_recording(path_b) as recording:
        shared = aligner.transform(recording.read(0, 10), domain="b")
    assert shared.shape == (4, 300)  # 10 s at 30 Hz in 4 latent dimensions


def test_align_command_covariance_on_bids_eeg(small_corpus, tmp_path):
    eeg = next(e for e in small_corpus.entries if e.kind == "eeg")
    root = small_corpus.root / eeg.path
    subject = eeg.subject
    out = tmp_path / "eeg.npz"
    result = runner.invoke(
        app,
        ["align", str(root), str(root), "--method", "covariance", "-o", str(out),
         "--entities-a", f"subject={subject},session=01", "--entities-b", f"subject={subject},session=02"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Aligned, with good confidence" in text and "decoding not evaluated" in text
    assert "distance_before" not in text  # internals only in --json
    assert load_aligner(out).quality_["distance_ratio"] <= 0.5


def test_align_command_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["align", str(tmp_path / "missing.nwb"), str(tmp_path / "other.nwb")])
    assert info.value.code == 2
    assert "no such file" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(SystemExit) as info:
        main(["align", str(tmp_path), str(tmp_path), "--entities-a", "subject"])
    assert info.value.code == 2
    assert "key=value" in " ".join(capsys.readouterr().err.split())


@pytest.mark.slow
def test_demo_stage_prints_the_decoding_table(small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr("adhesive_dots.demo.ALIGN_CONTROLS", 2)  # fewer shuffled refits, same code path
    ctx = DemoContext(out_dir=tmp_path, options={}, corpus=small_corpus)
    result = _align(ctx)
    assert result.table is not None and len(result.table) == 6
    assert list(result.table.columns) == ["measure", "corpus pair", "identifiable pair"]
    assert any(line.startswith(("corpus pair, aligned", "corpus pair, not aligned")) for line in result.lines)
    assert any(line.startswith("identifiable pair") and "aligned: decoding transfers" in line for line in result.lines)
    assert list((tmp_path / "align").glob("*.npz"))
