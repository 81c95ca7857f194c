"""Across sessions: task effects adjusted for baseline differences, rest -> task prediction, identification.

* :func:`compare_task_effects` -- regression of the task response Δ on condition (naive) and on
  condition plus baseline features (adjusted); ordinary least squares, or a linear mixed model with a
  random intercept per subject (statsmodels). The part of the naive difference carried by the
  baseline difference is ``naive - adjusted``.
* :func:`predict_task_from_rest` -- ridge regression (scikit-learn, penalty chosen by inner
  generalised cross-validation) from baseline features to each task response, evaluated by
  leave-one-subject-out cross-validation against the group-mean model, plus individual specificity;
  permutation p-values shuffle whole subjects' responses.
* :func:`identify_subjects` -- identification of each subject's second baseline among all first
  baselines by the Pearson correlation of their standardised feature vectors (Finn et al. 2015).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from adhesive_dots.errors import DataError


def _check_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{what}: table lacks column(s) {missing}; it has {list(table.columns)}")


# -- cross-session comparison ------------------------------------------------------------------


@dataclass(frozen=True)
class TaskEffectComparison:
    """Naive and baseline-adjusted differences of task effects between conditions.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (model, contrast): ``model`` ("naive" / "adjusted"), ``contrast`` (e.g.
        ``"task2 - task1"``), ``estimate``, ``ci_low``, ``ci_high``, ``p``, ``method`` ("ols" / "mixedlm").
    explained : dict
        Per contrast, ``naive - adjusted``: the part of the naive difference carried by baseline differences.
    covariates : list of str
        Baseline features in the adjusted model.
    """

    table: pd.DataFrame
    explained: dict[str, float]
    covariates: list[str]
    parameters: dict[str, Any] = field(default_factory=dict)

    def estimate(self, model: str, contrast: str | None = None) -> pd.Series:
        """The row of ``model`` (and ``contrast``; the first one if omitted)."""
        rows = self.table[self.table["model"] == model]
        if contrast is not None:
            rows = rows[rows["contrast"] == contrast]
        return rows.iloc[0]


def compare_task_effects(
    table: pd.DataFrame,
    *,
    covariates: Sequence[str],
    response: str = "delta",
    condition: str = "condition",
    subject: str | None = "subject",
    reference: str | None = None,
    method: str = "auto",
    alpha: float = 0.05,
) -> TaskEffectComparison:
    """Naive and baseline-adjusted differences of the task response between conditions.

    Parameters
    ----------
    table : DataFrame
        One row per session (and condition): the response, the condition and the baseline features.
    covariates : list of str
        Baseline features of the session (e.g. its arousal, alpha power, exponent).
    response, condition, subject : str
        Column names; ``subject`` may be None (no random effect).
    reference : str, optional
        Reference condition (default the first in sorted order).
    method : {"auto", "ols", "mixedlm"}
        ``auto`` uses a mixed model with a random intercept per subject when subjects have repeated
        sessions (at least 3 subjects), else OLS. The method used is in the table.
    alpha : float
        CIs at ``1 - alpha``.
    """
    import statsmodels.formula.api as smf

    covariates = list(covariates)
    _check_columns(table, [response, condition, *covariates] + ([subject] if subject else []), "compare_task_effects")
    if method not in ("auto", "ols", "mixedlm"):
        raise DataError(f"method must be 'auto', 'ols' or 'mixedlm', got {method!r}")
    data = table[[response, condition, *covariates] + ([subject] if subject else [])].dropna().copy()
    levels = sorted(data[condition].astype(str).unique())
    if len(levels) < 2:
        raise DataError(f"column {condition!r} has {len(levels)} level(s) {levels}; at least 2 conditions are needed")
    reference = levels[0] if reference is None else str(reference)
    if reference not in levels:
        raise DataError(f"reference {reference!r} is not a level of {condition!r}: {levels}")
    data[condition] = data[condition].astype(str)
    repeated = subject is not None and data[subject].nunique() >= 3 and data.groupby(subject).size().max() >= 2
    if method == "mixedlm" and not repeated:
        raise DataError("method='mixedlm' needs a subject column with repeated sessions of at least 3 subjects")
    use_mixed = method == "mixedlm" or (method == "auto" and repeated)
    safe = {c: f"x{i}" for i, c in enumerate(covariates)}
    data = data.rename(columns={**safe, response: "y", condition: "cond"})
    term = f"C(cond, Treatment(reference={reference!r}))"
    rows, explained = [], {}
    for model, rhs in (("naive", term), ("adjusted", " + ".join([term, *safe.values()]))):
        formula = f"y ~ {rhs}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of MixedLM on small tables
            if use_mixed:
                fit = smf.mixedlm(formula, data, groups=data[subject]).fit(reml=True)
            else:
                fit = smf.ols(formula, data).fit()
        ci = fit.conf_int(alpha=alpha)
        for level in levels:
            if level == reference:
                continue
            name = f"{term}[T.{level}]"
            rows.append(
                {
                    "model": model,
                    "contrast": f"{level} - {reference}",
                    "estimate": float(fit.params[name]),
                    "ci_low": float(ci.loc[name, 0]),
                    "ci_high": float(ci.loc[name, 1]),
                    "p": float(fit.pvalues[name]),
                    "method": "mixedlm" if use_mixed else "ols",
                }
            )
    result = pd.DataFrame(rows)
    for contrast in result["contrast"].unique():
        naive = result[(result.model == "naive") & (result.contrast == contrast)]["estimate"].iloc[0]
        adjusted = result[(result.model == "adjusted") & (result.contrast == contrast)]["estimate"].iloc[0]
        explained[contrast] = float(naive - adjusted)
    return TaskEffectComparison(result, explained, covariates, {"alpha": alpha, "reference": reference, "n": len(data)})


# -- rest -> task prediction ---------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionResult:
    """Leave-one-subject-out prediction of task responses from baseline features.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per response: ``response``, ``r`` (Pearson, predicted vs actual), ``mse``,
        ``mse_group_mean`` (predicting the training subjects' mean), ``skill`` (``1 - mse / mse_group_mean``;
        > 0 beats the group mean), ``p_skill`` (permutation).
    specificity : float
        Mean over subjects of the fraction of other subjects whose actual responses are farther from the
        subject's prediction than the subject's own (chance 0.5).
    specificity_p : float
        Permutation p-value of ``specificity``.
    top1 : float
        Fraction of subjects whose own actual responses are the closest to their prediction (chance ``1/n``).
    chance_top1 : float
    predictions : pandas.DataFrame
        Per session: subject, actual and predicted responses.
    """

    table: pd.DataFrame
    specificity: float
    specificity_p: float
    top1: float
    chance_top1: float
    predictions: pd.DataFrame
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def beats_group_mean(self) -> bool:
        """Whether every response's skill is positive with permutation p below ``alpha``."""
        alpha = self.parameters.get("alpha", 0.05)
        return bool(((self.table["skill"] > 0) & (self.table["p_skill"] < alpha)).all())

    @property
    def specific(self) -> bool:
        """Whether specificity is above chance at ``alpha``."""
        return bool(self.specificity > 0.5 and self.specificity_p < self.parameters.get("alpha", 0.05))


def _loso_predict(x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas: np.ndarray) -> tuple:
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = np.empty_like(y)
    mean_pred = np.empty_like(y)
    for g in np.unique(groups):
        test = groups == g
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
        model.fit(x[~test], y[~test])
        pred[test] = model.predict(x[test]).reshape(test.sum(), -1)
        mean_pred[test] = y[~test].mean(axis=0)
    return pred, mean_pred


def _scores(y, pred, mean_pred, groups):
    mse = ((y - pred) ** 2).mean(axis=0)
    mse_mean = ((y - mean_pred) ** 2).mean(axis=0)
    skill = 1 - mse / mse_mean
    subjects = np.unique(groups)
    # per subject: mean predicted and actual response vectors, standardised by the actual spread
    actual = np.stack([y[groups == g].mean(axis=0) for g in subjects])
    predicted = np.stack([pred[groups == g].mean(axis=0) for g in subjects])
    scale = actual.std(axis=0, ddof=1)
    scale = np.where(scale > 0, scale, 1.0)
    dist = np.linalg.norm((predicted[:, None, :] - actual[None, :, :]) / scale, axis=-1)  # (pred s, actual t)
    own = np.diag(dist)
    n = len(subjects)
    farther = (dist > own[:, None]).sum(axis=1) / (n - 1)
    top1 = float(np.mean(np.argmin(dist, axis=1) == np.arange(n)))
    return skill, mse, mse_mean, float(farther.mean()), top1


def predict_task_from_rest(
    table: pd.DataFrame,
    *,
    features: Sequence[str],
    responses: Sequence[str],
    subject: str = "subject",
    alphas: Sequence[float] | None = None,
    n_perm: int = 200,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> PredictionResult:
    """Predict each task response from baseline features, leaving one subject out at a time.

    Parameters
    ----------
    table : DataFrame
        One row per session: ``subject``, the baseline ``features`` and the task ``responses``.
    features, responses : list of str
        Column names.
    subject : str
        Subject column (the cross-validation groups; at least 4 subjects).
    alphas : list of float, optional
        Ridge penalties searched by inner generalised CV (default ``logspace(-3, 3, 13)``).
    n_perm : int
        Permutations (responses of whole subjects shuffled across subjects) for the p-values.
    alpha : float
        Level of :attr:`PredictionResult.beats_group_mean` and :attr:`PredictionResult.specific`.
    rng : Generator or int, optional
    """
    features, responses = list(features), list(responses)
    _check_columns(table, [subject, *features, *responses], "predict_task_from_rest")
    data = table[[subject, *features, *responses]].dropna()
    groups = data[subject].astype(str).to_numpy()
    subjects = np.unique(groups)
    if subjects.size < 4:
        raise DataError(f"leave-one-subject-out needs at least 4 subjects, got {subjects.size} in column {subject!r}")
    if n_perm < 1:
        raise DataError(f"n_perm must be positive, got {n_perm}")
    x = data[features].to_numpy(float)
    y = data[responses].to_numpy(float)
    alphas = np.logspace(-3, 3, 13) if alphas is None else np.asarray(alphas, dtype=float)
    rng = np.random.default_rng(rng)
    pred, mean_pred = _loso_predict(x, y, groups, alphas)
    skill, mse, mse_mean, spec, top1 = _scores(y, pred, mean_pred, groups)
    # permutations: each subject's responses go to another subject (session order kept, cycled)
    perm_skill = np.empty((n_perm, len(responses)))
    perm_spec = np.empty(n_perm)
    index_of = {g: np.flatnonzero(groups == g) for g in subjects}
    for p in range(n_perm):
        mapping = dict(zip(subjects, rng.permutation(subjects), strict=True))
        yp = np.empty_like(y)
        for g in subjects:
            rows, donor = index_of[g], index_of[mapping[g]]
            yp[rows] = y[donor[np.arange(rows.size) % donor.size]]
        pp, mp = _loso_predict(x, yp, groups, alphas)
        perm_skill[p], _, _, perm_spec[p], _ = _scores(yp, pp, mp, groups)
    p_skill = (1 + (perm_skill >= skill).sum(axis=0)) / (1 + n_perm)
    spec_p = float((1 + np.sum(perm_spec >= spec)) / (1 + n_perm))
    r = [
        float(stats.pearsonr(y[:, k], pred[:, k])[0]) if np.ptp(pred[:, k]) > 0 else float("nan")
        for k in range(len(responses))
    ]
    result = pd.DataFrame(
        {"response": responses, "r": r, "mse": mse, "mse_group_mean": mse_mean, "skill": skill, "p_skill": p_skill}
    )
    predictions = pd.DataFrame({subject: groups})
    for k, name in enumerate(responses):
        predictions[name] = y[:, k]
        predictions[f"{name}_predicted"] = pred[:, k]
    return PredictionResult(
        result,
        spec,
        spec_p,
        top1,
        1.0 / subjects.size,
        predictions,
        {
            "alpha": alpha,
            "n_perm": n_perm,
            "n_subjects": int(subjects.size),
            "features": features,
            "cv": "leave-one-subject-out",
        },
    )


# -- identification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentificationResult:
    """Identification of subjects from two baselines each.

    Attributes
    ----------
    accuracy : float
        Fraction of correct identifications, averaged over both directions (database a -> target b and back).
    chance : float
        ``1 / n_subjects``.
    p : float
        One-sided binomial p-value of the correct count (both directions pooled) against chance.
    similarity : ndarray, shape (n_subjects, n_subjects)
        Similarity of standardised feature vectors (Pearson r, or minus the Euclidean distance), rows ``a``,
        columns ``b``.
    matches : pandas.DataFrame
        ``subject``, ``identified_from_a`` (best match of b's row among a), ``identified_from_b``, ``correct``.
    """

    accuracy: float
    chance: float
    p: float
    similarity: np.ndarray
    matches: pd.DataFrame
    features: list[str] = field(default_factory=list)


def identify_subjects(
    a: np.ndarray | pd.DataFrame,
    b: np.ndarray | pd.DataFrame,
    *,
    subjects: Sequence[str] | None = None,
    metric: str = "correlation",
    standardize: bool = True,
) -> IdentificationResult:
    """Identify each subject's baseline ``b`` among all baselines ``a`` (and back).

    Parameters
    ----------
    a, b : array (n_subjects, n_features) or DataFrame
        Feature vectors of each subject's two baselines (two sessions, or two halves of one), rows in the
        same subject order. Features are standardised over all 2n baselines; columns with a NaN or no
        variance are dropped.
    subjects : list of str, optional
        Subject labels (default the DataFrame index, or 0..n-1).
    metric : {"correlation", "euclidean"}
        Similarity of two standardised vectors: Pearson correlation over features (Finn et al. 2015; suits
        many features) or minus the Euclidean distance (suits a few features, where a correlation over
        them is noisy).
    standardize : bool
        Standardise each feature over the 2n baselines first (default); False correlates the raw vectors, as
        Finn et al. (2015) do with FC edges (Fisher z, already on one scale).
    """
    if metric not in ("correlation", "euclidean"):
        raise DataError(f"metric must be 'correlation' or 'euclidean', got {metric!r}")
    names = list(a.columns) if isinstance(a, pd.DataFrame) else None
    if subjects is None:
        subjects = [str(s) for s in a.index] if isinstance(a, pd.DataFrame) else [str(i) for i in range(len(a))]
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.ndim != 2 or xa.shape != xb.shape:
        raise DataError(f"a and b must be (n_subjects, n_features) of equal shape, got {xa.shape} and {xb.shape}")
    n = xa.shape[0]
    if n < 2 or len(subjects) != n:
        raise DataError(
            f"identification needs at least 2 subjects with one label each; got {n} rows, {len(subjects)} labels"
        )
    both = np.vstack([xa, xb])
    keep = np.isfinite(both).all(axis=0)
    keep[keep] = both[:, keep].std(axis=0) > 0
    if keep.sum() < 2:
        raise DataError("fewer than 2 finite, varying features; identification needs at least 2")
    both = both[:, keep]
    if standardize:
        both = (both - both.mean(axis=0)) / both.std(axis=0)
    za, zb = both[:n], both[n:]
    if metric == "correlation":
        similarity = np.corrcoef(za, zb)[:n, n:]
    else:
        similarity = -np.linalg.norm(za[:, None, :] - zb[None, :, :], axis=-1)
    from_a = np.argmax(similarity, axis=0)  # for each b, the best a
    from_b = np.argmax(similarity, axis=1)  # for each a, the best b
    correct = (from_a == np.arange(n)).astype(int) + (from_b == np.arange(n)).astype(int)
    k = int(correct.sum())
    p = float(stats.binomtest(k, 2 * n, 1.0 / n, alternative="greater").pvalue)
    matches = pd.DataFrame(
        {
            "subject": subjects,
            "identified_from_a": [subjects[i] for i in from_a],
            "identified_from_b": [subjects[i] for i in from_b],
            "correct": correct / 2,
        }
    )
    kept = [nm for nm, k_ in zip(names, keep, strict=True) if k_] if names else []
    return IdentificationResult(k / (2 * n), 1.0 / n, p, similarity, matches, kept)
