"""Figures of the reports: each builder returns a :class:`matplotlib.figure.Figure` (Agg canvas, no pyplot).

Every figure is drawn from a fingerprint's Dataset or a comparison's table (nothing is recomputed
here); :func:`figure_to_data_uri` embeds it as an SVG data URI, so a report is one self-contained
file and no script inside a figure can ever run (browsers never execute scripts of ``<img>`` SVG).
"""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg  # the Agg canvas, never pyplot's global state
from matplotlib.figure import Figure

from adhesive_dots.fingerprint.dfa import CURVATURE_LIMIT, compute_dfa_curvature

MAX_GROUPS = 8
"""At most this many channel groups in the PSD and DFA figures (more collapse to one group)."""
MAX_TRACES = 7
"""At most this many state features are drawn in the trajectory figure."""
FIG_WIDTH = 7.5
"""Width of every figure in inches."""
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "adhesive-dots",  # identical inputs -> identical SVG ids
    "svg.fonttype": "none",  # text as XML-escaped <text> elements: small files, selectable text
}


def _styled(builder):
    """Run a figure builder inside the report style (a local rc context: global rcParams are untouched)."""

    @functools.wraps(builder)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return builder(*args, **kwargs)

    return wrapper


def _figure(height: float, *, ncols: int = 1, nrows: int = 1, **kwargs) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(FIG_WIDTH, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def figure_to_svg(fig: Figure) -> str:
    """The figure as an SVG document (UTF-8 text, no date stamp, so identical inputs give identical files)."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "adhesive-dots"})
    return buffer.getvalue()


def figure_to_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/svg+xml;base64,...`` URI for an ``<img>`` element."""
    return "data:image/svg+xml;base64," + base64.b64encode(figure_to_svg(fig).encode("utf-8")).decode("ascii")


# -- channel groups -------------------------------------------------------------------------


def channel_groups(names: Sequence[str], *, max_groups: int = MAX_GROUPS) -> dict[str, np.ndarray]:
    """Group channels by the letters their names start with (``Fc5`` -> ``Fc``, ``roi012`` -> ``roi``).

    Parameters
    ----------
    names : sequence of str
        Channel names.
    max_groups : int
        When the prefixes make more groups than this, the first letter is used; when that still
        makes too many, one group ``"all"`` is returned.

    Returns
    -------
    dict of str to ndarray of int
        Group label -> indices of its channels, in the order groups first appear.
    """
    names = [str(n) for n in names]
    if not names:
        return {}
    for rule in (_prefix, lambda n: _prefix(n)[:1]):
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            groups.setdefault(rule(name) or "other", []).append(i)
        if len(groups) <= max_groups:
            return {k: np.asarray(v) for k, v in groups.items()}
    return {"all": np.arange(len(names))}


def _prefix(name: str) -> str:
    match = re.match(r"[A-Za-z]+", name.strip())
    return match.group(0).capitalize() if match else ""


def _quantiles(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"), _quiet():
        return tuple(np.nanquantile(values, q, axis=axis) for q in (0.5, 0.25, 0.75))  # type: ignore[return-value]


class _quiet:
    """Silence NumPy's all-NaN slice warnings inside a block (figures of flat channels)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def _message(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


# -- dot figures --------------------------------------------------------------------------------


_SUPERSCRIPTS = {"2": "²", "3": "³", "-1": "⁻¹", "-2": "⁻²"}


def typeset_units(units: str) -> str:
    """Units as a reader expects them: ``(V)**2/Hz`` -> ``V²/Hz``, ``log10(V**2)`` -> ``log₁₀ V²``,
    ``V x sqrt(samples)`` -> ``V·√samples``.

    >>> typeset_units("(V)**2/Hz"), typeset_units("log10((V)**2)"), typeset_units("(dF/F)**2/Hz")
    ('V²/Hz', 'log₁₀ V²', '(dF/F)²/Hz')
    """
    text = str(units)

    def power(m: re.Match) -> str:
        return m.group(1) + _SUPERSCRIPTS.get(m.group(2), "^" + m.group(2))

    text = re.sub(r"\((\w+)\)\*\*(-?\d)", power, text)  # (V)**2 -> V²
    text = re.sub(r"(\([^()]+\))\*\*(-?\d)", power, text)  # (dF/F)**2 -> (dF/F)²
    text = re.sub(r"(\w)\*\*(-?\d)", power, text)
    text = re.sub(r"(\w)\^2", r"\1²", text)
    text = re.sub(r"log10\(((?:[^()]|\([^()]*\))*)\)", r"log₁₀ \1", text)
    text = re.sub(r"sqrt\(([^()]*)\)", r"√\1", text)
    return text.replace(" x ", "·")


RHYTHM_MODALITIES = ("eeg", "meg", "ieeg", "lfp", "ecog")
"""Modalities whose signals have the named rhythms (alpha, beta ...); others get bands named by range."""


def feature_label(name: str, ds: xr.Dataset) -> str:
    """A window feature's name for a reader: ``log_power_alpha`` stays for EEG-like signals; for calcium,
    BOLD and other signals without those rhythms the band is named by its range (``log power 8–13 Hz``).

    >>> ds = xr.Dataset(attrs={"modality": "calcium", "parameters": '{"bands": {"alpha": [8.0, 13.0]}}'})
    >>> feature_label("log_power_alpha", ds), feature_label("aperiodic_exponent", ds)
    ('log power 8–13 Hz', 'aperiodic_exponent')
    """
    name = str(name)
    if not name.startswith("log_power_") or str(ds.attrs.get("modality", "")).lower() in RHYTHM_MODALITIES:
        return name
    band = name.removeprefix("log_power_")
    bands = _parameters(ds).get("bands") or {}
    if band not in bands:
        return name
    low, high = bands[band]
    return f"log power {low:g}–{high:g} Hz"


def _integer_ticks(axis) -> None:
    """Whole-number ticks on a count axis."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


@_styled
def psd_figure(ds: xr.Dataset, *, title: str = "") -> Figure:
    """Median PSD per channel group (shaded: inter-quartile range) with the aperiodic fit drawn over it.

    The fit line of each channel is ``10 ** (offset - log10(knee + f ** exponent))`` over the fit range
    (the fingerprint's ``aperiodic_*`` variables); the figure shows the median over the group's channels.
    """
    fig, axes = _figure(3.6)
    ax = axes[0, 0]
    freqs = ds["freq"].values
    psd = ds["psd"].values
    units = ds["psd"].attrs.get("units", "")
    fit_range = ds["aperiodic_exponent"].attrs.get("freq_range", [freqs[1] if freqs.size > 1 else 0, freqs[-1]])
    keep = freqs > 0
    in_fit = (freqs >= fit_range[0]) & (freqs <= fit_range[1])
    offset = ds["aperiodic_offset"].values
    exponent = ds["aperiodic_exponent"].values
    knee = np.nan_to_num(ds["aperiodic_knee"].values, nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fits = 10 ** (offset[:, None] - np.log10(knee[:, None] + freqs[None, in_fit] ** exponent[:, None]))
    for k, (label, idx) in enumerate(channel_groups(ds["channel"].values).items()):
        color = COLORS[k % len(COLORS)]
        mid, low, high = _quantiles(psd[idx][:, keep])
        ax.loglog(freqs[keep], mid, color=color, lw=1.4, label=f"{label} ({idx.size} ch)")
        ax.fill_between(freqs[keep], low, high, color=color, alpha=0.2, lw=0)
        fit_mid, _, _ = _quantiles(fits[idx])
        if np.isfinite(fit_mid).any():
            chi = np.nanmedian(exponent[idx]) if np.isfinite(exponent[idx]).any() else np.nan
            ax.loglog(freqs[in_fit], fit_mid, color=color, ls="--", lw=1.2, label=f"aperiodic fit, χ = {chi:.2f}")
    ax.axvspan(*fit_range, color="0.92", zorder=0, label=f"fit range {fit_range[0]:g}–{fit_range[1]:g} Hz")
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel(f"PSD ({typeset_units(units)})" if units else "PSD (units²/Hz)")
    ax.set_title(title or "Power spectral density by channel group (median, IQR) with aperiodic fit")
    ax.legend(ncols=2, loc="lower left")
    return fig


def _dfa_line(scales, fluct, exponent, fit_range):
    """A line of slope ``exponent`` through the geometric centre of ``fluct`` inside the fit range."""
    inside = (scales >= fit_range[0]) & (scales <= fit_range[1]) & np.isfinite(fluct) & (fluct > 0)
    if not inside.any() or not np.isfinite(exponent):
        return None, None
    x, y = np.log10(scales[inside]), np.log10(fluct[inside])
    intercept = y.mean() - exponent * x.mean()
    return scales[inside], 10 ** (intercept + exponent * np.log10(scales[inside]))


@_styled
def dfa_figure(ds: xr.Dataset) -> Figure:
    """DFA fluctuation functions F(n) with the fitted exponents and their fit ranges.

    Left: broadband signals per channel group (median over channels). Right: the amplitude envelopes
    (EEG/MEG/LFP) or the population signal (calcium, spikes), when the fingerprint has them.
    The dashed lines have the fingerprint's exponent as slope (placed through the data's centre).
    """
    slow = "envelope_dfa_fluctuation" in ds or "population_dfa_fluctuation" in ds
    fig, axes = _figure(3.4, ncols=2 if slow else 1)
    ax = axes[0, 0]
    scales = ds["scale"].values
    fluct = ds["dfa_fluctuation"].values
    fit_range = ds["dfa_exponent"].attrs.get("fit_range", [scales[0], scales[-1]])
    exponents = ds["dfa_exponent"].values
    r_squared = ds["dfa_r_squared"].values if "dfa_r_squared" in ds else np.full(exponents.shape, np.nan)
    curvature = compute_dfa_curvature(scales, fluct, fit_range=tuple(fit_range))
    for k, (label, idx) in enumerate(channel_groups(ds["channel"].values).items()):
        color = COLORS[k % len(COLORS)]
        mid, low, high = _quantiles(fluct[idx])
        with _quiet():
            alpha = float(np.nanmedian(exponents[idx]))
            r2 = float(np.nanmedian(r_squared[idx]))
            bend = float(np.nanmedian(curvature[idx]))
        note = f", curved ({bend:+.2f})" if abs(bend) > CURVATURE_LIMIT else ""
        ax.loglog(scales, mid, "o", ms=3, color=color, label=f"{label}: α = {alpha:.2f}, R² = {r2:.3f}{note}")
        ax.fill_between(scales, low, high, color=color, alpha=0.15, lw=0)
        x, y = _dfa_line(scales, mid, alpha, fit_range)
        if x is not None:
            ax.loglog(x, y, "--", color=color, lw=1)
    ax.axvspan(*fit_range, color="0.93", zorder=0)
    ax.set_xlabel("Window length n (s)")
    units = ds["dfa_fluctuation"].attrs.get("units", "")
    ax.set_ylabel(f"F(n) ({typeset_units(units)})" if units else "F(n)")
    ax.set_title(f"Broadband DFA (fit {fit_range[0]:.3g}–{fit_range[1]:.3g} s, shaded)")
    ax.legend(loc="upper left", fontsize="small")
    if slow:
        ax = axes[0, 1]
        slow_scales = ds["slow_scale"].values
        slow_range = _parameters(ds).get("slow_fit_range") or [slow_scales[0], slow_scales[-1]]
        if "envelope_dfa_fluctuation" in ds:
            for k, band in enumerate(ds["envelope_band"].values):
                color = COLORS[k % len(COLORS)]
                curve = ds["envelope_dfa_fluctuation"].sel(envelope_band=band).values
                mid, low, high = _quantiles(curve)
                with _quiet():  # all-NaN when every channel of the band is flat
                    alpha = float(np.nanmedian(ds["envelope_dfa_exponent"].sel(envelope_band=band).values))
                    r2 = float(np.nanmedian(ds["envelope_dfa_r_squared"].sel(envelope_band=band).values))
                ax.loglog(
                    slow_scales, mid, "o", ms=3, color=color, label=f"{band} envelope: α = {alpha:.2f}, R² = {r2:.3f}"
                )
                ax.fill_between(slow_scales, low, high, color=color, alpha=0.15, lw=0)
                x, y = _dfa_line(slow_scales, mid, alpha, slow_range)
                if x is not None:
                    ax.loglog(x, y, "--", color=color, lw=1)
            ax.set_title(f"Envelope DFA (fit {slow_range[0]:.3g}–{slow_range[1]:.3g} s)")
        else:
            curve = ds["population_dfa_fluctuation"].values
            alpha = float(ds["population_dfa_exponent"].values)
            ax.loglog(slow_scales, curve, "o", ms=3, color=COLORS[0], label=f"population: α = {alpha:.2f}")
            x, y = _dfa_line(slow_scales, curve, alpha, slow_range)
            if x is not None:
                ax.loglog(x, y, "--", color=COLORS[0], lw=1)
            ax.set_title(f"Population-signal DFA (fit {slow_range[0]:.3g}–{slow_range[1]:.3g} s)")
        ax.axvspan(*slow_range, color="0.93", zorder=0)
        ax.set_xlabel("Window length n (s)")
        ax.set_ylabel(f"F(n) ({ds.attrs.get('units') or 'signal units'})")
        ax.legend(loc="upper left")
    return fig


def _parameters(ds: xr.Dataset) -> dict:
    import json

    try:
        return json.loads(ds.attrs.get("parameters", "{}"))
    except ValueError:
        return {}


@_styled
def correlation_figure(ds: xr.Dataset) -> Figure:
    """The channel correlation matrix (when stored) and the eigenspectrum of the correlation matrix."""
    has_matrix = "correlation" in ds
    has_eig = "eigenvalues" in ds and ds["eigenvalues"].size > 0
    fig, axes = _figure(3.4, ncols=2)
    ax = axes[0, 0]
    if has_matrix:
        matrix = ds["correlation"].values
        names = [clean_channel_name(n) for n in ds["correlation"][ds["correlation"].dims[0]].values]
        off = matrix[~np.eye(matrix.shape[0], dtype=bool)]
        off = off[np.isfinite(off)]
        # symmetric about 0 and as wide as the off-diagonal values (the diagonal's 1 would wash them out)
        limit = float(np.clip(np.ceil(np.abs(off).max() * 10) / 10, 0.1, 1.0)) if off.size else 1.0
        shown = np.where(np.eye(matrix.shape[0], dtype=bool), np.nan, matrix)
        image = ax.imshow(shown, vmin=-limit, vmax=limit, cmap="RdBu_r", interpolation="nearest")
        fig.colorbar(image, ax=ax, label=f"Pearson r (1; diagonal blank, scale ±{limit:g})", shrink=0.85)
        step = max(1, int(np.ceil(len(names) / 24)))  # at most 24 readable labels
        ticks = np.arange(0, len(names), step)
        ax.set_xticks(ticks, [names[t] for t in ticks], rotation=90, fontsize=6)
        ax.set_yticks(ticks, [names[t] for t in ticks], fontsize=6)
        ax.set_xlabel("Channel (name)")
        ax.set_ylabel("Channel (name)")
        ax.set_title(f"Correlation matrix ({matrix.shape[0]} channels)")
    else:
        _message(ax, "correlation matrix not stored\n(one channel, or above max_channels)")
    ax = axes[0, 1]
    if has_eig:
        values = ds["eigenvalues"].values
        ranks = np.arange(1, values.size + 1)
        positive = values > 0
        ax.loglog(ranks[positive], values[positive], "o", ms=3, color=COLORS[0], label="eigenvalues")
        exponent = float(ds["eigenspectrum_exponent"].values) if "eigenspectrum_exponent" in ds else np.nan
        rank_range = ds["eigenspectrum_exponent"].attrs.get("rank_range") if "eigenspectrum_exponent" in ds else None
        if rank_range is not None and np.isfinite(exponent):
            inside = (ranks >= rank_range[0]) & (ranks <= rank_range[1]) & positive
            if inside.any():
                x, y = np.log10(ranks[inside]), np.log10(values[inside])
                intercept = y.mean() + exponent * x.mean()
                label = f"power law, exponent {exponent:.2f} (ranks {rank_range[0]}–{rank_range[1]})"
                ax.loglog(ranks[inside], 10 ** (intercept - exponent * x), "--", color=COLORS[1], label=label)
        ax.set_xlabel("Rank (index)")
        ax.set_ylabel("Eigenvalue (1, correlation units)")
        pr = float(ds["participation_ratio"].values) if "participation_ratio" in ds else np.nan
        ax.set_title(f"Eigenspectrum (participation ratio {pr:.1f})")
        ax.legend(loc="lower left")
    else:
        _message(ax, "no eigenspectrum (fewer than 2 channels)")
    return fig


@_styled
def trajectory_figure(ds: xr.Dataset, *, arousal_units: dict[str, str] | None = None) -> Figure:
    """The state trajectory (window features over time, z-scored) with the arousal traces below.

    Each state feature is shown as ``(x - mean) / sd`` over windows so they share one axis; the
    legend gives each feature's mean and sd in its own units. ``arousal_units`` maps an arousal
    signal's name to its units (the y-axis labels; default "signal units").
    """
    arousal_units = arousal_units or {}
    n_arousal = ds.sizes.get("arousal", 0)
    fig, axes = _figure(3.2 + 1.3 * n_arousal, nrows=1 + n_arousal, sharex=True)
    ax = axes[0, 0]
    if ds.sizes.get("window", 0) == 0:
        _message(ax, "baseline shorter than one window: no trajectory")
        return fig
    minutes = ds["window_time"].values / 60.0
    state = ds["state"]
    for k, name in enumerate(state["state_feature"].values[:MAX_TRACES]):
        values = state.sel(state_feature=name).values.astype(float)
        finite = np.isfinite(values)
        if finite.sum() == 0:
            continue
        mean, sd = float(np.mean(values[finite])), float(np.std(values[finite]))
        z = (values - mean) / sd if sd > 0 else values - mean
        ax.plot(minutes, z, "-o", ms=2.5, lw=1.2, color=COLORS[k % len(COLORS)],
                label=f"{feature_label(name, ds)} (mean {mean:.3g}, sd {sd:.2g})")  # fmt: skip
    ax.set_ylabel("Feature (z over windows)")
    window_s = _parameters(ds).get("window_s")
    ax.set_title(f"State trajectory ({window_s:g} s windows)" if window_s else "State trajectory")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    for i in range(n_arousal):
        ax = axes[i + 1, 0]
        name = str(ds["arousal"].values[i])
        ax.plot(minutes, ds["arousal_windows"].values[i], "-", color="0.2", lw=1.3)
        units = arousal_units.get(name) or "signal units"
        ax.set_ylabel(f"{name}\n({units})")
    axes[-1, 0].set_xlabel("Time from baseline start (min, window centres)")
    return fig


def state_units(ds: xr.Dataset, name: str) -> str:
    """Units of a state feature: the windowed log band power's for ``log_power_*``, else ``1``."""
    if str(name).startswith("log_power") and "window_log_band_power" in ds:
        return typeset_units(ds["window_log_band_power"].attrs.get("units", "log10(power)"))
    return "1"


# -- comparison figures -----------------------------------------------------------------------------


@_styled
def psd_pair_figure(ds_a: xr.Dataset, ds_b: xr.Dataset, labels: tuple[str, str]) -> Figure:
    """Median PSD over channels of two baselines on one axis (shaded: IQR)."""
    fig, axes = _figure(3.4)
    ax = axes[0, 0]
    for k, (ds, label) in enumerate(zip((ds_a, ds_b), labels, strict=True)):
        freqs = ds["freq"].values
        keep = freqs > 0
        mid, low, high = _quantiles(ds["psd"].values[:, keep])
        ax.loglog(freqs[keep], mid, color=COLORS[k], lw=1.4, label=label)
        ax.fill_between(freqs[keep], low, high, color=COLORS[k], alpha=0.2, lw=0)
    units = ds_a["psd"].attrs.get("units", "")
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel(f"PSD ({typeset_units(units)})" if units else "PSD (units²/Hz)")
    ax.set_title("Power spectral density, median over channels (IQR shaded)")
    ax.legend()
    return fig


@_styled
def differences_figure(features: pd.DataFrame) -> Figure:
    """Per-feature differences (b - a) in units of the baselines' within-sd, with their CIs.

    Rows come from :class:`~adhesive_dots.compare.BaselineComparison` ``features``; flagged
    features are drawn in red.
    """
    frame = features.reset_index(drop=True)
    fig, axes = _figure(1.0 + 0.32 * max(len(frame), 1))
    ax = axes[0, 0]
    if frame.empty:
        _message(ax, "no shared feature")
        return fig
    sd = frame["within_sd"].to_numpy(dtype=float)
    scale = np.where(np.isfinite(sd) & (sd > 0), sd, np.nan)
    diff = frame["difference"].to_numpy(dtype=float) / scale
    low = frame["ci_low"].to_numpy(dtype=float) / scale
    high = frame["ci_high"].to_numpy(dtype=float) / scale
    y = np.arange(len(frame))[::-1]
    colors = [COLORS[1] if bool(f) else COLORS[0] for f in frame["flagged"]]
    ax.hlines(y, low, high, colors=colors, lw=2)
    ax.scatter(diff, y, c=colors, s=18, zorder=3)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(y, [str(f) for f in frame["feature"]])
    ax.set_xlabel("Difference b − a (within-baseline sd units), with CI")
    ax.set_title("Per-feature differences (red: flagged)")
    return fig


@_styled
def null_figure(observed: float, null: np.ndarray, *, name: str, p: float) -> Figure:
    """A distance against its block-permutation null distribution."""
    fig, axes = _figure(2.4)
    ax = axes[0, 0]
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    if null.size == 0 or not np.isfinite(observed):
        _message(ax, f"{name}: not computed")
        return fig
    ax.hist(null, bins=min(30, max(5, null.size // 3)), color="0.7", label="permutation null")
    ax.axvline(observed, color=COLORS[1], lw=2, label=f"observed {observed:.3g} (p = {p:.3g})")
    ax.set_xlabel(f"{name} (1, features in within-sd units)" if "energy" in name else f"{name} (1)")
    ax.set_ylabel("Count (permutations)")
    _integer_ticks(ax.yaxis)
    ax.set_title(f"{name} against its null")
    ax.legend()
    return fig


@_styled
def trajectory_pair_figure(ds_a: xr.Dataset, ds_b: xr.Dataset, labels: tuple[str, str]) -> Figure:
    """The state features of two baselines over time, one panel per feature (raw units)."""
    names = [
        n
        for n in ds_a["state_feature"].values
        if n in set(ds_b["state_feature"].values)
        and any(np.isfinite(ds["state"].sel(state_feature=n).values).any() for ds in (ds_a, ds_b))
    ][:MAX_TRACES]  # no empty panels for features neither baseline can have (beta of 30 Hz calcium)
    ncols = 2
    nrows = max(1, int(np.ceil(len(names) / ncols)))
    fig, axes = _figure(1.6 * nrows + 0.6, ncols=ncols, nrows=nrows)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(names):
            ax.set_visible(False)
            continue
        for k, (ds, label) in enumerate(zip((ds_a, ds_b), labels, strict=True)):
            if ds.sizes.get("window", 0):
                ax.plot(ds["window_time"].values / 60, ds["state"].sel(state_feature=names[i]).values, "-o",
                        ms=2, lw=1, color=COLORS[k], label=label)  # fmt: skip
        ax.set_title(feature_label(names[i], ds_a), fontsize=8)
        ax.set_xlabel("Time (min)", fontsize=8)
        ax.set_ylabel(state_units(ds_a, names[i]), fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("State trajectories (window features, medians over channels)", fontsize=9)
    return fig


# -- catalog figures -------------------------------------------------------------------------------


@_styled
def counts_figure(counts: dict[str, pd.Series]) -> Figure:
    """Bar charts of dot counts, one panel per facet (species, paradigm, modality, lab)."""
    n = max(1, len(counts))
    ncols = 2
    nrows = int(np.ceil(n / ncols))
    fig, axes = _figure(2.3 * nrows, ncols=ncols, nrows=nrows)
    for ax, (facet, series) in zip(axes.ravel(), counts.items(), strict=False):
        if series.empty:
            _message(ax, f"no {facet}")
            continue
        labels = [str(v)[:28] for v in series.index]
        ax.barh(labels[::-1], series.to_numpy()[::-1], color=COLORS[0])
        ax.set_xlabel("Dots (count)")
        _integer_ticks(ax.xaxis)
        ax.set_title(f"By {facet}")
    for ax in axes.ravel()[len(counts) :]:
        ax.set_visible(False)
    return fig


@_styled
def minutes_figure(minutes: pd.DataFrame) -> Figure:
    """Minutes of baseline per lab, split into compliant and not compliant (stacked bars)."""
    fig, axes = _figure(0.9 + 0.35 * max(len(minutes), 2))
    ax = axes[0, 0]
    if minutes.empty:
        _message(ax, "no dots")
        return fig
    labels = [str(v)[:28] for v in minutes.index]
    ax.barh(labels, minutes["compliant"], color=COLORS[2], label="compliant")
    ax.barh(labels, minutes["other"], left=minutes["compliant"], color="0.75", label="not compliant / not validated")
    ax.set_xlabel("Baseline (minutes)")
    ax.set_title("Minutes of baseline by lab")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


@_styled
def quality_figure(scores: np.ndarray) -> Figure:
    """Histogram of the catalog's quality scores."""
    fig, axes = _figure(2.4)
    ax = axes[0, 0]
    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    if scores.size == 0:
        _message(ax, "no quality scores in the catalog yet")
        return fig
    ax.hist(scores, bins=min(20, max(5, scores.size)), color=COLORS[0])
    ax.set_xlabel("Quality score (1)")
    ax.set_ylabel("Dots (count)")
    _integer_ticks(ax.yaxis)
    ax.set_title("Quality scores")
    return fig


@_styled
def task_effects_figure(frame: pd.DataFrame, labels: tuple[str, str], *, max_features: int = 4) -> Figure:
    """The figure of the proposal: Spon.1, Task.1, Spon.2, Task.2 with Δ1 and Δ2, then naive vs adjusted.

    Parameters
    ----------
    frame : DataFrame
        One row per feature with ``feature``, ``units``, ``spon_1``, ``task_1``, ``spon_2``, ``task_2``
        (feature units), ``naive_z``, ``adjusted_z``, ``adjusted_ci_low``, ``adjusted_ci_high`` (pooled
        baseline-sd units), as built by the comparison report from two
        :func:`~adhesive_dots.compare.compute_task_effects` tables.
    labels : (str, str)
        Names of session 1 and session 2.
    max_features : int
        Top row: the features with the largest |naive - adjusted| (at most this many).
    """
    frame = frame.reset_index(drop=True)
    top = frame.reindex((frame["naive_z"] - frame["adjusted_z"]).abs().sort_values(ascending=False).index)
    top = top.head(max_features)
    ncols = max(1, len(top))
    fig = Figure(figsize=(FIG_WIDTH, 3.0 + 0.3 * len(frame) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, ncols, height_ratios=[2.6, 0.6 + 0.3 * len(frame)])
    x = np.array([0.0, 1.0, 2.5, 3.5])
    for j, row in enumerate(top.itertuples()):
        ax = fig.add_subplot(grid[0, j])
        values = np.array([row.spon_1, row.task_1, row.spon_2, row.task_2], dtype=float)
        ax.plot(x[:2], values[:2], "o", color=COLORS[0])
        ax.plot(x[2:], values[2:], "o", color=COLORS[1])
        for k, (i0, i1) in enumerate(((0, 1), (2, 3))):
            ax.annotate("", xy=(x[i1], values[i1]), xytext=(x[i0], values[i0]),
                        arrowprops={"arrowstyle": "->", "color": COLORS[k], "lw": 1.2})  # fmt: skip
            ax.text((x[i0] + x[i1]) / 2, (values[i0] + values[i1]) / 2, f"Δ{k + 1}", ha="center", va="bottom",
                    color=COLORS[k], fontsize=8)  # fmt: skip
        ax.set_xticks(x, ["Spon.1", "Task.1", "Spon.2", "Task.2"], fontsize=7, rotation=45)
        ax.set_xlim(-0.5, 4.0)
        ax.margins(y=0.15)
        ax.set_title(str(row.feature), fontsize=8)
        ax.set_ylabel(f"Value ({row.units})", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    y = np.arange(len(frame))[::-1]
    ax.scatter(frame["naive_z"], y + 0.15, color="0.45", marker="s", s=16, label="naive: Task.2 − Task.1")
    ax.hlines(y - 0.15, frame["adjusted_ci_low"], frame["adjusted_ci_high"], color=COLORS[1], lw=2)
    ax.scatter(frame["adjusted_z"], y - 0.15, color=COLORS[1], s=16, label="baseline-adjusted: Δ2 − Δ1 (CI)")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(y, [str(f) for f in frame["feature"]], fontsize=7)
    ax.set_xlabel("Difference between sessions (pooled baseline sd units)")
    ax.legend(loc="lower right", fontsize=7)
    fig.suptitle(f"Task effects relative to baseline: 1 = {labels[0]}, 2 = {labels[1]}", fontsize=9)
    return fig


# -- scalp maps ------------------------------------------------------------------------------------

TOPOMAP_MIN_CHANNELS = 4
"""Channels that must match the standard montage for scalp maps."""
TOPOMAP_MODALITIES = ("eeg", "meg", "")
"""Modalities (the fingerprint's ``modality`` attribute) whose channels may lie on the scalp."""
STANDARD_MONTAGE = "colin27_1005"
"""MNE's 10-05 montage (the former ``standard_1005``, renamed in MNE 1.13)."""


def clean_channel_name(name: str) -> str:
    """A channel name as the standard montages spell it: EDF padding dots and spaces removed (``O1..`` -> ``O1``,
    ``Fc5.`` -> ``Fc5``), as MNE's montage matching needs."""
    return str(name).strip().strip(".").strip()


def scalp_channels(names: Sequence[str], *, montage: str = STANDARD_MONTAGE) -> tuple[np.ndarray, list[str]]:
    """Indices of ``names`` found in MNE's standard ``montage`` (case-insensitive, cleaned) and their
    montage spellings."""
    import mne

    standard = {n.lower(): n for n in mne.channels.make_standard_montage(montage).ch_names}
    index, matched = [], []
    for i, name in enumerate(names):
        hit = standard.get(clean_channel_name(name).lower())
        if hit is not None and hit not in matched:
            index.append(i)
            matched.append(hit)
    return np.asarray(index, dtype=int), matched


def has_scalp_layout(ds: xr.Dataset) -> bool:
    """Whether the fingerprint's channels place at least :data:`TOPOMAP_MIN_CHANNELS` on a standard montage."""
    if str(ds.attrs.get("modality", "")).lower() not in TOPOMAP_MODALITIES:
        return False
    index, _ = scalp_channels([str(c) for c in ds["channel"].values])
    return index.size >= TOPOMAP_MIN_CHANNELS


@_styled
def topomap_figure(ds: xr.Dataset, *, bands: Sequence[str] = ("theta", "alpha", "beta")) -> Figure:
    """Scalp maps (MNE ``plot_topomap``, 10-05 positions of :data:`STANDARD_MONTAGE`) of log10 band power
    and of the aperiodic exponent, per channel on the montage."""
    import mne

    index, matched = scalp_channels([str(c) for c in ds["channel"].values])
    info = mne.create_info(matched, sfreq=float(ds.attrs.get("fs", 100.0)), ch_types="eeg")
    with _quiet():
        info.set_montage(mne.channels.make_standard_montage(STANDARD_MONTAGE), on_missing="ignore")
    available = [b for b in bands if "band_power" in ds and b in set(map(str, ds["band"].values))]
    maps = []
    units = typeset_units(ds["band_power"].attrs.get("units", "power")) if "band_power" in ds else ""
    for band in available:
        with _quiet():
            values = np.log10(ds["band_power"].sel(band=band).values[index])
        maps.append((f"{band} power", f"log₁₀ {units}", values))
    if "aperiodic_exponent" in ds:
        maps.append(("aperiodic exponent", "χ (1)", ds["aperiodic_exponent"].values[index]))
    fig, axes = _figure(2.6, ncols=max(1, len(maps)))
    for ax, (title, label, values) in zip(axes.ravel(), maps, strict=False):
        finite = np.isfinite(values)
        if finite.sum() < TOPOMAP_MIN_CHANNELS:
            _message(ax, f"{title}: too few channels")
            continue
        picked = mne.pick_info(info, np.flatnonzero(finite))
        image, _ = mne.viz.plot_topomap(values[finite], picked, axes=ax, show=False, cmap="viridis", contours=4)
        fig.colorbar(image, ax=ax, shrink=0.7, label=label)
        ax.set_title(title)
    fig.suptitle(f"Scalp maps ({len(matched)} channels on the standard 10-05 montage)")
    return fig


# -- fMRI figures -------------------------------------------------------------------------------


def _roi_ticks(ax, names: Sequence[str], *, max_labels: int = 40) -> None:
    """ROI names on both axes (every k-th when there are more than ``max_labels``)."""
    step = max(1, int(np.ceil(len(names) / max_labels)))
    ticks = np.arange(0, len(names), step)
    ax.set_xticks(ticks, [str(names[i]) for i in ticks], rotation=90, fontsize=6)
    ax.set_yticks(ticks, [str(names[i]) for i in ticks], fontsize=6)


@_styled
def fc_figure(ds: xr.Dataset) -> Figure:
    """The functional connectivity matrix (Fisher z of Pearson r) with ROI names, and its edge distribution."""
    fig, axes = _figure(4.6, ncols=2, width_ratios=[1.4, 1])
    z = ds["fc_fisher_z"].values
    names = [str(c) for c in ds["channel"].values]
    ax = axes[0, 0]
    finite = z[np.isfinite(z)]
    limit = float(np.nanpercentile(np.abs(finite), 98)) if finite.size else 1.0
    image = ax.imshow(z, vmin=-limit, vmax=limit, cmap="RdBu_r", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Fisher z (1)", shrink=0.8)
    _roi_ticks(ax, names)
    ax.set_title(f"Functional connectivity ({len(names)} ROIs)")
    ax = axes[0, 1]
    edges = z[np.triu_indices(len(names), k=1)]
    edges = edges[np.isfinite(edges)]
    if edges.size:
        ax.hist(edges, bins=min(40, max(5, edges.size // 3)), color=COLORS[0], alpha=0.8)
        ax.axvline(float(np.mean(edges)), color=COLORS[1], ls="--", label=f"mean z = {np.mean(edges):.2f}")
        ax.legend(loc="upper right")
    else:
        _message(ax, "no edge (one ROI)")
    ax.set_xlabel("Fisher z (1)")
    ax.set_ylabel("Edges (count)")
    ax.set_title("Edge distribution")
    return fig


@_styled
def bold_spectrum_figure(ds: xr.Dataset) -> Figure:
    """The BOLD spectrum (median over ROIs, IQR shaded) with the ALFF band and slow-5/slow-4 marked."""
    fig, axes = _figure(3.6)
    ax = axes[0, 0]
    freqs, psd = ds["freq"].values, ds["psd"].values
    keep = freqs > 0
    mid, low, high = _quantiles(psd[:, keep])
    ax.loglog(freqs[keep], mid, color=COLORS[0], lw=1.4, label=f"median over {psd.shape[0]} ROIs")
    ax.fill_between(freqs[keep], low, high, color=COLORS[0], alpha=0.2, lw=0)
    band = ds["falff"].attrs.get("band_hz", [0.01, 0.08])
    falff = float(np.nanmedian(ds["falff"].values)) if np.isfinite(ds["falff"].values).any() else np.nan
    ax.axvspan(
        band[0], band[1], color="0.85", zorder=0, label=f"ALFF band {band[0]:g}–{band[1]:g} Hz (fALFF {falff:.2f})"
    )
    if "slow_band" in ds.coords:
        edges = list(ds["slow_band_power"].attrs.get("band_edges_hz", []))
        for k, name in enumerate(ds["slow_band"].values):
            if 2 * k < len(edges):
                color = COLORS[(k + 2) % len(COLORS)]
                ax.axvline(edges[2 * k], color=color, ls=":", lw=1, label=f"{name} from {edges[2 * k]:g} Hz")
    nyquist = 0.5 * float(ds.attrs.get("fs", 2 * freqs[-1]))
    ax.axvline(nyquist, color="0.3", lw=0.8, label=f"Nyquist {nyquist:.3g} Hz")
    ax.set_xlabel("Frequency (Hz)")
    units = ds["psd"].attrs.get("units", "")
    ax.set_ylabel(f"PSD ({units})" if units else "PSD (units²/Hz)")
    ax.set_title("BOLD spectrum with the ALFF band (0.01–0.08 Hz)")
    ax.legend(loc="lower left", fontsize=7)
    return fig


@_styled
def motion_figure(
    fd: np.ndarray | None, motion: Mapping[str, np.ndarray], fs: float, *, threshold: float = 0.5
) -> Figure:
    """Framewise displacement (mm) with the scrubbing threshold, and the six motion parameters over the run."""
    fig, axes = _figure(4.2, nrows=2, sharex=True)
    ax = axes[0, 0]
    if fd is not None:
        t = np.arange(fd.size) / fs
        above = np.nan_to_num(fd) > threshold
        ax.plot(t, fd, color=COLORS[0], lw=1, label=f"FD (mean {np.nanmean(fd):.3f} mm)")
        ax.axhline(
            threshold, color=COLORS[1], ls="--", lw=1, label=f"{threshold:g} mm: {int(above.sum())} volumes above"
        )
        ax.legend(loc="upper right")
    else:
        _message(ax, "no framewise displacement in the confounds")
    ax.set_ylabel("FD (mm)")
    ax.set_title("Head motion")
    ax = axes[1, 0]
    for k, (name, values) in enumerate(motion.items()):
        t = np.arange(values.size) / fs
        scale, unit = (1.0, "mm") if name.startswith("trans") else (180 / np.pi, "deg")
        ax.plot(t, values * scale, color=COLORS[k % len(COLORS)], lw=0.9, label=f"{name} ({unit})")
    if motion:
        ax.legend(ncols=3, loc="upper left", fontsize=7)
    else:
        _message(ax, "no motion parameters in the confounds")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("mm / deg")
    return fig
