"""Sufficiency and diversity over sources (what ``adots sufficiency`` and ``adots diversity`` run).

:func:`sufficiency_sources` resolves its targets through the one road: one recording gives the
reliability of its baseline against its own sub-segments, several give a corpus (reliability
across baselines). :func:`diversity_sources` fingerprints each recording's baseline and its task
interval, cropped to a common length, and compares their dispersion across sessions. Sources
that cannot be used are skipped with a note; the rest go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Baseline, Segment
from adhesive_dots.errors import DataError, SourceNotFoundError, option
from adhesive_dots.fingerprint import SUMMARY_NAMES, FingerprintParams
from adhesive_dots.io.sources import SourceSpec, expand_sources, open_baseline
from adhesive_dots.sufficiency import (
    DEFAULT_LENGTHS,
    Diversity,
    Sufficiency,
    compute_corpus_sufficiency,
    compute_diversity,
    compute_sufficiency,
)
from adhesive_dots.workflows._batch import each_baseline
from adhesive_dots.workflows.fingerprint import fingerprint_baseline


def sufficiency_sources(
    targets: Iterable[str | Path | SourceSpec],
    *,
    template: SourceSpec | None = None,
    lengths: Sequence[float] | None = None,
    target: float = 0.8,
    tolerance: float = 0.1,
    horizon_s: float | None = None,
    max_segments: int | None = None,
    modality: str | None = None,
    params: FingerprintParams | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[Sufficiency, list[str]]:
    """Reliability of every fingerprint feature against baseline length (see :mod:`adhesive_dots.sufficiency`).

    One recording: against its own sub-segments (verdict against its length, or ``horizon_s``);
    several: a corpus (verdict against ``horizon_s``, default 600 s). ``modality`` chooses the
    feature defaults (it overrides the sources' own). Returns the result and one note per source
    left out.
    """
    specs, problems = expand_sources(targets, template=template)
    notes = [p.message for p in problems]
    if not specs:
        raise SourceNotFoundError("; ".join(notes) or "no source given")
    options: dict[str, Any] = {
        "lengths": tuple(lengths) if lengths else DEFAULT_LENGTHS,
        "target": target,
        "rng": seed,
        "params": params,
    }
    if modality is not None:
        from adhesive_dots.metadata import Modality

        options["modality"] = Modality(modality)
    if max_segments is not None:
        options["max_segments"] = max_segments
    with ExitStack() as stack:
        if len(specs) == 1:  # one recording: its failure is the command's
            resolved, baseline = open_baseline(specs[0])
            stack.enter_context(resolved)
            notes.extend(f"{resolved.key}: {note}" for note in resolved.notes)
            try:
                result = compute_sufficiency(baseline, tolerance=tolerance, horizon_s=horizon_s, **options)
            except DataError as err:  # the numerics know arrays, not files: name the source
                if resolved.key in str(err):
                    raise
                raise type(err)(f"{resolved.key}: {err}") from err
        else:
            baselines = []
            for resolved, baseline in each_baseline(specs, stack, notes, progress=progress):
                bad = np.count_nonzero(~np.isfinite(baseline.load()))
                if bad:  # one NaN file must not abort the corpus: recorded and skipped, as effects/identify do
                    notes.append(
                        f"{resolved.key}: {bad} NaN/Inf samples in the baseline; skipped (adots validate names them)"
                    )
                    continue
                baselines.append(baseline)
            if len(baselines) < 2:
                raise DataError(f"a corpus needs at least 2 usable baselines, got {len(baselines)}: {'; '.join(notes)}")
            horizon = 600.0 if horizon_s is None else horizon_s
            result = compute_corpus_sufficiency(baselines, horizon_s=horizon, **options)
    return result, notes


@dataclass
class DiversityRun:
    """What :func:`diversity_sources` did: the result, the common segment length (s), the sessions used, notes."""

    result: Diversity
    length_s: float
    n_sessions: int
    notes: list[str]


def diversity_sources(
    targets: Iterable[str | Path | SourceSpec],
    *,
    template: SourceSpec | None = None,
    task_label: str = "task",
    length: float | None = None,
    params: FingerprintParams | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> DiversityRun:
    """Dispersion of baseline fingerprints vs task-segment fingerprints across sessions, subjects and labs."""
    specs, problems = expand_sources(targets, template=template)
    notes = [p.message for p in problems]
    pairs: list[tuple[Baseline, Baseline]] = []
    groups = []
    with ExitStack() as stack:
        for resolved, baseline in each_baseline(specs, stack, notes, progress=progress):
            recording = resolved.recording
            rows = recording.intervals[recording.intervals["label"].astype(str).str.lower() == task_label.lower()]
            if rows.empty:
                notes.append(f"{resolved.key}: no interval labelled {task_label!r} ({option('task_label')})")
                continue
            start, stop = float(rows.iloc[0]["start"]), float(rows.iloc[0]["stop"])
            task = Baseline(recording, Segment.between(start, stop, evidence=f"interval {task_label!r}"))
            pairs.append((baseline, task))
            ident = baseline.metadata.identity
            groups.append(
                {
                    "lab": ident.lab or ident.institution or "n/a",
                    "subject": f"{ident.lab}/{ident.subject_id or resolved.key}",
                    "session": f"{ident.subject_id}/{ident.session_id or resolved.key}",
                }
            )
        if len(pairs) < 3:
            skipped = f"; skipped: {'; '.join(notes)}" if notes else ""
            raise DataError(
                f"diversity needs at least 3 recordings with a baseline and a {task_label!r} interval, "
                f"found {len(pairs)}; check {option('task_label')}{skipped}"
            )
        common = min(min(b.duration, t.duration) for b, t in pairs) if length is None else float(length)
        features: dict[str, list[np.ndarray]] = {"baseline": [], "task": []}
        for baseline, task in pairs:
            for kind, dot in (("baseline", baseline), ("task", task)):
                if dot.duration < common:
                    raise DataError(
                        f"{dot.source}: {kind} is {dot.duration:.1f} s, shorter than {option('length', common)}"
                    )
                piece = Segment.between(dot.segment.start, dot.segment.start + common, evidence=dot.segment.evidence)
                cropped = Baseline(dot.recording, piece, dot.metadata)
                fp = fingerprint_baseline(cropped, params=params, seed=seed)
                features[kind].append(fp.summary_vector())
    result = compute_diversity(
        pd.DataFrame(np.array(features["baseline"]), columns=list(SUMMARY_NAMES)),
        pd.DataFrame(np.array(features["task"]), columns=list(SUMMARY_NAMES)),
        groups=pd.DataFrame(groups),
        n_boot=n_boot,
        rng=seed,
    )
    return DiversityRun(result, common, len(pairs), notes)
