"""Align datasets through their baselines: learn a map on spontaneous activity, carry task data.

* :class:`LatentAligner` — different neurons, no correspondence: per-dataset latent spaces
  (PCA / factor analysis) matched through the baselines' lagged covariances (dynamics).
* :class:`CovarianceAligner` — matched channels: Riemannian re-centring and Procrustes
  rotation of baseline covariances (pyRiemann's transfer-learning tools).
* :func:`evaluate_alignment` — cross-dataset decoding beside its ceiling, the unaligned
  accuracy, chance and a shuffled-baseline permutation control.
* :func:`save_aligner` / :func:`load_aligner` — ``.npz`` + JSON, no code executed on load.
* :func:`align_baselines` — the object level: fit on two :class:`~adhesive_dots.core.Baseline`.

Each module's docstring states the assumptions and when its method is valid.
"""

from __future__ import annotations

from typing import Any

from adhesive_dots.align._common import alignment_verdict
from adhesive_dots.align.covariance import CovarianceAligner
from adhesive_dots.align.evaluate import AlignmentEvaluation, evaluate_alignment
from adhesive_dots.align.latent import LatentAligner, lagged_covariances
from adhesive_dots.align.persist import load_aligner, save_aligner
from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError

METHODS = {"latent": LatentAligner, "covariance": CovarianceAligner}


def make_aligner(method: str, **params: Any) -> LatentAligner | CovarianceAligner:
    """An unfitted aligner by name: ``"latent"`` or ``"covariance"``."""
    if method not in METHODS:
        raise DataError(f"method: expected one of {sorted(METHODS)}, got {method!r}")
    return METHODS[method](**params)


def align_baselines(
    baseline_a: Baseline, baseline_b: Baseline, *, method: str = "latent", **params: Any
) -> LatentAligner | CovarianceAligner:
    """Fit an aligner on two baselines (reads only their segments).

    Parameters
    ----------
    baseline_a, baseline_b : Baseline
        The reference dataset's baseline and the one to align; same sampling rate.
    method : {"latent", "covariance"}
    **params
        Parameters of the aligner.
    """
    if abs(baseline_a.fs - baseline_b.fs) > 1e-9 * baseline_a.fs:
        raise DataError(
            f"{baseline_a.source} is sampled at {baseline_a.fs:g} Hz and {baseline_b.source} at "
            f"{baseline_b.fs:g} Hz; resample or bin both to one rate before aligning"
        )
    aligner = make_aligner(method, **params)
    return aligner.fit(baseline_a.load(), baseline_b.load(), fs=baseline_a.fs)


__all__ = [
    "METHODS",
    "AlignmentEvaluation",
    "CovarianceAligner",
    "LatentAligner",
    "alignment_verdict",
    "align_baselines",
    "evaluate_alignment",
    "lagged_covariances",
    "load_aligner",
    "make_aligner",
    "save_aligner",
]
