"""Shared fixtures: a small simulated corpus (written once per run) and the real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from adhesive_dots.testing import find_real_data


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Three labs (calcium, ephys, EEG) x 1 subject x 2 sessions, 10 min rest + 2 min task.

    The defect cycle puts a 'too-short' defect on session 2 of the calcium lab and
    'missing-metadata' on session 2 of the EEG lab (see ``sim.corpus._assign_defects``).
    """
    from adhesive_dots.sim import sim_corpus

    return sim_corpus(tmp_path_factory.mktemp("corpus"), labs=3, subjects_per_lab=1, sessions_per_subject=2, rng=7)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/data/real`` (see its README); tests skip only when it is absent."""
    folder = find_real_data()
    if folder is None:
        pytest.skip("real recordings folder shared/data/real is absent (set ADOTS_REAL_DATA)")
    return folder


# -- io fixtures (issue 3) ---------------------------------------------------------------------
@pytest.fixture
def make_nwb(tmp_path: Path):
    """Write a small NWB file with pynwb and return its path.

    ``make_nwb(name, data=(n_times, n_channels) array, rate=, timestamps=, units=[spike arrays],
    intervals={table: DataFrame(start_time, stop_time, [tags | other columns])},
    behaviour={name: (values, rate)}, acquisition={name: (values, rate)}, subject=dict, lab=, session_id=,
    chunks=)``; ``data`` is
    written as an ``ElectricalSeries`` in ``acquisition`` (``kind="lfp"`` puts it under
    ``processing/ecephys/LFP``; ``kind="timeseries"`` writes a plain ``TimeSeries``).
    """
    import datetime as dt

    import numpy as np
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import BehavioralTimeSeries
    from pynwb.ecephys import LFP, ElectricalSeries
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject

    def write(
        name="test.nwb",
        *,
        data=None,
        rate=250.0,
        timestamps=None,
        kind="acquisition",
        units=None,
        intervals=None,
        behaviour=None,
        subject=None,
        lab="test-lab",
        session_id="s01",
        chunks=None,
        acquisition=None,
    ):
        nwbfile = NWBFile(
            session_description="test session",
            identifier=f"id-{name}",
            session_start_time=dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC),
            lab=lab,
            institution="test institute",
            session_id=session_id,
        )
        nwbfile.subject = Subject(
            **(subject or {"subject_id": "m1", "species": "Mus musculus", "sex": "F", "age": "P90D"})
        )
        if data is not None:
            data = np.asarray(data)
            timing = {"rate": rate} if timestamps is None else {"timestamps": np.asarray(timestamps)}
            wrapped = H5DataIO(data, chunks=chunks) if chunks is not None else data
            if kind == "timeseries":
                nwbfile.add_acquisition(TimeSeries(name="signal", data=wrapped, unit="a.u.", **timing))
            else:
                device = nwbfile.create_device(name="probe")
                group = nwbfile.create_electrode_group(name="shank", description="s", location="CA1", device=device)
                n_channels = data.shape[1] if data.ndim > 1 else 1
                for _ in range(n_channels):
                    nwbfile.add_electrode(group=group, location="CA1")
                region = nwbfile.create_electrode_table_region(list(range(n_channels)), "all")
                series = ElectricalSeries(name="voltage", data=wrapped, electrodes=region, **timing)
                if kind == "lfp":
                    module = nwbfile.create_processing_module("ecephys", "processed")
                    lfp = LFP(name="LFP")
                    module.add(lfp)
                    lfp.add_electrical_series(series)
                else:
                    nwbfile.add_acquisition(series)
        for times in units or []:
            nwbfile.add_unit(spike_times=np.asarray(times, dtype=float))
        for table_name, frame in (intervals or {}).items():
            if table_name == "epochs":
                for row in frame.itertuples():
                    nwbfile.add_epoch(start_time=row.start_time, stop_time=row.stop_time, tags=list(row.tags))
                continue
            table = TimeIntervals(name=table_name, description="test intervals")
            extra = [c for c in frame.columns if c not in ("start_time", "stop_time")]
            for column in extra:
                table.add_column(name=column, description=column)
            for row in frame.to_dict("records"):
                table.add_row(**row)
            nwbfile.add_time_intervals(table)
        for series_name, (values, series_rate) in (acquisition or {}).items():
            nwbfile.add_acquisition(
                TimeSeries(name=series_name, data=np.asarray(values), rate=series_rate, unit="a.u.")
            )
        if behaviour:
            module = nwbfile.create_processing_module("behavior", "behaviour")
            container = BehavioralTimeSeries(name="BehavioralTimeSeries")
            for series_name, (values, series_rate) in behaviour.items():
                container.add_timeseries(
                    TimeSeries(name=series_name, data=np.asarray(values), rate=series_rate, unit="a.u.")
                )
            module.add(container)
        path = tmp_path / name
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwbfile)
        return path

    return write


@pytest.fixture
def range_server(tmp_path: Path):
    """A :class:`~adhesive_dots.testing.http.RangeServer` on 127.0.0.1 serving ``tmp_path / "www"``."""
    from adhesive_dots.testing.http import RangeServer

    root = tmp_path / "www"
    root.mkdir()
    server = RangeServer(root).start()
    yield server
    server.stop()


def sha256(path) -> str:
    """Hex SHA-256 of a file's bytes (for byte-identical checks)."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def file_hash():
    """``file_hash(path)``: SHA-256 of the file's bytes."""
    return sha256


@pytest.fixture(scope="session")
def reupload_corpus(tmp_path_factory: pytest.TempPathFactory):
    """A small corpus (3 labs x 1 subject x 2 sessions, size 0.25) with 3 sessions re-uploaded.

    One session per lab is copied six ways (see ``sim.reupload``): 6 originals + 18 copies,
    63 planted duplicate pairs (``load_reuploads(corpus.root).pairs()``).
    """
    from adhesive_dots.sim import sim_corpus

    root = tmp_path_factory.mktemp("reupload-corpus")
    return sim_corpus(root, labs=3, subjects_per_lab=1, sessions_per_subject=2, size=0.25, reuploads=3, rng=7)
