"""Diversity of baselines vs task segments: how much do spontaneous-activity fingerprints vary across sessions,
subjects and labs compared with task-segment fingerprints on the same features?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.errors import DataError


@dataclass(frozen=True)
class Diversity:
    """Dispersion of baseline fingerprints relative to task-segment fingerprints.

    Attributes
    ----------
    ratio : float
        Overall dispersion ratio baseline / task (below 1: baselines vary less than tasks).
    ci_low, ci_high : float
        Its bootstrap percentile interval.
    baseline_dispersion, task_dispersion : float
        RMS distance to the centroid of the standardised features (see :func:`compute_diversity`).
    per_feature : DataFrame
        Columns ``feature``, ``baseline_sd``, ``task_sd``, ``ratio`` (= baseline_sd / task_sd), ``ci_low``,
        ``ci_high`` (in the features' own units).
    levels : DataFrame
        Columns ``level``, ``n_groups``, ``ratio``, ``ci_low``, ``ci_high``: the overall ratio of the group-mean
        fingerprints at each grouping level (e.g. between labs, between subjects).
    features : tuple of str
        The features used (finite in every row).
    dropped : tuple of str
        Features left out (non-finite in some row, or constant in both sets).
    cluster : str or None
        The grouping column resampled by the bootstrap (None: rows).
    n_boot : int
    confidence : float
    """

    ratio: float
    ci_low: float
    ci_high: float
    baseline_dispersion: float
    task_dispersion: float
    per_feature: pd.DataFrame
    levels: pd.DataFrame
    features: tuple[str, ...]
    dropped: tuple[str, ...]
    cluster: str | None
    n_boot: int
    confidence: float
    n_baseline: int = 0
    n_task: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None)."""

        def clean(value):
            return None if isinstance(value, float) and not np.isfinite(value) else value

        def rows(frame):
            return [{k: clean(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]

        return {
            "ratio": clean(self.ratio),
            "ci": [clean(self.ci_low), clean(self.ci_high)],
            "confidence": self.confidence,
            "baseline_dispersion": clean(self.baseline_dispersion),
            "task_dispersion": clean(self.task_dispersion),
            "n_baseline": self.n_baseline,
            "n_task": self.n_task,
            "cluster": self.cluster,
            "n_boot": self.n_boot,
            "features": list(self.features),
            "dropped": list(self.dropped),
            "per_feature": rows(self.per_feature),
            "levels": rows(self.levels),
        }


def _as_matrix(values, names, label) -> tuple[np.ndarray, list[str]]:
    if isinstance(values, pd.DataFrame):
        return values.to_numpy(dtype=float), [str(c) for c in values.columns]
    array = np.asarray(values, dtype=float)
    if array.ndim != 2:
        raise DataError(f"{label} must be a 2-D (n_rows, n_features) array or DataFrame, got shape {array.shape}")
    cols = [f"f{i}" for i in range(array.shape[1])] if names is None else [str(n) for n in names]
    if len(cols) != array.shape[1]:
        raise DataError(f"{len(cols)} feature_names for {array.shape[1]} columns of {label}")
    return array, cols


def _as_groups(groups, n_rows, label) -> pd.DataFrame | None:
    if groups is None:
        return None
    frame = pd.DataFrame(groups).reset_index(drop=True).astype(str)
    if len(frame) != n_rows:
        raise DataError(f"{label} has {len(frame)} rows for {n_rows} fingerprints; give one row per fingerprint")
    return frame


def _dispersion_ratio(b: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Overall ratio, baseline and task dispersion of standardised features (see compute_diversity)."""
    var_b = b.var(axis=0, ddof=1)
    var_t = t.var(axis=0, ddof=1)
    scale = (var_b + var_t) / 2.0
    keep = scale > 0
    if not keep.any():
        return float("nan"), float("nan"), float("nan")
    disp_b = float(np.sqrt(np.sum(var_b[keep] / scale[keep])))
    disp_t = float(np.sqrt(np.sum(var_t[keep] / scale[keep])))
    return (disp_b / disp_t if disp_t > 0 else float("nan")), disp_b, disp_t


def _group_means(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    sums = np.zeros((inverse.max() + 1, x.shape[1]))
    np.add.at(sums, inverse, x)
    return sums / np.bincount(inverse)[:, None]


def compute_diversity(
    baseline_features: np.ndarray | pd.DataFrame,
    task_features: np.ndarray | pd.DataFrame,
    *,
    feature_names: Sequence[str] | None = None,
    groups: pd.DataFrame | dict | None = None,
    task_groups: pd.DataFrame | dict | None = None,
    cluster: str | None = "auto",
    n_boot: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> Diversity:
    """Dispersion of baseline fingerprints relative to task-segment fingerprints, with bootstrap CIs.

    Each feature is standardised by the pooled within-set variance ``s_f**2 = (var_b,f + var_t,f) / 2`` (so a
    shift of the task mean does not count as dispersion, and every feature weighs the same); the dispersion of
    a set is its RMS distance to its own centroid in that space, ``D = sqrt(sum_f var_f / s_f**2)`` (the square
    root of the total variance, as in multivariate dispersion tests). The overall ratio is ``D_baseline /
    D_task``; per feature it is ``sd_baseline / sd_task``. Below 1, baselines vary less across the rows
    (sessions, subjects, labs) than task segments do; the function makes no verdict.

    Uncertainty: a cluster bootstrap resamples the ``cluster`` groups with replacement (``"auto"``: the coarsest
    of ``lab``, ``subject``, ``session`` present in ``groups`` with at least 5 groups, else rows); when baselines
    and tasks come from the same groups, the same draw resamples both (a paired bootstrap). Percentile intervals.

    Parameters
    ----------
    baseline_features : ndarray (n_baseline, n_features) or DataFrame
        One fingerprint per row (e.g. :meth:`~adhesive_dots.fingerprint.Fingerprint.summary_vector`).
    task_features : ndarray (n_task, n_features) or DataFrame
        Task-segment fingerprints on the same features (same columns).
    feature_names : sequence of str, optional
        Names of the columns (arrays only).
    groups, task_groups : DataFrame or dict of columns, optional
        Grouping labels per row (e.g. ``lab``, ``subject``, ``session``); ``task_groups`` defaults to ``groups``
        when both sets have the same number of rows. Each column also gives a between-group ratio (``levels``);
        labels must be unique across the corpus (``lab0-sub1-ses0``, not ``ses0`` in every subject).
    cluster : str, "auto" or None
        The grouping column the bootstrap resamples.
    n_boot : int
        Bootstrap replicates (>= 100).
    confidence : float
        Level of the intervals.
    rng : Generator, int or None
        Randomness of the bootstrap.

    Returns
    -------
    Diversity
    """
    b, names_b = _as_matrix(baseline_features, feature_names, "baseline_features")
    t, names_t = _as_matrix(task_features, feature_names, "task_features")
    if names_b != names_t:
        raise DataError(f"baseline and task features differ: {names_b} vs {names_t}; pass the same columns")
    if b.shape[0] < 3 or t.shape[0] < 3:
        raise DataError(f"need at least 3 baseline and 3 task fingerprints, got {b.shape[0]} and {t.shape[0]}")
    if not 0 < confidence < 1:
        raise DataError(f"confidence must lie in (0, 1), got {confidence!r}")
    if int(n_boot) < 100:
        raise DataError(f"n_boot must be >= 100 for percentile intervals, got {n_boot!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    gb = _as_groups(groups, b.shape[0], "groups")
    if task_groups is None and gb is not None and t.shape[0] == b.shape[0]:
        gt = gb
    else:
        gt = _as_groups(task_groups, t.shape[0], "task_groups")
    if (gb is None) != (gt is None) or (gb is not None and list(gb.columns) != list(gt.columns)):
        raise DataError("groups and task_groups must both be given with the same columns (or neither)")

    finite = np.all(np.isfinite(b), axis=0) & np.all(np.isfinite(t), axis=0)
    keep = finite.copy()
    keep[finite] = (b[:, finite].var(axis=0) + t[:, finite].var(axis=0)) > 0
    features = tuple(n for n, k in zip(names_b, keep, strict=True) if k)
    dropped = tuple(n for n, k in zip(names_b, keep, strict=True) if not k)
    if not features:
        raise DataError(f"no feature is finite in every row and non-constant (columns {names_b})")
    b, t = b[:, keep], t[:, keep]

    if cluster == "auto":
        cluster = None
        if gb is not None:
            for name in ("lab", "subject", "session"):
                if name in gb.columns and pd.concat([gb[name], gt[name]]).nunique() >= 5:
                    cluster = name
                    break
    if cluster is not None and (gb is None or cluster not in gb.columns):
        raise DataError(f"cluster {cluster!r} is not a column of groups ({None if gb is None else list(gb.columns)})")
    paired = gb is not None and gt is gb
    independent = cluster is None and not paired  # rows of the two sets are unrelated: resample each on its own
    if cluster is not None:
        units_b, units_t = gb[cluster].to_numpy(), gt[cluster].to_numpy()
    elif paired:
        units_b = units_t = np.arange(b.shape[0]).astype(str)
    else:
        units_b = np.char.add("b", np.arange(b.shape[0]).astype(str))
        units_t = np.char.add("t", np.arange(t.shape[0]).astype(str))
    units = np.unique(np.concatenate([units_b, units_t]))
    rows_b = {u: np.flatnonzero(units_b == u) for u in units}
    rows_t = {u: np.flatnonzero(units_t == u) for u in units}

    level_names = [] if gb is None else list(gb.columns)
    nested = {}  # a level whose groups each lie inside one resampled unit: a unit drawn twice gives two groups
    for level in level_names:
        both = pd.DataFrame(
            {"level": np.concatenate([gb[level], gt[level]]), "unit": np.concatenate([units_b, units_t])}
        )
        nested[level] = bool((both.groupby("level")["unit"].nunique() == 1).all())

    def statistics(ib, it, draw_ids_b=None, draw_ids_t=None):
        xb, xt = b[ib], t[it]
        overall, disp_b, disp_t = _dispersion_ratio(xb, xt)
        sd_b, sd_t = xb.std(axis=0, ddof=1), xt.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = sd_b / sd_t
        level_ratios = []
        for level in level_names:
            lb, lt = gb[level].to_numpy()[ib], gt[level].to_numpy()[it]
            if draw_ids_b is not None and nested[level]:  # a group drawn twice counts twice
                lb, lt = np.char.add(lb.astype(str), draw_ids_b), np.char.add(lt.astype(str), draw_ids_t)
            mb, mt = _group_means(xb, lb), _group_means(xt, lt)
            level_ratios.append(_dispersion_ratio(mb, mt)[0] if min(len(mb), len(mt)) >= 2 else np.nan)
        return overall, disp_b, disp_t, sd_b, sd_t, per, np.array(level_ratios)

    overall, disp_b, disp_t, sd_b, sd_t, per, level_ratio = statistics(np.arange(b.shape[0]), np.arange(t.shape[0]))
    boot_overall = np.full(int(n_boot), np.nan)
    boot_per = np.full((int(n_boot), len(features)), np.nan)
    boot_levels = np.full((int(n_boot), len(level_names)), np.nan)
    for k in range(int(n_boot)):
        if independent:
            ib = rng.integers(0, b.shape[0], b.shape[0])
            it = rng.integers(0, t.shape[0], t.shape[0])
            ids_b = np.char.add("#", np.arange(ib.size).astype(str))
            ids_t = np.char.add("#", np.arange(it.size).astype(str))
        else:
            drawn = rng.choice(units, size=units.size, replace=True)
            ib = np.concatenate([rows_b[u] for u in drawn])
            it = np.concatenate([rows_t[u] for u in drawn])
            ids_b = np.concatenate([np.full(rows_b[u].size, f"#{d}") for d, u in enumerate(drawn)])
            ids_t = np.concatenate([np.full(rows_t[u].size, f"#{d}") for d, u in enumerate(drawn)])
        if ib.size < 3 or it.size < 3:
            continue
        o, _, _, _, _, p, lv = statistics(ib, it, ids_b, ids_t)
        boot_overall[k], boot_per[k], boot_levels[k] = o, p, lv
    alpha = (1 - confidence) / 2

    def interval(values):
        values = values[np.isfinite(values)]
        if values.size < 10:
            return float("nan"), float("nan")
        low, high = np.quantile(values, [alpha, 1 - alpha])
        return float(low), float(high)

    per_ci = [interval(boot_per[:, f]) for f in range(len(features))]
    per_feature = pd.DataFrame(
        {
            "feature": list(features),
            "baseline_sd": sd_b,
            "task_sd": sd_t,
            "ratio": per,
            "ci_low": [c[0] for c in per_ci],
            "ci_high": [c[1] for c in per_ci],
        }
    )
    level_rows = []
    for i, level in enumerate(level_names):
        low, high = interval(boot_levels[:, i])
        n_groups = int(pd.concat([gb[level], gt[level]]).nunique())
        level_rows.append(
            {"level": level, "n_groups": n_groups, "ratio": float(level_ratio[i]), "ci_low": low, "ci_high": high}
        )
    levels = pd.DataFrame(level_rows, columns=["level", "n_groups", "ratio", "ci_low", "ci_high"])
    low, high = interval(boot_overall)
    return Diversity(
        ratio=float(overall),
        ci_low=low,
        ci_high=high,
        baseline_dispersion=disp_b,
        task_dispersion=disp_t,
        per_feature=per_feature,
        levels=levels,
        features=features,
        dropped=dropped,
        cluster=cluster,
        n_boot=int(n_boot),
        confidence=float(confidence),
        n_baseline=int(b.shape[0]),
        n_task=int(t.shape[0]),
        attrs={
            "paired": bool(paired),
            "standardisation": "pooled within-set variance",
            "dispersion": "RMS distance to centroid",
        },
    )
