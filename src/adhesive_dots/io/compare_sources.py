"""Compare, task effects, prediction and identification on sources (what ``adots compare``,
``adots effects``, ``adots predict`` and ``adots identify`` run).

This is the io-aware side of :mod:`adhesive_dots.compare`: it expands targets (files, folders,
BIDS roots; :func:`~adhesive_dots.io.discover.expand_sources`), opens each session, finds its
baseline (:func:`~adhesive_dots.baselines.find_baselines`), fingerprints it and computes its task
effects, then hands arrays and tables to the numerics.

Task segments: an NWB session's own intervals outside the baseline (``trials`` rows by condition,
the ``epochs`` row ``task``); a BIDS session's task run, opened separately with ``task=task_run``
(same subject and session as the rest run), whose annotations are the conditions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.baselines import find_baselines
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
from adhesive_dots.core import Baseline, Recording, Segment
from adhesive_dots.errors import BaselineNotFoundError, DataError, SourceNotFoundError
from adhesive_dots.fingerprint import SUMMARY_NAMES, Fingerprint, fingerprint, read_fingerprint
from adhesive_dots.io.discover import SourceItem, expand_sources
from adhesive_dots.io.read import open_recording


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


def expand(targets: Iterable[str | Path]) -> tuple[list[SourceItem], list[str]]:
    """Sources of ``targets`` and one line per target that yields none; a target that is a
    ``.nc`` fingerprint passes as it is."""
    items: list[SourceItem] = []
    rest: list[str] = []
    for target in targets:
        if str(target).endswith(".nc"):
            items.append(SourceItem(str(target)))
        else:
            rest.append(str(target))
    found, problems = expand_sources(rest)
    return items + found, [p.message for p in problems]


def _single(target: str | Path, name: str) -> SourceItem:
    items, problems = expand([target])
    if problems and not items:
        raise SourceNotFoundError(problems[0])
    if len(items) != 1:
        labels = ", ".join(item.label for item in items[:5])
        raise DataError(
            f"{name}={target} names {len(items)} sessions ({labels}{' ...' if len(items) > 5 else ''}); "
            "name one file (an NWB file, a BIDS run's data file, a .nc fingerprint)"
        )
    return items[0]


def _open(item: SourceItem, stack: ExitStack, **options: Any) -> Recording:
    return stack.enter_context(open_recording(item.source, **{**item.options, **options}))


def _baseline(recording: Recording) -> Baseline:
    found = find_baselines(recording)
    if not found:
        raise BaselineNotFoundError(
            f"{recording.source}: no interval marks spontaneous activity; annotate the baseline first "
            "(adots annotate) or name a session that has one"
        )
    return found[0]


def compare_sources(
    a: str | Path, b: str | Path, *, window_s: float = 30.0, n_boot: int = 1000, seed: int = 0
) -> tuple[BaselineComparison, list[str]]:
    """:func:`~adhesive_dots.compare.compare_baselines` of two sessions (or ``.nc`` fingerprints); also their labels."""
    items = [_single(a, "A"), _single(b, "B")]
    with ExitStack() as stack:
        inputs: list[Fingerprint | Baseline] = []
        for item in items:
            if item.source.endswith(".nc"):
                inputs.append(read_fingerprint(item.source))
            else:
                inputs.append(_baseline(_open(item, stack)))
        result = compare_baselines(inputs[0], inputs[1], window_s=window_s, n_boot=n_boot, rng=seed)
    return result, [item.label for item in items]


def _identity(item: SourceItem, baseline: Baseline) -> tuple[str, str]:
    identity = baseline.metadata.identity
    subject = identity.subject_id or item.options.get("subject") or Path(item.key).stem
    session = identity.session_id or item.options.get("session") or Path(item.key).stem
    return str(subject), str(session)


def session_records(
    targets: Iterable[str | Path],
    *,
    effects: bool = True,
    summary: bool = True,
    task_run: str | None = None,
    labels: Sequence[str] | None = None,
    halves: bool = False,
    n_boot: int = 500,
    seed: int = 0,
) -> tuple[list[SessionRecord], list[str]]:
    """Fingerprint summary (and task effects) of every session of ``targets``.

    Parameters
    ----------
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

    Returns
    -------
    records, notes
        One record per session that has a baseline; one note per target or session left out and why.
    """
    from adhesive_dots.errors import AdhesiveError

    items, notes = expand(targets)
    records = []
    for item in items:
        if item.source.endswith(".nc"):
            notes.append(f"{item.source}: a fingerprint file holds no task segments; name the recording instead")
            continue
        try:
            with ExitStack() as stack:
                recording = _open(item, stack)
                baseline = _baseline(recording)
                subject, session = _identity(item, baseline)
                values = fingerprint(baseline, rng=seed).summary_dict() if summary else {}
                record = SessionRecord(item.label, subject, session, values)
                if halves:
                    mid = 0.5 * (baseline.segment.start + baseline.segment.stop)
                    parts = [Segment.between(baseline.segment.start, mid, evidence="first half"),
                             Segment.between(mid, baseline.segment.stop, evidence="second half")]  # fmt: skip
                    record.extra["halves"] = [
                        fingerprint(Baseline(recording, part, baseline.metadata), rng=seed).summary_dict()
                        for part in parts
                    ]
                if effects:
                    task_recording = recording
                    if item.options:  # a BIDS run: the task run is another recording
                        if task_run is None:
                            record.note = "BIDS run: pass --task-run NAME (the BIDS task holding the task segments)"
                            records.append(record)
                            continue
                        task_recording = _open(item, stack, task=task_run)
                    record.effects = compute_task_effects(task_recording, baseline=baseline, labels=labels,
                                                          n_boot=n_boot, rng=seed)  # fmt: skip
                records.append(record)
        except AdhesiveError as err:
            notes.append(f"{item.label}: {err}")
    return records, notes


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


def identify_sources(
    records: Sequence[SessionRecord],
    *,
    features: Sequence[str] | None = None,
    halves: bool = False,
    metric: str = "correlation",
) -> IdentificationResult:
    """Identify subjects from their first two sessions (or, with ``halves``, each session from its two halves)."""
    if halves:
        pairs = [(r.key, r.extra["halves"][0], r.extra["halves"][1]) for r in records if "halves" in r.extra]
    else:
        by_subject: dict[str, list[SessionRecord]] = {}
        for r in records:
            by_subject.setdefault(r.subject, []).append(r)
        pairs = [(s, rs[0].summary, rs[1].summary) for s, rs in by_subject.items() if len(rs) >= 2]
    if len(pairs) < 2:
        raise DataError(
            f"identification needs at least 2 subjects with two baselines each, got {len(pairs)}; "
            "name more sessions or use --halves (two halves of each baseline)"
        )
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
