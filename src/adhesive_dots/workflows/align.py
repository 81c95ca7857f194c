"""Aligning two sources through their baselines (``adots align``, the demo).

Resolves both sources through the one road (:mod:`adhesive_dots.io.sources`: each one's
baseline is what its spec says), fits an aligner on the two baselines (reading only those
segments), saves it, and, when both recordings carry task trials (an NWB ``trials`` table whose
condition is the interval label), evaluates it with :func:`~adhesive_dots.align.evaluate_alignment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.align import AlignmentEvaluation, align_baselines, evaluate_alignment, save_aligner
from adhesive_dots.core import Recording
from adhesive_dots.errors import DataError, option
from adhesive_dots.io.sources import SourceSpec, expand_one, open_baseline

TRIALS_TABLE = "trials"


@dataclass(frozen=True)
class AlignmentRun:
    """What :func:`align_sources` did: the fitted aligner, where it went, how good it is."""

    method: str
    source_a: str
    source_b: str
    baseline_a: tuple[float, float]
    baseline_b: tuple[float, float]
    aligner: Any
    output: Path | None
    evaluation: AlignmentEvaluation | None
    evaluation_note: str = ""

    @property
    def quality(self) -> dict[str, Any]:
        return dict(self.aligner.quality_)

    @property
    def verdict(self) -> str:
        """One sentence: identifiable or not, how confident (:func:`~adhesive_dots.align.alignment_verdict`)."""
        from adhesive_dots.align import alignment_verdict

        return alignment_verdict(self.quality)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "source_a": self.source_a,
            "source_b": self.source_b,
            "baseline_a": list(self.baseline_a),
            "baseline_b": list(self.baseline_b),
            "output": str(self.output) if self.output else None,
            "verdict": self.verdict,
            "quality": self.quality,
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "evaluation_note": self.evaluation_note,
        }


def read_task_trials(recording: Recording) -> pd.DataFrame:
    """The recording's task trials: ``start``, ``stop`` (s from its first sample) and ``condition``."""
    rows = recording.intervals[recording.intervals["table"] == TRIALS_TABLE]
    return pd.DataFrame(
        {
            "start": rows["start"].to_numpy(dtype=float) - recording.t0,
            "stop": rows["stop"].to_numpy(dtype=float) - recording.t0,
            "condition": rows["label"].astype(str).to_numpy(),
        }
    )


def align_sources(
    source_a: str | Path | SourceSpec,
    source_b: str | Path | SourceSpec,
    *,
    method: str = "latent",
    output: str | Path | None = None,
    overwrite: bool = False,
    template: SourceSpec | None = None,
    entities_a: dict[str, str] | None = None,
    entities_b: dict[str, str] | None = None,
    evaluate: bool = True,
    n_controls: int = 5,
    rng: Any = 0,
    **params: Any,
) -> AlignmentRun:
    """Fit an aligner on the baselines of two sources; save and evaluate it.

    Parameters
    ----------
    source_a, source_b : str, Path or SourceSpec
        Any sources (a BIDS root narrowed to one run by ``entities_a``/``entities_b``); ``a`` is
        the reference.
    template : SourceSpec, optional
        Reading options and baseline choice of both sources.
    method : {"latent", "covariance"}
        :class:`~adhesive_dots.align.LatentAligner` or :class:`~adhesive_dots.align.CovarianceAligner`.
    output : str or Path, optional
        Where to save the fitted transform (``.npz``).
    overwrite : bool
        Replace an existing ``output``.
    evaluate : bool
        Run :func:`~adhesive_dots.align.evaluate_alignment` when both sources have task trials.
    n_controls : int
        Shuffled-baseline refits of the evaluation's permutation control.
    rng : int, Generator or None
        Randomness of the aligner and of the evaluation.
    **params
        Parameters of the aligner (e.g. ``n_components``).
    """
    if output is not None:
        target = Path(output) if str(output).endswith(".npz") else Path(f"{output}.npz")
        if target.exists() and not overwrite:
            raise DataError(f"{target}: file exists; pass {option('overwrite', True)} to replace it")
    template = template or SourceSpec("")
    spec_a = expand_one(source_a, template=template.replace(**(entities_a or {})), name="SOURCE_A")
    spec_b = expand_one(source_b, template=template.replace(**(entities_b or {})), name="SOURCE_B")
    resolved_a, baseline_a = open_baseline(spec_a)
    with resolved_a:
        resolved_b, baseline_b = open_baseline(spec_b)
        with resolved_b:
            recording_a, recording_b = resolved_a.recording, resolved_b.recording
            return _fit(
                baseline_a,
                baseline_b,
                recording_a,
                recording_b,
                method=method,
                output=output,
                evaluate=evaluate,
                n_controls=n_controls,
                rng=rng,
                params=params,
            )


def _fit(
    baseline_a, baseline_b, recording_a, recording_b, *, method, output, evaluate, n_controls, rng, params
) -> AlignmentRun:
    """Fit, save and (with trials in both recordings) evaluate the aligner."""
    if method == "latent":
        params.setdefault("rng", rng)
    aligner = align_baselines(baseline_a, baseline_b, method=method, **params)
    path = save_aligner(aligner, output) if output is not None else None
    evaluation, note = None, "no task trials in both sources: decoding not evaluated"
    trials_a, trials_b = read_task_trials(recording_a), read_task_trials(recording_b)
    if evaluate and len(trials_a) and len(trials_b):
        try:
            evaluation = evaluate_alignment(
                aligner,
                baseline_a.load(),
                baseline_b.load(),
                recording_a.read(),
                trials_a,
                recording_b.read(),
                trials_b,
                fs=baseline_a.fs,
                n_controls=n_controls,
                rng=np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng,
            )
            note = ""
        except DataError as err:  # too few trials to decode: the aligner stands, its evaluation cannot be made
            note = f"decoding not evaluated: {err}"
    return AlignmentRun(
        method=method,
        source_a=recording_a.source,
        source_b=recording_b.source,
        baseline_a=(baseline_a.segment.start, baseline_a.segment.stop),
        baseline_b=(baseline_b.segment.start, baseline_b.segment.stop),
        aligner=aligner,
        output=path,
        evaluation=evaluation,
        evaluation_note=note,
    )
