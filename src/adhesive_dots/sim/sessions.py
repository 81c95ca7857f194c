"""Simulated sessions with known ground truth (arrays and metadata, no file formats).

Three kinds of lab are simulated, each observing a shared world differently:

``calcium``
    Mouse, two-photon dF/F of ``n_neurons`` ROIs at 30 Hz, pupil and running speed.
``ephys``
    Mouse, sorted units (spike times) and a multichannel LFP at 250 Hz, pupil and running.
``eeg``
    Human scalp EEG, 19 channels of the 10-20 system at 250 Hz; eyes-closed rest runs.

The generative model of a session:

* a **latent dynamical system** ``z[t+1] = A z[t] + B u[t] + noise`` (``latent_dim``
  dimensions, shared by every animal lab of a corpus) is seen through a session-specific
  random observation matrix: different neurons, same dynamics (for alignment);
* an **arousal** trace (fractional Gaussian noise of Hurst ``envelope_hurst``, slow) plus
  a session-level ``arousal_level`` shift: arousal raises private noise (lower
  correlations), flattens the aperiodic spectrum and damps the oscillatory peak;
* the oscillation's **amplitude envelope** follows the same fGn, so the DFA exponent of
  the envelope (EEG, LFP) and of the population rate (calcium, spikes) is
  ``envelope_hurst`` over scales of seconds to a minute;
* **lab gain and noise** scale the signal and add white sensor noise;
* **task trials** (conditions with known input vectors ``B``) follow the spontaneous
  segment (or precede it, for labs recording rest after the task).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal as sps

from adhesive_dots.metadata import (
    ArousalInfo,
    ArousalMeasure,
    BehaviourLog,
    ContextInfo,
    DotMetadata,
    Environment,
    Identity,
    IlluminationCategory,
    Modality,
    Paradigm,
    ParadigmInfo,
    RecordingInfo,
    ScreenContent,
    SegmentInfo,
    SessionPosition,
    SubjectInfo,
)
from adhesive_dots.sim.signals import (
    RngLike,
    as_rng,
    sim_fgn_envelope,
    sim_oscillation,
    sim_powerlaw,
)

LAB_KINDS = ("calcium", "ephys", "eeg")
EEG_CHANNELS = (
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
    "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "O2",
)  # fmt: skip
#: Weight of the alpha source on each EEG channel (posterior-dominant).
EEG_ALPHA_WEIGHTS = np.array(
    [0.1, 0.1, 0.15, 0.2, 0.2, 0.2, 0.15, 0.25, 0.35, 0.35, 0.35, 0.25,
     0.7, 0.8, 0.85, 0.8, 0.7, 1.0, 1.0]
)  # fmt: skip
DEFECTS = ("too-short", "missing-metadata", "flat-channel", "nan-stretch")
CONDITIONS = ("grating-0", "grating-90")
F_FLAT = 0.5
"""Hz below which simulated aperiodic spectra are flat (the exponent holds above it)."""


@dataclass(frozen=True)
class LatentSystem:
    """The latent dynamics shared by the animal labs of a corpus.

    ``z[t+1] = A z[t] + B[:, c] * u[t] + sqrt(q) * noise`` at ``fs`` Hz.
    """

    A: np.ndarray  # (latent_dim, latent_dim)
    B: np.ndarray  # (latent_dim, n_conditions)
    fs: float = 30.0
    noise: float = 1.0

    @property
    def latent_dim(self) -> int:
        return self.A.shape[0]

    @classmethod
    def random(cls, latent_dim: int = 4, *, rng: RngLike = None, effect_size: float = 1.5) -> LatentSystem:
        """Rotational dynamics (damped oscillators, periods 1-4 s) and unit-norm inputs."""
        rng = as_rng(rng)
        fs = 30.0
        blocks = []
        for i in range(0, latent_dim, 2):
            radius = rng.uniform(0.97, 0.99)
            period = rng.uniform(1.0, 4.0)
            angle = 2 * np.pi / (period * fs)
            rot = radius * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            blocks.append(rot if i + 1 < latent_dim else rot[:1, :1])
        A = np.zeros((latent_dim, latent_dim))
        pos = 0
        for block in blocks:
            k = block.shape[0]
            A[pos : pos + k, pos : pos + k] = block
            pos += k
        basis, _ = np.linalg.qr(rng.standard_normal((latent_dim, latent_dim)))
        A = basis @ A @ basis.T
        B = rng.standard_normal((latent_dim, len(CONDITIONS)))
        B *= effect_size / np.linalg.norm(B, axis=0, keepdims=True)
        return cls(A=A, B=B, fs=fs)

    def run(self, n_times: int, inputs: np.ndarray | None = None, *, rng: RngLike = None) -> np.ndarray:
        """Latent trajectory ``(latent_dim, n_times)``; ``inputs`` is ``(n_conditions, n_times)``."""
        rng = as_rng(rng)
        z = np.zeros((self.latent_dim, n_times))
        drive = rng.standard_normal((self.latent_dim, n_times)) * np.sqrt(self.noise)
        if inputs is not None:
            drive += self.B @ inputs
        for t in range(1, n_times):
            z[:, t] = self.A @ z[:, t - 1] + drive[:, t]
        return z


@dataclass
class SimSession:
    """One simulated session: data, auxiliary series, intervals, metadata and ground truth."""

    lab: str
    kind: str
    subject: str
    session: str
    fs: float
    data: np.ndarray  # (n_channels, n_times), float32
    channel_names: list[str]
    units: str
    modality: Modality
    spike_times: list[np.ndarray] | None  # per unit, s (ephys only)
    behaviour: dict[str, tuple[np.ndarray, float, str]]  # name -> (samples, fs, unit)
    intervals: pd.DataFrame  # start, stop, label
    trials: pd.DataFrame  # start, stop, condition
    metadata: DotMetadata
    truth: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.lab}_sub-{self.subject}_ses-{self.session}"

    @property
    def baseline_interval(self) -> tuple[float, float]:
        row = self.intervals[self.intervals["label"] == "spontaneous"].iloc[0]
        return float(row["start"]), float(row["stop"])


@dataclass(frozen=True)
class LabProfile:
    """What is fixed for a lab: its kind, gain, sensor noise and where rest sits."""

    name: str
    kind: str
    gain: float
    noise_sd: float
    rest_after_task: bool


@dataclass(frozen=True)
class SubjectProfile:
    """What is fixed for an individual across sessions."""

    subject_id: str
    exponent: float  # aperiodic exponent at arousal 0
    peak_frequency: float  # Hz
    envelope_hurst: float
    sex: str
    age: str


def sim_lab_profile(index: int, *, rng: RngLike = None) -> LabProfile:
    """Lab ``index`` cycles through :data:`LAB_KINDS` with a random gain and noise."""
    rng = as_rng(rng)
    kind = LAB_KINDS[index % len(LAB_KINDS)]
    return LabProfile(
        name=f"lab{index}-{kind}",
        kind=kind,
        gain=float(rng.uniform(0.6, 1.6)),
        noise_sd=float(rng.uniform(0.005, 0.02)),
        rest_after_task=index % 2 == 1,
    )


def sim_subject_profile(lab: LabProfile, index: int, *, rng: RngLike = None) -> SubjectProfile:
    """An individual of ``lab`` with its own exponent, peak frequency and LRTC."""
    rng = as_rng(rng)
    human = lab.kind == "eeg"
    return SubjectProfile(
        subject_id=f"{lab.name.split('-')[0].upper()}S{index:02d}",
        exponent=float(rng.uniform(1.2, 2.0)),
        peak_frequency=float(rng.uniform(8.5, 11.5) if human else rng.uniform(5.5, 8.0)),
        envelope_hurst=float(rng.uniform(0.6, 0.85)),
        sex=str(rng.choice(["M", "F"])),
        age=f"P{int(rng.integers(20, 60))}Y" if human else f"P{int(rng.integers(60, 180))}D",
    )


def sim_session(
    lab: LabProfile,
    subject: SubjectProfile,
    session_index: int,
    *,
    latent: LatentSystem,
    spont_duration: float = 600.0,
    task_duration: float = 120.0,
    n_neurons: int = 200,
    n_units: int = 60,
    n_lfp_channels: int = 16,
    arousal_level: float | None = None,
    defect: str | None = None,
    rng: RngLike = None,
) -> SimSession:
    """Simulate one session of ``subject`` in ``lab`` (see the module docstring)."""
    rng = as_rng(rng)
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"defect must be one of {DEFECTS} or None, got {defect!r}")
    if defect == "too-short":
        spont_duration = min(spont_duration, 420.0)
    if arousal_level is None:
        arousal_level = float(rng.normal(0.0, 0.5))
    session_id = f"{session_index + 1:02d}"
    total = spont_duration + task_duration
    if lab.rest_after_task:
        task_span, spont_span = (0.0, task_duration), (task_duration, total)
    else:
        spont_span, task_span = (0.0, spont_duration), (spont_duration, total)
    trials = _sim_trials(task_span, rng)

    truth: dict[str, Any] = {
        "lab": lab.name,
        "kind": lab.kind,
        "subject": subject.subject_id,
        "session": session_id,
        "baseline": {"start": spont_span[0], "stop": spont_span[1]},
        "recording_duration": total,
        "arousal_level": arousal_level,
        "envelope_hurst": subject.envelope_hurst,
        "lab_gain": lab.gain,
        "lab_noise_sd": lab.noise_sd,
        "latent_dim": latent.latent_dim,
        "task_effects": {c: float(np.linalg.norm(latent.B[:, i])) for i, c in enumerate(CONDITIONS)},
        "defects": [defect] if defect else [],
    }
    simulate = {"calcium": _sim_calcium, "ephys": _sim_ephys, "eeg": _sim_eeg}[lab.kind]
    session = simulate(
        lab=lab,
        subject=subject,
        session_id=session_id,
        latent=latent,
        total=total,
        spont_span=spont_span,
        trials=trials,
        arousal_level=arousal_level,
        n_neurons=n_neurons,
        n_units=n_units,
        n_lfp_channels=n_lfp_channels,
        truth=truth,
        rng=rng,
    )
    _apply_defect(session, defect, spont_span, rng)
    return session


# -- pieces shared by the kinds --------------------------------------------------------------


def _sim_trials(task_span: tuple[float, float], rng: np.random.Generator) -> pd.DataFrame:
    """Alternating 2 s stimuli separated by 2-3 s of grey screen."""
    rows = []
    t = task_span[0] + 2.0
    while t + 2.0 <= task_span[1] - 1.0:
        condition = CONDITIONS[int(rng.integers(len(CONDITIONS)))]
        rows.append((t, t + 2.0, condition))
        t += 2.0 + rng.uniform(2.0, 3.0)
    return pd.DataFrame(rows, columns=["start", "stop", "condition"])


def _inputs(trials: pd.DataFrame, n_times: int, fs: float) -> np.ndarray:
    """Boxcar input per condition, ``(n_conditions, n_times)``."""
    u = np.zeros((len(CONDITIONS), n_times))
    for row in trials.itertuples():
        i0, i1 = int(row.start * fs), min(int(row.stop * fs), n_times)
        u[CONDITIONS.index(row.condition), i0:i1] = 1.0
    return u


def _intervals(spont_span: tuple[float, float], trials: pd.DataFrame, total: float) -> pd.DataFrame:
    rows = [(spont_span[0], spont_span[1], "spontaneous")]
    if len(trials):
        task_start = 0.0 if spont_span[0] > 0 else spont_span[1]
        task_stop = spont_span[0] if spont_span[0] > 0 else total
        rows.append((task_start, task_stop, "task"))
    return pd.DataFrame(sorted(rows), columns=["start", "stop", "label"])


def _arousal(n_times: int, fs: float, hurst: float, level: float, rng: np.random.Generator) -> np.ndarray:
    """Arousal trace: slow fGn envelope shifted by the session's level; mean about ``level``."""
    envelope = sim_fgn_envelope(n_times, fs, hurst, envelope_fs=2.0, depth=0.4, rng=rng)
    return np.log(envelope) + level


def _pupil_and_running(
    arousal: np.ndarray, fs: float, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, float, str]]:
    """Pupil diameter (mm) and running speed (cm/s) at 30 Hz driven by arousal."""
    step = max(int(round(fs / 30.0)), 1)
    a = arousal[::step]
    pupil = 1.2 + 0.3 * a + 0.02 * rng.standard_normal(a.size)
    drive = a + 0.3 * rng.standard_normal(a.size)
    running = np.where(drive > 0.6, 10.0 * (drive - 0.6), 0.0) + np.abs(0.2 * rng.standard_normal(a.size))
    return {
        "pupil_diameter": (pupil.astype(np.float32), fs / step, "mm"),
        "running_speed": (running.astype(np.float32), fs / step, "cm/s"),
    }


def _animal_metadata(
    lab: LabProfile, subject: SubjectProfile, session_id: str, modality: Modality, spont: tuple[float, float]
) -> DotMetadata:
    return DotMetadata(
        identity=Identity(dataset_id="local", session_id=session_id, subject_id=subject.subject_id, lab=lab.name),
        recording=RecordingInfo(modality=modality, brain_areas=["VISp"]),
        segment=SegmentInfo(
            start=spont[0],
            stop=spont[1],
            duration=spont[1] - spont[0],
            contiguous=True,
            position=SessionPosition.AFTER_TASK if lab.rest_after_task else SessionPosition.BEFORE_TASK,
        ),
        paradigm=ParadigmInfo(
            name=Paradigm.ANIMAL_HEAD_FIXED_TASK_FREE,
            head_fixed=True,
            screen=ScreenContent.GREY,
            description="Head-fixed on a running wheel, grey screen, no task.",
        ),
        environment=Environment(illumination=IlluminationCategory.DIM, screen_luminance_cd_m2=50.0),
        arousal=ArousalInfo(
            measures=[ArousalMeasure.PUPIL, ArousalMeasure.LOCOMOTION],
            locations={
                "pupil": "processing/behavior/PupilTracking/pupil_diameter",
                "locomotion": "processing/behavior/BehavioralTimeSeries/running_speed",
            },
        ),
        behaviour=[BehaviourLog(name="running_speed", location="processing/behavior/BehavioralTimeSeries")],
        subject=SubjectInfo(
            subject_id=subject.subject_id,
            species="Mus musculus",
            strain="C57BL/6J",
            sex=subject.sex,
            age=subject.age,
            weight="25 g",
        ),
        context=ContextInfo(
            preceding="task" if lab.rest_after_task else "habituation on the wheel", habituation="5 sessions of 30 min"
        ),
    )


def _sim_aperiodic_oscillatory(
    n_channels: int,
    n_times: int,
    fs: float,
    *,
    exponent: float,
    peak_frequency: float,
    peak_weights: np.ndarray,
    envelope: np.ndarray,
    peak_amplitude: float,
    common: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(n_channels, n_times)``: 1/f^exponent background (partly common) + a peak source."""
    background = sim_powerlaw(n_times, fs, exponent, f_flat=F_FLAT, n_signals=n_channels, rng=rng)
    shared = sim_powerlaw(n_times, fs, exponent, f_flat=F_FLAT, rng=rng)
    background = np.sqrt(1 - common) * background + np.sqrt(common) * shared
    oscillation = sim_oscillation(n_times, fs, peak_frequency, envelope=envelope, rng=rng)
    return background + peak_amplitude * peak_weights[:, None] * oscillation[None, :]


# -- the three kinds of lab ------------------------------------------------------------------


def _sim_calcium(*, lab, subject, session_id, latent, total, spont_span, trials, arousal_level,
                 n_neurons, truth, rng, **_) -> SimSession:  # fmt: skip
    fs = latent.fs
    n_times = int(round(total * fs))
    arousal = _arousal(n_times, fs, subject.envelope_hurst, arousal_level, rng)
    z = latent.run(n_times, _inputs(trials, n_times, fs), rng=rng)
    z /= z[:, : int(spont_span[1] * fs)].std()
    mixing = rng.standard_normal((n_neurons, latent.latent_dim)) / np.sqrt(latent.latent_dim)
    private_sd = 0.5 * np.exp(0.5 * arousal_level)
    drive = mixing @ z + private_sd * rng.standard_normal((n_neurons, n_times))
    gain = np.exp(0.5 * (arousal - arousal_level))  # population gain follows the fGn arousal
    rate = np.log1p(np.exp(drive - 1.0)) * gain  # softplus, a.u.
    kernel_decay = np.exp(-1.0 / (0.4 * fs))  # GCaMP6s-like decay, tau 0.4 s
    dff = sps.lfilter([1.0], [1.0, -kernel_decay], rate, axis=-1) * (1 - kernel_decay)
    dff = lab.gain * dff + lab.noise_sd * rng.standard_normal(dff.shape)
    spont = (int(spont_span[0] * fs), int(spont_span[1] * fs))
    truth.update(
        {
            "modality": "calcium",
            "fs": fs,
            "n_channels": n_neurons,
            "private_noise_sd": private_sd,
            "mean_correlation": float(_mean_abs_corr(dff[:, spont[0] : spont[1]])),
        }
    )
    metadata = _animal_metadata(lab, subject, session_id, Modality.CALCIUM, spont_span)
    metadata = metadata.merged(
        recording={"sampling_frequency": fs, "n_channels": n_neurons, "units": "dF/F",
                   "channel_kind": "ROIs", "indicator": "GCaMP6s",
                   "apparatus": {"microscope": "two-photon resonant scanner"}},
    )  # fmt: skip
    return SimSession(
        lab=lab.name,
        kind=lab.kind,
        subject=subject.subject_id,
        session=session_id,
        fs=fs,
        data=dff.astype(np.float32),
        channel_names=[f"roi{i:04d}" for i in range(n_neurons)],
        units="dF/F",
        modality=Modality.CALCIUM,
        spike_times=None,
        behaviour=_pupil_and_running(arousal, fs, rng),
        intervals=_intervals(spont_span, trials, total),
        trials=trials,
        metadata=metadata,
        truth=truth,
    )


def _sim_ephys(*, lab, subject, session_id, latent, total, spont_span, trials, arousal_level,
               n_units, n_lfp_channels, truth, rng, **_) -> SimSession:  # fmt: skip
    lfp_fs = 250.0
    n_lfp = int(round(total * lfp_fs))
    arousal_lfp = _arousal(n_lfp, lfp_fs, subject.envelope_hurst, arousal_level, rng)
    exponent = subject.exponent - 0.25 * arousal_level
    envelope = np.exp(arousal_lfp - arousal_level)  # same fGn drives the peak envelope
    envelope /= envelope.mean()
    peak_amplitude = 1.5 * np.exp(-0.5 * arousal_level)
    weights = np.linspace(1.0, 0.5, n_lfp_channels)
    lfp = _sim_aperiodic_oscillatory(
        n_lfp_channels, n_lfp, lfp_fs, exponent=exponent, peak_frequency=subject.peak_frequency,
        peak_weights=weights, envelope=envelope, peak_amplitude=peak_amplitude, common=0.5, rng=rng,
    )  # fmt: skip
    lfp = 1e-4 * lab.gain * (lfp + lab.noise_sd * rng.standard_normal(lfp.shape))  # volts

    fs = latent.fs
    n_times = int(round(total * fs))
    z = latent.run(n_times, _inputs(trials, n_times, fs), rng=rng)
    z /= z[:, : int(spont_span[1] * fs)].std()
    gain = np.interp(np.arange(n_times) / fs, np.arange(n_lfp) / lfp_fs, envelope)
    mixing = rng.standard_normal((n_units, latent.latent_dim)) / np.sqrt(latent.latent_dim)
    base_rate = rng.uniform(2.0, 10.0, size=(n_units, 1))  # Hz
    rates = base_rate * np.exp(0.5 * (mixing @ z)) * gain  # Hz
    counts = rng.poisson(rates / fs)
    spike_times = []
    for unit_counts in counts:
        bins = np.repeat(np.arange(n_times), unit_counts)
        spike_times.append(np.sort((bins + rng.uniform(size=bins.size)) / fs))
    truth.update(
        {
            "modality": "lfp",
            "fs": lfp_fs,
            "n_channels": n_lfp_channels,
            "n_units": n_units,
            "aperiodic_exponent": exponent,
            "peak_frequency": subject.peak_frequency,
            "peak_amplitude": peak_amplitude,
            "peak_power_ratio": _peak_power_ratio(peak_amplitude, envelope, spont_span, lfp_fs),
            "mean_rate_hz": float(np.mean([len(s) for s in spike_times]) / total),
        }
    )
    metadata = _animal_metadata(lab, subject, session_id, Modality.LFP, spont_span)
    metadata = metadata.merged(
        recording={"sampling_frequency": lfp_fs, "n_channels": n_lfp_channels, "units": "V",
                   "channel_kind": "LFP electrodes", "reference": "skull screw",
                   "apparatus": {"probe": "Neuropixels 1.0", "amplifier": "IMEC headstage"}},
    )  # fmt: skip
    return SimSession(
        lab=lab.name,
        kind=lab.kind,
        subject=subject.subject_id,
        session=session_id,
        fs=lfp_fs,
        data=lfp.astype(np.float32),
        channel_names=[f"lfp{i:02d}" for i in range(n_lfp_channels)],
        units="V",
        modality=Modality.LFP,
        spike_times=spike_times,
        behaviour=_pupil_and_running(np.log(envelope) + arousal_level, lfp_fs, rng),
        intervals=_intervals(spont_span, trials, total),
        trials=trials,
        metadata=metadata,
        truth=truth,
    )


def _sim_eeg(*, lab, subject, session_id, total, spont_span, trials, arousal_level, truth, rng,
             **_) -> SimSession:  # fmt: skip
    fs = 250.0
    n_times = int(round(total * fs))
    exponent = subject.exponent - 0.25 * arousal_level
    envelope = sim_fgn_envelope(n_times, fs, subject.envelope_hurst, envelope_fs=2.0, depth=0.5, rng=rng)
    # during the task (eyes open, attending) alpha is suppressed
    task_gain = np.ones(n_times)
    for row in trials.itertuples():
        task_gain[int(row.start * fs) : int(row.stop * fs)] = 0.5
    peak_amplitude = 2.0 * np.exp(-0.5 * arousal_level)
    eeg = _sim_aperiodic_oscillatory(
        len(EEG_CHANNELS), n_times, fs, exponent=exponent, peak_frequency=subject.peak_frequency,
        peak_weights=EEG_ALPHA_WEIGHTS, envelope=envelope * task_gain, peak_amplitude=peak_amplitude,
        common=0.3, rng=rng,
    )  # fmt: skip
    eeg = 1e-5 * lab.gain * (eeg + lab.noise_sd * rng.standard_normal(eeg.shape))  # volts
    truth.update(
        {
            "modality": "eeg",
            "fs": fs,
            "n_channels": len(EEG_CHANNELS),
            "aperiodic_exponent": exponent,
            "peak_frequency": subject.peak_frequency,
            "peak_amplitude": peak_amplitude,
            "peak_power_ratio": _peak_power_ratio(peak_amplitude, envelope, spont_span, fs),
            "task_effects": {"alpha_amplitude_ratio": 0.5},
        }
    )
    metadata = DotMetadata(
        identity=Identity(dataset_id="local", session_id=session_id, subject_id=subject.subject_id, lab=lab.name),
        recording=RecordingInfo(
            modality=Modality.EEG, sampling_frequency=fs, n_channels=len(EEG_CHANNELS), units="V",
            channel_kind="EEG electrodes (10-20)", reference="Cz",
            apparatus={"amplifier": "BrainAmp DC", "description": "Ag/AgCl cap"},
        ),
        segment=SegmentInfo(start=spont_span[0], stop=spont_span[1], duration=spont_span[1] - spont_span[0],
                            contiguous=True, position=SessionPosition.BEFORE_TASK),
        paradigm=ParadigmInfo(
            name=Paradigm.HUMAN_EYES_CLOSED, eyes_closed=True, fixation=False,
            instructions="Please sit still, close your eyes and let your mind wander.",
            screen=ScreenContent.OFF,
        ),
        environment=Environment(illumination=IlluminationCategory.DIM, sound_level_db_spl=35.0),
        arousal=ArousalInfo(measures=[ArousalMeasure.EEG_VIGILANCE]),
        subject=SubjectInfo(subject_id=subject.subject_id, species="Homo sapiens", sex=subject.sex,
                            age=subject.age, handedness="right"),
        context=ContextInfo(preceding="cap preparation (30 min)"),
    )  # fmt: skip
    return SimSession(
        lab=lab.name,
        kind=lab.kind,
        subject=subject.subject_id,
        session=session_id,
        fs=fs,
        data=eeg.astype(np.float32),
        channel_names=list(EEG_CHANNELS),
        units="V",
        modality=Modality.EEG,
        spike_times=None,
        behaviour={},
        intervals=_intervals(spont_span, trials, total),
        trials=trials,
        metadata=metadata,
        truth=truth,
    )


def _apply_defect(session: SimSession, defect: str | None, spont: tuple[float, float],
                  rng: np.random.Generator) -> None:  # fmt: skip
    """Break a session the way real ones break (the validator must find it)."""
    i0, i1 = int(spont[0] * session.fs), int(spont[1] * session.fs)
    if defect == "flat-channel":
        session.data[0, i0:i1] = session.data[0, i0]
        session.truth["flat_channel"] = session.channel_names[0]
    elif defect == "nan-stretch":
        start = int(rng.integers(i0, i1 - int(5 * session.fs)))
        session.data[:, start : start + int(5 * session.fs)] = np.nan
        session.truth["nan_stretch"] = [start / session.fs, start / session.fs + 5.0]
    elif defect == "missing-metadata":
        if session.kind == "eeg":
            session.metadata = session.metadata.merged(
                paradigm={"name": "human-eyes-closed", "eyes_closed": None, "instructions": None,
                          "fixation": None})  # fmt: skip
            session.truth["missing_fields"] = ["paradigm.eyes_closed", "paradigm.instructions"]
        else:
            session.metadata = session.metadata.merged(
                environment={"illumination": None, "screen_luminance_cd_m2": None},
                arousal={"measures": [], "locations": {}},
            )
            session.behaviour = {}
            session.truth["missing_fields"] = ["environment.illumination", "arousal.measures"]


def _peak_power_ratio(amplitude: float, envelope: np.ndarray, spont: tuple[float, float], fs: float) -> float:
    """Oscillation variance over background variance on the channel of weight 1 (baseline only)."""
    env = envelope[int(spont[0] * fs) : int(spont[1] * fs)]
    return float(amplitude**2 * np.mean(env**2) / 2.0)


def _mean_abs_corr(data: np.ndarray) -> float:
    corr = np.corrcoef(data)
    return float(np.abs(corr[np.triu_indices_from(corr, k=1)]).mean())
