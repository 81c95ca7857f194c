"""Write a simulated multi-lab corpus to disk in the real formats (NWB and BIDS).

Layout of ``out_dir``::

    corpus.json                      manifest: one entry per session (paths, defects, truth)
    truth/corpus.json                corpus-level ground truth (the shared latent system)
    lab0-calcium/sub-*_ses-*.nwb     two-photon dF/F, pupil, running, epochs, trials
    lab0-calcium/sub-*_ses-*.truth.json
    lab1-ephys/...                   units + LFP, pupil, running
    lab2-eeg/                        a BIDS dataset: task-rest and task-visual runs
    lab2-eeg/sourcedata/truth/*.truth.json

Each session carries about ten minutes of spontaneous activity and a task block; a known
fraction (``defect_fraction``) is deliberately non-compliant (see
:data:`~adhesive_dots.sim.sessions.DEFECTS`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Segment
from adhesive_dots.io.bids_write import write_bids_eeg
from adhesive_dots.io.nwb_write import NWBSession, write_nwb
from adhesive_dots.sim.reupload import write_reuploads
from adhesive_dots.sim.sessions import (
    DEFECTS,
    LatentSystem,
    SimSession,
    sim_lab_profile,
    sim_session,
    sim_subject_profile,
)
from adhesive_dots.sim.signals import RngLike, as_rng

MANIFEST = "corpus.json"


@dataclass(frozen=True)
class CorpusEntry:
    """One session of a simulated corpus as written on disk."""

    key: str
    lab: str
    kind: str
    subject: str
    session: str
    format: str  # "nwb" or "bids"
    path: str  # NWB file, or BIDS root, relative to the corpus folder
    truth: str  # ground-truth JSON, relative to the corpus folder
    defects: tuple[str, ...]
    baseline: tuple[float, float]  # s, in the file holding the baseline

    @property
    def compliant(self) -> bool:
        return not self.defects


@dataclass(frozen=True)
class Corpus:
    """A simulated corpus: where it is and what it holds."""

    root: Path
    entries: tuple[CorpusEntry, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(e) | {"compliant": e.compliant} for e in self.entries])

    def truth(self, key: str) -> dict[str, Any]:
        """The ground truth of session ``key``."""
        entry = next(e for e in self.entries if e.key == key)
        return json.loads((self.root / entry.truth).read_text())

    @classmethod
    def load(cls, root: str | Path) -> Corpus:
        """Read the manifest of a corpus written by :func:`sim_corpus`."""
        root = Path(root)
        data = json.loads((root / MANIFEST).read_text())
        entries = tuple(
            CorpusEntry(**(e | {"defects": tuple(e["defects"]), "baseline": tuple(e["baseline"])}))
            for e in data["sessions"]
        )
        return cls(root=root, entries=entries)


def sim_corpus(
    out_dir: str | Path,
    *,
    labs: int = 3,
    subjects_per_lab: int = 4,
    sessions_per_subject: int = 2,
    spont_duration: float = 600.0,
    task_duration: float = 120.0,
    size: float = 1.0,
    latent_dim: int = 4,
    defect_fraction: float = 0.25,
    rng: RngLike = None,
    progress: Callable[[str], None] | None = None,
    reuploads: int = 0,
) -> Corpus:
    """Simulate a multi-lab corpus and write it to ``out_dir`` (created if needed).

    Parameters
    ----------
    labs, subjects_per_lab, sessions_per_subject : int
        Corpus shape; lab ``i`` is of kind ``("calcium", "ephys", "eeg")[i % 3]``.
    spont_duration, task_duration : float
        Seconds of spontaneous activity and of task per session.
    size : float
        Scales neurons, units and LFP channels (1.0: 200 ROIs, 60 units, 16 LFP channels).
    defect_fraction : float
        Fraction of sessions made non-compliant, cycling through the defect kinds.
    progress : callable, optional
        Called with each session's key as it is written.
    reuploads : int
        Sessions to re-upload as planted duplicates (see :mod:`adhesive_dots.sim.reupload`).

    Returns
    -------
    Corpus
        The manifest (also written to ``out_dir / "corpus.json"``).
    """
    if not 0 <= defect_fraction <= 1:
        raise ValueError(f"defect_fraction must lie in [0, 1], got {defect_fraction!r}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    rng = as_rng(rng)
    latent = LatentSystem.random(latent_dim, rng=rng)
    n_sessions = labs * subjects_per_lab * sessions_per_subject
    defects = _assign_defects(n_sessions, defect_fraction)
    sizes = {
        "n_neurons": max(8, int(round(200 * size))),
        "n_units": max(4, int(round(60 * size))),
        "n_lfp_channels": max(2, int(round(16 * size))),
    }
    entries = []
    index = 0
    for lab_index in range(labs):
        lab = sim_lab_profile(lab_index, rng=rng)
        for subject_index in range(subjects_per_lab):
            subject = sim_subject_profile(lab, subject_index, rng=rng)
            for session_index in range(sessions_per_subject):
                session = sim_session(
                    lab,
                    subject,
                    session_index,
                    latent=latent,
                    spont_duration=spont_duration,
                    task_duration=task_duration,
                    defect=defects[index],
                    rng=rng,
                    **sizes,
                )
                entries.append(_write_session(root, session))
                if progress is not None:
                    progress(session.key)
                index += 1
    (root / "truth").mkdir(exist_ok=True)
    (root / "truth" / "corpus.json").write_text(
        json.dumps(
            {"latent_A": latent.A.tolist(), "latent_B": latent.B.tolist(), "latent_fs": latent.fs}, indent=1
        )  # fmt: skip
    )
    corpus = Corpus(root=root, entries=tuple(entries))
    if reuploads:
        write_reuploads(root, entries, reuploads)
    manifest = {
        "generator": "adhesive_dots.sim.sim_corpus",
        "parameters": {
            "labs": labs, "subjects_per_lab": subjects_per_lab,
            "sessions_per_subject": sessions_per_subject, "spont_duration": spont_duration,
            "task_duration": task_duration, "size": size, "latent_dim": latent_dim,
            "defect_fraction": defect_fraction, "reuploads": reuploads,
        },
        "sessions": [asdict(e) for e in entries],
    }  # fmt: skip
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return corpus


def _assign_defects(n_sessions: int, fraction: float) -> list[str | None]:
    """Spread ``round(n * fraction)`` defects evenly, cycling through the kinds."""
    n_bad = int(round(n_sessions * fraction))
    out: list[str | None] = [None] * n_sessions
    if n_bad:
        positions = np.linspace(0, n_sessions, n_bad, endpoint=False).astype(int) + (n_sessions // n_bad) // 2
        for k, pos in enumerate(positions):
            out[min(pos, n_sessions - 1)] = DEFECTS[k % len(DEFECTS)]
    return out


def _write_session(root: Path, session: SimSession) -> CorpusEntry:
    lab_dir = root / session.lab
    lab_dir.mkdir(exist_ok=True)
    spont = session.baseline_interval
    if session.kind == "eeg":
        path, truth_path, baseline = _write_eeg(lab_dir, session, spont)
        fmt = "bids"
    else:
        stem = f"sub-{session.subject}_ses-{session.session}"
        path = lab_dir / f"{stem}.nwb"
        write_nwb(
            path,
            NWBSession(
                session_id=session.session,
                description=f"Simulated {session.kind} session with a spontaneous baseline.",
                metadata=session.metadata,
                data=session.data,
                fs=session.fs,
                channel_names=session.channel_names,
                units=session.units,
                kind="calcium" if session.kind == "calcium" else "lfp",
                spike_times=session.spike_times,
                behaviour=session.behaviour,
                epochs=session.intervals,
                trials=session.trials,
                dot=Segment.between(*spont, evidence="simulator", label="spontaneous"),
            ),
            overwrite=True,
        )
        truth_path = lab_dir / f"{stem}.truth.json"
        baseline = spont
        fmt = "nwb"
    truth_path.write_text(json.dumps(session.truth, indent=1))
    return CorpusEntry(
        key=session.key,
        lab=session.lab,
        kind=session.kind,
        subject=session.subject,
        session=session.session,
        format=fmt,
        path=str(path.relative_to(root)),
        truth=str(truth_path.relative_to(root)),
        defects=tuple(session.truth["defects"]),
        baseline=baseline,
    )


def _write_eeg(lab_dir: Path, session: SimSession, spont: tuple[float, float]) -> tuple[Path, Path, tuple]:
    """Rest and task as two BIDS runs; the truth goes to ``sourcedata/truth``."""
    fs = session.fs
    i0, i1 = int(round(spont[0] * fs)), int(round(spont[1] * fs))
    meta = session.metadata.merged(segment={"start": 0.0, "stop": spont[1] - spont[0]})
    paradigm = meta.paradigm
    write_bids_eeg(
        lab_dir,
        subject=session.subject,
        session=session.session,
        task="rest",
        data=session.data[:, i0:i1],
        fs=fs,
        channel_names=session.channel_names,
        metadata=meta,
        sidecar={
            "TaskDescription": "Resting state with eyes closed.",
            **({"Instructions": paradigm.instructions} if paradigm.instructions else {}),
            "EEGReference": meta.recording.reference or "n/a",
        },
    )
    task_rows = session.intervals[session.intervals["label"] == "task"]
    if len(task_rows):
        t0, t1 = float(task_rows.iloc[0]["start"]), float(task_rows.iloc[0]["stop"])
        events = pd.DataFrame(
            {
                "onset": session.trials["start"] - t0,
                "duration": session.trials["stop"] - session.trials["start"],
                "description": session.trials["condition"],
            }
        )
        write_bids_eeg(
            lab_dir,
            subject=session.subject,
            session=session.session,
            task="visual",
            data=session.data[:, int(round(t0 * fs)) : int(round(t1 * fs))],
            fs=fs,
            channel_names=session.channel_names,
            metadata=None,
            events=events,
            sidecar={
                "TaskDescription": "Passive viewing of oriented gratings, eyes open.",
                "Instructions": "Look at the centre of the screen.",
            },  # fmt: skip
        )
    truth_dir = lab_dir / "sourcedata" / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth = truth_dir / f"sub-{session.subject}_ses-{session.session}.truth.json"
    session.truth["baseline"] = {"start": 0.0, "stop": spont[1] - spont[0]}
    session.truth["bids"] = {"subject": session.subject, "session": session.session, "task": "rest"}
    return lab_dir, truth, (0.0, spont[1] - spont[0])
