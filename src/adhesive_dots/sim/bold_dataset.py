"""A simulated resting-state fMRI BIDS dataset with ground truth (writes NIfTI through :mod:`adhesive_dots.io.fmri`).

:func:`write_bold_dataset` writes, under ``root``:

* ``bids/``: a BIDS dataset (``dataset_description.json``, ``participants.tsv``, ``task-rest_bold.json``
  with ``RepetitionTime``) with one ``func/*_task-rest_bold.nii.gz`` run per subject and session;
* ``bids/derivatives/fmriprep/``: the same runs as fMRIPrep derivatives
  (``*_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz``) with their confounds tables
  (``*_desc-confounds_timeseries.tsv``: motion parameters, framewise displacement, white matter, CSF,
  global signal) -- the preprocessed runs carry a nuisance signal that ``wm_csf`` removes;
* with ``physio``, beside each raw run ``*_task-rest_physio.tsv.gz`` (cardiac pulses at a known heart rate and a
  respiratory belt at a known breathing rate, 50 Hz) and ``task-rest_physio.json``;
* with ``task_volumes``, a task run per subject and session (``*_task-nback_bold.nii.gz`` with its
  ``*_events.tsv``): 30 s blocks of ``nback`` alternating with ``fixation``, during which the first network's
  ROIs rise by ``task_effect`` (in units of the neural signal's SD);
* ``atlas/atlas-sim_dseg.nii.gz`` and ``atlas-sim_dseg.tsv``: the label atlas and the ROI names;
* ``truth.json``: each subject's FC matrix, the Hurst exponent, TR, volumes.

Each subject has an individual FC (:func:`~adhesive_dots.sim.bold.sim_subject_fc`) shared by its sessions,
so connectome identification has a known answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adhesive_dots.io.fmri import write_bold_nifti, write_label_atlas
from adhesive_dots.sim.bold import sim_motion, sim_roi_series, sim_subject_fc
from adhesive_dots.sim.signals import RngLike, as_rng

FMRIPREP_SPACE = "MNI152NLin2009cAsym"
PHYSIO_FS = 50.0
"""Sampling rate (Hz) of the simulated cardiac and respiratory traces."""


@dataclass
class BoldDataset:
    """Where :func:`write_bold_dataset` wrote things, and the truth."""

    root: Path
    bids: Path
    fmriprep: Path
    atlas: Path
    atlas_labels: Path
    fc: np.ndarray
    tr: float
    n_volumes: int
    hurst: float
    runs: list[Path] = field(default_factory=list)
    preproc: list[Path] = field(default_factory=list)


def write_bold_dataset(
    root: str | Path,
    *,
    n_subjects: int = 3,
    n_sessions: int = 2,
    n_rois: int = 8,
    n_volumes: int = 300,
    tr: float = 2.0,
    hurst: float = 0.7,
    individuality: float = 0.5,
    nuisance: float = 1.0,
    n_motion_spikes: int = 3,
    physio: bool = False,
    task_volumes: int = 0,
    task_effect: float = 1.0,
    rng: RngLike = None,
) -> BoldDataset:
    """Write the dataset described in the module docs; returns its paths and truth.

    ``physio`` writes cardiac and respiratory traces beside the raw runs (truth: ``heart_rate`` and
    ``respiration_rate`` of each run in ``truth.json``). ``nuisance`` is the SD (in units of the neural
    signal) of the white-matter/CSF nuisance signal added to every ROI of the fMRIPrep derivative runs (and
    present in their confounds).
    """
    rng = as_rng(rng)
    root = Path(root)
    bids = root / "bids"
    prep = bids / "derivatives" / "fmriprep"
    atlas_dir = root / "atlas"
    for folder in (bids, prep, atlas_dir):
        folder.mkdir(parents=True, exist_ok=True)
    atlas = write_label_atlas(atlas_dir / "atlas-sim_dseg.nii.gz", n_rois)
    fc = sim_subject_fc(n_subjects, n_rois, individuality=individuality, rng=rng)
    description = {"Name": "adhesive-dots simulated resting-state fMRI", "BIDSVersion": "1.9.0"}
    (bids / "dataset_description.json").write_text(json.dumps(description))
    (prep / "dataset_description.json").write_text(
        json.dumps({**description, "DatasetType": "derivative", "GeneratedBy": [{"Name": "fMRIPrep (simulated)"}]})
    )
    sidecar = {"TaskName": "rest", "RepetitionTime": tr, "TaskDescription": "eyes open, fixation cross"}
    (bids / "task-rest_bold.json").write_text(json.dumps(sidecar))
    subjects = [f"{s + 1:02d}" for s in range(n_subjects)]
    pd.DataFrame(
        {
            "participant_id": [f"sub-{s}" for s in subjects],
            "species": "Homo sapiens",
            "age": rng.integers(20, 40, n_subjects),
            "sex": rng.choice(["M", "F"], n_subjects),
        }
    ).to_csv(bids / "participants.tsv", sep="\t", index=False)
    if physio:
        (bids / "task-rest_physio.json").write_text(
            json.dumps({"SamplingFrequency": PHYSIO_FS, "StartTime": 0, "Columns": ["cardiac", "respiratory"]})
        )
    rates: dict[str, list[float]] = {}
    out = BoldDataset(root, bids, prep, atlas, atlas.with_name("atlas-sim_dseg.tsv"), fc, tr, n_volumes, hurst)
    for s, subject in enumerate(subjects):
        for session in (f"{k + 1:02d}" for k in range(n_sessions)):
            stem = f"sub-{subject}_ses-{session}_task-rest"
            neural = sim_roi_series(fc[s], n_volumes, hurst=hurst, rng=rng)
            raw_dir = bids / f"sub-{subject}" / f"ses-{session}" / "func"
            raw_dir.mkdir(parents=True, exist_ok=True)
            out.runs.append(write_bold_nifti(raw_dir / f"{stem}_bold.nii.gz", neural, tr=tr, rng=rng))
            if task_volumes:
                _write_task_run(raw_dir, stem.replace("task-rest", "task-nback"), fc[s], task_volumes, tr,
                                task_effect, hurst, rng)  # fmt: skip
            if physio:
                heart, breath = float(rng.uniform(55, 85)), float(rng.uniform(10, 20))
                rates[stem] = [heart, breath]
                t = np.arange(int(n_volumes * tr * PHYSIO_FS)) / PHYSIO_FS
                beat = np.abs(((heart / 60.0 * t + 0.5) % 1.0) - 0.5)
                cardiac = np.exp(-((beat / 0.05) ** 2)) + 0.05 * rng.standard_normal(t.size)
                respiratory = np.sin(2 * np.pi * breath / 60.0 * t) + 0.1 * rng.standard_normal(t.size)
                pd.DataFrame({"c": cardiac, "r": respiratory}).to_csv(
                    raw_dir / f"{stem}_physio.tsv.gz", sep="\t", header=False, index=False, float_format="%.5f"
                )
            motion = sim_motion(n_volumes, n_spikes=n_motion_spikes, rng=rng)
            wm = rng.standard_normal(n_volumes)
            csf = rng.standard_normal(n_volumes)
            noisy = neural + nuisance * (wm + csf)[None, :] / np.sqrt(2.0)
            prep_dir = prep / f"sub-{subject}" / f"ses-{session}" / "func"
            prep_dir.mkdir(parents=True, exist_ok=True)
            name = f"{stem}_space-{FMRIPREP_SPACE}_desc-preproc_bold"
            out.preproc.append(write_bold_nifti(prep_dir / f"{name}.nii.gz", noisy, tr=tr, rng=rng))
            (prep_dir / f"{name}.json").write_text(json.dumps({"RepetitionTime": tr, "TaskName": "rest"}))
            confounds = pd.DataFrame(dict(zip(motion.names, motion.parameters, strict=True)))
            confounds["framewise_displacement"] = motion.framewise_displacement
            confounds["white_matter"] = wm
            confounds["csf"] = csf
            confounds["global_signal"] = noisy.mean(axis=0)
            confounds.to_csv(prep_dir / f"{stem}_desc-confounds_timeseries.tsv", sep="\t", index=False, na_rep="n/a")
    truth = {"tr": tr, "n_volumes": n_volumes, "hurst": hurst, "subjects": subjects, "fc": fc.tolist()}
    if physio:
        truth["heart_rate"] = {k: v[0] for k, v in rates.items()}
        truth["respiration_rate"] = {k: v[1] for k, v in rates.items()}
    (root / "truth.json").write_text(json.dumps(truth))
    return out


def _write_task_run(
    folder: Path, stem: str, fc: np.ndarray, n_volumes: int, tr: float, effect: float, hurst: float, rng
) -> None:
    """A block-design task run: 30 s nback / 30 s fixation; the first quarter of the ROIs respond."""
    series = sim_roi_series(fc, n_volumes, hurst=hurst, rng=rng)
    times = np.arange(n_volumes) * tr
    on = (times // 30.0) % 2 == 1
    responders = max(1, fc.shape[0] // 4)
    series[:responders, on] += effect
    write_bold_nifti(folder / f"{stem}_bold.nii.gz", series, tr=tr, rng=rng)
    onsets = np.arange(0.0, n_volumes * tr, 30.0)
    trial_type = ["fixation" if k % 2 == 0 else "nback" for k in range(onsets.size)]
    pd.DataFrame({"onset": onsets, "duration": 30.0, "trial_type": trial_type}).to_csv(
        folder / f"{stem}_events.tsv", sep="\t", index=False
    )


__all__ = ["BoldDataset", "write_bold_dataset"]
