"""Acceptance on the simulator: compliant sessions pass, each planted defect fails with its check id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.core import Recording, Severity
from adhesive_dots.sim.sessions import (
    DEFECTS,
    LAB_KINDS,
    LatentSystem,
    sim_lab_profile,
    sim_session,
    sim_subject_profile,
)
from adhesive_dots.validate import at_least, validate_recording
from adhesive_dots.workflows.validate import validate_sources

#: The check that must fail (at error or above) for each planted defect of ``sim.sessions``.
DEFECT_CHECK = {
    "too-short": "baseline.duration",
    "missing-metadata": "metadata.required",
    "flat-channel": "signal.flat",
    "nan-stretch": "signal.nonfinite",
}


def test_every_planted_defect_kind_has_a_check():
    assert set(DEFECT_CHECK) == set(DEFECTS)


def recording_of(session) -> Recording:
    """The session as the io layer would open it: data, intervals, arousal signals, metadata."""
    signals = {
        name: Recording.from_array(values, rate, source=f"{session.key}:{name}", units=unit)
        for name, (values, rate, unit) in session.behaviour.items()
    }
    intervals = session.intervals.assign(table="epochs")
    return Recording.from_array(
        session.data, session.fs, source=f"{session.key}.nwb", channel_names=session.channel_names,
        modality=session.modality, units=session.units, metadata=session.metadata,
        intervals=pd.DataFrame(intervals), signals=signals,
    )  # fmt: skip


@pytest.fixture(scope="module")
def lab_sessions():
    """One subject per lab kind; for each, a compliant session and one per defect (small sizes, 600 s)."""
    rng = np.random.default_rng(11)
    latent = LatentSystem.random(4, rng=rng)
    out = []
    for index, _kind in enumerate(LAB_KINDS):
        lab = sim_lab_profile(index, rng=rng)
        subject = sim_subject_profile(lab, 0, rng=rng)
        for session_index, defect in enumerate((None, *DEFECTS)):
            session = sim_session(lab, subject, session_index, latent=latent, n_neurons=12, n_units=4,
                                  n_lfp_channels=4, task_duration=30.0, defect=defect, rng=rng)  # fmt: skip
            out.append((lab.kind, defect, session))
    return out


def test_simulated_sessions_pass_when_compliant_and_fail_with_the_planted_defects_check(lab_sessions):
    outcomes = []
    for kind, defect, session in lab_sessions:
        findings = validate_recording(recording_of(session))
        failing = {f.code for f in at_least(findings, Severity.ERROR)}
        outcomes.append((kind, defect, sorted(failing)))
        if defect is None:
            assert not failing, f"{kind} compliant session fails: {[f.message for f in findings]}"
        else:
            assert DEFECT_CHECK[defect] in failing, f"{kind} {defect}: got {failing}"
    assert len(outcomes) == len(LAB_KINDS) * (1 + len(DEFECTS))


def test_the_flat_channel_and_nan_stretch_are_located(lab_sessions):
    for _kind, defect, session in lab_sessions:
        if defect == "flat-channel":
            findings = validate_recording(recording_of(session), select=["signal.flat"])
            assert list(findings[0].value["channels"]) == [session.truth["flat_channel"]]
        if defect == "nan-stretch":
            (finding,) = validate_recording(recording_of(session), select=["signal.nonfinite"])
            start = session.truth["nan_stretch"][0] - session.baseline_interval[0]
            assert finding.value["first_s"] == pytest.approx(start, abs=1 / session.fs)
            assert finding.value["max_seconds"] == pytest.approx(5.0, abs=1 / session.fs)


def test_the_small_corpus_on_disk_validates_as_its_manifest_says(small_corpus):
    reports = {r.source: r for r in validate_sources([small_corpus.root])}
    assert len(reports) == len(small_corpus.entries)
    for entry in small_corpus.entries:
        path = small_corpus.root / entry.path
        if entry.format == "bids":  # the BIDS root yields the rest run of this subject and session
            (report,) = [r for s, r in reports.items() if f"sub-{entry.subject}_ses-{entry.session}_task-rest" in s]
        else:
            report = reports[str(path)]
        failing = {f.code for f in at_least(report.findings, Severity.ERROR)}
        if entry.compliant:
            assert not failing, (entry.key, [f.message for f in report.findings])
        else:
            assert {DEFECT_CHECK[d] for d in entry.defects} <= failing, (entry.key, failing)
        assert report.baseline is not None
        assert report.baseline.segment.duration == pytest.approx(entry.baseline[1] - entry.baseline[0])
