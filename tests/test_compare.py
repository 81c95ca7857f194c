"""Compare baselines, task effects in baseline units, adjusted comparisons, prediction, identification.

Simulated EEG is kept small: 4 posterior channels at 250 Hz, 240 s baselines with 10 s windows
(47 windows; the split-half null needs tens of windows), 120 s baselines for identification.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from adhesive_dots import Baseline
from adhesive_dots.compare import (
    DIFFERENT,
    WITHIN,
    block_bootstrap_indices,
    check_comparable,
    compare_baselines,
    compare_task_effects,
    compute_task_effects,
    compute_task_effects_array,
    compute_window_features_array,
    default_block,
    energy_distance_array,
    identify_subjects,
    predict_task_from_rest,
)
from adhesive_dots.errors import BaselineNotFoundError, DataError, ParameterMismatchError
from adhesive_dots.fingerprint import SUMMARY_NAMES, FingerprintParams, compute_fingerprint_array, fingerprint
from adhesive_dots.sim import sim_powerlaw
from adhesive_dots.sim.tasks import (
    AROUSAL_FEATURES,
    sim_arousal_confound,
    sim_eeg_baseline,
    sim_eeg_subject,
    sim_rest_task_corpus,
)

# -- block bootstrap and window features --------------------------------------------------------


def test_block_bootstrap_indices_are_circular_blocks():
    idx = block_bootstrap_indices(10, n_boot=50, block=3, rng=0)
    assert idx.shape == (50, 10)
    # within a block, consecutive indices step by one modulo n
    steps = (idx[:, 1:3] - idx[:, 0:2]) % 10
    assert np.all(steps == 1)
    assert default_block(39) == 4 and default_block(3) == 1


@pytest.mark.parametrize(
    ("n", "kw", "match"),
    [(1, {}, "at least 2 windows"), (10, {"block": 11}, "block must be"), (10, {"n_boot": 0}, "n_boot")],
)
def test_block_bootstrap_errors(n, kw, match):
    with pytest.raises(DataError, match=match):
        block_bootstrap_indices(n, **{"n_boot": 5, **kw})


def test_window_features_match_fingerprint_state():
    """The window features of the fingerprint's windows equal its ``state`` (same functions); tolerance 1e-6."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 250 * 60))
    fp = compute_fingerprint_array(data, 250.0, window_s=10.0, window_overlap=0.0, rng=0)
    starts = np.arange(6) * 2500
    ours = compute_window_features_array(data, 250.0, starts=starts, length=2500, segment_s=2.0)
    np.testing.assert_allclose(ours.values, fp.dataset["state"].values, atol=1e-6)


def test_window_features_errors():
    with pytest.raises(DataError, match="do not fit"):
        compute_window_features_array(np.zeros((2, 100)), 100.0, starts=[90], length=50)


# -- energy distance ---------------------------------------------------------------------------


def test_energy_distance_known_answer_normal_shift():
    """N(0,1) vs N(mu,1): 2 E|X-Y| - 2 E|X-X'| in closed form; 4000 draws, tolerance 0.03."""
    rng = np.random.default_rng(1)
    mu = 1.0
    x, y = rng.standard_normal((4000, 1)), mu + rng.standard_normal((4000, 1))
    s = np.sqrt(2.0)
    e_xy = s * np.sqrt(2 / np.pi) * np.exp(-(mu**2) / 4) + mu * (1 - 2 * stats.norm.cdf(-mu / s))
    expected = 2 * e_xy - 2 * (2 / np.sqrt(np.pi))
    assert energy_distance_array(x, y) == pytest.approx(expected, abs=0.03)


def test_energy_distance_agrees_with_scipy_1d():
    """scipy's energy_distance is sqrt of the V-statistic; ours is the U-statistic: relation exact to 1e-10."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(30), rng.standard_normal(40) + 0.5
    xx = np.abs(x[:, None] - x[None, :]).sum() / (30 * 29)
    yy = np.abs(y[:, None] - y[None, :]).sum() / (40 * 39)
    v_stat = stats.energy_distance(x, y) ** 2
    assert energy_distance_array(x[:, None], y[:, None]) == pytest.approx(v_stat - xx / 30 - yy / 40, abs=1e-10)


# -- compare_baselines: the simulator's arousal shift ------------------------------------------


@pytest.fixture(scope="module")
def eeg_sessions():
    subject = sim_eeg_subject(0, rng=1)
    same_a = sim_eeg_baseline(subject, session_index=0, arousal_level=0.0, duration=240.0, rng=100)
    same_b = sim_eeg_baseline(subject, session_index=1, arousal_level=0.0, duration=240.0, rng=200)
    shifted = sim_eeg_baseline(subject, session_index=2, arousal_level=1.0, duration=240.0, rng=300)
    return same_a, same_b, shifted


@pytest.mark.parametrize("seed", [0, 1])
def test_same_arousal_is_within_baseline_variability(eeg_sessions, seed):
    a, b, _ = eeg_sessions
    result = compare_baselines(a.baseline, b.baseline, window_s=10.0, n_boot=300, rng=seed)
    assert result.verdict == WITHIN
    assert result.energy_p >= 0.05 and result.riemann_p >= 0.05
    assert np.isfinite(result.riemann_distance) and len(result.parameters["channels"]) == 4
    assert set(result.features.columns) >= {
        "feature",
        "value_a",
        "value_b",
        "difference",
        "ci_low",
        "ci_high",
        "z",
        "flagged",
    }


def test_arousal_shift_is_different_and_flags_the_moved_features(eeg_sessions):
    a, _, shifted = eeg_sessions
    result = compare_baselines(a.baseline, shifted.baseline, window_s=10.0, n_boot=300, rng=0)
    assert result.verdict == DIFFERENT
    assert result.energy_distance > np.quantile(result.energy_null, 0.95)
    assert result.riemann_distance > result.riemann_null.max()
    assert set(AROUSAL_FEATURES) <= set(result.flagged)
    rows = result.features.set_index("feature")
    # the simulator: exponent drops by 0.25 per unit of arousal; alpha amplitude x exp(-0.5): log power -0.43
    assert rows.loc["aperiodic_exponent", "difference"] == pytest.approx(-0.25, abs=0.06)
    assert rows.loc["log_power_alpha", "difference"] < -0.2
    assert rows.loc["aperiodic_exponent", "ci_high"] < 0


def test_compare_fingerprints_without_data(eeg_sessions):
    a, _, shifted = eeg_sessions
    fa = fingerprint(a.baseline, window_s=10.0, rng=0)
    fb = fingerprint(shifted.baseline, window_s=10.0, rng=0)
    result = compare_baselines(fa, fb, n_boot=200, rng=0)
    assert result.verdict == DIFFERENT and np.isnan(result.riemann_distance)
    out = result.to_dict()
    assert out["verdict"] == DIFFERENT and out["riemann_distance"] is None


def test_compare_baselines_errors(eeg_sessions):
    a = eeg_sessions[0]
    with pytest.raises(DataError, match="Fingerprint or a Baseline"):
        compare_baselines(a.baseline, np.zeros(3))
    with pytest.raises(DataError, match="alpha"):
        compare_baselines(a.baseline, a.baseline, alpha=0.7)
    short = Baseline.from_array(np.random.default_rng(0).standard_normal((2, 250 * 40)), 250.0)
    with pytest.raises(DataError, match="at least 4"):
        compare_baselines(short, short, window_s=30.0)


# -- one set of parameters: the same window in fingerprint and compare --------------------------


@pytest.fixture(scope="module")
def short_pair():
    """Two 60 s and one 120 s baseline of 4 channels of 1/f noise at 160 Hz (PhysioNet runs' shape)."""

    def make(seconds, seed):
        data = sim_powerlaw(int(160 * seconds), 160.0, 1.5, f_flat=0.5, n_signals=4, rng=seed)
        return Baseline.from_array(data, 160.0, channel_names=["O1", "O2", "Pz", "Cz"], modality="eeg")

    return make(60.0, 1), make(60.0, 2), make(120.0, 3)


def test_sixty_seconds_get_the_same_window_in_fingerprint_and_compare(short_pair):
    """The bug: 30 s windows (3 of them) in `fingerprint`, 3 s in `report`. Now the rule gives 3 s (39 windows)
    to fingerprint() and to compare_baselines() of Baselines, and the two fingerprints compare without a flag;
    a 60 s and a 120 s baseline are compared in the shorter one's window."""
    a, b, long = short_pair
    fa, fb = fingerprint(a, rng=0), fingerprint(b, rng=0)
    assert fa.params.window_s == fb.params.window_s == 3.0 and fa.dataset.sizes["window"] == 39
    from_data = compare_baselines(a, b, n_boot=100, rng=0)
    assert from_data.parameters["window_s"] == 3.0 and from_data.parameters["n_windows"] == [39, 39]
    from_fingerprints = compare_baselines(fa, fb, n_boot=100, rng=0)
    assert from_fingerprints.parameters["window_s"] == 3.0 and from_fingerprints.parameters["n_windows"] == [39, 39]
    # the states of a Baseline are those its fingerprint stores (same window, segments, bands; tolerance 1e-9)
    mixed = compare_baselines(fa, b, n_boot=100, rng=0)
    np.testing.assert_allclose(mixed.features["value_b"], from_fingerprints.features["value_b"], rtol=1e-9)
    assert compare_baselines(a, long, n_boot=100, rng=0).parameters["n_windows"] == [39, 79]


def test_fingerprints_made_with_different_windows_are_refused_with_the_fix(short_pair):
    """A 60 s (3 s windows) and a 120 s (6 s) fingerprint: ParameterMismatchError (a DataError) naming window_s,
    both values and the flag; fingerprinted both with --window-s 3 they compare. A comparison asking for
    another window than the fingerprints' says so too."""
    a, _, long = short_pair
    fa, flong = fingerprint(a, rng=0), fingerprint(long, rng=0)
    with pytest.raises(ParameterMismatchError, match=r"different window_s \(3 s vs 6 s\).*--window-s 3") as info:
        compare_baselines(fa, flong)
    assert info.value.parameters == ("window_s",) and isinstance(info.value, DataError)
    with pytest.raises(ParameterMismatchError, match=r"FingerprintParams\(window_s=3\)"):
        check_comparable(fa, flong)
    fixed = fingerprint(long, params=FingerprintParams(window_s=3.0), rng=0)
    assert compare_baselines(fa, fixed, n_boot=100, rng=0).parameters["n_windows"] == [39, 79]
    with pytest.raises(ParameterMismatchError, match=r"asks for window_s 10 s but a was fingerprinted with 3 s"):
        compare_baselines(fa, fixed, window_s=10.0)


def test_sampling_rates_share_a_fit_range_or_are_refused():
    """250 Hz (default fit 1-40 Hz) vs 30 Hz (1-12 Hz): Baselines are compared on the common 1-12 Hz (the
    exponents must be the same quantity); their fingerprints, made with their own defaults, are refused with
    that range as the fix, and made with it they compare (same states as the Baselines', 1e-9). BOLD (0.01-0.56
    Hz) and EEG share no range: refused, naming both rates."""
    a = Baseline.from_array(sim_powerlaw(250 * 120, 250.0, 1.5, n_signals=3, rng=0), 250.0)
    b = Baseline.from_array(sim_powerlaw(30 * 120, 30.0, 1.5, n_signals=3, rng=1), 30.0)
    result = compare_baselines(a, b, n_boot=100, rng=0)
    assert result.parameters["fingerprint_params"]["aperiodic_range"] == [1.0, 12.0]
    with pytest.raises(ParameterMismatchError, match=r"FingerprintParams\(aperiodic_range=\(1, 12\)\)"):
        compare_baselines(fingerprint(a, rng=0), fingerprint(b, rng=0))
    common = FingerprintParams(window_s=6.0, aperiodic_range=(1.0, 12.0))
    fa, fb = fingerprint(a, params=common, rng=0), fingerprint(b, params=common, rng=0)
    np.testing.assert_allclose(
        compare_baselines(fa, fb, n_boot=100, rng=0).features["difference"], result.features["difference"], rtol=1e-9
    )
    bold = Baseline.from_array(sim_powerlaw(1200, 1 / 0.72, 1.0, n_signals=3, rng=2), 1 / 0.72, modality="fmri")
    with pytest.raises(ParameterMismatchError, match=r"at their sampling rates \(250 Hz, 1.38889 Hz\)"):
        compare_baselines(a, bold)


# -- task effects in baseline units -------------------------------------------------------------


def test_task_effects_known_answer_variance_scaling():
    """Task segments with twice the amplitude of the (white) baseline: log10 power +log10(4) in every band,
    exponent unchanged; 20 trials of 2 s, tolerance 0.1 (few frequency bins per band)."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 250 * 120))
    segments = {"loud": [2 * rng.standard_normal((3, 500)) for _ in range(20)]}
    table = compute_task_effects_array(base, segments, 250.0, n_boot=300, rng=0).table.set_index("feature")
    for band in ("delta", "theta", "alpha", "beta", "gamma"):
        row = table.loc[f"log_power_{band}"]
        assert row["delta"] == pytest.approx(np.log10(4), abs=0.1)
        assert row["delta_ci_low"] < np.log10(4) + 0.05 and row["delta_ci_high"] > np.log10(4) - 0.05
        assert row["z"] == pytest.approx(row["delta"] / row["baseline_sd"])
        assert row["ci_low"] > 2
    assert abs(table.loc["aperiodic_exponent", "delta"]) < 0.1
    assert table.loc["aperiodic_exponent", "ci_low"] < 0 < table.loc["aperiodic_exponent", "ci_high"]


def test_task_effects_of_a_simulated_session(eeg_sessions):
    """The simulator halves alpha amplitude during trials: alpha z clearly negative for both conditions."""
    session = eeg_sessions[0]
    effects = compute_task_effects(session.recording, labels=["grating-0", "grating-90"], n_boot=300, rng=0)
    z = effects.pivot("z")
    high = effects.pivot("ci_high")
    for condition in ("grating-0", "grating-90"):
        assert z.loc[condition, "log_power_alpha"] < -1.5
        assert high.loc[condition, "log_power_alpha"] < 0
    counts = effects.table.groupby("label")["n_segments"].first()
    assert counts.sum() == len(session.trials)
    assert set(effects.table["window_s"]) == {2.0}
    default = compute_task_effects(session.recording, n_boot=100, rng=0)
    assert set(default.table["label"]) == {"task", "grating-0", "grating-90"}


def test_task_effects_errors(eeg_sessions):
    session = eeg_sessions[0]
    with pytest.raises(DataError, match="no task interval labelled"):
        compute_task_effects(session.recording, labels=["nope"])
    bare = Baseline.from_array(np.zeros((2, 1000)), 100.0).recording
    with pytest.raises(BaselineNotFoundError, match="no interval marks spontaneous"):
        compute_task_effects(bare)
    with pytest.raises(DataError, match="expected \\(3, n_times\\)"):
        compute_task_effects_array(np.zeros((3, 5000)), {"x": [np.zeros((2, 500))]}, 250.0)
    with pytest.raises(DataError, match="segments is empty"):
        compute_task_effects_array(np.zeros((3, 5000)), {}, 250.0)


# -- naive vs adjusted comparison of task effects ------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "ols"])
def test_arousal_inflates_naive_but_not_adjusted(method):
    table = sim_arousal_confound(60, effects=(1.0, 1.0), arousal_shift=1.0, coupling=0.8, rng=0)
    result = compare_task_effects(table, covariates=["arousal"], method=method)
    naive, adjusted = result.estimate("naive"), result.estimate("adjusted")
    assert naive["ci_low"] > 0 and naive["p"] < 0.05  # the naive comparison reports a difference
    assert naive["ci_low"] < table.attrs["truth"]["naive"] < naive["ci_high"]
    assert adjusted["ci_low"] < 0 < adjusted["ci_high"]  # the adjusted one does not
    assert result.explained["task2 - task1"] == pytest.approx(naive["estimate"] - adjusted["estimate"])
    assert naive["method"] == ("mixedlm" if method == "auto" else "ols")


def test_arousal_hides_a_true_difference_the_adjusted_comparison_finds():
    table = sim_arousal_confound(60, effects=(1.0, 1.8), arousal_shift=-1.0, coupling=0.8, rng=0)
    result = compare_task_effects(table, covariates=["arousal"])
    naive, adjusted = result.estimate("naive"), result.estimate("adjusted")
    assert naive["ci_low"] < 0 < naive["ci_high"]
    assert adjusted["ci_low"] > 0 and adjusted["ci_low"] < 0.8 < adjusted["ci_high"]


def test_compare_task_effects_errors():
    table = sim_arousal_confound(5, rng=0)
    with pytest.raises(DataError, match="lacks column"):
        compare_task_effects(table, covariates=["pupil"])
    with pytest.raises(DataError, match="at least 2 conditions"):
        compare_task_effects(table[table.condition == "task1"], covariates=["arousal"])
    with pytest.raises(DataError, match="reference"):
        compare_task_effects(table, covariates=["arousal"], reference="task9")


# -- rest -> task prediction --------------------------------------------------------------------


def _predict(structured: bool):
    corpus = sim_rest_task_corpus(20, structured=structured, rng=1)
    return predict_task_from_rest(
        corpus, features=corpus.attrs["feature_names"], responses=corpus.attrs["response_names"], n_perm=40, rng=0
    )


def test_prediction_beats_group_mean_on_structured_corpus():
    result = _predict(True)
    assert result.beats_group_mean and result.specific
    assert (result.table["skill"] > 0.5).all() and (result.table["r"] > 0.8).all()
    assert result.specificity > 0.9 and result.top1 > 3 * result.chance_top1


def test_prediction_does_not_succeed_on_null_corpus():
    result = _predict(False)
    assert not result.beats_group_mean and not result.specific
    assert (result.table["skill"] < 0.1).all()
    assert abs(result.specificity - 0.5) < 0.15


def test_prediction_errors():
    corpus = sim_rest_task_corpus(3, rng=0)
    with pytest.raises(DataError, match="at least 4 subjects"):
        predict_task_from_rest(corpus, features=["feature_0"], responses=["response_0"])


# -- identification ----------------------------------------------------------------------------


def test_identification_of_simulated_subjects():
    """6 simulated subjects (exponent, alpha peak and LRTC differ) x 2 sessions with random arousal
    (sd 0.3); 120 s baselines, fingerprint summary vectors."""
    rng = np.random.default_rng(5)
    vectors = {0: [], 1: []}
    for s in range(6):
        subject = sim_eeg_subject(s, rng=10 + s)
        for k in (0, 1):
            session = sim_eeg_baseline(
                subject,
                session_index=k,
                arousal_level=float(rng.normal(0, 0.3)),
                duration=120.0,
                task_duration=10.0,
                rng=1000 * s + k,
            )
            vectors[k].append(fingerprint(session.baseline, window_s=10.0, rng=0).summary_vector())
    a = pd.DataFrame(vectors[0], columns=list(SUMMARY_NAMES), index=[f"S{s}" for s in range(6)])
    b = pd.DataFrame(vectors[1], columns=list(SUMMARY_NAMES), index=a.index)
    result = identify_subjects(a, b)
    assert result.chance == pytest.approx(1 / 6)
    assert result.accuracy >= 3 * result.chance and result.p < 0.001
    assert "peak_frequency" in result.features
    traits = ["aperiodic_exponent", "peak_frequency"]  # the simulated individual traits
    focused = identify_subjects(a[traits], b[traits], metric="euclidean")
    assert focused.accuracy >= 0.8 and focused.p < 0.001


def test_identification_known_answers():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((10, 8))
    exact = identify_subjects(a, a + 0.05 * rng.standard_normal((10, 8)))
    assert exact.accuracy == 1.0 and exact.chance == 0.1
    unrelated = identify_subjects(a, rng.standard_normal((10, 8)))
    assert unrelated.accuracy <= 0.3 and unrelated.p > 0.01
    with pytest.raises(DataError, match="equal shape"):
        identify_subjects(a, a[:5])
    with pytest.raises(DataError, match="metric"):
        identify_subjects(a, a, metric="cosine")


# -- real recordings ---------------------------------------------------------------------------


def test_real_eyes_open_vs_eyes_closed_differ_in_alpha(real_data):
    """PhysioNet S001: R02 (eyes closed) has far more alpha than R01 (eyes open). 60 s each, 4 s windows
    (39 windows, the smallest null that reaches alpha 0.05 over the two tests)."""
    from adhesive_dots.core import Segment
    from adhesive_dots.io.read import open_recording

    with open_recording(real_data / "S001R01.edf") as r1, open_recording(real_data / "S001R02.edf") as r2:
        b1, b2 = (Baseline(r, Segment.between(0.0, r.duration)) for r in (r1, r2))
        result = compare_baselines(b1, b2, window_s=3.0, n_boot=500, rng=0)
        same = compare_baselines(b1, Baseline(r1, Segment.between(0.0, r1.duration)), window_s=3.0, n_boot=200, rng=0)
        with pytest.raises(DataError, match="too few to reach alpha.*use shorter windows"):
            compare_baselines(b1, b2, window_s=10.0)
    assert result.verdict == DIFFERENT and "log_power_alpha" in result.flagged
    alpha = result.features.set_index("feature").loc["log_power_alpha"]
    assert alpha["difference"] > 0.3 and alpha["ci_low"] > 0  # median over 64 channels: more than x2 power
    assert same.verdict == WITHIN


@pytest.mark.slow
def test_verdict_rates_over_simulated_pairs():
    """Over 8 independent pairs: same-arousal sessions are mostly "within" (measured 7/8; the split-half
    null does not see fluctuations slower than one baseline), arousal-shifted ones always "different" with
    the arousal features flagged."""
    subject = sim_eeg_subject(0, rng=1)
    within = different = flagged = 0
    for seed in range(8):
        a = sim_eeg_baseline(subject, session_index=0, arousal_level=0.0, duration=240.0, rng=1000 + seed)
        b = sim_eeg_baseline(subject, session_index=1, arousal_level=0.0, duration=240.0, rng=2000 + seed)
        c = sim_eeg_baseline(subject, session_index=2, arousal_level=1.0, duration=240.0, rng=3000 + seed)
        same = compare_baselines(a.baseline, b.baseline, window_s=10.0, n_boot=200, rng=seed)
        shifted = compare_baselines(a.baseline, c.baseline, window_s=10.0, n_boot=200, rng=seed)
        within += same.verdict == WITHIN
        different += shifted.verdict == DIFFERENT
        flagged += set(AROUSAL_FEATURES) <= set(shifted.flagged)
    assert within >= 6 and different == 8 and flagged == 8


def test_flat_channel_is_left_out_of_the_riemannian_distance():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 250 * 200))
    b = rng.standard_normal((4, 250 * 200))
    b[2] = 0.0  # a flat channel in b
    names = ["A", "B", "C", "D"]
    base_a = Baseline.from_array(a, 250.0, channel_names=names)
    base_b = Baseline.from_array(b, 250.0, channel_names=names)
    result = compare_baselines(base_a, base_b, window_s=8.0, n_boot=100, rng=0)
    assert result.parameters["channels"] == ["A", "B", "D"] and np.isfinite(result.riemann_distance)


@pytest.mark.parametrize("name", ["adhesive_dots.compare.windows", "adhesive_dots.compare.baselines"])
def test_doctests(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- rest -> task through the signals (baseline window features -> task effects -> ridge) --------


def _signal_corpus_table(structured: bool) -> pd.DataFrame:
    """16 subjects x 2 sessions, 2 channels, 60 s baselines and 12 trials of 2 s (sim.tasks)."""
    from adhesive_dots.fingerprint import sliding_windows
    from adhesive_dots.sim.tasks import sim_rest_task_sessions

    rows = []
    for session in sim_rest_task_sessions(16, structured=structured, rng=3):
        starts, length = sliding_windows(session.baseline.shape[1], session.fs, window_s=10.0, overlap=0.5)
        states = compute_window_features_array(session.baseline, session.fs, starts=starts, length=length)
        means = dict(zip(states["state_feature"].values, states.mean("window").values, strict=True))
        effects = compute_task_effects_array(
            session.baseline, {"task": session.trials}, session.fs, n_boot=20, rng=0
        ).table.set_index("feature")
        beta = effects.loc["log_power_beta"]
        rows.append(
            {
                "subject": session.subject,
                **means,
                "response": beta["z"],
                "delta": beta["delta"],
                "expected": 2 * np.log10(session.gain),
            }
        )
    return pd.DataFrame(rows)


SIGNAL_FEATURES = [
    "log_power_delta",
    "log_power_theta",
    "log_power_alpha",
    "log_power_beta",
    "log_power_gamma",
    "aperiodic_exponent",
]


@pytest.mark.slow
def test_rest_to_task_from_signals_structured_and_null():
    """The trials scale the signal by the simulated gain: delta log10 beta power = 2 log10(gain) (tolerance
    0.06: 12 trials of 2 s); the gain is a function of the baseline exponent (structured) or not (null)."""
    structured = _signal_corpus_table(True)
    np.testing.assert_allclose(structured["delta"], structured["expected"], atol=0.06)
    result = predict_task_from_rest(structured, features=SIGNAL_FEATURES, responses=["response"], n_perm=40, rng=0)
    assert result.beats_group_mean and result.specific and result.table["skill"].iloc[0] > 0.8
    null = _signal_corpus_table(False)
    np.testing.assert_allclose(null["delta"], null["expected"], atol=0.06)
    result = predict_task_from_rest(null, features=SIGNAL_FEATURES, responses=["response"], n_perm=40, rng=0)
    assert not result.beats_group_mean and not result.specific


def _arousal_task_table(amplitudes, arousal_shift) -> pd.DataFrame:
    """16 subjects x (task1, task2) sessions of sim.tasks.sim_arousal_task_sessions; raw response = delta of
    log10 beta power against the session's baseline; covariate = the baseline's mean log10 beta power."""
    from adhesive_dots.fingerprint import sliding_windows
    from adhesive_dots.sim.tasks import sim_arousal_task_sessions

    rows = []
    for session in sim_arousal_task_sessions(16, amplitudes=amplitudes, arousal_shift=arousal_shift, rng=4):
        starts, length = sliding_windows(session.baseline.shape[1], session.fs, window_s=10.0, overlap=0.5)
        states = compute_window_features_array(session.baseline, session.fs, starts=starts, length=length)
        effects = compute_task_effects_array(
            session.baseline, {"task": session.trials}, session.fs, n_boot=10, rng=0
        ).table.set_index("feature")
        rows.append(
            {
                "subject": session.subject,
                "condition": f"task{session.session[-1]}",
                "delta": effects.loc["log_power_beta", "delta"],
                "baseline_beta": float(states.sel(state_feature="log_power_beta").mean()),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_signal_level_arousal_confound_and_its_converse():
    """Equal true effects (a 20 Hz oscillation of amplitude 0.1 in both tasks), task2 at higher arousal: the
    flatter background shrinks task2's raw response; naive reports a difference, adjusted does not. Converse:
    task2's true effect is larger (amplitude 0.2) and the arousal shift hides it from the naive comparison."""
    result = compare_task_effects(_arousal_task_table((0.1, 0.1), 1.0), covariates=["baseline_beta"])
    naive, adjusted = result.estimate("naive"), result.estimate("adjusted")
    assert naive["ci_high"] < 0 and naive["p"] < 0.01
    assert adjusted["ci_low"] < 0 < adjusted["ci_high"]
    result = compare_task_effects(_arousal_task_table((0.1, 0.2), 1.0), covariates=["baseline_beta"])
    naive, adjusted = result.estimate("naive"), result.estimate("adjusted")
    assert naive["ci_low"] < 0 < naive["ci_high"]
    assert adjusted["ci_low"] > 0 and adjusted["p"] < 0.01
