"""Bad input: a specific AdhesiveError, exit code 2 without traceback, and the source byte-identical."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from adhesive_dots.cli import main
from adhesive_dots.errors import (
    DataError,
    FormatError,
    RemoteError,
    SourceNotFoundError,
    UnsupportedSourceError,
)
from adhesive_dots.io import open_recording


def _cli(args, capsys):
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr()


def _valid_nwb(make_nwb):
    return make_nwb("valid.nwb", data=np.random.default_rng(0).standard_normal((2000, 2)))


def _case(name, tmp_path, make_nwb):
    """(source argument, files to hash, expected error class, message pattern, options)."""
    if name == "missing path":
        return str(tmp_path / "nothing.nwb"), [], SourceNotFoundError, "no such file or folder", {}
    if name == "0-byte file":
        path = tmp_path / "empty.nwb"
        path.write_bytes(b"")
        return str(path), [path], FormatError, r"empty \(0 bytes\)", {}
    if name == "truncated HDF5":
        valid = _valid_nwb(make_nwb)
        path = tmp_path / "truncated.nwb"
        blob = valid.read_bytes()
        path.write_bytes(blob[: len(blob) // 2])
        return str(path), [path], FormatError, "not a readable NWB file .*truncated", {}
    if name == "text named .nwb":
        path = tmp_path / "notes.nwb"
        path.write_text("these are my lab notes, not an NWB file\n")
        return str(path), [path], FormatError, "not an HDF5/NWB file \\(it starts with text", {}
    if name == "BIDS without dataset_description":
        folder = tmp_path / "bids"
        (folder / "sub-01" / "eeg").mkdir(parents=True)
        sidecar = folder / "sub-01" / "eeg" / "sub-01_task-rest_eeg.json"
        sidecar.write_text(json.dumps({"TaskName": "rest"}))
        return str(folder), [sidecar], FormatError, "no dataset_description.json", {}
    if name == "non-monotonic timestamps":
        stamps = np.arange(200) / 100.0
        stamps[120] = 0.5
        path = make_nwb("stamps.nwb", data=np.zeros((200, 1)), timestamps=stamps, kind="timeseries")
        return str(path), [path], DataError, "timestamps of series signal are not monotonic", {}
    if name == "all-NaN series":
        path = make_nwb("nan.nwb", data=np.full((300, 3), np.nan))
        return str(path), [path], DataError, "is all NaN", {}
    if name == "unknown URL scheme":
        return "s3://bucket/session.nwb", [], UnsupportedSourceError, "scheme 's3' is not supported", {}
    raise AssertionError(name)


CASES = [
    "missing path",
    "0-byte file",
    "truncated HDF5",
    "text named .nwb",
    "BIDS without dataset_description",
    "non-monotonic timestamps",
    "all-NaN series",
    "unknown URL scheme",
]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_raises_specific_error_and_cli_exits_2(name, tmp_path, make_nwb, file_hash, capsys):
    source, files, error, pattern, options = _case(name, tmp_path, make_nwb)
    hashes = {f: file_hash(f) for f in files}
    with pytest.raises(error, match=pattern) as info:
        with open_recording(source, subject="01", **options) if "BIDS" in name else open_recording(source) as rec:
            rec.read()  # an all-NaN series is found when samples are read
    assert source.split("/")[-1] in str(info.value)  # the message names the source
    code, captured = _cli(["inspect", source, *(["--subject", "01"] if "BIDS" in name else [])], capsys)
    assert code == 2, captured.out
    assert "error:" in captured.err and "Traceback" not in captured.err + captured.out
    assert {f: file_hash(f) for f in files} == hashes  # byte-identical afterwards


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(SourceNotFoundError):
        main(["--debug", "inspect", str(tmp_path / "nothing.nwb")])


def test_http_404_and_dropped_connection_through_the_cli(make_nwb, range_server, capsys, file_hash, monkeypatch):
    monkeypatch.setattr("remfile.RemFile._num_request_retries", 1)  # remfile's default back-off takes ~25 s
    code, captured = _cli(["inspect", range_server.url("gone.nwb")], capsys)
    assert code == 2 and "404" in captured.err and "Traceback" not in captured.err
    path = _valid_nwb(make_nwb)
    shutil.copy(path, range_server.root / "valid.nwb")
    before = file_hash(range_server.root / "valid.nwb")
    range_server.drop_after_bytes = 20_000
    with pytest.raises(RemoteError):
        open_recording(range_server.url("valid.nwb"))
    code, captured = _cli(["inspect", range_server.url("valid.nwb")], capsys)
    assert code == 2 and "remote read failed" in captured.err and "Traceback" not in captured.err
    assert file_hash(range_server.root / "valid.nwb") == before


def test_cli_inspect_summary_and_json(make_nwb, capsys, real_data):
    path = _valid_nwb(make_nwb)
    code, captured = _cli(["inspect", str(path), "--json"], capsys)
    assert code == 0
    summary = json.loads(captured.out)
    assert (summary["modality"], summary["n_channels"], summary["fs_hz"], summary["duration_s"]) == (
        "lfp",
        2,
        250.0,
        8.0,
    )
    assert summary["baselines"] == [] and summary["no_baseline"].startswith("no interval marks spontaneous")
    assert summary["metadata"]["subject"]["species"] == "Mus musculus"
    code, captured = _cli(
        ["inspect", str(real_data / "sub-4_ses-4_ecephys+image.nwb"), "--units-bin-width", "0.1"], capsys
    )
    assert code == 0
    text = " ".join(captured.out.split())
    assert "35 units" in text and "encoding_table" in text and "no candidate baseline" in text
    code, captured = _cli(
        ["inspect", str(real_data / "A8604-211122.nwb"), "--units-bin-width", "0.01", "--label", "wake", "--json"],
        capsys,
    )
    summary = json.loads(captured.out)
    assert [b["label"] for b in summary["baselines"]] == ["wake"]


SINGLE = ("inspect", "fingerprint", "annotate", "sufficiency", "report", "compare", "align", "search")
"""Commands that name one source (compare and align: the bad source twice): they cannot run, so exit 2."""
BATCH = ("validate", "ingest", "duplicates", "effects", "predict", "identify", "diversity")
"""Commands over many sources: the bad source is recorded (a finding or a note) and named."""


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_every_command_refuses_bad_input_in_one_line_and_changes_nothing(name, tmp_path, make_nwb, file_hash, capsys):
    source, files, _, _, _ = _case(name, tmp_path, make_nwb)
    hashes = {f: file_hash(f) for f in files}
    flags = ["--whole", *(["--subject", "01"] if "BIDS" in name else [])]
    shown = source.split("/")[-1]
    catalog = ["--catalog", str(tmp_path / "c.duckdb")]
    for command in (*SINGLE, *BATCH):
        args = {
            "compare": ["compare", source, source],
            "align": ["align", source, source, "-o", str(tmp_path / "t.npz")],
            "search": ["search", "--similar-to", source, *catalog],
            "report": ["report", source, "-o", str(tmp_path / "r.html")],
            "annotate": ["annotate", source, "--paradigm", "other"],
            "ingest": ["ingest", source, *catalog, "--workers", "0"],
        }.get(command, [command, source, *(["--json"] if command in BATCH else [])])
        if command == "annotate" and name == "all-NaN series":
            continue  # annotate records where the baseline is and reads no samples; validate finds the NaN
        code, captured = _cli([*args, *flags], capsys)
        text = " ".join((captured.out + captured.err).split())
        assert "Traceback" not in text, (command, text)
        if command in SINGLE:
            errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
            assert code == 2 and len(errors) == 1 and shown in text, (command, code, text)
        else:
            assert code in (1, 2) and shown in text, (command, code, text)
        assert {f: file_hash(f) for f in files} == hashes, command  # byte-identical afterwards
