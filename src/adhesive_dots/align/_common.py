"""Helpers shared by the aligners: input checks, the two-domain contract, shuffled controls."""

from __future__ import annotations

from typing import Any

import numpy as np

from adhesive_dots.errors import DataError

DOMAINS = ("a", "b")
"""Names of the two datasets an aligner connects: ``"a"`` is the reference, ``"b"`` is mapped onto it."""


def check_data(data: Any, name: str, *, min_times: int = 2) -> np.ndarray:
    """``data`` as a finite float64 array ``(n_channels, n_times)`` or raise :class:`DataError`."""
    array = np.asarray(data, dtype=np.float64)
    if array.ndim != 2:
        raise DataError(
            f"{name}: expected an array (n_channels, n_times), got shape {array.shape}; "
            "pass one recording's baseline with time on the last axis"
        )
    n_channels, n_times = array.shape
    if n_channels < 2:
        raise DataError(f"{name}: alignment needs at least 2 channels/neurons, got {n_channels}")
    if n_times < min_times:
        raise DataError(f"{name}: {n_times} samples; at least {min_times} are needed (use a longer baseline)")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise DataError(
            f"{name}: {bad} non-finite sample(s) (NaN/inf); drop or interpolate them before aligning "
            "(e.g. restrict the baseline to a clean stretch)"
        )
    flat = np.nonzero(np.std(array, axis=-1) == 0)[0]
    if flat.size:
        raise DataError(
            f"{name}: channel(s) {flat[:5].tolist()} are constant over the baseline; remove flat channels first"
        )
    return array


def check_fs(fs: Any) -> float:
    """A positive finite sampling rate in Hz, or :class:`DataError`."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise DataError(f"fs: expected a sampling rate in Hz, got {fs!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"fs: the sampling rate must be a positive number of Hz, got {fs!r}")
    return value


def check_domain(domain: Any) -> str:
    if domain not in DOMAINS:
        raise DataError(f"domain: expected 'a' (the reference dataset) or 'b' (the aligned one), got {domain!r}")
    return str(domain)


def check_transform_input(data: Any, n_channels: int, domain: str, source_name: str) -> np.ndarray:
    """``data`` shaped ``(..., n_channels, n_times)`` with the fitted channel count of ``domain``."""
    array = np.asarray(data, dtype=np.float64)
    if array.ndim < 2 or array.shape[-2] != n_channels:
        raise DataError(
            f"transform(domain={domain!r}): expected (..., {n_channels}, n_times) like the baseline of "
            f"dataset {domain!r} ({source_name}), got shape {array.shape}"
        )
    return array


def shuffle_in_time(data: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Each channel permuted in time independently: keeps every channel's values, destroys
    cross-channel correlations and temporal dynamics (the permutation control)."""
    order = np.argsort(rng.random(data.shape), axis=-1)
    return np.take_along_axis(data, order, axis=-1)


def as_rng(rng: Any) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


MISMATCH_RATIO_SHARED = 0.7
"""Latent alignment: a mismatch ratio (residual / residual against b shuffled in time) below this means the
baselines share dynamics; at or above it the best rotation fits hardly better than no structure."""
SIGN_AGREEMENT_DECISIVE = 0.5
"""Latent alignment: a third-order agreement (|cosine|) at least this large chooses between tied solutions."""
DISTANCE_RATIO_ALIGNED = 0.5
"""Covariance alignment: a Riemannian distance ratio (after / before) at most this means the mean covariances
were brought together."""


def alignment_verdict(quality: dict) -> str:
    """One sentence for a person: is the alignment identifiable from the baselines, and how confident.

    Reads an aligner's ``quality_`` (latent: ``mismatch_ratio``, ``tied_solutions``, ``sign_agreement``;
    covariance: ``distance_ratio``, ``rotation_converged``) against :data:`MISMATCH_RATIO_SHARED`,
    :data:`SIGN_AGREEMENT_DECISIVE` and :data:`DISTANCE_RATIO_ALIGNED`.

    >>> alignment_verdict({"mismatch_ratio": 0.2, "tied_solutions": 16, "sign_agreement": 0.05}).split(":")[0]
    'Not identifiable from the baselines alone'
    """
    if "mismatch_ratio" in quality:
        ratio = quality["mismatch_ratio"]
        tied = int(quality.get("tied_solutions", 1))
        agreement = quality.get("sign_agreement", float("nan"))
        if not ratio == ratio or ratio >= MISMATCH_RATIO_SHARED:  # NaN or no shared structure
            return (
                "Not aligned: the two baselines share little dynamics (the best fit is hardly better than against "
                "a time-shuffled baseline), so the transform should not be trusted."
            )
        if tied <= 1:
            return (
                "Identifiable, with good confidence: one alignment fits the shared dynamics of the baselines "
                "clearly better than any other."
            )
        if agreement >= SIGN_AGREEMENT_DECISIVE:
            return (
                f"Identifiable, with moderate confidence: {tied} alignments fit the baselines equally well and "
                "their non-Gaussian statistics agree enough to choose one; check it with task trials."
            )
        return (
            f"Not identifiable from the baselines alone: {tied} alignments fit them equally well and nothing in "
            "the baselines chooses between them, so decoding across datasets may depend on luck; check it with "
            "task trials."
        )
    if "distance_ratio" in quality:
        if not quality.get("rotation_converged", True):
            return "Aligned with low confidence: the rotation between the datasets did not converge."
        if quality["distance_ratio"] <= DISTANCE_RATIO_ALIGNED:
            return (
                "Aligned, with good confidence: the re-centred covariances of the two baselines lie much closer "
                "together than before."
            )
        return (
            "Aligned with low confidence: re-centring brought the two baselines' covariances only a little "
            "closer together."
        )
    return "No verdict: the aligner reports no quality measures this command knows."
