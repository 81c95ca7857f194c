"""Hostile and broken inputs for the fuzzing suite: each builder writes files under a folder and returns cases.

A case is a dict: ``name``, ``argv`` (an ``adots`` command line), ``files`` (paths whose bytes must not
change) and ``names`` (strings one of which an exit-2 message must contain: the file or folder named).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np

SECRET = "TOP-SECRET-OUTSIDE-VALUE"
MARKUP = "[/] [link=http://evil.example]click-me[/link] [bold red]x\x1b[2J\x1b]8;;http://x\x07y\x1b]8;;\x07\x07\r"
EXTENSIONS = (".nwb", ".edf", ".bdf", ".fif", ".set", ".vhdr", ".gdf", ".npy", ".tsv", ".csv", ".txt")


def write_nwb(
    path: Path,
    *,
    lab: str = "lab",
    n_times: int = 2000,
    n_channels: int = 2,
    epochs=((0.0, 8.0, "rest"),),
    text: str | None = None,
    pupil=None,
    units=None,
) -> Path:
    """A small NWB file: an ElectricalSeries at 250 Hz, epochs, optional pupil series and units."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import PupilTracking
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject

    words = text if text is not None else "s"
    nwbfile = NWBFile(
        session_description=words,
        identifier="x",
        session_start_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        lab=lab,
        institution=words,
        session_id="s1",
    )
    nwbfile.subject = Subject(subject_id="m1" if text is None else text, species="Mus musculus", sex="F", age="P90D")
    device = nwbfile.create_device(name="probe")
    group = nwbfile.create_electrode_group(name="g", description="g", location="CA1", device=device)
    for _ in range(n_channels):
        nwbfile.add_electrode(group=group, location="CA1")
    region = nwbfile.create_electrode_table_region(list(range(n_channels)), "all")
    data = np.random.default_rng(0).standard_normal((n_times, n_channels))
    nwbfile.add_acquisition(ElectricalSeries(name="voltage", data=data, electrodes=region, rate=250.0))
    for start, stop, tag in epochs:
        nwbfile.add_epoch(start_time=float(start), stop_time=float(stop), tags=[tag])
    if pupil is not None:
        module = nwbfile.create_processing_module("behavior", "behaviour")
        module.add(PupilTracking(TimeSeries(name="pupil", data=pupil[0], timestamps=pupil[1], unit="a.u.")))
    for times in units or []:
        nwbfile.add_unit(spike_times=np.asarray(times, dtype=float))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def _replace(path: Path, where: str, link) -> None:
    import h5py

    with h5py.File(path, "a") as handle:
        del handle[where]
        handle[where] = link


def _case(name: str, argv: list[str], files: list[Path], names: list[str] | None = None) -> dict:
    return {
        "name": name,
        "argv": [str(a) for a in argv],
        "files": [str(f) for f in files],
        "names": names or [Path(f).name for f in files] or [str(a) for a in argv[1:2]],
    }


COMMANDS = (("inspect",), ("validate",), ("fingerprint",))
EXTENDED_COMMANDS = (("inspect", "--json"), ("validate", "--json"), ("sufficiency",), ("report",))


def _runs(name: str, target: Path, files: list[Path], commands, extra=(), names=None) -> list[dict]:
    out = []
    for command in commands:
        argv = [*command, str(target), *extra]
        if command[0] == "report":
            argv += ["-o", str(target.parent / f"{target.name}.report.html")]
        out.append(_case(f"{name} [{' '.join(command)}]", argv, files, names))
    return out


def build_cases(root: Path, *, real: Path | None, extended: bool = False, seed: int = 0) -> list[dict]:
    """Write every hostile input under ``root``; the cases that run them through the commands."""
    rng = np.random.default_rng(seed)
    commands = COMMANDS + (EXTENDED_COMMANDS if extended else ())
    root.mkdir(parents=True, exist_ok=True)
    cases: list[dict] = []
    outside = root / "outside"
    outside.mkdir(exist_ok=True)

    import h5py

    secret_h5 = outside / "secret.h5"
    with h5py.File(secret_h5, "w") as handle:
        handle["secret"] = SECRET
        handle["data"] = np.zeros((2000, 2))
    fifo = outside / "pipe"
    if not fifo.exists():
        os.mkfifo(fifo)

    # -- valid bases, then truncated at several offsets ------------------------------------------
    good = write_nwb(root / "good.nwb")
    bases = [good]
    np.save(root / "good.npy", rng.standard_normal((3000, 2)))
    bases.append(root / "good.npy")
    np.savetxt(root / "good.tsv", rng.standard_normal((3000, 2)), delimiter="\t", header="a\tb", comments="")
    bases.append(root / "good.tsv")
    np.savetxt(root / "good.csv", rng.standard_normal((3000, 2)), delimiter=",", header="a,b", comments="")
    bases.append(root / "good.csv")
    if real is not None:
        shutil.copy(real / "S001R01.edf", root / "good.edf")
        bases.append(root / "good.edf")
    fractions = (0.5,) if not extended else (0.01, 0.1, 0.25, 0.5, 0.75, 0.99)
    offsets = (1, 8, 300)
    for base in bases:
        blob = base.read_bytes()
        cuts = sorted({*offsets, *(int(len(blob) * f) for f in fractions)})
        for cut in cuts:
            path = root / f"trunc{cut}_{base.name}"
            path.write_bytes(blob[:cut])
            extra = ["--fs", "100", "--whole"] if base.suffix in (".npy", ".tsv", ".csv") else ["--whole"]
            cases += _runs(f"{base.name} truncated at {cut} bytes", path, [path], commands[:2], extra)

    # -- random bytes under every extension -------------------------------------------------------
    for ext in EXTENSIONS:
        for k in range(1 if not extended else 6):
            path = root / f"random{k}{ext}"
            size = int(rng.integers(1, 5000))
            path.write_bytes(rng.bytes(size))
            cases += _runs(f"random bytes {ext} #{k}", path, [path], commands[:2], ["--fs", "100", "--whole"])

    # -- HDF5 links of every kind -----------------------------------------------------------------
    links = {
        "external link to a file with a secret": lambda: h5py.ExternalLink(str(secret_h5), "/secret"),
        "external link (relative ../) to a secret": lambda: h5py.ExternalLink("../outside/secret.h5", "/secret"),
        "external link to /etc/passwd": lambda: h5py.ExternalLink("/etc/passwd", "/x"),
        "external link to /proc/self/environ": lambda: h5py.ExternalLink("/proc/self/environ", "/x"),
        "external link to a missing file": lambda: h5py.ExternalLink(str(outside / "missing.h5"), "/x"),
        "external link to a FIFO": lambda: h5py.ExternalLink(str(fifo), "/x"),
        "dangling soft link": lambda: h5py.SoftLink("/nothing/here"),
        "soft link to itself": lambda: h5py.SoftLink("/general/lab"),
    }
    (root / "links").mkdir(exist_ok=True)
    for number, (label, make) in enumerate(links.items()):
        for where in ("general/lab", "acquisition/voltage/data"):
            path = write_nwb(root / "links" / f"link{number}_{where.split('/')[-1]}.nwb")
            _replace(path, where, make())
            cases += _runs(f"{label} at /{where}", path, [path, secret_h5], commands)
            if extended:
                cases += _runs(
                    f"{label} at /{where}, allowed", path, [path, secret_h5], commands[:1], ["--allow-external-links"]
                )
    path = write_nwb(root / "links" / "external_storage.nwb")
    raw_file = outside / "raw.bin"
    np.zeros((2000, 2)).tofile(raw_file)
    with h5py.File(path, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle.create_dataset(
            "acquisition/voltage/data", shape=(2000, 2), dtype="f8", external=[(str(raw_file), 0, 32000)]
        )
    cases += _runs("dataset in an external raw file", path, [path, raw_file], commands)
    path = write_nwb(root / "links" / "virtual.nwb")
    with h5py.File(path, "a") as handle:
        layout = h5py.VirtualLayout(shape=(2000, 2), dtype="f8")
        layout[:] = h5py.VirtualSource(str(secret_h5), "data", shape=(2000, 2))
        del handle["acquisition/voltage/data"]
        handle.create_virtual_dataset("acquisition/voltage/data", layout)
    cases += _runs("virtual dataset mapping another file", path, [path, secret_h5], commands)

    # -- Zarr store with a symbolic link out of it ----------------------------------------------
    store = root / "linked.nwb.zarr"
    if not store.exists():
        store.mkdir()
        (store / ".zgroup").write_text('{"zarr_format": 2}')
        (store / "general").symlink_to(outside, target_is_directory=True)
    cases += _runs(
        "Zarr store with a symlinked folder outside it", store, [secret_h5], commands[:1], names=[store.name]
    )
    zlink = root / "zlink.nwb.zarr"
    if not zlink.exists():
        zlink.mkdir()
        (zlink / ".zgroup").write_text('{"zarr_format": 2}')
        (zlink / ".zattrs").write_text(json.dumps({"zarr_link": [{"source": "../outside", "path": "/secret"}]}))
    cases += _runs("Zarr link to ../outside", zlink, [], commands[:1], names=[zlink.name])

    # -- declared sizes and times ----------------------------------------------------------------
    (root / "sizes").mkdir(exist_ok=True)
    huge = write_nwb(root / "sizes" / "huge_shape.nwb")
    with h5py.File(huge, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle.create_dataset("acquisition/voltage/data", shape=(250_000_000_000, 2), dtype="f4", chunks=(100_000, 2))
    cases += _runs("(2.5e11, 2) declared, nothing stored", huge, [huge], commands)
    sparse = write_nwb(root / "sizes" / "sparse.nwb")
    with h5py.File(sparse, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle.create_dataset("acquisition/voltage/data", shape=(100_000_000, 4), dtype="f4", chunks=(100_000, 4))
    cases += _runs("(1e8, 4) declared, 0 chunks stored", sparse, [sparse], commands)
    epoch = write_nwb(root / "sizes" / "epoch_1e9.nwb", epochs=((0.0, 1e9, "spontaneous"),))
    cases += _runs("epoch 0-1e9 s", epoch, [epoch], commands)
    spike = write_nwb(root / "sizes" / "spike_1e12.nwb", units=[[1.0, 2.0, 1e12], [0.5]])
    cases += _runs("spike at 1e12 s", spike, [spike], commands, ["--series", "units", "--units-bin-width", "0.01"])
    nan_epoch = write_nwb(root / "sizes" / "nan_epoch.nwb", epochs=((0.0, 8.0, "rest"), (float("nan"), 3.0, "x")))
    cases += _runs("epoch row with NaN start", nan_epoch, [nan_epoch], commands)
    stamps = np.arange(200) / 25.0
    stamps[50] = np.nan
    pupil = write_nwb(root / "sizes" / "pupil_nan.nwb", pupil=(np.ones(200), stamps))
    cases += _runs("NaN in a pupil series' timestamps", pupil, [pupil], commands)
    strings = write_nwb(root / "sizes" / "strings.nwb")
    with h5py.File(strings, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle["acquisition/voltage/data"] = np.array([[b"a", b"b"]] * 2000)
    cases += _runs("series stored as strings", strings, [strings], commands)
    one = write_nwb(root / "sizes" / "one_sample.nwb", n_times=1, epochs=())
    cases += _runs("one-sample NWB", one, [one], commands, ["--whole"])

    # -- arrays: empty, one sample, object/pickle ----------------------------------------------
    arrays = root / "arrays"
    arrays.mkdir(exist_ok=True)
    np.save(arrays / "zero_channels.npy", np.zeros((1000, 0)))
    np.save(arrays / "zero_rows.npy", np.zeros((0, 3)))
    np.save(arrays / "one_sample.npy", np.zeros((1, 3)))
    np.save(arrays / "strings.npy", np.array([["a", "b"]] * 100))
    np.save(arrays / "complex.npy", np.ones((500, 2), dtype=complex))
    np.save(arrays / "three_d.npy", np.zeros((10, 2, 2)))
    np.save(arrays / "object.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.savez(arrays / "archive.npz", a=np.zeros((10, 2)))
    shutil.copy(arrays / "archive.npz", arrays / "archive_as.npy")
    (arrays / "pickle.npy").write_bytes(pickle.dumps({"x": 1}))
    (arrays / "nonutf8.tsv").write_bytes("a\tb\n1\t\xe9\n".encode("latin-1") * 50)
    (arrays / "utf16.csv").write_bytes("a,b\n1,2\n".encode("utf-16") * 50)
    for path in sorted(arrays.iterdir()):
        cases += _runs(f"array {path.name}", path, [path], commands, ["--fs", "100", "--whole"])

    # -- special files -------------------------------------------------------------------------
    special = root / "special"
    special.mkdir(exist_ok=True)
    for name, target in (("fifo.nwb", None), ("devnull.edf", "/dev/null"), ("zero.nwb", "/dev/zero")):
        path = special / name
        if not path.exists() and not path.is_symlink():
            if target is None:
                os.mkfifo(path)
            else:
                path.symlink_to(target)
        cases += _runs(f"special file {name}", path, [], commands, ["--whole"], names=[name])
    loop = special / "loop.nwb"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    cases += _runs("symlink to itself", loop, [], commands[:1], names=[loop.name])

    # -- metadata with markup and control characters -------------------------------------------
    marked = write_nwb(root / "markup.nwb", lab=MARKUP, text=MARKUP, epochs=((0.0, 8.0, MARKUP),))
    cases += _runs("markup and escapes in every text field", marked, [marked], commands, ["--label", "[/]"])
    marked_name = root / "[red]x[-]\x1b[2J.npy"
    np.save(marked_name, rng.standard_normal((3000, 2)))
    cases += _runs("markup in a file name", marked_name, [marked_name], commands, ["--fs", "100", "--whole"])

    # -- BIDS ----------------------------------------------------------------------------------
    if real is not None:
        cases += _bids_cases(root / "bids", real, commands, extended)
    return cases


def _bids(root: Path, real: Path) -> Path:
    eeg = root / "sub-01" / "eeg"
    eeg.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t30\n")
    shutil.copy(real / "S001R01.edf", eeg / "sub-01_task-rest_eeg.edf")
    (eeg / "sub-01_task-rest_eeg.json").write_text(json.dumps({"TaskName": "rest", "SamplingFrequency": 160}))
    return root


def _bids_cases(folder: Path, real: Path, commands, extended: bool) -> list[dict]:
    cases: list[dict] = []
    variants = {
        "sidecar in UTF-16": lambda r: (r / "sub-01/eeg/sub-01_task-rest_eeg.json").write_bytes(
            json.dumps({"TaskName": "rest"}).encode("utf-16")
        ),
        "sidecar in Latin-1": lambda r: (r / "sub-01/eeg/sub-01_task-rest_eeg.json").write_bytes(
            '{"TaskName": "r\xe9st"}'.encode("latin-1")
        ),
        "sidecar of binary bytes": lambda r: (r / "sub-01/eeg/sub-01_task-rest_eeg.json").write_bytes(
            bytes(range(256))
        ),
        "sidecar nested 100000 deep": lambda r: (r / "sub-01/eeg/sub-01_task-rest_eeg.json").write_text(
            "[" * 100_000 + "]" * 100_000
        ),
        "participants.tsv in Latin-1": lambda r: (r / "participants.tsv").write_bytes(
            "participant_id\tname\nsub-01\tJos\xe9\n".encode("latin-1")
        ),
        "participants.tsv in UTF-16": lambda r: (r / "participants.tsv").write_bytes(
            "participant_id\tage\nsub-01\t3\n".encode("utf-16")
        ),
        "dataset_description not JSON": lambda r: (r / "dataset_description.json").write_text("{nope"),
        "markup in TaskName": lambda r: (r / "sub-01/eeg/sub-01_task-rest_eeg.json").write_text(
            json.dumps({"TaskName": MARKUP, "InstitutionName": MARKUP})
        ),
        "symlink loop in a subject folder": lambda r: (r / "sub-01" / "eeg" / "loop").symlink_to(
            r / "sub-01", target_is_directory=True
        ),
        "subject folder linked to itself": lambda r: (r / "sub-02").symlink_to(r / "sub-02"),
    }
    for number, (label, damage) in enumerate(variants.items()):
        root = _bids(folder / f"ds{number}", real)
        damage(root)
        files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
        cases += _runs(f"BIDS {label}", root, files, commands[:2], names=[root.name])
    root = _bids(folder / "traversal", real)
    files = [p for p in root.rglob("*") if p.is_file()]
    for value in ("../..", "..", "01/../../etc", "01\x1b[2J"):
        for command in commands[:2]:
            cases.append(
                _case(
                    f"BIDS --subject {value!r} [{command[0]}]", [*command, root, "--subject", value], files, [root.name]
                )
            )
    return cases
