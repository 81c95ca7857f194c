"""Opening recordings lazily: ``open_recording(source) -> Recording``.

Sources understood here: local NWB files (pynwb) and BIDS EEG runs (mne-bids). Samples are
read only when ``Recording.read`` or ``Baseline.load`` asks for them (h5py slicing for NWB,
MNE's lazy readers for BIDS).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.core import Recording
from adhesive_dots.errors import FormatError, SourceNotFoundError, UnsupportedSourceError
from adhesive_dots.io.bids_write import SIDECAR_KEY
from adhesive_dots.io.nwb_write import DOT_TABLE
from adhesive_dots.metadata import DotMetadata, Modality


def open_recording(source: str | Path, **options: Any) -> Recording:
    """Open ``source`` lazily.

    Parameters
    ----------
    source : str or Path
        An NWB file, or a BIDS root (then pass ``subject``, ``session``, ``task``, ``run``).
    **options
        BIDS entity filters (``subject``, ``session``, ``task``, ``run``, ``acquisition``).
    """
    path = Path(source)
    if not path.exists():
        raise SourceNotFoundError(f"{source}: no such file or folder")
    if path.is_dir():
        return read_bids(path, **options)
    if path.suffix.lower() == ".nwb":
        return read_nwb(path)
    raise UnsupportedSourceError(
        f"{source}: cannot read files ending in {path.suffix!r}; expected .nwb or a BIDS folder"
    )


def read_nwb(path: str | Path) -> Recording:
    """Open an NWB file: its main neural series, intervals, behaviour and dot metadata."""
    from pynwb import NWBHDF5IO

    path = Path(path)
    try:
        io = NWBHDF5IO(str(path), "r")
        nwbfile = io.read()
    except (OSError, ValueError, KeyError) as err:
        raise FormatError(f"{path}: not a readable NWB file ({err})") from None
    series, modality = _main_series(nwbfile)
    if series is None:
        io.close()
        raise FormatError(f"{path}: no ElectricalSeries or RoiResponseSeries found")
    dataset = series.data  # h5py dataset, (n_times, n_channels)

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        block = dataset[i0:i1]  # contiguous time slice, all channels (one chunk row)
        return np.asarray(block).T[index] * series.conversion

    metadata = DotMetadata()
    intervals = []
    for name, table in nwbfile.intervals.items():
        frame = table.to_dataframe()
        if name == DOT_TABLE and len(frame):
            metadata = DotMetadata.from_json(frame["dot_metadata"].iloc[0], source=f"{path}:{DOT_TABLE}")
        for row in frame.itertuples():
            label = _row_label(name, row)
            intervals.append((float(row.start_time), float(row.stop_time), label, name))
    signals = {}
    behavior = nwbfile.processing.get("behavior")
    if behavior is not None:
        for container in behavior.data_interfaces.values():
            for ts in getattr(container, "time_series", {}).values():
                signals[ts.name] = _timeseries_recording(f"{path}:{ts.name}", ts)
    names = [f"ch{i:03d}" for i in range(dataset.shape[1])]
    return Recording(
        str(path),
        fs=float(series.rate),
        channel_names=names,
        n_times=dataset.shape[0],
        reader=reader,
        modality=modality,
        units=series.unit,
        t0=float(series.starting_time or 0.0),
        metadata=metadata,
        intervals=pd.DataFrame(intervals, columns=["start", "stop", "label", "table"]),
        signals=signals,
        close=io.close,
    )


def _main_series(nwbfile: Any) -> tuple[Any, Modality]:
    from pynwb.ecephys import ElectricalSeries
    from pynwb.ophys import RoiResponseSeries

    for obj in nwbfile.objects.values():
        if isinstance(obj, RoiResponseSeries):
            return obj, Modality.CALCIUM
    for obj in nwbfile.objects.values():
        if isinstance(obj, ElectricalSeries):
            return obj, Modality.LFP
    return None, Modality.OTHER


def _row_label(table: str, row: Any) -> str:
    tags = getattr(row, "tags", None)
    if tags is not None and len(tags):
        return ",".join(str(t) for t in tags)
    for column in ("paradigm", "condition", "stimulus_name", "label"):
        if hasattr(row, column):
            return str(getattr(row, column))
    return table


def _timeseries_recording(source: str, ts: Any) -> Recording:
    data = ts.data

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        block = np.asarray(data[i0:i1])
        return block.reshape(block.shape[0], -1).T[index] * ts.conversion

    n_channels = 1 if data.ndim == 1 else data.shape[1]
    return Recording(
        source,
        fs=float(ts.rate),
        channel_names=[ts.name] if n_channels == 1 else [f"{ts.name}{i}" for i in range(n_channels)],
        n_times=data.shape[0],
        reader=reader,
        units=ts.unit,
        t0=float(ts.starting_time or 0.0),
    )


def read_bids(root: str | Path, **entities: Any) -> Recording:
    """Open one BIDS EEG/MEG/iEEG run through mne-bids (entities select the run)."""
    import mne_bids

    root = Path(root)
    if not (root / "dataset_description.json").exists():
        raise FormatError(f"{root}: not a BIDS dataset (no dataset_description.json)")
    entities = {"task": "rest", **entities}
    matches = mne_bids.find_matching_paths(
        root, extensions=[".vhdr", ".edf", ".bdf", ".fif", ".set"], suffixes=["eeg", "meg", "ieeg"],
        **{k + ("s" if not k.endswith("s") else ""): v for k, v in entities.items()},
    )  # fmt: skip
    if not matches:
        raise SourceNotFoundError(f"{root}: no run matches {entities}")
    bids_path = matches[0]
    raw = mne_bids.read_raw_bids(bids_path, verbose=False)
    sidecar = json.loads(bids_path.copy().update(extension=".json").fpath.read_text())
    metadata = DotMetadata()
    if SIDECAR_KEY in sidecar:
        metadata = DotMetadata.from_dict(sidecar[SIDECAR_KEY], source=f"{bids_path.fpath}:{SIDECAR_KEY}")
    intervals = pd.DataFrame(
        {"start": raw.annotations.onset, "stop": raw.annotations.onset + raw.annotations.duration,
         "label": list(raw.annotations.description), "table": "annotations"}
    )  # fmt: skip
    if bids_path.task == "rest":
        intervals.loc[len(intervals)] = [0.0, raw.n_times / raw.info["sfreq"], "task-rest", "bids"]

    def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
        return raw.get_data(picks=index, start=i0, stop=i1)

    return Recording(
        str(bids_path.fpath),
        fs=float(raw.info["sfreq"]),
        channel_names=raw.ch_names,
        n_times=raw.n_times,
        reader=reader,
        modality=Modality.EEG if bids_path.datatype == "eeg" else Modality(bids_path.datatype),
        units="V",
        metadata=metadata,
        intervals=intervals,
    )
