"""Collect what a report shows (dot, comparison, catalog) and render it with jinja2 (autoescape on)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from adhesive_dots.core import Baseline, Finding, Severity
from adhesive_dots.errors import DataError, SourceNotFoundError, option
from adhesive_dots.fingerprint import FingerprintParams, shared_params
from adhesive_dots.io.sources import SourceSpec, expand_one, open_baseline
from adhesive_dots.metadata import DotMetadata
from adhesive_dots.report import _figures as figs

CATALOG_SUFFIXES = (".duckdb", ".db")
"""A single target with one of these suffixes is read as a catalog."""
MAX_TABLE_ROWS = 5000
"""At most this many dots are listed in a catalog report's table (the counts cover all)."""

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("adhesive_dots.report", "templates"),
    autoescape=True,  # every value from metadata is HTML-escaped; only figure data URIs are attributes
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class FigureItem:
    """One embedded figure: an id for the page, a title, a caption and the SVG data URI."""

    id: str
    title: str
    caption: str
    uri: str


MAX_CELL_CHARS = 160
"""Longer cell texts (e.g. per-channel values of a finding) are cut here with an ellipsis."""


def _cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_value(value: Any) -> str:
    """A value as short text for a table cell ("" for missing; floats to 4 significant digits)."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "n/a" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


_fmt = format_value
_ENV.filters["fmt"] = format_value


def _figure(fid: str, title: str, caption: str, fig) -> FigureItem:
    return FigureItem(fid, title, caption, figs.figure_to_data_uri(fig))


@dataclass(frozen=True)
class FigureSpec:
    """A figure not drawn yet: an id, a title, a caption and the builder that draws it.

    The reports draw every spec at once (:meth:`render`); the web server draws each one when
    its image is requested. Both take the specs from the same functions
    (:func:`fingerprint_figure_specs`, :func:`comparison_figure_specs`, :func:`catalog_figure_specs`).
    """

    id: str
    title: str
    caption: str
    build: Callable[[], Any]

    def render(self) -> FigureItem:
        """The figure drawn and embedded as an SVG data URI."""
        return _figure(self.id, self.title, self.caption, self.build())


def _write(html: str, out_path: Path, overwrite: bool) -> Path:
    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise DataError(f"{out_path}: file exists; pass {option('overwrite', True)} to replace it")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(html)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # an ordinary file, not mkstemp's owner-only mode
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out_path


def _common(title: str) -> dict[str, Any]:
    from adhesive_dots import __version__

    return {
        "title": title,
        "version": __version__,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# -- baselines --------------------------------------------------------------------------------


def _baseline(target: Any, stack: contextlib.ExitStack, template: SourceSpec) -> Baseline:
    """A Baseline from a Baseline or a source (resolved through the one road, its recording kept open in ``stack``)."""
    if isinstance(target, Baseline):
        return target
    if not isinstance(target, str | os.PathLike | SourceSpec):
        raise DataError(f"report target must be a source path/URI or a Baseline, got {type(target).__name__}")
    resolved, baseline = open_baseline(expand_one(target, template=template))
    stack.enter_context(resolved)
    return baseline


def _metadata_rows(baseline: Baseline) -> list[dict[str, str]]:
    return metadata_rows(baseline.metadata)


def metadata_rows(metadata: DotMetadata) -> list[dict[str, str]]:
    """DotMetadata flattened to (group, field, value) rows; empty values left out."""
    rows: list[dict[str, str]] = []

    def walk(value: Any, group: str, name: str) -> None:
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value) and name.count(".") < 2:
            for key, inner in value.items():
                walk(inner, group, f"{name}.{key}" if name else key)
            return
        if value in (None, "", [], {}):
            return
        rows.append({"group": group, "field": name, "value": _fmt(value)})

    dumped = metadata.model_dump(mode="json", exclude_none=True)
    for group, content in dumped.items():
        if isinstance(content, dict):
            for key, value in content.items():
                walk(value, group, key)
        else:
            walk(content, "", group)
    return rows


def finding_rows(findings: Iterable[Finding]) -> list[dict[str, str]]:
    """Findings as table rows (severity, code, message, location, value, fix), most severe first."""
    out = []
    for f in sorted(findings, key=lambda f: Severity(f.severity).rank):
        out.append({"severity": Severity(f.severity).value, "code": f.code, "message": f.message,
                    "location": f.location, "value": _cut(_fmt(f.value)), "fix": f.fix})  # fmt: skip
    return out


def _summary_rows(fp) -> list[dict[str, str]]:
    from adhesive_dots.fingerprint import SUMMARY_FIELDS

    values = fp.summary_dict()
    return [{"name": n, "value": _fmt(values[n]), "unit": u, "meaning": m} for n, u, m in SUMMARY_FIELDS]


@dataclass
class _Dot:
    baseline: Baseline
    fingerprint: Any
    findings: list[Finding]
    label: str


def _analyse(baseline: Baseline, *, params: FingerprintParams | None, seed: int, label: str) -> _Dot:
    from adhesive_dots.fingerprint.dfa import dfa_findings
    from adhesive_dots.validate import validate_baseline
    from adhesive_dots.workflows.fingerprint import fingerprint_baseline

    findings = validate_baseline(baseline)
    fp = fingerprint_baseline(baseline, params=params, seed=seed)
    findings = [*findings, *dfa_findings(fp.dataset, source=str(baseline.source))]
    return _Dot(baseline, fp, findings, label)


def _dot_label(baseline: Baseline) -> str:
    meta = baseline.metadata
    parts = [meta.identity.lab, meta.identity.subject_id or meta.subject.subject_id, meta.identity.session_id]
    text = " / ".join(str(p) for p in parts if p)
    return text or Path(str(baseline.source)).name or str(baseline.source)


def _overview(dot: _Dot) -> list[dict[str, str]]:
    b, attrs = dot.baseline, dot.fingerprint.dataset.attrs
    return [
        {"name": "source", "value": str(b.source)},
        {"name": "modality", "value": str(attrs.get("modality", ""))},
        {"name": "channels", "value": str(dot.fingerprint.dataset.sizes.get("channel", 0))},
        {"name": "sampling rate", "value": f"{b.fs:g} Hz"},
        {"name": "segment", "value": f"{b.segment.start:.1f}–{b.segment.stop:.1f} s ({b.duration / 60:.2f} min)"},
        {"name": "evidence", "value": str(b.segment.evidence)},
        {"name": "validation", "value": str(b.metadata.curation.validation_status.value)},
    ]


def _arousal_units(baseline: Baseline) -> dict[str, str]:
    return {name: str(signal.units or "") for name, signal in baseline.recording.signals.items()}


def _dot_figures(dot: _Dot, prefix: str = "") -> list[FigureItem]:
    ds = dot.fingerprint.dataset
    specs = fingerprint_figure_specs(ds, arousal_units=_arousal_units(dot.baseline), prefix=prefix)
    motion = _motion_spec(dot.baseline, prefix)
    return [spec.render() for spec in [*specs, *([motion] if motion is not None else [])]]


MOTION_NAMES = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")


def _motion_spec(baseline: Baseline, prefix: str) -> FigureSpec | None:
    """The head-motion figure of an fMRI dot whose recording has confounds (FD and motion parameters)."""
    signals = baseline.recording.signals
    if "confounds" not in signals:
        return None
    names = list(signals["confounds"].channel_names)
    table = baseline.load_signal("confounds")
    motion = {n: table[names.index(n)] for n in MOTION_NAMES if n in names}
    fd = baseline.load_signal("framewise_displacement")[0] if "framewise_displacement" in signals else None
    if fd is None and not motion:
        return None
    return FigureSpec(
        f"{prefix}motion",
        "Head motion",
        "Framewise displacement (Power et al. 2012, mm) with the 0.5 mm scrubbing threshold, and the six rigid-body "
        "motion parameters from the confounds table, over the baseline.",
        lambda: figs.motion_figure(fd, motion, baseline.fs),
    )


def fingerprint_figure_specs(
    ds: Any, *, arousal_units: Mapping[str, str] | None = None, prefix: str = ""
) -> list[FigureSpec]:
    """The figures of a dot (PSD, DFA, correlations, state trajectory) from its fingerprint Dataset."""
    units = dict(arousal_units or {})
    scalp = (
        [
            FigureSpec(
                f"{prefix}topomap",
                "Scalp maps",
                "Log10 band power and aperiodic exponent per channel on the standard 10-05 montage "
                "(MNE plot_topomap; EDF padding dots removed from the channel names to match).",
                lambda: figs.topomap_figure(ds),
            )
        ]
        if ds is not None and figs.has_scalp_layout(ds)  # None: the titles of every dot
        else []
    )
    return [
        FigureSpec(
            f"{prefix}psd",
            "Power spectrum with aperiodic fit",
            "Welch PSD per channel group (median, inter-quartile range shaded); dashed: the aperiodic fit "
            "(offset − log10(knee + f^χ)) over its fit range (grey).",
            lambda: figs.psd_figure(ds),
        ),
        FigureSpec(
            f"{prefix}dfa",
            "Detrended fluctuation analysis",
            "Fluctuation F(n) against window length; dashed lines have the fitted DFA exponent α as slope, "
            "over the fit range (grey).",
            lambda: figs.dfa_figure(ds),
        ),
        FigureSpec(
            f"{prefix}correlation",
            "Correlation structure",
            "Pearson correlation between channels over the whole baseline and the eigenvalues of that "
            "matrix by rank with their power-law fit.",
            lambda: figs.correlation_figure(ds),
        ),
        FigureSpec(
            f"{prefix}trajectory",
            "State trajectory",
            "Window features over the baseline (medians over channels, z-scored per feature; the legend "
            "gives mean and sd in the feature's units), arousal signals averaged in the same windows below.",
            lambda: figs.trajectory_figure(ds, arousal_units=units),
        ),
        *scalp,
        *_fmri_figure_specs(ds, prefix),
    ]


def _fmri_figure_specs(ds: Any, prefix: str) -> list[FigureSpec]:
    """FC matrix with ROI names and the BOLD spectrum with the ALFF band, for fingerprints with slow features."""
    if ds is None or "fc_fisher_z" not in ds or "falff" not in ds:  # None: the titles of every dot
        return []
    return [
        FigureSpec(
            f"{prefix}fc",
            "Functional connectivity",
            "Fisher z of the Pearson correlation between ROI time series (diagonal blank), with ROI names, and "
            "the distribution of its edges (what connectome identification compares).",
            lambda: figs.fc_figure(ds),
        ),
        FigureSpec(
            f"{prefix}bold_spectrum",
            "BOLD spectrum",
            "Welch PSD (median over ROIs, IQR shaded) with the ALFF band 0.01–0.08 Hz shaded (median fALFF in the "
            "legend), the slow-5 and slow-4 band edges dotted and the Nyquist frequency.",
            lambda: figs.bold_spectrum_figure(ds),
        ),
    ]


# -- the three reports ------------------------------------------------------------------------------


def dot_report_html(baseline: Baseline, *, title: str | None = None, params: FingerprintParams | None = None,
                    seed: int = 0) -> str:  # fmt: skip
    """The HTML of a dot report (one baseline): metadata, findings, summary, PSD, DFA, correlations, trajectory.

    Parameters
    ----------
    baseline : Baseline
        The dot; validated (:func:`~adhesive_dots.validate.validate_baseline`) and fingerprinted here.
    title : str, optional
        Page title (default from the dot's lab/subject/session or source).
    params : FingerprintParams, optional
        Fingerprint parameters (the same as ``adots fingerprint``: unset ones follow the documented rule).
    seed : int
        Seed of the fingerprint's surrogates.

    Returns
    -------
    str
        A self-contained HTML document.
    """
    label = _dot_label(baseline)
    dot = _analyse(baseline, params=params, seed=seed, label=label)
    context = _common(title or f"Adhesive dot: {label}")
    context.update(
        overview=_overview(dot),
        metadata=_metadata_rows(baseline),
        findings=finding_rows(dot.findings),
        summary=_summary_rows(dot.fingerprint),
        figures=_dot_figures(dot),
    )
    return _ENV.get_template("dot.html.j2").render(**context)


def comparison_report_html(a: Baseline, b: Baseline, *, title: str | None = None,
                           params: FingerprintParams | None = None, seed: int = 0, n_boot: int = 1000,
                           alpha: float = 0.05) -> str:  # fmt: skip
    """The HTML of a comparison report: both baselines side by side, per-feature differences with CIs, verdict.

    Parameters
    ----------
    a, b : Baseline
        The two dots (differences are ``b - a``).
    title : str, optional
        Page title.
    params : FingerprintParams, optional
        Fingerprint parameters; what they leave unset is fixed once for both baselines
        (:func:`~adhesive_dots.fingerprint.shared_params`: the rule for the shorter one).
    seed : int
        Seed of the fingerprints and of the bootstrap.
    n_boot : int
        Block-bootstrap replicates of :func:`~adhesive_dots.compare.compare_baselines`.
    alpha : float
        Level of the CIs and of the verdict.

    Returns
    -------
    str
        A self-contained HTML document.
    """
    from adhesive_dots.compare import compare_baselines

    n_times = [int(round(x.duration * x.fs)) for x in (a, b)]
    params = shared_params([a.fs, b.fs], n_times, params=params)
    win = float(params.window_s)
    label_a, label_b = _dot_label(a), _dot_label(b)
    if label_a == label_b:
        label_a, label_b = f"A: {label_a}", f"B: {label_b}"
    dots = [_analyse(x, params=params, seed=seed, label=lab) for x, lab in ((a, label_a), (b, label_b))]
    comparison = compare_baselines(a, b, params=params, n_boot=n_boot, alpha=alpha, rng=seed)
    ds_a, ds_b = (d.fingerprint.dataset for d in dots)
    labels = (label_a, label_b)
    features = comparison.features
    specs = comparison_figure_specs(ds_a, ds_b, labels, comparison, window_s=win, alpha=alpha)
    figures = [spec.render() for spec in specs]
    summary_a, summary_b = dots[0].fingerprint.summary_dict(), dots[1].fingerprint.summary_dict()
    from adhesive_dots.fingerprint import SUMMARY_FIELDS

    summary = [
        {"name": n, "unit": u, "a": _fmt(summary_a[n]), "b": _fmt(summary_b[n]),
         "difference": _fmt(summary_b[n] - summary_a[n])}
        for n, u, _ in SUMMARY_FIELDS
    ]  # fmt: skip
    meta_a = {(r["group"], r["field"]): r["value"] for r in _metadata_rows(a)}
    meta_b = {(r["group"], r["field"]): r["value"] for r in _metadata_rows(b)}
    metadata = [
        {"group": g, "field": f, "a": meta_a.get((g, f), ""), "b": meta_b.get((g, f), ""),
         "differs": meta_a.get((g, f), "") != meta_b.get((g, f), "")}
        for g, f in sorted(set(meta_a) | set(meta_b))
    ]  # fmt: skip
    feature_rows = [
        {"feature": r.feature, "a": _fmt(r.value_a), "b": _fmt(r.value_b), "difference": _fmt(r.difference),
         "ci": f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]", "z": _fmt(r.z), "null_q": _fmt(r.null_q),
         "flagged": bool(r.flagged)}
        for r in features.itertuples()
    ]  # fmt: skip
    task_figures, task_rows, task_note = _task_effects(a, b, labels=labels, seed=seed, n_boot=n_boot, alpha=alpha)
    context = _common(title or f"Comparison: {label_a} vs {label_b}")
    context.update(
        labels=labels,
        overviews=[_overview(d) for d in dots],
        findings=[finding_rows(d.findings) for d in dots],
        metadata=metadata,
        summary=summary,
        features=feature_rows,
        verdict=comparison.verdict,
        stats={
            "energy_distance": _fmt(comparison.energy_distance),
            "energy_p": _fmt(comparison.energy_p),
            "riemann_distance": _fmt(comparison.riemann_distance),
            "riemann_p": _fmt(comparison.riemann_p),
            "n_boot": str(comparison.parameters.get("n_boot", n_boot)),
            "block": _fmt(comparison.parameters.get("block")),
            "n_windows": _fmt(comparison.parameters.get("n_windows")),
            "n_tests": str(comparison.parameters.get("n_tests", "")),
            "window_s": f"{win:g}",
            "alpha": f"{alpha:g}",
        },
        figures=figures,
        dot_figures=[_dot_figures(d, prefix=f"{k}-") for k, d in zip("ab", dots, strict=True)],
        task_figures=task_figures,
        task_rows=task_rows,
        task_note=task_note,
    )
    return _ENV.get_template("comparison.html.j2").render(**context)


def comparison_figure_specs(
    ds_a: Any, ds_b: Any, labels: tuple[str, str], comparison: Any, *, window_s: float, alpha: float
) -> list[FigureSpec]:
    """The figures of a comparison: spectra and trajectories side by side, per-feature differences, and the
    energy and Riemannian distances against their block-permutation nulls."""
    specs = [
        FigureSpec(
            "psd-pair",
            "Spectra side by side",
            "Median PSD over channels of each baseline (IQR shaded).",
            lambda: figs.psd_pair_figure(ds_a, ds_b, labels),
        ),
        FigureSpec(
            "trajectory-pair",
            "State trajectories side by side",
            f"Window features of both baselines ({window_s:g} s windows) over time.",
            lambda: figs.trajectory_pair_figure(ds_a, ds_b, labels),
        ),
        FigureSpec(
            "differences",
            "Per-feature differences",
            f"Difference of window-feature means (b − a) in units of the baselines' window-to-window sd, "
            f"with {100 * (1 - alpha):g}% block-bootstrap CIs; red: flagged (CI excludes 0 and the difference "
            "exceeds the permutation null's).",
            lambda: figs.differences_figure(comparison.features),
        ),
        FigureSpec(
            "energy-null",
            "Energy distance",
            "Energy distance of the window states against its block-permutation null (groups as long as a and b).",
            lambda: figs.null_figure(
                comparison.energy_distance, comparison.energy_null, name="Energy distance", p=comparison.energy_p
            ),
        ),
        FigureSpec(
            "riemann-null",
            "Riemannian distance",
            "Affine-invariant Riemannian distance of the mean window correlation matrices against its "
            "block-permutation null.",
            lambda: figs.null_figure(
                comparison.riemann_distance, comparison.riemann_null, name="Riemannian distance", p=comparison.riemann_p
            ),
        ),
    ]
    return specs


def _task_effects(a: Baseline, b: Baseline, *, labels: tuple[str, str], seed: int, n_boot: int,
                  alpha: float) -> tuple[list[FigureItem], list[dict[str, str]], str]:  # fmt: skip
    """The proposal's task-effect comparison of two sessions, when both recordings have a shared task label.

    Per feature: Spon.k and Task.k are the baseline and task means of session k, Δk their difference
    (:func:`~adhesive_dots.compare.compute_task_effects`); the naive comparison is Task.2 − Task.1, the
    baseline-adjusted one Δ2 − Δ1, both divided by the pooled baseline sd ``sqrt((sd1² + sd2²) / 2)``.
    The CI of Δ2 − Δ1 combines the two sessions' independent Δ CIs (normal approximation:
    half-widths added in quadrature).

    Returns
    -------
    figures, rows, note
        No figure and a note saying why when the sessions share no task label.
    """
    from adhesive_dots.compare.effects import compute_task_effects, task_segments

    found = [task_segments(x.recording, baseline=x) for x in (a, b)]
    shared = sorted(set(found[0]) & set(found[1]))
    if not shared:
        return [], [], (
            "No task segments shared by both recordings (task labels: "
            f"{sorted(found[0]) or 'none'} and {sorted(found[1]) or 'none'}), so the task-effect figure "
            "(Spon.1, Spon.2, task states, Δ1, Δ2, naive vs baseline-adjusted) does not apply."
        )  # fmt: skip
    label = "task" if "task" in shared else shared[0]
    tables = [
        compute_task_effects(x.recording, baseline=x, labels=[label], n_boot=n_boot, alpha=alpha, rng=seed).table
        for x in (a, b)
    ]
    merged = tables[0].merge(tables[1], on=["label", "feature"], suffixes=("_1", "_2"))
    if merged.empty:
        return [], [], f"Task label {label!r}: the two sessions share no window feature."
    pooled = np.sqrt((merged["baseline_sd_1"] ** 2 + merged["baseline_sd_2"] ** 2) / 2.0)
    adjusted = merged["delta_2"] - merged["delta_1"]
    half = np.sqrt(((merged["delta_ci_high_1"] - merged["delta_ci_low_1"]) / 2) ** 2
                   + ((merged["delta_ci_high_2"] - merged["delta_ci_low_2"]) / 2) ** 2)  # fmt: skip
    frame = pd.DataFrame(
        {
            "feature": merged["feature"],
            "units": ["1" if not str(f).startswith("log_power") else "log10(power)" for f in merged["feature"]],
            "spon_1": merged["baseline_mean_1"], "task_1": merged["task_mean_1"],
            "spon_2": merged["baseline_mean_2"], "task_2": merged["task_mean_2"],
            "naive_z": (merged["task_mean_2"] - merged["task_mean_1"]) / pooled,
            "adjusted_z": adjusted / pooled,
            "adjusted_ci_low": (adjusted - half) / pooled,
            "adjusted_ci_high": (adjusted + half) / pooled,
        }
    )  # fmt: skip
    figure = _figure("task-effects", f"Task effects ({label!r} segments)",
                     "Top: baseline (Spon.k) and task (Task.k) means of the features whose naive and "
                     "baseline-adjusted comparisons differ most, with Δk = Task.k − Spon.k. Bottom: naive "
                     "(Task.2 − Task.1) and baseline-adjusted (Δ2 − Δ1) differences in pooled baseline-sd units; "
                     f"the adjusted CI ({100 * (1 - alpha):g}%) combines the sessions' bootstrap CIs of Δ.",
                     figs.task_effects_figure(frame, labels))  # fmt: skip
    rows = [
        {"feature": str(r.feature), "spon_1": _fmt(r.spon_1), "task_1": _fmt(r.task_1), "spon_2": _fmt(r.spon_2),
         "task_2": _fmt(r.task_2), "delta_1": _fmt(r.task_1 - r.spon_1), "delta_2": _fmt(r.task_2 - r.spon_2),
         "naive": _fmt(r.naive_z), "adjusted": _fmt(r.adjusted_z),
         "ci": f"[{_fmt(r.adjusted_ci_low)}, {_fmt(r.adjusted_ci_high)}]"}
        for r in frame.itertuples()
    ]  # fmt: skip
    n = [int(t["n_segments"].iloc[0]) for t in tables]
    note = f"Task label {label!r}: {n[0]} segment(s) in session 1, {n[1]} in session 2."
    return [figure], rows, note


CATALOG_FACETS = {
    "species": "subject_species",
    "paradigm": "paradigm_name",
    "modality": "recording_modality",
    "lab": "identity_lab",
    "compliance": "curation_validation_status",
}
"""Facets counted by the catalog report and the web catalog page: ``{facet: dots column}``."""


@dataclass(frozen=True)
class CatalogOverview:
    """What the catalog report and the web catalog page show about a catalog (or the dots of a filter).

    Attributes
    ----------
    n_dots, n_compliant : int
        Dots, and dots validated compliant.
    minutes, compliant_minutes : float
        Minutes of baseline of all dots, of compliant dots.
    sources : dict
        Sources per ingest status.
    counts : dict of str to Series
        Dots per value of each :data:`CATALOG_FACETS` facet.
    minutes_by_lab : DataFrame
        Minutes of baseline per lab: ``compliant`` and ``other``.
    findings : DataFrame
        ``severity``, ``code``, ``n``.
    n_duplicates : int
        Duplicate links stored by curation.
    extra_tables : dict
        Rows of tables in the file that are not the catalog's own.
    """

    n_dots: int
    n_compliant: int
    minutes: float
    compliant_minutes: float
    sources: dict[str, int]
    counts: dict[str, pd.Series]
    minutes_by_lab: pd.DataFrame
    findings: pd.DataFrame
    n_duplicates: int
    extra_tables: dict[str, int]


def catalog_overview(catalog, filters=None) -> CatalogOverview:
    """Counts, minutes and findings of a catalog, or of its dots matching ``filters`` (a ``DotFilter``)."""
    from adhesive_dots.catalog.store import KNOWN_TABLES

    counts = {facet: catalog.facet_counts(column, filters) for facet, column in CATALOG_FACETS.items()}
    by_lab = catalog.minutes_by("identity_lab", filters)
    sizes = catalog.table_sizes()
    return CatalogOverview(
        n_dots=int(counts["compliance"].sum()),
        n_compliant=int(counts["compliance"].get("compliant", 0)),
        minutes=float(by_lab.to_numpy().sum()),
        compliant_minutes=float(by_lab["compliant"].sum()),
        sources=catalog.source_counts(),
        counts=counts,
        minutes_by_lab=by_lab,
        findings=catalog.finding_counts(),
        n_duplicates=int(sizes.get("duplicates", 0)),
        extra_tables={name: n for name, n in sizes.items() if name not in KNOWN_TABLES},
    )


def catalog_figure_specs(overview: CatalogOverview, quality: Callable[[], np.ndarray]) -> list[FigureSpec]:
    """The catalog's figures: counts per facet, minutes of baseline per lab, quality scores.

    ``quality`` returns the scores when the quality figure is drawn (they take a pass over every
    dot's findings and fingerprint: :func:`~adhesive_dots.catalog.curation.catalog_quality`).
    """
    return [
        FigureSpec(
            "counts",
            "Dots by species, paradigm, modality, lab and compliance",
            "Number of dots per value of each facet.",
            lambda: figs.counts_figure(overview.counts),
        ),
        FigureSpec(
            "minutes",
            "Minutes of baseline",
            "Minutes of baseline per lab; green: validated compliant.",
            lambda: figs.minutes_figure(overview.minutes_by_lab),
        ),
        FigureSpec(
            "quality",
            "Quality scores",
            "Distribution of the dots' quality scores (curation: validation findings and fingerprint "
            "plausibility, the score `adots curate --min-quality` filters on).",
            lambda: figs.quality_figure(quality()),
        ),
    ]


QUALITY_CELLS = {
    "quality": "quality",
    "signal": "quality_signal",
    "metadata": "quality_metadata",
    "duration": "quality_duration",
}
"""Quality columns of the catalog report: the combined score and its components."""


def distinct_totals(catalog) -> dict[str, Any]:
    """Dots and minutes counted once per duplicate group (the stored duplicate links of ``adots curate``):
    ``distinct_dots``, ``distinct_compliant``, ``distinct_minutes`` (the longest dot of each group)."""
    from adhesive_dots.curate.selection import duplicate_groups

    dots = catalog.dots(columns=["dot_id", "duration_s", "curation_validation_status"])
    links = catalog.duplicates()
    groups = duplicate_groups(list(dots["dot_id"]), zip(links["dot_a"], links["dot_b"], strict=True))
    dots["group"] = dots["dot_id"].map(groups)
    best = dots.sort_values("duration_s", ascending=False).drop_duplicates("group")
    compliant = dots[dots["curation_validation_status"] == "compliant"]
    return {
        "distinct_dots": int(dots["group"].nunique()),
        "distinct_compliant": int(compliant["group"].nunique()),
        "distinct_minutes": f"{float(best['duration_s'].fillna(0).sum()) / 60:.1f}",
        "n_linked": int(len(links)),
    }


def catalog_report_html(catalog, *, title: str | None = None) -> str:
    """The HTML of a catalog report: counts, minutes of compliant baseline, quality, duplicates, a dot table.

    Parameters
    ----------
    catalog : Catalog
        An existing catalog (read only).
    title : str, optional
        Page title.

    Returns
    -------
    str
        A self-contained HTML document; its dot table has an in-page text filter (plain JavaScript).
    """
    from adhesive_dots.catalog.curation import catalog_quality

    if not Path(catalog.path).exists():
        raise SourceNotFoundError(f"{catalog.path}: no catalog here (run `adots ingest SOURCES --catalog PATH` first)")
    overview = catalog_overview(catalog)
    quality = catalog_quality(catalog)
    scores = quality["quality"].to_numpy(dtype=float)
    score_of = quality.set_index("dot_id").to_dict("index")
    distinct = distinct_totals(catalog)
    figures = [spec.render() for spec in catalog_figure_specs(overview, lambda: scores)]
    dots = catalog.dots(limit=MAX_TABLE_ROWS)
    rows = []
    for r in dots.to_dict("records"):
        rows.append({
            "dot_id": str(r.get("dot_id", "")), "lab": _fmt(r.get("identity_lab")),
            "species": _fmt(r.get("subject_species")), "paradigm": _fmt(r.get("paradigm_name")),
            "modality": _fmt(r.get("recording_modality")),
            "subject": _fmt(r.get("identity_subject_id") or r.get("subject_subject_id")),
            "session": _fmt(r.get("identity_session_id")), "minutes": f"{float(r.get('duration_s') or 0) / 60:.1f}",
            "status": _fmt(r.get("curation_validation_status")),
            **{name: _fmt(score_of.get(r.get("dot_id"), {}).get(column)) for name, column in QUALITY_CELLS.items()},
            "source": _fmt(r.get("source")),
        })  # fmt: skip
    duplicates = catalog.duplicates().head(200)
    context = _common(title or f"Catalog: {Path(catalog.path).name}")
    context.update(
        catalog_path=str(catalog.path),
        totals={
            "dots": overview.n_dots,
            "compliant": overview.n_compliant,
            "minutes": f"{overview.minutes:.1f}",
            "compliant_minutes": f"{overview.compliant_minutes:.1f}",
            "sources": overview.sources,
            **distinct,
        },
        counts={facet: [(str(k), int(v)) for k, v in series.items()] for facet, series in overview.counts.items()},
        minutes=[(str(k), f"{v.compliant:.1f}", f"{v.other:.1f}") for k, v in overview.minutes_by_lab.iterrows()],
        findings=[(str(r.severity), str(r.code), int(r.n)) for r in overview.findings.itertuples()],
        duplicates=[(str(r.dot_a), str(r.dot_b), str(r.kind), _fmt(r.evidence)) for r in duplicates.itertuples()],
        n_duplicates=overview.n_duplicates,
        quality={
            "n": int(np.isfinite(scores).sum()),
            "median": _fmt(float(np.nanmedian(scores))) if np.isfinite(scores).any() else "n/a",
            "below_half": int((scores < 0.5).sum()) if scores.size else 0,
            "components": [
                (name, _fmt(float(quality[column].median())) if quality[column].notna().any() else "–")
                for name, column in QUALITY_CELLS.items()
            ],
        },
        extra_tables=sorted(overview.extra_tables.items()),
        rows=rows,
        truncated=max(0, overview.n_dots - MAX_TABLE_ROWS),
        figures=figures,
    )
    return _ENV.get_template("catalog.html.j2").render(**context)


def report_kind(targets: Sequence[Any]) -> str:
    """``"dot"``, ``"comparison"`` or ``"catalog"`` for a list of report targets (see :func:`write_report`)."""
    from adhesive_dots.catalog import Catalog

    if len(targets) == 1:
        (only,) = targets
        if isinstance(only, Catalog) or (
            isinstance(only, str | os.PathLike) and str(only).lower().endswith(CATALOG_SUFFIXES)
        ):
            return "catalog"
        return "dot"
    if len(targets) == 2:
        return "comparison"
    raise DataError(
        f"report targets: expected one source (dot report), two sources (comparison) or one catalog "
        f"(*.duckdb), got {len(targets)}; pass one or two sources, or a catalog"
    )


def write_report(
    target: Any,
    out_path: str | Path,
    *,
    title: str | None = None,
    template: SourceSpec | None = None,
    params: FingerprintParams | None = None,
    seed: int = 0,
    n_boot: int = 1000,
    overwrite: bool = False,
) -> Path:
    """Write a self-contained HTML report of one dot, two dots (a comparison) or a catalog.

    Parameters
    ----------
    target : source, SourceSpec, Baseline, Catalog, or a sequence of one or two of them
        One source or Baseline: a dot report. Two: a comparison report (differences are second - first).
        A :class:`~adhesive_dots.catalog.Catalog` or a path ending in ``.duckdb``/``.db``: a catalog report.
        Sources are resolved through the one road (:mod:`adhesive_dots.io.sources`), with ``template``.
    out_path : str or Path
        The HTML file to write (atomically).
    title : str, optional
        Page title.
    template : SourceSpec, optional
        Reading options and the baseline choice of the sources (e.g. ``SourceSpec("", labels=("T0",))``).
    params : FingerprintParams, optional
        Fingerprint parameters (unset ones follow the documented rule, as in every command).
    seed : int
        Seed of fingerprints and bootstrap.
    n_boot : int
        Bootstrap replicates of a comparison.
    overwrite : bool
        Replace an existing ``out_path``.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    DataError
        Wrong number of targets, ``out_path`` exists without ``overwrite``.
    SourceNotFoundError, BaselineNotFoundError
        A source or catalog is missing, or a source has no baseline.
    """
    from adhesive_dots.catalog import Catalog

    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise DataError(f"{out_path}: file exists; pass {option('overwrite', True)} to replace it")
    targets = list(target) if isinstance(target, list | tuple) else [target]
    kind = report_kind(targets)
    if kind == "catalog":
        catalog = targets[0] if isinstance(targets[0], Catalog) else Catalog(targets[0])
        return _write(catalog_report_html(catalog, title=title), out_path, overwrite)
    template = template or SourceSpec("")
    with contextlib.ExitStack() as stack:
        baselines = [_baseline(t, stack, template) for t in targets]
        if kind == "dot":
            html = dot_report_html(baselines[0], title=title, params=params, seed=seed)
        else:
            html = comparison_report_html(*baselines, title=title, params=params, seed=seed, n_boot=n_boot)
    return _write(html, out_path, overwrite)
