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


# -- the web catalog (adots serve) ---------------------------------------------------------------
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def served_catalog(tmp_path_factory: pytest.TempPathFactory):
    """A small catalog as `adots demo` makes it: 3 labs x 1 subject x 2 sessions (size 0.25) plus one session
    re-uploaded six ways, ingested (validated, fingerprinted) and curated (sketches, verified duplicate links)."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.curation import compute_catalog_sketches, find_catalog_duplicates
    from adhesive_dots.sim import sim_corpus
    from adhesive_dots.workflows.ingest import ingest

    root = tmp_path_factory.mktemp("served")
    corpus = sim_corpus(
        root / "corpus", labs=3, subjects_per_lab=1, sessions_per_subject=2, size=0.25, reuploads=1, rng=7
    )
    catalog = Catalog(root / "adhesive.duckdb")
    ingest([corpus.root], catalog, workers=0)
    compute_catalog_sketches(catalog)
    find_catalog_duplicates(catalog)
    return catalog


def _hostile_metadata(base):
    """``base`` (a DotMetadata) with a script tag in every free-text field the schema accepts there."""
    from pydantic import BaseModel, ValidationError

    from adhesive_dots.metadata import DotMetadata

    def fill(model: type[BaseModel], current: dict) -> dict:
        out = dict(current)
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                out[name] = fill(annotation, current.get(name) or {})
            elif annotation in (str, str | None):
                out[name] = f"{XSS} {name}"
            elif annotation == list[str]:
                out[name] = [f"{XSS} {name}"]
            elif annotation == dict[str, str]:
                out[name] = {f"{XSS}key": f"{XSS} {name}"}
        return out

    data = fill(DotMetadata, base.model_dump(mode="json"))
    data["schema_version"] = base.schema_version
    for _ in range(20):  # drop what the schema refuses (formats such as the ISO 8601 age), keep the rest
        try:
            return DotMetadata.model_validate(data)
        except ValidationError as err:
            for problem in err.errors():
                target = data
                *parents, leaf = problem["loc"]
                for key in parents:
                    target = target[key]
                if isinstance(target, dict):
                    target.pop(leaf, None)
    raise AssertionError("could not build hostile metadata")


@pytest.fixture(scope="session")
def hostile_catalog(served_catalog, tmp_path_factory: pytest.TempPathFactory):
    """Three dots whose every free-text metadata field holds a script tag (one also in its dot id), with
    fingerprints (copies of real ones in this catalog's store), findings and a duplicate link carrying script."""
    import json
    import shutil

    from adhesive_dots.catalog import Catalog, DotRecord, SourceRecord
    from adhesive_dots.core import Finding, Severity
    from adhesive_dots.fingerprint import SUMMARY_NAMES, read_fingerprint

    source = served_catalog.dots()
    windows = [read_fingerprint(served_catalog.fingerprint_path(d)).params.window_s for d in source["dot_id"]]
    source = source[[w == windows[0] for w in windows]]  # comparable dots: fingerprinted with the same windows
    root = tmp_path_factory.mktemp("hostile")
    catalog = Catalog(root / "hostile.duckdb")
    catalog.fingerprint_dir.mkdir()
    from adhesive_dots.metadata import DotMetadata

    ids = ['dot-"><img src=x onerror=alert(1)>', "dot-hostile-1", "dot-hostile-2"]
    for i, dot_id in enumerate(ids):
        row = source.iloc[i]
        metadata = _hostile_metadata(DotMetadata.from_json(row["metadata_json"]))
        netcdf = catalog.fingerprint_dir / f"hostile-{i}.nc"
        shutil.copy(served_catalog.fingerprint_path(row["dot_id"]), netcdf)
        finding = Finding("signal.drift", Severity.WARNING, f"{XSS} message", location=XSS, value=XSS, fix=XSS)
        dot = DotRecord(
            dot_id,
            metadata,
            (float(row["start_s"]), float(row["stop_s"])),
            float(row["duration_s"]),
            f"sha256:{XSS}{i}",
            vector=served_catalog.vector_of(row["dot_id"]),
            netcdf_path=str(netcdf),
            findings=(finding,),
        )
        catalog.write_source(
            SourceRecord(f"{XSS}-{i}.nwb", XSS, dots=(dot,), tool_version=XSS), vector_names=list(SUMMARY_NAMES)
        )
    with catalog.transaction() as tx:
        tx.replace_duplicates([(ids[1], ids[2], "near", json.dumps({"offset_s": 0.0, "note": XSS}))])
    return catalog


@pytest.fixture
def adots(capsys):
    """``adots(argv) -> (exit code, stdout, stderr)``: the command line run in this process, as the console
    script runs it."""
    from adhesive_dots.cli import main

    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            main(argv)
            code = 0
        except SystemExit as exc:  # as the interpreter exits: None is 0, a message is 1
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
