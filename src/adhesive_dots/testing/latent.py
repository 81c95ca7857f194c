"""Latent systems whose frame *is* identifiable from spontaneous activity (alignment tests).

The simulator's default :class:`~adhesive_dots.sim.sessions.LatentSystem` has rotational
dynamics driven by Gaussian noise: every baseline statistic is unchanged by a rotation
inside each oscillation plane and by the sign, so no baseline-only method can align two
datasets observing it (see :mod:`adhesive_dots.align.latent`). The system here keeps the
simulator's model and ``run`` contract but has non-normal dynamics with distinct real
eigenvalues and skewed (event-like) innovations, which pin the latent frame down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adhesive_dots.sim.sessions import LatentSystem, SimSession
from adhesive_dots.sim.signals import RngLike, as_rng

IDENTIFIABLE_EIGENVALUES = (0.95, 0.9, 0.8, 0.7)
"""Per-sample decay of the latent modes at 30 Hz (time constants 0.65 s to 0.09 s)."""


@dataclass(frozen=True)
class SkewedLatentSystem(LatentSystem):
    """``z[t+1] = A z[t] + B u[t] + e[t]`` with centred gamma innovations of unit variance.

    ``shape`` is the gamma shape: the innovations' skewness is ``2 / sqrt(shape)``.
    """

    shape: float = 0.2

    def run(self, n_times: int, inputs: np.ndarray | None = None, *, rng: RngLike = None) -> np.ndarray:
        """Latent trajectory ``(latent_dim, n_times)``; ``inputs`` is ``(n_conditions, n_times)``."""
        rng = as_rng(rng)
        drive = (rng.gamma(self.shape, 1.0, (self.latent_dim, n_times)) - self.shape) / np.sqrt(self.shape)
        drive *= np.sqrt(self.noise)
        if inputs is not None:
            drive += self.B @ inputs
        z = np.zeros((self.latent_dim, n_times))
        for t in range(1, n_times):
            z[:, t] = self.A @ z[:, t - 1] + drive[:, t]
        return z


def sim_identifiable_latent(
    eigenvalues: tuple[float, ...] = IDENTIFIABLE_EIGENVALUES, *, rng: RngLike = None
) -> SkewedLatentSystem:
    """A :class:`SkewedLatentSystem` with ``A = V diag(eigenvalues) V^-1`` (random ``V``) and the
    simulator's unit-norm condition inputs ``B`` (effect size 1.5)."""
    rng = as_rng(rng)
    k = len(eigenvalues)
    basis = rng.standard_normal((k, k))
    A = basis @ np.diag(eigenvalues) @ np.linalg.inv(basis)
    return SkewedLatentSystem(A=A, B=LatentSystem.random(k, rng=rng).B)


def split_session(session: SimSession) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """A simulated session as ``(baseline, task, trials)`` for :func:`~adhesive_dots.align.evaluate_alignment`.

    ``baseline`` is ``(n_channels, n_baseline_times)``, ``task`` the task block
    ``(n_channels, n_task_times)`` and ``trials`` has ``start``/``stop`` in s from the task
    block's first sample and ``condition``.
    """
    fs = session.fs
    start, stop = session.baseline_interval
    baseline = session.data[:, int(round(start * fs)) : int(round(stop * fs))].astype(float)
    task = session.intervals[session.intervals["label"] == "task"].iloc[0]
    t0, t1 = float(task["start"]), float(task["stop"])
    data = session.data[:, int(round(t0 * fs)) : int(round(t1 * fs))].astype(float)
    trials = session.trials.assign(start=session.trials["start"] - t0, stop=session.trials["stop"] - t0)
    return baseline, data, trials
