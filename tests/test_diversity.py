"""Diversity of baselines vs task segments (issue 12): known ratios, simulated corpora both ways, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import SUMMARY_NAMES, compute_fingerprint_array
from adhesive_dots.sim.fluctuation import sim_diversity_corpus
from adhesive_dots.sufficiency import compute_diversity


def test_known_ratio_on_gaussian_features():
    # 5 features, baseline SD 0.5 x task SD (different units per feature): ratio 0.5 overall and per feature;
    # 400 rows: SE of an SD ratio ~5 %, tolerance 0.06
    rng = np.random.default_rng(0)
    units = np.array([1.0, 10.0, 0.01, 3.0, 100.0])
    base = rng.standard_normal((400, 5)) * 0.5 * units + 7.0
    task = rng.standard_normal((400, 5)) * units - 3.0  # a shifted task mean is not dispersion
    result = compute_diversity(base, task, n_boot=300, rng=1)
    assert result.ratio == pytest.approx(0.5, abs=0.06)
    assert result.ci_low < 0.5 < result.ci_high and result.ci_high < 1
    np.testing.assert_allclose(result.per_feature["ratio"], 0.5, atol=0.06)
    assert result.cluster is None and result.attrs["paired"] is False
    # the converse
    converse = compute_diversity(task, base, n_boot=300, rng=1)
    assert converse.ratio == pytest.approx(2.0, rel=0.12) and converse.ci_low > 1


def test_equal_spread_gives_ratio_one_and_groups_cluster():
    rng = np.random.default_rng(2)
    n = 60
    groups = pd.DataFrame({"lab": [f"lab{i % 3}" for i in range(n)], "subject": [f"s{i // 2}" for i in range(n)]})
    base, task = rng.standard_normal((n, 4)), rng.standard_normal((n, 4))
    result = compute_diversity(base, task, groups=groups, n_boot=300, rng=3)
    assert result.cluster == "subject" and result.attrs["paired"] is True  # 30 subjects >= 5; labs only 3
    assert result.ci_low < 1 < result.ci_high
    assert list(result.levels["level"]) == ["lab", "subject"]
    assert list(result.levels["n_groups"]) == [3, 30]
    payload = result.to_dict()
    json.dumps(payload)
    assert payload["per_feature"][0]["feature"] == "f0"


def test_bad_input_messages():
    x = np.ones((5, 3)) + np.arange(15).reshape(5, 3) ** 2
    with pytest.raises(DataError, match="at least 3 baseline and 3 task"):
        compute_diversity(x[:2], x)
    with pytest.raises(DataError, match="baseline and task features differ"):
        compute_diversity(pd.DataFrame(x, columns=list("abc")), pd.DataFrame(x, columns=list("abd")))
    with pytest.raises(DataError, match="cluster 'lab' is not a column"):
        compute_diversity(x, x, groups={"subject": list("abcde")}, cluster="lab")
    with pytest.raises(DataError, match="n_boot must be >= 100"):
        compute_diversity(x, x, n_boot=10)
    with pytest.raises(DataError, match="groups has 4 rows for 5"):
        compute_diversity(x, x, groups={"subject": list("abcd")})
    with pytest.raises(DataError, match="no feature is finite"):
        compute_diversity(np.full((5, 2), np.nan), np.ones((5, 2)))


def _summaries(corpus):
    def fp(x):
        return compute_fingerprint_array(x, corpus.fs, rng=0, workers=1, envelope_bands=None).summary_vector()

    columns = list(SUMMARY_NAMES)
    return (
        pd.DataFrame([fp(x) for x in corpus.baseline], columns=columns),
        pd.DataFrame([fp(x) for x in corpus.task], columns=columns),
    )


@pytest.mark.parametrize(("baseline_sd", "task_sd"), [(0.3, 1.0), (1.0, 0.3)])
def test_simulated_corpus_both_ways(baseline_sd, task_sd):
    # 3 labs x 4 subjects x 2 sessions; generative parameter spread 0.3x (resp. 3.3x) in baselines. Fingerprint
    # features that do not depend on the parameters (e.g. non-stationarity) dilute the ratio toward 1, so the
    # acceptance is the side of 1 and a CI excluding 1 (subject-clustered, paired bootstrap).
    corpus = sim_diversity_corpus(baseline_sd=baseline_sd, task_sd=task_sd, rng=0)
    truth = corpus.parameters.groupby("kind")["exponent"].std()
    assert (truth["baseline"] < truth["task"]) == (baseline_sd < task_sd)
    base, task = _summaries(corpus)
    result = compute_diversity(base, task, groups=corpus.groups, n_boot=1000, rng=0)
    assert result.cluster == "subject"
    if baseline_sd < task_sd:
        assert result.ratio < 1 and result.ci_high < 1
    else:
        assert result.ratio > 1 and result.ci_low > 1
    exponent = result.per_feature.set_index("feature").loc["aperiodic_exponent"]
    assert (exponent["ratio"] < 1) == (baseline_sd < task_sd)


@pytest.mark.slow
def test_cli_diversity_and_sufficiency(small_corpus, real_data):
    from typer.testing import CliRunner

    from adhesive_dots.cli import app

    runner = CliRunner()
    nwb = sorted(str(p) for p in small_corpus.root.rglob("*.nwb"))
    assert len(nwb) >= 4
    done = runner.invoke(app, ["diversity", *nwb, "--json", "--n-boot", "200", "--length", "30"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["n_baseline"] == payload["n_task"] == len(nwb)
    assert payload["segment_length_s"] == 30
    assert np.isfinite(payload["ratio"]) and payload["ci"][0] <= payload["ratio"] <= payload["ci"][1]
    table = runner.invoke(app, ["diversity", *nwb, "--n-boot", "200", "--length", "30"])
    assert table.exit_code == 0 and "dispersion ratio baseline/task" in table.stdout
    missing = runner.invoke(app, ["diversity", *nwb, "--task-label", "nope"])
    assert missing.exit_code != 0 and "check --task-label" in str(missing.exception)

    rat = str(real_data / "rat_ca1_lfp_150s_1kHz.npy")
    done = runner.invoke(app, ["sufficiency", rat, "--fs", "1000", "--whole", "--modality", "lfp", "--json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["mode"] == "baseline" and payload["lengths_s"] == [15.0, 30.0, 60.0]
    rows = {r["feature"]: r for r in payload["features"]}
    assert rows["relative_power_theta"]["within_horizon"] is True
    shown = runner.invoke(app, ["sufficiency", rat, "--fs", "1000", "--whole", "--lengths", "15,30"])
    assert shown.exit_code == 0 and "DFA exponent by length" in shown.stdout
    corpus = runner.invoke(app, ["sufficiency", *nwb[:2], "--lengths", "30,60", "--max-segments", "2", "--json"])
    assert corpus.exit_code == 0, corpus.output
    assert json.loads(corpus.stdout)["mode"] == "corpus"
    bad = runner.invoke(app, ["sufficiency", rat, "--fs", "1000", "--whole", "--lengths", "a,b"])
    assert bad.exit_code != 0 and "--lengths must be comma-separated" in str(bad.exception)
