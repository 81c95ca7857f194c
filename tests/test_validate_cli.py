"""`adots validate` and the nwbinspector plug-in, on the small simulated corpus.

The small corpus (see conftest) holds calcium ses-01 (compliant) and ses-02 (too short),
ephys ses-01/02 (compliant), EEG ses-01 (compliant) and ses-02 (missing metadata).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def entry_path(corpus, *, kind: str, compliant: bool) -> Path:
    entry = next(e for e in corpus.entries if e.kind == kind and e.compliant is compliant)
    return corpus.root / entry.path


def test_json_report_over_the_corpus_folder_has_the_documented_shape_and_exit_1(small_corpus, adots):
    code, out, _ = adots(["validate", str(small_corpus.root), "--json"])
    assert code == 1
    report = json.loads(out)
    assert report["schema"] == "adhesive-dots/validate-report/1"
    assert set(report) == {"schema", "min_duration", "min_severity", "summary", "sources"}
    assert report["summary"]["sources"] == len(small_corpus.entries)
    n_bad = sum(not e.compliant for e in small_corpus.entries)
    assert report["summary"]["noncompliant"] == n_bad
    for entry in report["sources"]:
        assert set(entry) == {"source", "compliant", "baseline", "data_present", "notes", "findings"}
        for finding in entry["findings"]:
            assert set(finding) == {"code", "severity", "message", "source", "location", "value", "fix"}
    codes = {f["code"] for s in report["sources"] for f in s["findings"] if f["severity"] == "error"}
    assert {"baseline.duration", "metadata.required"} <= codes


def test_a_compliant_file_exits_0_and_the_table_says_compliant(small_corpus, adots):
    code, out, _ = adots(["validate", str(entry_path(small_corpus, kind="ephys", compliant=True))])
    assert code == 0
    assert "compliant" in out and "non-compliant" not in out.split("source(s):")[0]


def test_select_ignore_and_min_severity(small_corpus, adots):
    short = str(entry_path(small_corpus, kind="calcium", compliant=False))
    code, out, _ = adots(["validate", short, "--json", "--select", "baseline.duration"])
    (source,) = json.loads(out)["sources"]
    assert code == 1 and [f["code"] for f in source["findings"]] == ["baseline.duration"]
    assert "420.0 s" in source["findings"][0]["message"]
    code, out, _ = adots(["validate", short, "--json", "--ignore", "baseline,metadata.recommended"])
    assert code == 0 and json.loads(out)["sources"][0]["findings"] == []
    code, out, _ = adots(["validate", short, "--json", "--min-severity", "critical"])
    assert code == 1 and json.loads(out)["sources"][0]["findings"] == []  # hidden, but still non-compliant
    code, out, _ = adots(["validate", short, "--json", "--min-duration", "400"])
    assert code == 0


def test_one_bad_source_never_stops_the_run(small_corpus, tmp_path, adots):
    broken = tmp_path / "broken.nwb"
    broken.write_bytes(b"not an HDF5 file at all")
    empty = tmp_path / "empty"
    empty.mkdir()
    good = entry_path(small_corpus, kind="ephys", compliant=True)
    argv = ["validate", str(broken), str(tmp_path / "missing.nwb"), str(empty), str(good), "--json"]
    code, out, _ = adots(argv)
    assert code == 1
    by_source = {s["source"]: s for s in json.loads(out)["sources"]}
    assert by_source[str(good)]["compliant"]
    assert by_source[str(broken)]["findings"][0]["code"] == "source.unreadable"
    assert by_source[str(broken)]["findings"][0]["value"] == "FormatError"
    assert by_source[str(tmp_path / "missing.nwb")]["findings"][0]["code"] == "source.unreadable"
    assert by_source[str(empty)]["findings"][0]["code"] == "source.empty"


def test_bids_root_without_a_rest_run_reports_the_tasks_present(small_corpus, tmp_path, adots):
    import shutil

    eeg = next(e for e in small_corpus.entries if e.format == "bids")
    root = tmp_path / "bids"
    shutil.copytree(small_corpus.root / eeg.path, root)
    for path in root.rglob("*task-rest*"):
        path.unlink()
    code, out, _ = adots(["validate", str(root), "--json"])
    (source,) = json.loads(out)["sources"]
    assert code == 1 and source["findings"][0]["code"] == "baseline.exists"
    assert "tasks present: visual" in source["findings"][0]["message"]


def test_usage_errors_exit_2(small_corpus, adots):
    good = str(entry_path(small_corpus, kind="ephys", compliant=True))
    code, _, err = adots(["validate", good, "--select", "signal.flatt"])
    assert code == 2 and "matches no check" in err
    code, _, err = adots(["validate", good, "--min-severity", "loud"])
    assert code == 2 and "severity 'loud'" in err
    code, _, err = adots(["validate"])
    assert code == 2 and "SOURCE" in err


def test_list_checks_prints_every_check(adots):
    from adhesive_dots.validate import CHECKS

    code, out, _ = adots(["validate", "--list-checks", "--json"])
    rows = json.loads(out)
    assert code == 0 and [r["id"] for r in rows] == list(CHECKS)
    code, out, _ = adots(["validate", "--list-checks"])
    assert code == 0 and "baseline.duration  error" in out and "thresholds: min_duration=600" in out


# -- nwbinspector plug-in ------------------------------------------------------------------------------------


@pytest.fixture
def adots_inspector_checks():
    """Our checks registered in nwbinspector for this test only (its registry is a global list)."""
    from nwbinspector._registration import available_checks

    from adhesive_dots import nwbinspector_checks as plugin

    ours = list(plugin.REGISTERED.values())
    for function in ours:
        if function not in available_checks:
            available_checks.append(function)
    yield ours
    available_checks[:] = [f for f in available_checks if f not in ours]


def test_nwbinspector_python_api_reports_our_findings_for_a_bad_file_only(small_corpus, adots_inspector_checks):
    from nwbinspector import Importance, inspect_nwbfile

    bad = entry_path(small_corpus, kind="calcium", compliant=False)
    messages = list(inspect_nwbfile(nwbfile_path=bad, checks=adots_inspector_checks, skip_validate=True))
    duration = [m for m in messages if m.check_function_name == "check_adots_baseline_duration"]
    assert len(duration) == 1 and "420.0 s long" in duration[0].message
    assert duration[0].importance is Importance.CRITICAL

    good = entry_path(small_corpus, kind="calcium", compliant=True)
    messages = list(inspect_nwbfile(nwbfile_path=good, checks=adots_inspector_checks, skip_validate=True))
    names = {m.check_function_name for m in messages}
    assert names <= {"check_adots_metadata_recommended"}
    assert all(m.importance is Importance.BEST_PRACTICE_SUGGESTION for m in messages)


@pytest.mark.slow
def test_nwbinspector_cli_loads_the_plugin_with_modules(small_corpus):
    nwbinspector = Path(sys.executable).parent / "nwbinspector"
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    outputs = {}
    for compliant in (False, True):
        path = entry_path(small_corpus, kind="calcium", compliant=compliant)
        proc = subprocess.run(
            [str(nwbinspector), "--modules", "adhesive_dots.nwbinspector_checks", "--skip-validate", str(path)],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outputs[compliant] = proc.stdout
    assert "check_adots_baseline_duration" in outputs[False] and "420.0 s long" in outputs[False]
    assert "check_adots_baseline_duration" not in outputs[True]
    assert "check_single_row" in outputs[True]  # nwbinspector's own checks still ran


def test_nwbinspector_on_an_in_memory_nwbfile_says_why_it_cannot_validate(adots_inspector_checks):
    import datetime as dt

    from nwbinspector import inspect_nwbfile_object
    from pynwb import NWBFile

    nwbfile = NWBFile(
        session_description="s", identifier="x", session_start_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    messages = list(inspect_nwbfile_object(nwbfile, checks=adots_inspector_checks))
    assert [m.check_function_name for m in messages] == ["check_adots_source_unreadable"]
    assert "container_source is None" in messages[0].message


@pytest.mark.network
def test_urls_are_validated_by_streaming_and_a_404_is_a_finding(small_corpus):
    from adhesive_dots.testing.http import RangeServer
    from adhesive_dots.workflows.validate import validate_sources

    short = next(e for e in small_corpus.entries if e.kind == "calcium" and not e.compliant)
    with RangeServer(small_corpus.root) as server:
        url = server.url(short.path)
        reports = validate_sources([url, server.url("no/such.nwb")])
    by_source = {r.source: r for r in reports}
    duration = [f for f in by_source[url].findings if f.code == "baseline.duration"]
    assert len(duration) == 1 and "420.0 s long" in duration[0].message
    (missing,) = [r for s, r in by_source.items() if s != url]
    assert [f.code for f in missing.findings] == ["source.unreadable"]


def test_timestamp_gaps_and_reversals_of_nwb_series_become_timestamp_findings(make_nwb, adots):
    # the reader refuses series whose timestamps leave the uniform grid (io); the validator then checks the
    # timestamps of every neural series itself and reports them under timestamps.*, beside source.unreadable
    import numpy as np
    import pandas as pd

    fs, n = 100.0, 100 * 700
    data = np.random.default_rng(0).standard_normal((n, 2))
    epochs = {"epochs": pd.DataFrame({"start_time": [0.0], "stop_time": [650.0], "tags": [["spontaneous"]]})}
    regular = np.arange(n) / fs
    gappy = regular.copy()
    gappy[30_000:] += 1.5  # 150 samples dropped after 299.99 s
    backward = regular.copy()
    backward[40_000] = backward[39_990]  # one timestamp jumps back at sample 40000
    paths = [make_nwb(f"{name}.nwb", data=data, timestamps=stamps, intervals=epochs)
             for name, stamps in (("clean", regular), ("gappy", gappy), ("backward", backward))]  # fmt: skip
    code, out, _ = adots(["validate", *map(str, paths), "--json", "--select", "timestamps"])
    by_name = {Path(s["source"]).name: s for s in json.loads(out)["sources"]}
    assert code == 1 and by_name["clean.nwb"]["findings"] == []
    gap = {f["code"]: f for f in by_name["gappy.nwb"]["findings"]}
    assert set(gap) == {"timestamps.gaps", "source.unreadable"}
    assert gap["timestamps.gaps"]["value"] == {"n_gaps": 1, "n_dropped": 150}
    assert gap["timestamps.gaps"]["location"] == "/acquisition/voltage"
    assert "299.990 s" in gap["timestamps.gaps"]["message"]
    back = {f["code"]: f for f in by_name["backward.nwb"]["findings"]}
    assert back["timestamps.monotonic"]["value"] == 1 and "399.900 s" in back["timestamps.monotonic"]["message"]
