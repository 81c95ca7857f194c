"""Figures of sufficiency and diversity results (report layer: matplotlib's Agg canvas, never pyplot).

Nothing is recomputed: the figures draw :meth:`Sufficiency.curves`, :meth:`Sufficiency.dfa` and
:attr:`Diversity.per_feature`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from adhesive_dots.sufficiency import Diversity, Sufficiency

FIG_WIDTH = 7.5
"""Width in inches."""


def _figure(height: float, ncols: int) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(FIG_WIDTH, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def plot_sufficiency(result: Sufficiency, *, max_features: int = 12) -> Figure:
    """Reliability (or relative RMS error) of each feature against length, and the DFA exponent's interval.

    Left: one line per feature with a criterion (reliability with its 95 % CI where an ICC gives one, or the
    relative RMS error under the precision criterion, dashed, in its own panel), the targets as horizontal lines.
    Axes: ``fig.axes[0]`` the reliability curves (or the precision curves when there is no reliability),
    ``fig.axes[1]`` the DFA, ``fig.axes[2]`` the precision curves when both kinds exist.
    Right: the DFA exponent of one segment of each length, mean and 95 % interval, and the longest DFA scale
    the length supports (top axis labels).

    Parameters
    ----------
    result : Sufficiency
    max_features : int
        At most this many features are drawn (those with the most finite points first).

    Returns
    -------
    matplotlib.figure.Figure
    """
    curves = result.curves()
    reliability = curves[curves["basis"].isin(["channels", "corpus", "reference"])]
    precision = curves[curves["basis"] == "precision"]
    both = not reliability.empty and not precision.empty
    fig, axes = _figure(3.6, 3 if both else 2)
    ax, ax_dfa = axes[0], axes[1]

    def top(frame, column):
        counts = frame.assign(ok=np.isfinite(frame[column])).groupby("feature", sort=False)["ok"].sum()
        counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
        return set(counts.index[:max_features])

    reliability = reliability[reliability["feature"].isin(top(reliability, "reliability"))]
    precision = precision[precision["feature"].isin(top(precision, "relative_error"))]
    for name, rows in reliability.groupby("feature", sort=False):
        ax.errorbar(rows["length"], rows["reliability"],
                    yerr=[rows["reliability"] - rows["reliability_ci_low"],
                          rows["reliability_ci_high"] - rows["reliability"]],
                    marker="o", ms=3, capsize=2, label=name)  # fmt: skip
    tolerance = float(result.dataset.attrs["tolerance"])
    ax.set_xscale("log")
    lengths = result.dataset["length"].values
    ax.set_xticks(lengths, [f"{v:g}" for v in lengths])
    ax.minorticks_off()
    ax.set_xlabel("segment length (s)")
    if not reliability.empty:
        ax.axhline(result.target, color="k", lw=0.8, ls=":")
        ax.set_ylabel("reliability (ICC)")
        ax.set_title(f"reliability, target {result.target:g}")
    if not precision.empty:
        ax_p = axes[2] if both else ax
        if both:
            ax_p.set_xscale("log")
            ax_p.set_xticks(lengths, [f"{v:g}" for v in lengths])
            ax_p.minorticks_off()
            ax_p.set_xlabel("segment length (s)")
        for name, rows in precision.groupby("feature", sort=False):
            ax_p.plot(rows["length"], rows["relative_error"], ls="--", marker=".", label=f"{name} (rel. error)")
        ax_p.axhline(tolerance, color="grey", lw=0.8, ls="--")
        ax_p.set_ylabel("relative RMS error vs whole record")
        ax_p.set_title(f"precision, target {tolerance:g}")
        ax_p.legend(fontsize=6, loc="upper right")
    if not reliability.empty:
        ax.legend(fontsize=6, loc="lower right")
    dfa = result.dfa()
    ax_dfa.fill_between(dfa["length_s"], dfa["ci_low"], dfa["ci_high"], alpha=0.3, label="95 % interval")
    ax_dfa.plot(dfa["length_s"], dfa["exponent_mean"], marker="o", label="mean")
    ax_dfa.set_xscale("log")
    ax_dfa.set_xticks(dfa["length_s"], [f"{v:g}\n(≤{s:g} s)" for v, s in zip(dfa["length_s"], dfa["dfa_max_scale_s"],
                                                                            strict=True)])  # fmt: skip
    ax_dfa.minorticks_off()
    ax_dfa.set_xlabel("segment length (s) (longest DFA scale)")
    ax_dfa.set_ylabel(f"DFA exponent ({dfa['feature'].iloc[0]})")
    ax_dfa.legend(fontsize=7)
    return fig


def plot_diversity(result: Diversity) -> Figure:
    """Per-feature dispersion ratio (baseline SD / task SD) with bootstrap intervals, log scale; 1 marked.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = result.per_feature
    fig, (ax,) = _figure(0.6 + 0.22 * (len(table) + 1), 1)
    y = np.arange(len(table) + 1)
    ratios = np.concatenate([[result.ratio], table["ratio"].to_numpy()])
    low = np.concatenate([[result.ci_low], table["ci_low"].to_numpy()])
    high = np.concatenate([[result.ci_high], table["ci_high"].to_numpy()])
    ax.errorbar(ratios, y, xerr=[ratios - low, high - ratios], fmt="o", ms=3, capsize=2)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set_yticks(y, ["overall"] + list(table["feature"]))
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"dispersion ratio baseline / task ({result.confidence:.0%} bootstrap, {result.cluster or 'rows'})")
    return fig
