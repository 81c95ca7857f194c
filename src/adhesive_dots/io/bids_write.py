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
from typing import Any

import mne
import numpy as np
import pandas as pd
from mne_bids import BIDSPath, make_dataset_description, update_sidecar_json, write_raw_bids

from adhesive_dots.errors import FormatError
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


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "n/a"))


def fill_sidecar_fields(sidecar: dict[str, Any], dot: DotMetadata, *, recording_duration: float | None) -> list[str]:
    """Fill the run sidecar's standard fields the dot knows, where absent or ``n/a``; return the names written.

    ``RecordingDuration`` (s, the recording's length), ``SamplingFrequency`` and ``EEGReference`` /
    ``iEEGReference`` (from ``recording.reference``, by the run's modality). ``PowerLineFrequency`` is not
    recorded by a dot and is left to the dataset. Never overwrites a value.
    """
    recording = dot.recording
    known: dict[str, Any] = {}
    if recording_duration is not None and recording_duration > 0:
        known["RecordingDuration"] = round(float(recording_duration), 6)
    if recording.sampling_frequency is not None:
        known["SamplingFrequency"] = float(recording.sampling_frequency)
    if recording.reference:
        modality = str(recording.modality.value if recording.modality else "").lower()
        key = {"ieeg": "iEEGReference", "eeg": "EEGReference"}.get(modality)
        if key is not None:
            known[key] = recording.reference
    written = []
    for key, value in known.items():
        if _empty(sidecar.get(key)):
            sidecar[key] = value
            written.append(key)
    return written


PARTICIPANT_COLUMNS = ("species", "sex", "age", "handedness", "strain")
"""``participants.tsv`` columns :func:`fill_participant` fills from the dot's subject."""


def _years(age: str | None) -> str | None:
    """BIDS ``age`` (years) from an ISO 8601 duration in whole years (``P25Y`` -> ``25``), else None."""
    match = re.fullmatch(r"P(\d+(?:\.\d+)?)Y", age or "")
    return match.group(1) if match else None


def fill_participant(path: Path, participant_id: str, dot: DotMetadata) -> tuple[str | None, list[str]]:
    """The text of ``participants.tsv`` with the row of ``participant_id`` filled where empty or ``n/a``.

    Returns ``(new_text, columns_written)``; ``new_text`` is None when nothing changes. Columns missing
    from the file are added (``n/a`` for the other participants); a new row is added for a participant
    the file lacks. Sex is written as BIDS spells it (``M``, ``F``, ``O``; unknown is left ``n/a``).
    """
    subject = dot.subject
    sex = subject.sex.value if subject.sex is not None else None
    known = {
        "species": subject.species,
        "sex": sex if sex in ("M", "F", "O") else None,
        "age": _years(subject.age),
        "handedness": subject.handedness,
        "strain": subject.strain,
    }
    known = {k: v for k, v in known.items() if v not in (None, "")}
    if not known:
        return None, []
    if path.exists():
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    else:
        table = pd.DataFrame({"participant_id": pd.Series(dtype=str)})
    if "participant_id" not in table.columns:
        raise FormatError(f"{path}: has no participant_id column; fix the file before annotating")
    rows = table.index[table["participant_id"] == participant_id]
    if rows.empty:
        table.loc[len(table)] = {c: "n/a" for c in table.columns} | {"participant_id": participant_id}
        rows = table.index[table["participant_id"] == participant_id]
    row = rows[0]
    written = []
    for column, value in known.items():
        if column not in table.columns:
            table[column] = "n/a"
        if _empty(table.at[row, column]):
            table.at[row, column] = str(value)
            written.append(f"participants.tsv:{column}")
    if not written:
        return None, []
    return table.to_csv(sep="\t", index=False, lineterminator="\n"), written
