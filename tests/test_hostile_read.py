"""The reading cases of issue 19's "What was seen", one named test each (all failed before the guards)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from adhesive_dots.cli import main

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
from hostile import MARKUP, SECRET, write_nwb


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _one_line_error(err: str, name: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and name in lines[0], err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def secret_file(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "secret.h5"
    with h5py.File(path, "w") as handle:
        handle["secret"] = SECRET
    return path


def _linked(tmp_path, link, where="general/lab"):
    path = write_nwb(tmp_path / "linked.nwb")
    with h5py.File(path, "a") as handle:
        del handle[where]
        handle[where] = link
    return path


def test_hdf5_external_link_is_refused_unless_allowed(tmp_path, secret_file):
    path = _linked(tmp_path, h5py.ExternalLink(str(secret_file), "/secret"))
    for argv in (["inspect", path], ["inspect", path, "--json"], ["validate", path], ["fingerprint", path]):
        code, out, err = _cli(*argv)
        assert SECRET not in out + err
        if argv[0] != "validate":
            assert code == 2
            line = _one_line_error(err, "linked.nwb")
            assert "/general/lab" in line and "--allow-external-links" in line
    code, out, err = _cli("inspect", path, "--json", "--allow-external-links")
    assert code == 0 and SECRET in out


def test_zarr_store_with_a_symlinked_folder_outside_is_refused(tmp_path, secret_file):
    store = tmp_path / "x.nwb.zarr"
    store.mkdir()
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    (store / "general").symlink_to(secret_file.parent, target_is_directory=True)
    code, out, err = _cli("inspect", store)
    assert code == 2 and SECRET not in out + err
    assert "symbolic link" in _one_line_error(err, "x.nwb.zarr")


def test_zarr_link_outside_the_store_is_refused(tmp_path):
    store = tmp_path / "z.nwb.zarr"
    store.mkdir()
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    (store / ".zattrs").write_text(json.dumps({"zarr_link": [{"source": "../other.zarr", "path": "/x"}]}))
    code, _, err = _cli("inspect", store)
    assert code == 2 and "Zarr link" in _one_line_error(err, "z.nwb.zarr")


@pytest.mark.parametrize(
    "link",
    [
        h5py.ExternalLink("/etc/passwd", "/x"),
        h5py.ExternalLink("/proc/self/environ", "/x"),
        h5py.ExternalLink("/nonexistent/missing.h5", "/x"),
        h5py.SoftLink("/nothing/here"),
    ],
    ids=["passwd", "environ", "missing", "dangling-soft"],
)
@pytest.mark.parametrize("command", ["inspect", "fingerprint"])
def test_links_out_or_broken_are_one_line_not_indexerror(tmp_path, link, command):
    path = _linked(tmp_path, link, "acquisition/voltage/data")
    code, _, err = _cli(command, path)
    assert code == 2
    assert "IndexError" not in _one_line_error(err, "linked.nwb")


def test_truncated_edf_is_reported_as_truncated(tmp_path, real_data):
    blob = (real_data / "S001R01.edf").read_bytes()
    path = tmp_path / "half.edf"
    path.write_bytes(blob[: len(blob) // 2])
    code, _, err = _cli("inspect", path, "--whole")
    assert code == 2
    line = _one_line_error(err, "half.edf")
    assert "truncated" in line and "60 data records" in line and "29 complete records" in line
    code, _, _ = _cli("inspect", real_data / "S001R01.edf", "--whole")  # the complete file still reads
    assert code == 0


def test_fifo_named_nwb_is_refused_at_once(tmp_path):
    fifo = tmp_path / "x.nwb"
    os.mkfifo(fifo)
    start = time.monotonic()
    code, _, err = _cli("inspect", fifo)
    assert code == 2 and "FIFO" in _one_line_error(err, "x.nwb")
    assert time.monotonic() - start < 10


def _huge(tmp_path):
    path = write_nwb(tmp_path / "huge.nwb", epochs=((0.0, 1e9, "spontaneous"),))
    with h5py.File(path, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle.create_dataset("acquisition/voltage/data", shape=(250_000_000_000, 4), dtype="f4", chunks=(100_000, 4))
    return path


def test_huge_declared_dataset_and_31_year_epoch_refused_quickly(tmp_path):
    path = _huge(tmp_path)
    start = time.monotonic()
    code, _, err = _cli("fingerprint", path)
    assert code == 2 and "days" in _one_line_error(err, "huge.nwb")
    code, out, err = _cli("validate", path, "--json")
    assert code == 1 and "Traceback" not in err
    assert "source.unreadable" in out and "days" in out
    assert time.monotonic() - start < 30


def test_ingest_of_a_folder_with_a_huge_declared_file_finishes(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    _huge(folder)
    write_nwb(folder / "good.nwb", n_times=250 * 30, epochs=((0.0, 30.0, "rest"),))
    start = time.monotonic()
    code, out, err = _cli("ingest", folder, "--workers", "0", "--catalog", tmp_path / "c.duckdb")
    assert code == 1 and "Traceback" not in err
    assert "1 sources ingested" in out and "huge.nwb" in out
    assert time.monotonic() - start < 120


def test_declared_shape_not_backed_by_chunks_is_refused(tmp_path):
    path = write_nwb(tmp_path / "sparse.nwb")
    with h5py.File(path, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle.create_dataset("acquisition/voltage/data", shape=(100_000_000, 4), dtype="f4", chunks=(100_000, 4))
    code, _, err = _cli("inspect", path)
    assert code == 2 and "not backed by data" in _one_line_error(err, "sparse.nwb")


def test_spike_at_1e12_s_is_refused_before_binning(tmp_path):
    path = write_nwb(tmp_path / "spikes.nwb", units=[[1.0, 2.0, 1e12], [0.5]])
    code, _, err = _cli("inspect", path, "--series", "units", "--units-bin-width", "0.01")
    assert code == 2 and "spike times" in _one_line_error(err, "spikes.nwb")


def test_series_stored_as_strings_is_one_line(tmp_path):
    path = write_nwb(tmp_path / "strings.nwb")
    with h5py.File(path, "a") as handle:
        del handle["acquisition/voltage/data"]
        handle["acquisition/voltage/data"] = np.array([[b"a", b"b"]] * 2000)
    code, _, err = _cli("fingerprint", path)
    assert code == 2 and "not numbers" in _one_line_error(err, "strings.nwb")


def test_zero_channel_npy_in_sufficiency_is_one_line(tmp_path):
    path = tmp_path / "zero.npy"
    np.save(path, np.zeros((1000, 0)))
    code, _, err = _cli("sufficiency", path, "--fs", "100", "--whole")
    assert code == 2 and "0 channels" in _one_line_error(err, "zero.npy")


def test_nan_in_pupil_timestamps_is_a_finding_not_fatal(tmp_path):
    stamps = np.arange(2000) / 250.0
    stamps[50] = np.nan
    path = write_nwb(
        tmp_path / "pupil.nwb", n_times=250 * 20, epochs=((0.0, 20.0, "rest"),), pupil=(np.ones(2000), stamps)
    )
    code, out, err = _cli("validate", path, "--json")
    report = json.loads(out)
    codes = [f["code"] for source in report["sources"] for f in source["findings"]]
    assert "source.auxiliary" in codes and "source.unreadable" not in codes, codes
    code, out, err = _cli("inspect", path)
    assert code == 0 and "pupil" in err


def test_bad_epoch_row_names_the_file(tmp_path):
    path = write_nwb(tmp_path / "epochs.nwb", epochs=((0.0, 8.0, "rest"), (float("nan"), 3.0, "x")))
    code, _, err = _cli("inspect", path)
    assert code == 2 and "row 1 of the interval table epochs" in _one_line_error(err, "epochs.nwb")


def test_markup_and_escapes_in_metadata_are_printed_as_text(tmp_path):
    path = write_nwb(tmp_path / "markup.nwb", lab=MARKUP, text=MARKUP, epochs=((0.0, 8.0, MARKUP),))
    code, out, err = _cli("inspect", path)
    assert code == 0, err
    assert "[link=http://evil.example]click-me[/link]" in out  # shown literally, not a hyperlink
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_bids_symlink_loop_counts_each_run_once(tmp_path, real_data):
    root = tmp_path / "ds"
    eeg = root / "sub-01" / "eeg"
    eeg.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    shutil.copy(real_data / "S001R01.edf", eeg / "sub-01_task-rest_eeg.edf")
    (eeg / "loop").symlink_to(root / "sub-01", target_is_directory=True)
    code, out, err = _cli("inspect", root, "--json")
    assert code == 0, err
    assert json.loads(out)["n_runs"] == 1


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("sub-01/eeg/sub-01_task-rest_eeg.json", json.dumps({"TaskName": "rest"}).encode("utf-16"), "UTF-8"),
        ("sub-01/eeg/sub-01_task-rest_eeg.json", ("[" * 100_000 + "]" * 100_000).encode(), "nested"),
        ("participants.tsv", "participant_id\tname\nsub-01\tJos\xe9\n".encode("latin-1"), "UTF-8"),
    ],
    ids=["utf16-sidecar", "deep-json", "latin1-participants"],
)
def test_bids_text_not_utf8_or_nested_names_the_file(tmp_path, real_data, name, content, expected):
    root = tmp_path / "ds"
    eeg = root / "sub-01" / "eeg"
    eeg.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    shutil.copy(real_data / "S001R01.edf", eeg / "sub-01_task-rest_eeg.edf")
    (root / name).write_bytes(content)
    code, out, err = _cli("validate", root, "--json")
    assert "Traceback" not in err and code in (1, 2)
    text = out + err
    assert Path(name).name in text and expected in text


@pytest.mark.slow
def test_align_covariance_on_two_real_eeg_runs(tmp_path, real_data):
    code, out, err = _cli(
        "align", real_data / "S001R01.edf", real_data / "S001R02.edf", "--label", "T0", "--method", "covariance",
        "-o", tmp_path / "t.npz", "--json",
    )  # fmt: skip
    assert code == 0, err
    quality = json.loads(out)["quality"]
    assert [1.0, 4.0] in quality["bands_dropped"]  # 2 s of 1-4 Hz carry ~12 degrees of freedom for 64 channels
    assert quality["distance_after"] < quality["distance_before"]
