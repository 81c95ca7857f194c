"""Within-session fluctuation with a known answer: baselines whose feature reliability is known in closed form,
and corpora whose baselines are built more (or less) diverse than their task segments.

The closed form simulated by :func:`sim_fluctuating_baseline` (see :class:`FluctuationModel`): a subject's feature
(here the aperiodic exponent chi of a 1/f**chi signal) is

    chi_s(k) = mean + b_s + e_s(k),    b_s ~ N(0, between_sd**2),
    e_s(k) = rho * e_s(k - 1) + sqrt(1 - rho**2) * within_sd * eta_k,    e_s(0) ~ N(0, within_sd**2),

constant within step ``k`` of ``step_s`` seconds (eta_k standard normal). An estimate over ``n`` consecutive steps
averages the ``e_s(k)``, whose variance is ``within_sd**2 / n**2 * (n + 2 * sum_{j=1}^{n-1} (n - j) * rho**j)``,
so the reliability of a length-``n * step_s`` estimate (the intraclass correlation between subjects) is

    R(n) = between_sd**2 / (between_sd**2 + Var_n)

and the length where ``R`` first reaches a target is known. The feature's own estimation error from the finite
signal (small next to ``within_sd`` for the defaults) comes on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

from adhesive_dots.errors import DataError
from adhesive_dots.sim.signals import RngLike, as_rng, sim_oscillation, sim_powerlaw


@dataclass(frozen=True)
class FluctuationModel:
    """Subject-level feature means with minute-to-minute (``step_s``) AR(1) fluctuation.

    Parameters
    ----------
    mean : float
        Population mean of the feature (the aperiodic exponent chi, unitless).
    between_sd : float
        SD of the subject means (between-subject spread), > 0.
    within_sd : float
        Stationary SD of the within-session fluctuation, >= 0.
    rho : float
        Correlation of the fluctuation between consecutive steps, in [0, 1).
    step_s : float
        Duration of one step in s (the feature is constant within a step).
    """

    mean: float = 1.5
    between_sd: float = 0.15
    within_sd: float = 0.15
    rho: float = 0.0
    step_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.between_sd > 0:
            raise DataError(f"FluctuationModel.between_sd must be > 0, got {self.between_sd!r}")
        if not self.within_sd >= 0:
            raise DataError(f"FluctuationModel.within_sd must be >= 0, got {self.within_sd!r}")
        if not 0 <= self.rho < 1:
            raise DataError(f"FluctuationModel.rho must lie in [0, 1), got {self.rho!r}")
        if not self.step_s > 0:
            raise DataError(f"FluctuationModel.step_s must be > 0 s, got {self.step_s!r}")

    def error_variance(self, length_s: float | np.ndarray) -> np.ndarray:
        """Variance of the mean fluctuation over ``length_s`` (whole steps: ``round(length_s / step_s)``, >= 1)."""
        n = np.maximum(1, np.round(np.asarray(length_s, dtype=float) / self.step_s)).astype(int)
        out = np.empty(n.shape, dtype=float)
        for index, steps in np.ndenumerate(n):
            lags = np.arange(1, steps)
            total = steps + 2.0 * np.sum((steps - lags) * self.rho**lags)
            out[index] = self.within_sd**2 * total / steps**2
        return out

    def reliability(self, length_s: float | np.ndarray) -> np.ndarray:
        """The true reliability ``R`` of an estimate over ``length_s`` seconds (closed form above)."""
        return self.between_sd**2 / (self.between_sd**2 + self.error_variance(length_s))

    def length_to_reach(self, target: float, lengths: np.ndarray) -> float:
        """The first of ``lengths`` (s) whose true reliability reaches ``target`` (NaN if none does)."""
        lengths = np.sort(np.asarray(lengths, dtype=float))
        reached = np.flatnonzero(self.reliability(lengths) >= target)
        return float(lengths[reached[0]]) if reached.size else float("nan")


def sim_fluctuating_baseline(
    duration_s: float,
    fs: float,
    *,
    model: FluctuationModel,
    subject_offset: float = 0.0,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One subject's baseline: 1/f**chi noise whose exponent fluctuates step by step (:class:`FluctuationModel`).

    Parameters
    ----------
    duration_s : float
        Length in s (a whole number of steps is simulated; the last step may be cut).
    fs : float
        Sampling rate in Hz.
    model : FluctuationModel
        The fluctuation.
    subject_offset : float
        The subject's deviation ``b_s`` from ``model.mean`` (draw it from N(0, between_sd**2)).
    rng : Generator, int or None
        Randomness.

    Returns
    -------
    data : ndarray, shape (1, n_times)
        Unit-variance steps concatenated.
    exponents : ndarray, shape (n_steps,)
        The exponent of each step (ground truth).
    """
    rng = as_rng(rng)
    if not duration_s > 0 or not fs > 0:
        raise DataError(f"duration_s and fs must be > 0, got duration_s={duration_s!r}, fs={fs!r}")
    n_times = int(round(duration_s * fs))
    step_n = int(round(model.step_s * fs))
    n_steps = int(np.ceil(n_times / step_n))
    e = np.empty(n_steps)
    e[0] = rng.standard_normal() * model.within_sd
    innovation = np.sqrt(1.0 - model.rho**2) * model.within_sd
    for k in range(1, n_steps):
        e[k] = model.rho * e[k - 1] + innovation * rng.standard_normal()
    exponents = model.mean + subject_offset + e
    pieces = [sim_powerlaw(step_n, fs, float(chi), rng=rng) for chi in exponents]
    return np.concatenate(pieces)[np.newaxis, :n_times], exponents


def sim_fluctuating_corpus(
    n_subjects: int,
    duration_s: float,
    fs: float,
    *,
    model: FluctuationModel,
    balanced: bool = True,
    rng: RngLike = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Baselines of ``n_subjects`` subjects (:func:`sim_fluctuating_baseline`).

    With ``balanced`` (default) the subject offsets ``b_s`` are the normal quantiles ``Phi^-1((s + 0.5) / n)``
    rescaled to a sample SD of exactly ``model.between_sd`` (in random order), so the between-subject variance
    of the corpus is the model's and not a random draw from it (a 24-subject draw misses it by ~30 % SD); without,
    they are drawn from N(0, between_sd**2).

    Returns
    -------
    baselines : list of ndarray, each (1, n_times)
    subject_means : ndarray, shape (n_subjects,)
        Each subject's true mean exponent ``model.mean + b_s``.
    """
    rng = as_rng(rng)
    if int(n_subjects) < 2:
        raise DataError(f"n_subjects must be >= 2 for a between-subject spread, got {n_subjects!r}")
    n = int(n_subjects)
    if balanced:
        quantiles = scipy.stats.norm.ppf((np.arange(n) + 0.5) / n)
        offsets = rng.permutation(quantiles / quantiles.std(ddof=1) * model.between_sd)
    else:
        offsets = rng.standard_normal(n) * model.between_sd
    baselines = [sim_fluctuating_baseline(duration_s, fs, model=model, subject_offset=b, rng=rng)[0] for b in offsets]
    return baselines, model.mean + offsets


@dataclass(frozen=True)
class DiversityCorpus:
    """Paired baseline and task segments of many sessions (:func:`sim_diversity_corpus`).

    Attributes
    ----------
    baseline, task : ndarray, shape (n_sessions, n_times)
        One channel per session, sampled at ``fs``.
    fs : float
        Hz.
    groups : DataFrame
        Columns ``lab``, ``subject``, ``session`` (one row per session).
    parameters : DataFrame
        The true generative parameters per session and kind (columns ``kind``, ``exponent``,
        ``log10_amplitude``, ``peak_frequency``).
    """

    baseline: np.ndarray
    task: np.ndarray
    fs: float
    groups: pd.DataFrame
    parameters: pd.DataFrame


def sim_diversity_corpus(
    *,
    n_labs: int = 3,
    subjects_per_lab: int = 4,
    sessions_per_subject: int = 2,
    duration_s: float = 60.0,
    fs: float = 100.0,
    baseline_sd: float = 0.3,
    task_sd: float = 1.0,
    rng: RngLike = None,
) -> DiversityCorpus:
    """Sessions with a baseline and a task segment whose generative parameters differ in spread.

    Each segment is 1/f**chi noise plus a narrow-band oscillation; its parameters are
    ``chi = 1.5 + 0.3 z1``, ``log10 amplitude = log10(0.8) + 0.3 z2``, ``peak = 9 Hz + 1.5 Hz z3`` where
    ``z = sd * (u_lab + u_subject + u_session) / sqrt(3)`` with standard normal ``u`` drawn independently per
    lab, subject and session and per kind, and ``sd = baseline_sd`` for baselines, ``task_sd`` for tasks. So the
    dispersion of the baselines' parameters is ``baseline_sd / task_sd`` times that of the tasks' (less diverse
    when below 1, more diverse when above).

    Returns
    -------
    DiversityCorpus
    """
    rng = as_rng(rng)
    for name, value in (("baseline_sd", baseline_sd), ("task_sd", task_sd)):
        if not value >= 0:
            raise DataError(f"{name} must be >= 0, got {value!r}")
    n_times = int(round(duration_s * fs))
    rows, params, base, task = [], [], [], []
    for lab in range(int(n_labs)):
        u_lab = {k: rng.standard_normal(3) for k in ("baseline", "task")}
        for subject in range(int(subjects_per_lab)):
            u_subject = {k: rng.standard_normal(3) for k in ("baseline", "task")}
            for session in range(int(sessions_per_subject)):
                rows.append(
                    {
                        "lab": f"lab{lab}",
                        "subject": f"lab{lab}-sub{subject}",
                        "session": f"lab{lab}-sub{subject}-ses{session}",
                    }
                )
                for kind, sd, out in (("baseline", baseline_sd, base), ("task", task_sd, task)):
                    z = sd * (u_lab[kind] + u_subject[kind] + rng.standard_normal(3)) / np.sqrt(3.0)
                    chi, log_amp, peak = 1.5 + 0.3 * z[0], np.log10(0.8) + 0.3 * z[1], 9.0 + 1.5 * z[2]
                    signal = sim_powerlaw(n_times, fs, chi, rng=rng)
                    signal = signal + 10**log_amp * np.sqrt(2.0) * sim_oscillation(n_times, fs, peak, rng=rng)
                    out.append(signal)
                    params.append(
                        {"kind": kind, **rows[-1], "exponent": chi, "log10_amplitude": log_amp, "peak_frequency": peak}
                    )
    return DiversityCorpus(np.array(base), np.array(task), float(fs), pd.DataFrame(rows), pd.DataFrame(params))
