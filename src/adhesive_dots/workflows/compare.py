"""Compare, task effects, prediction and identification on sources (what ``adots compare``,
``adots effects``, ``adots predict`` and ``adots identify`` run).

Targets are expanded and resolved through the one road (:mod:`adhesive_dots.io.sources`): each
session's baseline is what its source spec says. Each baseline is fingerprinted with the shared
parameters (:func:`~adhesive_dots.workflows.fingerprint.fingerprint_baseline`) and its task
effects are computed, then arrays and tables go to the numerics (:mod:`adhesive_dots.compare`).

Task segments: an NWB session's own intervals outside the baseline (``trials`` rows by condition,
the ``epochs`` row ``task``); a BIDS session's task run, opened separately with ``task_run``
(same subject and session as the rest run), whose annotations are the conditions. A ``.nc``
target is a stored fingerprint (``adots fingerprint -o``) and compares as it is.

Identification: each session's subject comes from its metadata (BIDS ``sub-``, NWB subject id, a
``subject`` column of ``--sources-from`` or ``--subject``), never from its file name, so two runs of
one person are never two subjects. With ``method="fc"`` (the default for fMRI, whose fingerprints
hold a Fisher-z FC matrix) subjects are identified by the Pearson correlation of their FC edge
vectors (Finn et al. 2015); with ``"summary"`` by the standardised summary vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.compare import (
    BaselineComparison,
    IdentificationResult,
    PredictionResult,
    TaskEffectComparison,
    TaskEffects,
    compare_baselines,
    compare_task_effects,
    compute_task_effects,
    identify_subjects,
    predict_task_from_rest,
)
from adhesive_dots.core import Baseline, Segment
from adhesive_dots.errors import AdhesiveError, DataError, option
from adhesive_dots.fingerprint import SUMMARY_NAMES, Fingerprint, FingerprintParams, read_fingerprint
from adhesive_dots.fingerprint.slow import fc_edges
from adhesive_dots.io.bids import sibling_run
from adhesive_dots.io.sources import SourceSpec, expand_one, expand_sources, open_baseline, resolve, source_kind
from adhesive_dots.workflows.fingerprint import fingerprint_baseline


@dataclass
class SessionRecord:
    """One session: identity, baseline summary, task effects (or why they are missing)."""

    key: str
    subject: str
    session: str
    summary: dict[str, float]
    effects: TaskEffects | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _is_fingerprint(target: Any) -> bool:
    return isinstance(target, str | Path) and str(target).lower().endswith(".nc")


def compare_sources(
    a: str | Path | SourceSpec,
    b: str | Path | SourceSpec,
    *,
    template: SourceSpec | None = None,
    params: FingerprintParams | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[BaselineComparison, list[str]]:
    """:func:`~adhesive_dots.compare.compare_baselines` of two sessions (or ``.nc`` fingerprints); also their labels.

    Both baselines are analysed with one set of parameters (the rule applied to the shorter one,
    unless ``params`` set them); stored fingerprints must have been made with the same ones.
    """
    with ExitStack() as stack:
        inputs: list[Fingerprint | Baseline] = []
        labels = []
        for target, name in ((a, "A"), (b, "B")):
            if _is_fingerprint(target):
                inputs.append(read_fingerprint(target))
                labels.append(str(target))
                continue
            resolved, baseline = open_baseline(expand_one(target, template=template, name=name))
            stack.enter_context(resolved)
            inputs.append(baseline)
            labels.append(resolved.spec.label)
        result = compare_baselines(inputs[0], inputs[1], params=params, n_boot=n_boot, rng=seed)
    return result, labels


def _identity(spec: SourceSpec, baseline: Baseline) -> tuple[str, str, bool]:
    """(subject, session, whether the subject comes from metadata); unknown subjects are named by the file."""
    identity = baseline.metadata.identity
    stem = Path(spec.key).stem
    known = identity.subject_id or baseline.metadata.subject.subject_id or spec.subject
    session = identity.session_id or spec.session or stem
    return str(known or stem), str(session), bool(known)


def _fc_features(fingerprint: Fingerprint) -> dict[str, Any] | None:
    """The FC edges (Fisher z, upper triangle) and ROI names of a fingerprint that has them."""
    ds = fingerprint.dataset
    if "fc_fisher_z" not in ds:
        return None
    return {"edges": fc_edges(ds["fc_fisher_z"].values), "channels": [str(c) for c in ds["channel"].values]}


def session_records(
    targets: Iterable[str | Path | SourceSpec],
    *,
    template: SourceSpec | None = None,
    effects: bool = True,
    summary: bool = True,
    task_run: str | None = None,
    labels: Sequence[str] | None = None,
    halves: bool = False,
    params: FingerprintParams | None = None,
    n_boot: int = 500,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[SessionRecord], list[str]]:
    """Fingerprint summary (and task effects) of every session of ``targets``.

    Parameters
    ----------
    template : SourceSpec, optional
        Reading options and baseline choice of every source.
    effects : bool
        Compute task effects (:func:`~adhesive_dots.compare.compute_task_effects`).
    summary : bool
        Fingerprint the whole baseline (``record.summary``; empty when False).
    task_run : str, optional
        BIDS task of the task run (e.g. ``"visual"``); BIDS sessions without it get no effects.
    labels : list of str, optional
        Interval labels that are task segments (default every label outside the baseline).
    halves : bool
        Also fingerprint the two halves of each baseline (``extra["halves"]``: two summaries).
    params : FingerprintParams, optional
        Fingerprint parameters (default: the shared rule for each baseline).
    progress : callable, optional
        Called with each source's label before it is opened.

    Returns
    -------
    records, notes
        One record per session that has a baseline; one note per target or session left out and why.
    """
    specs, problems = expand_sources([t for t in targets if not _is_fingerprint(t)], template=template)
    notes = [p.message for p in problems]
    notes += [
        f"{t}: a fingerprint file holds no task segments; name the recording instead"
        for t in targets
        if _is_fingerprint(t)
    ]
    records = []
    for spec in specs:
        if progress is not None:
            progress(spec.label)
        try:
            records.append(
                _session_record(
                    spec,
                    effects=effects,
                    summary=summary,
                    task_run=task_run,
                    labels=labels,
                    halves=halves,
                    params=params,
                    n_boot=n_boot,
                    seed=seed,
                )
            )
        except AdhesiveError as err:
            notes.append(f"{spec.label}: {err}")
    return records, notes


def _session_record(
    spec: SourceSpec, *, effects, summary, task_run, labels, halves, params, n_boot, seed
) -> SessionRecord:
    with ExitStack() as stack:
        resolved, baseline = open_baseline(spec)
        stack.enter_context(resolved)
        subject, session, known = _identity(resolved.spec, baseline)
        fingerprint = fingerprint_baseline(baseline, params=params, seed=seed) if summary else None
        values = fingerprint.summary_dict() if fingerprint is not None else {}
        record = SessionRecord(resolved.spec.label, subject, session, values)
        record.extra["subject_known"] = known
        fc = _fc_features(fingerprint) if fingerprint is not None else None
        if fc is not None:
            record.extra["fc"] = fc
        if halves:
            mid = 0.5 * (baseline.segment.start + baseline.segment.stop)
            parts = [
                Segment.between(baseline.segment.start, mid, evidence="first half"),
                Segment.between(mid, baseline.segment.stop, evidence="second half"),
            ]
            half_prints = [
                fingerprint_baseline(Baseline(resolved.recording, part, baseline.metadata), params=params, seed=seed)
                for part in parts
            ]
            record.extra["halves"] = [fp.summary_dict() for fp in half_prints]
            half_fc = [_fc_features(fp) for fp in half_prints]
            if all(f is not None for f in half_fc):
                record.extra["halves_fc"] = half_fc
        if effects:
            task_recording = resolved.recording
            if source_kind(resolved.spec) == "bids-run":  # a BIDS run: the task run is another recording
                if task_run is None:
                    record.note = (
                        f"BIDS run: pass {option('task_run', 'NAME')} (the BIDS task holding the task segments)"
                    )
                    return record
                task = stack.enter_context(
                    resolve(SourceSpec(str(sibling_run(resolved.key, task=task_run).data_path), whole=True))
                )
                task_recording = task.recording
            record.effects = compute_task_effects(
                task_recording, baseline=baseline, labels=labels, n_boot=n_boot, rng=seed
            )
        return record


def effects_frame(records: Sequence[SessionRecord], *, feature: str | None = None) -> pd.DataFrame:
    """All task effects as one long table (``key``, ``subject``, ``session`` + the effects columns)."""
    frames = []
    for record in records:
        if record.effects is None:
            continue
        frame = record.effects.table.assign(key=record.key, subject=record.subject, session=record.session)
        frames.append(frame if feature is None else frame[frame["feature"] == feature])
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _summary_columns(records: Sequence[SessionRecord], names: Sequence[str] | None) -> list[str]:
    names = list(SUMMARY_NAMES) if names is None else list(names)
    unknown = [n for n in names if n not in SUMMARY_NAMES]
    if unknown:
        raise DataError(f"unknown baseline feature(s) {unknown}; choose from the summary: {list(SUMMARY_NAMES)}")
    return [n for n in names if all(math.isfinite(r.summary[n]) for r in records)]


def compare_effects_sources(
    records: Sequence[SessionRecord], *, feature: str, covariates: Sequence[str], labels: Sequence[str] | None = None
) -> TaskEffectComparison:
    """Naive and baseline-adjusted differences between labels of ``feature``'s task effect (z) across sessions."""
    table = effects_frame(records, feature=feature)
    if table.empty:
        raise DataError(f"no session has task effects of feature {feature!r}")
    if labels is not None:
        table = table[table["label"].isin(labels)]
    usable = [r for r in records if r.effects is not None]
    covariates = _summary_columns(usable, covariates)
    if not covariates:
        raise DataError("no baseline feature to adjust for is finite in every session")
    base = pd.DataFrame([{"key": r.key, **{c: r.summary[c] for c in covariates}} for r in usable])
    table = table.drop(columns=["delta"]).merge(base, on="key").rename(columns={"label": "condition", "z": "delta"})
    return compare_task_effects(table, covariates=covariates)


def predict_sources(
    records: Sequence[SessionRecord],
    *,
    feature: str,
    features: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    n_perm: int = 200,
    seed: int = 0,
) -> PredictionResult:
    """Predict each label's task effect (z of ``feature``) from the baseline summary, leave-one-subject-out."""
    usable = [r for r in records if r.effects is not None]
    table = effects_frame(usable, feature=feature)
    if table.empty:
        raise DataError(f"no session has task effects of feature {feature!r}")
    wide = table.pivot_table(index="key", columns="label", values="z")
    if labels is not None:
        wide = wide[[c for c in wide.columns if c in labels]]
    wide = wide.dropna(axis=1)
    if wide.shape[1] == 0:
        raise DataError("no task label is present in every session; choose --labels shared by all sessions")
    columns = _summary_columns(usable, features)
    base = pd.DataFrame([{"key": r.key, "subject": r.subject, **{c: r.summary[c] for c in columns}} for r in usable])
    responses = [f"{label}:{feature}" for label in wide.columns]
    wide.columns = responses
    data = base.merge(wide.reset_index(), on="key")
    return predict_task_from_rest(data, features=columns, responses=responses, n_perm=n_perm, rng=seed)


IDENTIFY_METHODS = ("auto", "summary", "fc")
"""``identify`` methods: summary vectors, FC edges (Finn et al. 2015), or FC when every session has it."""


def identify_sources(
    records: Sequence[SessionRecord],
    *,
    features: Sequence[str] | None = None,
    halves: bool = False,
    metric: str = "correlation",
    method: str = "auto",
) -> IdentificationResult:
    """Identify subjects from their first two sessions (or, with ``halves``, each session from its two halves).

    ``method``: ``"summary"`` (standardised summary vectors, :func:`identify_subjects`), ``"fc"`` (Pearson
    correlation of the Fisher-z FC edge vectors, not standardised: Finn et al. 2015; every session needs the
    same ROIs), or ``"auto"`` (``"fc"`` when every session has an FC matrix, i.e. fMRI, else ``"summary"``).
    Sessions whose subject is not in their metadata are left out of two-session identification (a file name
    does not say who was scanned).
    """
    if method not in IDENTIFY_METHODS:
        raise DataError(f"{option('method', method)} must be one of {', '.join(IDENTIFY_METHODS)}")
    have_fc = bool(records) and all(("halves_fc" if halves else "fc") in r.extra for r in records)
    if method == "fc" and not have_fc:
        missing = [r.key for r in records if ("halves_fc" if halves else "fc") not in r.extra][:3]
        raise DataError(f"--method fc needs an FC matrix in every fingerprint (fMRI); none in {', '.join(missing)}")
    use_fc = method == "fc" or (method == "auto" and have_fc)
    if halves:
        field_ = "halves_fc" if use_fc else "halves"
        pairs = [(r.key, r.extra[field_][0], r.extra[field_][1]) for r in records if field_ in r.extra]
    else:
        by_subject: dict[str, list[SessionRecord]] = {}
        for r in records:
            if r.extra.get("subject_known", True):
                by_subject.setdefault(r.subject, []).append(r)
        pick = (lambda r: r.extra["fc"]) if use_fc else (lambda r: r.summary)
        pairs = [(s, pick(rs[0]), pick(rs[1])) for s, rs in by_subject.items() if len(rs) >= 2]
    if len(pairs) < 2:
        unknown = sum(1 for r in records if not r.extra.get("subject_known", True))
        why = (
            f"; {unknown} session(s) have no subject in their metadata (give --subject or a subject column)"
            if unknown and not halves
            else ""
        )
        raise DataError(
            f"identification needs at least 2 subjects with two baselines each, got {len(pairs)}{why}; "
            "name more sessions or use --halves (two halves of each baseline)"
        )
    if use_fc:
        channels = {tuple(p[1]["channels"]) for p in pairs} | {tuple(p[2]["channels"]) for p in pairs}
        if len(channels) > 1:
            raise DataError("FC identification needs the same ROIs in every session; these differ (use one atlas)")
        names = [f"{a}~{b}" for i, a in enumerate(pairs[0][1]["channels"]) for b in pairs[0][1]["channels"][i + 1 :]]
        a = pd.DataFrame([p[1]["edges"] for p in pairs], index=[p[0] for p in pairs], columns=names)
        b = pd.DataFrame([p[2]["edges"] for p in pairs], index=[p[0] for p in pairs], columns=names)
        return identify_subjects(a, b, metric="correlation", standardize=False)
    names = list(SUMMARY_NAMES) if features is None else list(features)
    unknown = [n for n in names if n not in SUMMARY_NAMES]
    if unknown:
        raise DataError(f"unknown baseline feature(s) {unknown}; choose from the summary: {list(SUMMARY_NAMES)}")
    a = pd.DataFrame([p[1] for p in pairs], index=[p[0] for p in pairs])[names]
    b = pd.DataFrame([p[2] for p in pairs], index=[p[0] for p in pairs])[names]
    return identify_subjects(a, b, metric=metric)


def as_jsonable(value: Any) -> Any:
    """NaN/inf to None, NumPy scalars to Python (recursively)."""
    if isinstance(value, dict):
        return {k: as_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return as_jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
