"""Writing NWB files (pynwb): sessions and the ``adhesive_baseline`` interval table.

The dot of a session lives in NWB as a ``TimeIntervals`` table named
``adhesive_baseline`` under ``/intervals``, one row per piece of the baseline, with columns
``paradigm`` (the :class:`~adhesive_dots.metadata.Paradigm` value), ``schema_version``, and
one column per set DotMetadata field, named by its dotted path (``subject.species``,
``arousal.measures.0``; see :func:`~adhesive_dots.metadata.to_fields`), so every cell is a
scalar as NWB best practice asks (files written before 0.1 kept the record as JSON in a
``dot_metadata`` column, which readers still accept).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hdmf.backends.hdf5 import H5DataIO
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.behavior import BehavioralTimeSeries, PupilTracking
from pynwb.ecephys import LFP
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject
from pynwb.misc import Units
from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel

from adhesive_dots.core import Segment
from adhesive_dots.files import atomic_output
from adhesive_dots.metadata import DotMetadata, Paradigm, to_fields

DOT_TABLE = "adhesive_baseline"
"""Name of the NWB ``TimeIntervals`` table that holds adhesive dots."""


@dataclass
class NWBSession:
    """What :func:`write_nwb` puts in a file. Arrays are ``(n_channels, n_times)``."""

    session_id: str
    description: str
    metadata: DotMetadata
    data: np.ndarray
    fs: float
    channel_names: Sequence[str]
    units: str
    kind: str  # "calcium" (RoiResponseSeries in DfOverF) or "lfp" (ElectricalSeries in LFP)
    spike_times: Sequence[np.ndarray] | None = None
    behaviour: Mapping[str, tuple[np.ndarray, float, str]] = field(default_factory=dict)
    epochs: pd.DataFrame | None = None  # start, stop, label
    trials: pd.DataFrame | None = None  # start, stop, condition
    dot: Segment | None = None
    start_time: datetime = field(default_factory=lambda: datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    experimenter: tuple[str, ...] = ("Simulator, Adhesive",)


def write_nwb(path: str | Path, session: NWBSession, *, overwrite: bool = False) -> Path:
    """Write ``session`` to a new NWB file at ``path`` (atomically: all or nothing)."""
    meta = session.metadata
    nwbfile = NWBFile(
        session_description=session.description,
        identifier=str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{meta.identity.lab}/{session.session_id}/{meta.subject.subject_id}")
        ),
        session_start_time=session.start_time,
        session_id=session.session_id,
        lab=meta.identity.lab,
        institution=meta.identity.institution or "adhesive-dots simulator",
        experiment_description="Spontaneous baseline followed or preceded by a visual task.",
        experimenter=session.experimenter,
        keywords=["spontaneous activity", "resting state", "adhesive dot"],
    )
    subject = meta.subject
    nwbfile.subject = Subject(
        subject_id=subject.subject_id,
        species=subject.species,
        sex=subject.sex.value if subject.sex else "U",
        age=subject.age,
        strain=subject.strain,
        genotype=subject.genotype,
        weight=subject.weight,
        description=subject.description or f"{subject.species or 'unknown species'} {subject.strain or ''}".strip(),
    )
    data = np.ascontiguousarray(np.asarray(session.data, dtype=np.float32).T)  # NWB: time first
    chunk_rows = int(min(data.shape[0], max(1, round(10 * session.fs))))
    chunked = H5DataIO(data, chunks=(chunk_rows, data.shape[1]))
    if session.kind == "calcium":
        _add_calcium(nwbfile, session, chunked)
    elif session.kind == "lfp":
        _add_lfp(nwbfile, session, chunked)
    else:
        raise ValueError(f"kind must be 'calcium' or 'lfp', got {session.kind!r}")

    if session.spike_times is not None:
        nwbfile.units = Units(name="units", description="sorted single units", resolution=1e-6)
        for times in session.spike_times:
            nwbfile.add_unit(spike_times=np.asarray(times, dtype=float))

    if session.behaviour:
        behavior = nwbfile.create_processing_module("behavior", "Pupil and locomotion")
        pupil = PupilTracking(name="PupilTracking")
        other = BehavioralTimeSeries(name="BehavioralTimeSeries")
        for name, (values, rate, unit) in session.behaviour.items():
            series = TimeSeries(
                name=name, data=np.asarray(values), rate=float(rate), unit=unit,
                description=f"{name.replace('_', ' ')} ({unit}), arousal measure",
            )  # fmt: skip
            (pupil if "pupil" in name else other).add_timeseries(series)
        for container in (pupil, other):
            if container.time_series:
                behavior.add(container)

    if session.epochs is not None:
        for row in session.epochs.itertuples():
            nwbfile.add_epoch(start_time=float(row.start), stop_time=float(row.stop), tags=[str(row.label)])
    if session.trials is not None and len(session.trials):
        nwbfile.add_trial_column(name="condition", description="stimulus condition")
        for row in session.trials.itertuples():
            nwbfile.add_trial(start_time=float(row.start), stop_time=float(row.stop), condition=str(row.condition))
    if session.dot is not None:
        add_dot_table(nwbfile, session.dot, meta)

    with atomic_output(path, overwrite=overwrite) as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
    return Path(path)


def make_dot_table(segment: Segment, metadata: DotMetadata) -> TimeIntervals:
    """The ``adhesive_baseline`` table with one row per piece of ``segment``."""
    table = TimeIntervals(name=DOT_TABLE, description="Adhesive-dot spontaneous baseline (adhesive-dots).")
    table.add_column(name="paradigm", description="DotMetadata paradigm name")
    fields = to_fields(metadata)  # includes schema_version
    for name in fields:
        table.add_column(name=name, description=f"DotMetadata field {name}")
    paradigm = metadata.paradigm.name or Paradigm.OTHER
    for start, stop in segment.pieces:
        table.add_row(start_time=start, stop_time=stop, paradigm=paradigm.value, **fields)
    return table


def add_dot_table(nwbfile: NWBFile, segment: Segment, metadata: DotMetadata) -> TimeIntervals:
    """Add the ``adhesive_baseline`` table to an in-memory ``NWBFile``."""
    table = make_dot_table(segment, metadata)
    nwbfile.add_time_intervals(table)
    return table


def _add_calcium(nwbfile: NWBFile, session: NWBSession, data: H5DataIO) -> None:
    meta = session.metadata.recording
    device = nwbfile.create_device(name="Microscope", description=meta.apparatus.microscope or "two-photon")
    channel = OpticalChannel(name="green", description="GCaMP emission", emission_lambda=510.0)
    plane = nwbfile.create_imaging_plane(
        name="ImagingPlane",
        optical_channel=channel,
        description="layer 2/3",
        device=device,
        excitation_lambda=920.0,
        indicator=meta.indicator or "unknown",
        location=(meta.brain_areas or ["unknown"])[0],
        imaging_rate=session.fs,
    )
    ophys = nwbfile.create_processing_module("ophys", "Processed two-photon data")
    segmentation = ImageSegmentation(name="ImageSegmentation")
    planes = segmentation.create_plane_segmentation(name="PlaneSegmentation", description="ROIs", imaging_plane=plane)
    side = int(np.ceil(np.sqrt(len(session.channel_names))))
    for i in range(len(session.channel_names)):
        x, y = 4 * (i % side), 4 * (i // side)
        planes.add_roi(pixel_mask=[(x, y, 1.0), (x + 1, y, 1.0), (x, y + 1, 1.0)])
    ophys.add(segmentation)
    rois = planes.create_roi_table_region(region=list(range(len(session.channel_names))), description="all ROIs")
    dff = DfOverF(name="DfOverF")
    ophys.add(dff)  # into the file first, so the region shares an ancestor with its table
    dff.create_roi_response_series(
        name="RoiResponseSeries", data=data, rois=rois, unit=session.units, rate=float(session.fs),
        description="dF/F of segmented ROIs",
    )  # fmt: skip


def _add_lfp(nwbfile: NWBFile, session: NWBSession, data: H5DataIO) -> None:
    meta = session.metadata.recording
    device = nwbfile.create_device(name="Probe", description=meta.apparatus.probe or "probe")
    group = nwbfile.create_electrode_group(
        name="shank0", description="probe shank", location=(meta.brain_areas or ["unknown"])[0], device=device
    )
    for i in range(len(session.channel_names)):
        nwbfile.add_electrode(group=group, location=group.location, rel_y=float(20 * i), reference=meta.reference)
    electrodes = nwbfile.create_electrode_table_region(
        region=list(range(len(session.channel_names))), description="LFP electrodes"
    )
    ecephys = nwbfile.create_processing_module("ecephys", "Processed extracellular data")
    lfp = LFP(name="LFP")
    ecephys.add(lfp)  # into the file first, so the region shares an ancestor with its table
    lfp.create_electrical_series(
        name="LFP", data=data, electrodes=electrodes, rate=float(session.fs), conversion=1.0,
        filtering="low-pass 100 Hz, downsampled", description="local field potential",
    )  # fmt: skip


SUBJECT_FIELDS = ("subject_id", "species", "sex", "age", "strain", "genotype", "weight")
"""NWB ``Subject`` fields that :func:`fill_nwb_subject` fills from the dot where the file leaves them empty."""


def fill_nwb_subject(path: str | Path, subject: Any) -> list[str]:
    """Write what the dot knows of its subject into the NWB file's ``/general/subject`` where it is empty.

    Parameters
    ----------
    path : path
        An NWB (HDF5) file opened for writing (the annotated copy; never the user's source).
    subject : SubjectInfo
        The dot's subject.

    Returns
    -------
    list of str
        The fields written (``"Subject.species"``, ...); a field that holds a non-empty value is never
        overwritten. Creates the ``Subject`` group when the file has none.
    """
    import h5py

    values = subject.model_dump(mode="json", exclude_none=True)
    wanted = {name: str(values[name]) for name in SUBJECT_FIELDS if values.get(name) not in (None, "")}
    if not wanted:
        return []
    written = []
    text = h5py.string_dtype("utf-8")
    with h5py.File(path, "r+") as handle:
        group = handle.get("general/subject")
        if group is None:
            group = handle.require_group("general").create_group("subject")
            group.attrs.update({"namespace": "core", "neurodata_type": "Subject", "object_id": str(uuid.uuid4())})
        for name, value in wanted.items():
            if name in group:
                current = group[name][()]
                current = current.decode("utf-8", "replace") if isinstance(current, bytes) else str(current)
                if current.strip():
                    continue
                del group[name]
            group.create_dataset(name, data=value, dtype=text)
            if name == "age":
                group[name].attrs["reference"] = "birth"
            written.append(f"Subject.{name}")
    return written
