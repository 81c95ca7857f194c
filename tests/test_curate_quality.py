"""Quality scores, balance reports and manifest selection (known answers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.core import Finding, Severity
from adhesive_dots.curate import QualityConfig, balance_report, compute_quality, duplicate_groups, select_dots
from adhesive_dots.errors import DataError


def finding(code: str, severity: str, value=None) -> Finding:
    return Finding(code=code, severity=Severity(severity), message=code, value=value)


def test_quality_of_a_clean_dot_is_one():
    score = compute_quality([], features={"aperiodic_exponent": 1.4}, modality="eeg")
    assert score.score == 1.0 and score.reasons == ()


def test_quality_factors_multiply():
    findings = [
        finding("signal.usable_fraction", "error", 0.75),
        finding("signal.line_noise", "warning", {"n_channels": 5, "of": 20, "channels": {}}),
        finding("signal.drift", "warning", 2.0),
        finding("baseline.contiguity", "warning"),
        finding("metadata.recommended", "info"),  # the metadata component, not the signal's
        finding("baseline.duration", "error"),  # the duration component, not the signal's
    ]
    score = compute_quality(findings, features={"aperiodic_exponent": 1.5}, modality="lfp")
    expected = 0.75 * (1 - 0.5 * 0.25) * math.exp(-math.log(2.0) / 2.0) * (1 - 0.1)
    assert score.components["signal"] == pytest.approx(expected, rel=1e-12)
    assert score.score == pytest.approx(expected, rel=1e-12)  # the only known component
    assert score.factors["usable_channels"] == 0.75
    assert score.factors["findings"] == pytest.approx(0.9)
    assert len(score.reasons) == 4


def test_implausible_exponent_and_critical_findings():
    # EEG exponent 4.5: 1.5 beyond the 0.5-3.0 range of width 2.5 -> exp(-0.6)
    score = compute_quality([], features={"aperiodic_exponent": 4.5}, modality="eeg")
    assert score.score == pytest.approx(math.exp(-1.5 / 2.5))
    assert "outside the plausible" in score.reasons[0]
    assert compute_quality([finding("signal.nonfinite", "critical")]).score == 0.0
    # dict findings (as read from the catalog) work the same
    assert compute_quality([{"code": "x", "severity": "error", "value": None}]).score == pytest.approx(0.6)
    # missing features are neutral unless configured
    assert compute_quality([], features={}, modality="eeg").score == 1.0
    assert compute_quality([], features={}, modality="eeg", config=QualityConfig(missing_feature=0.5)).score == 0.5


def test_quality_config_is_checked():
    with pytest.raises(DataError, match="severity_penalty"):
        QualityConfig(severity_penalty={"fatal": 1.0})
    with pytest.raises(DataError, match="drift_scale"):
        QualityConfig(drift_scale=0.0)
    with pytest.raises(DataError, match="need low < high"):
        QualityConfig(plausible_ranges={"eeg": {"aperiodic_exponent": (3.0, 1.0)}})


@pytest.fixture
def dots() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dot_id": ["a", "b", "c", "d", "e"],
            "quality": [0.4, 0.9, 0.8, 0.7, np.nan],
            "subject_species": ["Mus musculus"] * 3 + ["Homo sapiens", None],
            "paradigm_name": ["animal-head-fixed-task-free"] * 3 + ["human-eyes-closed"] * 2,
            "recording_modality": ["calcium", "calcium", "lfp", "eeg", "eeg"],
            "identity_lab": ["l0", "l0", "l1", "l2", "l2"],
            "arousal_measures": [["pupil", "locomotion"], ["pupil"], [], ["eeg-vigilance"], []],
        }
    )


def test_balance_report_counts(dots):
    report = balance_report(dots)
    species = report[report["facet"] == "species"].set_index("value")
    assert species.loc["Mus musculus", "n_dots"] == 3 and species.loc["(missing)", "n_dots"] == 1
    arousal = report[report["facet"] == "arousal"].set_index("value")
    assert arousal.loc["pupil", "n_dots"] == 2 and arousal.loc["(none recorded)", "n_dots"] == 2
    modality = report[report["facet"] == "modality"]
    p = np.array([2, 1, 2]) / 5
    assert modality["evenness"].iloc[0] == pytest.approx(-(p * np.log(p)).sum() / np.log(3))
    with pytest.raises(DataError, match="no column"):
        balance_report(dots, facets={"x": "nope"})


def test_select_keep_first_and_keep_best(dots):
    pairs = [("a", "b"), ("b", "c"), ("d", "e")]
    assert duplicate_groups(list(dots["dot_id"]), pairs) == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d"}
    first = select_dots(dots, pairs, drop_duplicates="keep-first")
    assert list(first.loc[first["selected"], "dot_id"]) == ["a", "d"]
    assert first.set_index("dot_id").loc["c", "reason"] == "duplicate of a"
    best = select_dots(dots, pairs, drop_duplicates="keep-best")
    assert list(best.loc[best["selected"], "dot_id"]) == ["b", "d"]
    # quality filter first: 'a' (0.4) goes, the group keeps its first remaining copy 'b'
    filtered = select_dots(dots, pairs, min_quality=0.5, drop_duplicates="keep-first")
    assert list(filtered.loc[filtered["selected"], "dot_id"]) == ["b", "d"]
    assert filtered.set_index("dot_id").loc["e", "reason"].startswith("quality 0.00")
    kept = select_dots(dots, pairs)
    assert kept["selected"].all()
    once = select_dots(dots, iter(pairs), drop_duplicates="keep-first")  # pairs read in one pass
    assert list(once["duplicate_group"]) == list(first["duplicate_group"]) == ["a", "a", "a", "d", "d"]


def test_select_checks_options(dots):
    with pytest.raises(DataError, match="drop_duplicates"):
        select_dots(dots, drop_duplicates="keep-last")
    with pytest.raises(DataError, match="min_quality"):
        select_dots(dots, min_quality=2.0)
    with pytest.raises(DataError, match="quality"):
        select_dots(dots.drop(columns=["quality"]), min_quality=0.5)


# -- components: signal, metadata completeness, duration -----------------------------------------


def test_components_and_their_weighted_geometric_mean():
    """A clean 60 s recording whose metadata hold half the required fields: signal 1, metadata and duration
    by their documented formulas, combined as prod(c ** (w / sum w))."""
    from adhesive_dots.metadata import DotMetadata

    metadata = DotMetadata.from_dict(
        {
            "subject": {"species": "Homo sapiens"},
            "paradigm": {"name": "human-eyes-closed"},
            "recording": {"modality": "eeg"},
        }
    )
    # human-eyes-closed: required species, paradigm, instructions (eyes/fixation implied) -> 2 of 3
    # recommended (human): 11 paths, none present -> 0
    score = compute_quality([], features={"aperiodic_exponent": 1.5}, metadata=metadata, duration=60.0)
    assert score.components["signal"] == 1.0
    assert score.components["metadata"] == pytest.approx(0.75 * 2 / 3)
    assert score.components["duration"] == pytest.approx(0.1)
    expected = math.exp((0.6 * 0 + 0.2 * math.log(0.5) + 0.2 * math.log(0.1)) / 1.0)
    assert score.score == pytest.approx(expected, rel=1e-12)
    assert score.to_dict()["metadata"] == pytest.approx(0.5)
    # a dead recording stays at 0 whatever its metadata and duration
    assert compute_quality([finding("source.unreadable", "critical")], metadata=metadata, duration=900.0).score == 0.0
    # weights from a config: duration alone
    only_duration = QualityConfig.from_dict({"weights": {"signal": 0, "metadata": 0, "duration": 1}})
    assert compute_quality([], metadata=metadata, duration=300.0, config=only_duration).score == pytest.approx(0.5)


def test_quality_config_from_dict_names_the_bad_key():
    config = QualityConfig.from_dict(
        {"weights": {"signal": 1.0}, "min_duration": 300, "plausible_ranges": {"EEG": {"aperiodic_exponent": [1, 2]}}},
        source="q.toml",
    )
    assert config.weights == {"signal": 1.0, "metadata": 0.2, "duration": 0.2}
    assert config.min_duration == 300.0 and config.plausible_ranges["eeg"]["aperiodic_exponent"] == (1.0, 2.0)
    assert config.plausible_ranges["lfp"] == QualityConfig().plausible_ranges["lfp"]
    with pytest.raises(DataError, match=r"q.toml: unknown quality setting\(s\) \['wieghts'\]"):
        QualityConfig.from_dict({"wieghts": {}}, source="q.toml")
    with pytest.raises(DataError, match="q.toml: .*weights"):
        QualityConfig.from_dict({"weights": {"signal": -1}}, source="q.toml")
