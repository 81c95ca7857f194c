"""Simulated resting-state BOLD ROI series with known ground truth (layer 2: arrays only).

* :func:`sim_subject_fc` -- correlation matrices of subjects who share a block (network) structure
  and differ by an individual part of known size (for connectome identification);
* :func:`sim_roi_series` -- ROI series with a chosen correlation matrix whose every ROI is fractional
  Gaussian noise of a chosen Hurst exponent (a linear mix of independent fGn of one ``H`` is fGn of
  that ``H``, so the DFA exponent of every ROI is ``H`` and the correlation is ``corr``);
* :func:`sim_motion` -- rigid-body motion parameters and their framewise displacement (Power et al.
  2012: sum of absolute differences, rotations on a 50 mm sphere).

The BIDS writer that puts them into NIfTI runs is :func:`adhesive_dots.sim.bold_dataset.write_bold_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.sim.signals import RngLike, as_rng, sim_fgn

HEAD_RADIUS_MM = 50.0
"""Radius in mm that turns rotations (rad) into displacements for the framewise displacement."""


def block_fc(n_rois: int, n_networks: int, *, within: float = 0.5, between: float = 0.1) -> np.ndarray:
    """A correlation matrix ``(n_rois, n_rois)`` of ``n_networks`` equal blocks (``within`` and ``between`` r)."""
    if n_networks < 1 or n_rois < n_networks:
        raise DataError(f"need 1 <= n_networks <= n_rois, got {n_networks} networks for {n_rois} ROIs")
    labels = np.arange(n_rois) * n_networks // n_rois
    fc = np.where(labels[:, None] == labels[None, :], within, between)
    np.fill_diagonal(fc, 1.0)
    return fc


def _nearest_correlation(matrix: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """The symmetric positive definite correlation matrix nearest ``matrix`` (eigenvalue clipping)."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    fixed = (vectors * np.clip(values, floor, None)) @ vectors.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)


def sim_subject_fc(
    n_subjects: int,
    n_rois: int,
    *,
    n_networks: int = 4,
    individuality: float = 0.3,
    rng: RngLike = None,
) -> np.ndarray:
    """Correlation matrices ``(n_subjects, n_rois, n_rois)``: a shared block structure plus an individual part.

    Each subject's matrix is the group's :func:`block_fc` plus ``individuality`` times a random symmetric
    matrix (entries N(0, 1) scaled to r), made positive definite.
    """
    rng = as_rng(rng)
    group = block_fc(n_rois, n_networks)
    out = np.empty((n_subjects, n_rois, n_rois))
    for s in range(n_subjects):
        noise = rng.standard_normal((n_rois, n_rois))
        noise = (noise + noise.T) / np.sqrt(2.0)
        matrix = group + individuality * 0.3 * noise
        np.fill_diagonal(matrix, 1.0)
        out[s] = _nearest_correlation(matrix)
    return out


def sim_roi_series(corr: np.ndarray, n_times: int, *, hurst: float = 0.5, rng: RngLike = None) -> np.ndarray:
    """ROI series ``(n_rois, n_times)`` of correlation ``corr``, every ROI fGn of Hurst ``hurst`` (unit variance)."""
    corr = np.asarray(corr, dtype=float)
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1]:
        raise DataError(f"corr must be a square matrix, got shape {corr.shape}")
    latent = sim_fgn(n_times, hurst, n_signals=corr.shape[0], rng=rng)
    return np.linalg.cholesky(corr) @ latent


@dataclass(frozen=True)
class Motion:
    """Motion parameters ``(6, n_volumes)`` (``trans_x/y/z`` mm, ``rot_x/y/z`` rad) and FD ``(n_volumes,)`` mm."""

    parameters: np.ndarray
    framewise_displacement: np.ndarray

    names = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")


def sim_motion(
    n_volumes: int, *, step_mm: float = 0.05, n_spikes: int = 0, spike_mm: float = 1.0, rng: RngLike = None
) -> Motion:
    """Random-walk head motion with ``n_spikes`` sudden jumps of ``spike_mm``; FD as in Power et al. 2012.

    The first volume's FD is NaN (``n/a`` in fMRIPrep's table).
    """
    rng = as_rng(rng)
    steps = rng.standard_normal((6, n_volumes)) * step_mm
    steps[3:] /= HEAD_RADIUS_MM  # rotations in rad with the same displacement scale
    for volume in rng.choice(np.arange(1, n_volumes), size=n_spikes, replace=False) if n_spikes else []:
        steps[0, volume] += spike_mm
    steps[:, 0] = 0.0
    parameters = np.cumsum(steps, axis=1)
    diffs = np.abs(np.diff(parameters, axis=1))
    fd = np.concatenate([[np.nan], diffs[:3].sum(axis=0) + HEAD_RADIUS_MM * diffs[3:].sum(axis=0)])
    return Motion(parameters, fd)


__all__ = ["HEAD_RADIUS_MM", "Motion", "block_fc", "sim_motion", "sim_roi_series", "sim_subject_fc"]
