"""Ground truth for comparing baselines and task effects (builds on :mod:`sim.sessions`).

Signal level
    :func:`sim_rest_task_sessions` -- 1/f^chi baselines and task trials (one continuous signal, scaled by
    a task gain during trials) whose gain is a function of the baseline exponent, or independent of it.

    :func:`sim_arousal_task_sessions` -- two tasks in sessions at different arousal: the same true task
    effect (an added 20 Hz oscillation) gives a smaller raw response on a flatter, higher-arousal
    background, so an arousal shift inflates or hides a difference between the tasks' raw responses.

    :func:`sim_eeg_baseline` -- a short resting EEG baseline of one simulated individual at a chosen
    arousal level (the EEG lab of :func:`~adhesive_dots.sim.sessions.sim_session`: arousal lowers the
    aperiodic exponent by 0.25 per unit and scales the alpha amplitude by ``exp(-0.5 * level)``, so a
    shift moves :data:`AROUSAL_FEATURES`), with its task trials.

Session level (tables of baseline features and task responses, in baseline units)
    :func:`sim_arousal_confound` -- task responses Δ of two conditions measured in sessions whose
    baselines differ in arousal; the raw response depends on the baseline, so an arousal shift can
    inflate one condition's raw response while the true effects are equal, or hide a true difference.
    :func:`sim_rest_task_corpus` -- subjects with stable baseline traits; their task responses are a
    known linear function of the baseline features (``structured=True``) or independent of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Baseline, Recording, Segment
from adhesive_dots.metadata import Modality
from adhesive_dots.sim.sessions import LabProfile, LatentSystem, SubjectProfile, sim_session
from adhesive_dots.sim.signals import RngLike, as_rng

AROUSAL_FEATURES = ("aperiodic_exponent", "log_power_alpha")
"""Window-level features that an arousal shift moves in the simulated EEG (exponent and alpha power)."""
POSTERIOR_CHANNELS = ("P3", "Pz", "O1", "O2")
"""Default channels of :func:`sim_eeg_baseline` (strong alpha)."""
EEG_LAB = LabProfile(name="lab0-eeg", kind="eeg", gain=1.0, noise_sd=0.01, rest_after_task=False)


def sim_eeg_subject(index: int = 0, *, rng: RngLike = None) -> SubjectProfile:
    """An EEG subject with exponent in [1.2, 2.0] and alpha peak in [8.5, 11.5] Hz (seeded by ``rng``)."""
    rng = as_rng(rng)
    return SubjectProfile(
        subject_id=f"S{index:02d}",
        exponent=float(rng.uniform(1.2, 2.0)),
        peak_frequency=float(rng.uniform(8.5, 11.5)),
        envelope_hurst=float(rng.uniform(0.6, 0.85)),
        sex=str(rng.choice(["M", "F"])),
        age=f"P{int(rng.integers(20, 60))}Y",
    )


@dataclass(frozen=True)
class SimEegSession:
    """A simulated EEG session: the whole recording, its baseline, trials and truth."""

    recording: Recording
    baseline: Baseline
    trials: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)


def sim_eeg_baseline(
    subject: SubjectProfile,
    *,
    session_index: int = 0,
    arousal_level: float = 0.0,
    duration: float = 240.0,
    task_duration: float = 60.0,
    channels: tuple[str, ...] = POSTERIOR_CHANNELS,
    rng: RngLike = None,
) -> SimEegSession:
    """One EEG session of ``subject`` at ``arousal_level``: ``duration`` s of rest, then task trials.

    The recording (``channels`` only, volts, 250 Hz) carries intervals ``spontaneous``, ``task`` and one
    row per trial labelled with its condition (table ``trials``); during trials the alpha amplitude is
    halved (the simulator's task effect).
    """
    session = sim_session(EEG_LAB, subject, session_index, latent=LatentSystem.random(rng=0),
                          spont_duration=duration, task_duration=task_duration, arousal_level=arousal_level,
                          rng=rng)  # fmt: skip
    index = [session.channel_names.index(c) for c in channels]
    data = np.asarray(session.data[index], dtype=float)
    intervals = session.intervals.assign(table="epochs")
    trials = session.trials.rename(columns={"condition": "label"}).assign(table="trials")
    intervals = pd.concat([intervals, trials[["start", "stop", "label", "table"]]], ignore_index=True)
    source = f"sim:{subject.subject_id}_ses-{session.session}"
    recording = Recording.from_array(data, session.fs, source=source, channel_names=list(channels),
                                     modality=Modality.EEG, units="V", intervals=intervals)  # fmt: skip
    start, stop = session.baseline_interval
    baseline = Baseline(recording, Segment.between(start, stop, evidence="simulated spontaneous interval"),
                        session.metadata)  # fmt: skip
    return SimEegSession(recording, baseline, session.trials, dict(session.truth))


def sim_arousal_confound(
    n_subjects: int = 20,
    *,
    effects: tuple[float, float] = (1.0, 1.0),
    arousal_shift: float = 1.0,
    coupling: float = 0.8,
    noise_sd: float = 0.3,
    rng: RngLike = None,
) -> pd.DataFrame:
    """Task responses of two conditions whose sessions differ in baseline arousal.

    Every subject does ``task1`` in one session and ``task2`` in another. The baseline arousal feature
    ``arousal`` of a session is ``N(0, 1) + (arousal_shift if task2)``; the raw response is
    ``delta = effects[condition] + coupling * arousal + subject + noise`` (subject offsets N(0, 0.3**2),
    noise N(0, noise_sd**2)). With equal ``effects`` and a shift, the naive task2 - task1 difference is
    about ``coupling * arousal_shift`` while the true (adjusted) difference is 0; with
    ``arousal_shift = -(effects[1] - effects[0]) / coupling`` a true difference is hidden from the naive
    comparison.

    Returns
    -------
    DataFrame
        Columns ``subject``, ``session``, ``condition``, ``arousal`` (baseline feature), ``delta``; attrs
        ``truth`` = {"naive": expected naive difference, "adjusted": effects[1] - effects[0]}.
    """
    rng = as_rng(rng)
    rows = []
    for s in range(n_subjects):
        offset = rng.normal(0.0, 0.3)
        for k, condition in enumerate(("task1", "task2")):
            arousal = rng.normal() + (arousal_shift if k == 1 else 0.0)
            delta = effects[k] + coupling * arousal + offset + rng.normal(0.0, noise_sd)
            rows.append((f"S{s:02d}", f"{k + 1:02d}", condition, arousal, delta))
    frame = pd.DataFrame(rows, columns=["subject", "session", "condition", "arousal", "delta"])
    frame.attrs["truth"] = {"naive": effects[1] - effects[0] + coupling * arousal_shift,
                            "adjusted": effects[1] - effects[0]}  # fmt: skip
    return frame


def sim_rest_task_corpus(
    n_subjects: int = 30,
    *,
    sessions_per_subject: int = 2,
    n_features: int = 6,
    n_responses: int = 2,
    structured: bool = True,
    trait_sd: float = 1.0,
    state_sd: float = 0.3,
    noise_sd: float = 0.3,
    rng: RngLike = None,
) -> pd.DataFrame:
    """Baseline features and task responses of ``n_subjects`` x ``sessions_per_subject`` sessions.

    Each subject has a stable trait vector ``N(0, trait_sd**2 I)`` of ``n_features`` baseline features;
    a session's features are trait + ``N(0, state_sd**2)``. Responses ``response_k`` are
    ``weights_k @ features + N(0, noise_sd**2)`` with fixed random weights when ``structured``; otherwise
    they are drawn independently of the features (same marginal variance), so no model can predict them.

    Returns
    -------
    DataFrame
        ``subject``, ``session``, ``feature_0..``, ``response_0..``; attrs ``feature_names``,
        ``response_names``, ``weights`` (n_responses, n_features) and ``structured``.
    """
    rng = as_rng(rng)
    weights = rng.normal(0.0, 1.0, size=(n_responses, n_features))
    traits = rng.normal(0.0, trait_sd, size=(n_subjects, n_features))
    rows = []
    for s in range(n_subjects):
        for k in range(sessions_per_subject):
            x = traits[s] + rng.normal(0.0, state_sd, size=n_features)
            if structured:
                y = weights @ x + rng.normal(0.0, noise_sd, size=n_responses)
            else:
                sd = np.sqrt((weights**2).sum(axis=1) * (trait_sd**2 + state_sd**2) + noise_sd**2)
                y = rng.normal(0.0, sd)
            rows.append([f"S{s:02d}", f"{k + 1:02d}", *x, *y])
    features = [f"feature_{i}" for i in range(n_features)]
    responses = [f"response_{i}" for i in range(n_responses)]
    frame = pd.DataFrame(rows, columns=["subject", "session", *features, *responses])
    frame.attrs.update({"feature_names": features, "response_names": responses, "weights": weights,
                        "structured": structured})  # fmt: skip
    return frame


@dataclass(frozen=True)
class SimRestTaskSession:
    """Signals of one session: a baseline and task trials, with the simulated task gain."""

    subject: str
    session: str
    fs: float
    baseline: np.ndarray  # (n_channels, n_times)
    trials: list[np.ndarray]  # each (n_channels, n_trial_times)
    exponent: float
    gain: float  # amplitude gain of the task trials over the baseline


def sim_rest_task_sessions(
    n_subjects: int = 20,
    *,
    sessions_per_subject: int = 2,
    structured: bool = True,
    duration: float = 60.0,
    n_trials: int = 12,
    trial_s: float = 2.0,
    n_channels: int = 2,
    fs: float = 250.0,
    rng: RngLike = None,
) -> list[SimRestTaskSession]:
    """Signal-level rest -> task corpus: 1/f^chi baselines and trials whose amplitude gain is the response.

    Each subject has an aperiodic exponent ``chi ~ U(1, 2)`` (the trait seen in every baseline). During
    task trials the signal is scaled by ``gain``, so every band's log10 power changes by ``2 log10(gain)``.
    With ``structured`` the gain is a function of the baseline, ``log10(gain) = 0.5 * (chi - 1.5)``; else
    ``log10(gain) ~ N(0, 0.25**2)`` drawn per subject independently of the baseline (same spread).
    """
    from adhesive_dots.sim.signals import sim_powerlaw

    rng = as_rng(rng)
    n_base, n_trial = int(round(duration * fs)), int(round(trial_s * fs))
    out = []
    for s in range(n_subjects):
        chi = float(rng.uniform(1.0, 2.0))
        log_gain = 0.5 * (chi - 1.5) if structured else float(rng.normal(0.0, 0.25))
        gain = 10.0**log_gain
        for k in range(sessions_per_subject):
            # one continuous signal (rest, then the trials): the same process, only scaled during trials
            signal = np.atleast_2d(sim_powerlaw(n_base + n_trials * n_trial, fs, chi, n_signals=n_channels, rng=rng))
            baseline = signal[:, :n_base]
            trials = [gain * signal[:, n_base + i * n_trial : n_base + (i + 1) * n_trial] for i in range(n_trials)]
            out.append(SimRestTaskSession(f"S{s:02d}", f"{k + 1:02d}", fs, np.atleast_2d(baseline),
                                          [np.atleast_2d(t) for t in trials], chi, gain))  # fmt: skip
    return out


def sim_arousal_task_sessions(
    n_subjects: int = 16,
    *,
    amplitudes: tuple[float, float] = (0.1, 0.1),
    arousal_shift: float = 1.0,
    duration: float = 60.0,
    n_trials: int = 12,
    trial_s: float = 2.0,
    fs: float = 250.0,
    rng: RngLike = None,
) -> list[SimRestTaskSession]:
    """Signal level: each subject does ``task1`` in one session and ``task2`` in another, at different arousal.

    A session's background is unit-variance 1/f^chi noise (2 channels) with ``chi = chi_subject - 0.25 *
    arousal`` (arousal ``N(0, 0.3**2)`` for task1, ``N(arousal_shift, 0.3**2)`` for task2): higher arousal,
    flatter spectrum, more beta power. The true task effect adds a 20 Hz oscillation of amplitude
    ``amplitudes[k]`` during the trials (the same absolute effect when the amplitudes are equal); the raw
    response in log10 beta power, ``log10(1 + a**2 / (2 P_beta))``, then depends on the baseline's beta
    power ``P_beta``: an arousal shift changes task2's raw response while the true effect is equal.

    Returns
    -------
    list of SimRestTaskSession
        ``session`` is ``"01"`` (task1) or ``"02"`` (task2); ``exponent`` the session's chi; ``gain`` the
        task amplitude.
    """
    from adhesive_dots.sim.signals import sim_oscillation, sim_powerlaw

    rng = as_rng(rng)
    n_base, n_trial = int(round(duration * fs)), int(round(trial_s * fs))
    n_total = n_base + n_trials * n_trial
    out = []
    for s in range(n_subjects):
        chi_subject = float(rng.uniform(1.2, 2.0))
        for k in range(2):
            arousal = float(rng.normal(arousal_shift if k == 1 else 0.0, 0.3))
            chi = chi_subject - 0.25 * arousal
            signal = np.atleast_2d(sim_powerlaw(n_total, fs, chi, n_signals=2, rng=rng))
            task = amplitudes[k] * sim_oscillation(n_total, fs, 20.0, rng=rng)
            signal[:, n_base:] += task[None, n_base:]
            trials = [signal[:, n_base + i * n_trial : n_base + (i + 1) * n_trial] for i in range(n_trials)]
            out.append(SimRestTaskSession(f"S{s:02d}", f"{k + 1:02d}", fs, signal[:, :n_base], trials, chi,
                                          amplitudes[k]))  # fmt: skip
    return out
