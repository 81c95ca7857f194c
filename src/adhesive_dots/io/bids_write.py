"""Writing BIDS EEG runs (mne-bids) with the dot in the run's sidecar.

The dot of a BIDS run lives in its ``*_eeg.json`` sidecar under the single key
``AdhesiveDot`` (the DotMetadata as a JSON object); no other key is disturbed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from mne_bids import BIDSPath, make_dataset_description, update_sidecar_json, write_raw_bids

from adhesive_dots.metadata import DotMetadata

SIDECAR_KEY = "AdhesiveDot"
"""Key of the BIDS sidecar that holds the DotMetadata."""


def write_bids_eeg(
    root: str | Path,
    *,
    subject: str,
    session: str | None,
    task: str,
    data: np.ndarray,
    fs: float,
    channel_names: Sequence[str],
    metadata: DotMetadata | None = None,
    events: pd.DataFrame | None = None,
    sidecar: dict | None = None,
    line_freq: float = 50.0,
    meas_date: dt.datetime | None = None,
) -> BIDSPath:
    """Write one EEG run (BrainVision) into the BIDS dataset at ``root``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Samples in volts.
    events : DataFrame, optional
        Columns ``onset``, ``duration`` (s) and ``description``; written as annotations and
        hence as ``*_events.tsv``.
    sidecar : dict, optional
        Extra sidecar keys (e.g. ``TaskDescription``, ``Instructions``).
    metadata : DotMetadata, optional
        Written under :data:`SIDECAR_KEY` in the sidecar.
    """
    root = Path(root)
    meas_date = meas_date or dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    info = mne.create_info(list(channel_names), sfreq=fs, ch_types="eeg")
    raw = mne.io.RawArray(np.asarray(data, dtype=np.float64), info, verbose=False)
    raw.set_montage("colin27_1020", on_missing="ignore", verbose=False)
    raw.set_meas_date(meas_date)
    raw.info["line_freq"] = line_freq
    if metadata is not None:
        raw.info["subject_info"] = _subject_info(metadata, meas_date)
    if events is not None and len(events):
        raw.set_annotations(
            mne.Annotations(
                onset=events["onset"].to_numpy(float),
                duration=events["duration"].to_numpy(float),
                description=events["description"].astype(str).tolist(),
                orig_time=meas_date,
            )
        )
    if not (root / "dataset_description.json").exists():
        root.mkdir(parents=True, exist_ok=True)
        make_dataset_description(
            path=root,
            name="adhesive-dots simulated EEG",
            dataset_type="raw",
            authors=["adhesive-dots simulator"],
            overwrite=True,
            verbose=False,
        )
    bids_path = BIDSPath(subject=subject, session=session, task=task, datatype="eeg", root=root)
    write_raw_bids(raw, bids_path, format="BrainVision", allow_preload=True, overwrite=True, verbose=False)
    extra = dict(sidecar or {})
    if metadata is not None:
        extra[SIDECAR_KEY] = json.loads(metadata.model_dump_json(exclude_none=True))
    if extra:
        sidecar_path = bids_path.copy().update(suffix="eeg", extension=".json")
        update_sidecar_json(sidecar_path, extra, verbose=False)
    return bids_path


def _subject_info(metadata: DotMetadata, meas_date: dt.datetime) -> dict:
    subject = metadata.subject
    info: dict = {"his_id": subject.subject_id or "unknown"}
    if subject.sex is not None:
        info["sex"] = {"M": 1, "F": 2}.get(subject.sex.value, 0)
    if subject.handedness:
        info["hand"] = {"right": 1, "left": 2, "ambidextrous": 3}.get(subject.handedness, 0)
    years = re.fullmatch(r"P(\d+)Y", subject.age or "")
    if years:
        info["birthday"] = (meas_date - dt.timedelta(days=365.25 * int(years.group(1)) + 30)).date()
    return info
