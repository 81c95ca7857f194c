"""Reliability statistics: the one-way intraclass correlation and the Spearman-Brown extrapolation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from adhesive_dots.errors import DataError


@dataclass(frozen=True)
class Icc:
    """A one-way random-effects intraclass correlation, ICC(1,1), with its F-based confidence interval."""

    value: float
    ci_low: float
    ci_high: float
    n_targets: int
    n_measurements: float
    between_variance: float
    within_variance: float


def compute_icc(groups: list[np.ndarray], *, confidence: float = 0.95) -> Icc:
    """ICC(1,1) of repeated measurements ``groups[i]`` (1-D) of target ``i`` (Shrout & Fleiss 1979).

    ``ICC = (MSB - MSW) / (MSB + (k0 - 1) MSW)`` from a one-way ANOVA, with ``k0`` the (unbalanced) mean group
    size of Snedecor & Cochran; it estimates ``var_between / (var_between + var_within)``: the reliability of a
    *single* measurement. Targets with fewer than 2 finite measurements are dropped. The interval is the exact
    F interval of the balanced design (approximate when unbalanced).

    Parameters
    ----------
    groups : list of ndarray
        The measurements of each target (here: a feature on disjoint sub-segments of one channel or baseline).
    confidence : float
        Level of the interval.

    Returns
    -------
    Icc
        NaN fields when fewer than 2 targets remain or the within-target variance is zero.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence must lie in (0, 1), got {confidence!r}")
    kept = [np.asarray(g, dtype=float)[np.isfinite(g)] for g in groups]
    kept = [g for g in kept if g.size >= 2]
    n = len(kept)
    nan = float("nan")
    if n < 2:
        return Icc(nan, nan, nan, n, nan, nan, nan)
    sizes = np.array([g.size for g in kept], dtype=float)
    total = sizes.sum()
    means = np.array([g.mean() for g in kept])
    grand = float(np.concatenate(kept).mean())
    ss_between = float(np.sum(sizes * (means - grand) ** 2))
    ss_within = float(sum(np.sum((g - g.mean()) ** 2) for g in kept))
    df_between, df_within = n - 1, total - n
    msb, msw = ss_between / df_between, ss_within / df_within
    k0 = (total - np.sum(sizes**2) / total) / (n - 1)
    if msw <= 0:
        return Icc(nan, nan, nan, n, float(k0), nan, 0.0)
    value = (msb - msw) / (msb + (k0 - 1) * msw)
    f_obs = msb / msw
    alpha = 1 - confidence
    f_low = f_obs / scipy.stats.f.ppf(1 - alpha / 2, df_between, df_within)
    f_high = f_obs * scipy.stats.f.ppf(1 - alpha / 2, df_within, df_between)
    return Icc(
        value=float(value),
        ci_low=float((f_low - 1) / (f_low + k0 - 1)),
        ci_high=float((f_high - 1) / (f_high + k0 - 1)),
        n_targets=n,
        n_measurements=float(k0),
        between_variance=float(max((msb - msw) / k0, 0.0)),
        within_variance=float(msw),
    )


def spearman_brown_length(reliability: float, length_s: float, target: float) -> float:
    """The length at which ``target`` is reached, extrapolated from ``reliability`` observed at ``length_s``.

    The Spearman-Brown prophecy ``R(m L) = m R / (1 + (m - 1) R)`` assumes the error variance of the estimate
    falls as ``1 / length`` (independent pieces); slow within-session fluctuation breaks that and makes the
    extrapolation optimistic. Returns ``length_s * target (1 - R) / (R (1 - target))`` (NaN when ``R <= 0``).
    """
    if not 0 < target < 1:
        raise DataError(f"target reliability must lie in (0, 1), got {target!r}")
    if not np.isfinite(reliability) or reliability <= 0:
        return float("nan")
    if reliability >= 1:
        return float(length_s)
    return float(length_s * target * (1 - reliability) / (reliability * (1 - target)))
