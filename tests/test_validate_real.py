"""Acceptance on real recordings (``shared/data/real``, see its README).

These go through the public reading API (``open_recording`` / ``find_baselines`` via
``validate_sources``) extended by the io work for EDF and units-only NWB files.

``S001R01.edf`` is a whole eyes-open resting run whose only annotation is ``T0`` (the rest
code of the PhysioNet motor/imagery dataset); ``T0`` is not in the default vocabulary (it
also marks rests between motor trials in other runs), so the user says where the baseline
is: ``--label T0`` or ``--start 0``. Without that the file fails ``baseline.exists``.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest

from adhesive_dots.cli import main
from adhesive_dots.io.sources import SourceSpec
from adhesive_dots.workflows.validate import validate_sources


def validate_one(path, *, select=None, **where):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pynwb warns about the OpticalSeries of sub-4
        (report,) = validate_sources([path], template=SourceSpec("", **where), select=select)
    return report


def test_s001r01_without_a_marked_baseline_fails_exists_and_duration_with_60_s(real_data):
    """Plain `adots validate S001R01.edf`: nothing is marked (its only annotation is 'T0'), and even the
    whole 60.0 s recording is too short for a compliant baseline; both are reported."""
    report = validate_one(real_data / "S001R01.edf")
    assert [f.code for f in report.findings] == ["baseline.exists", "baseline.duration"]
    assert "annotations (1 row: 'T0')" in report.findings[0].message
    assert "--label" in report.findings[0].fix
    assert "S001R01.edf" in report.findings[1].message and "60.0 s" in report.findings[1].message
    assert report.findings[1].value == pytest.approx(60.0, abs=1 / 160)


@pytest.mark.parametrize("options", [{"labels": ["T0"]}, {"start": 0.0}])
def test_s001r01_fails_the_duration_check_with_its_measured_60_s(real_data, options):
    report = validate_one(real_data / "S001R01.edf", **options)
    duration = [f for f in report.findings if f.code == "baseline.duration"]
    assert len(duration) == 1, [f.message for f in report.findings]
    assert "60.0 s" in duration[0].message and "S001R01.edf" in duration[0].message
    assert duration[0].value == pytest.approx(60.0, abs=1 / 160)
    assert not report.compliant


def test_sub4_fails_no_baseline_and_lists_its_interval_tables(real_data):
    report = validate_one(real_data / "sub-4_ses-4_ecephys+image.nwb")
    assert [f.code for f in report.findings] == ["baseline.exists"], [f.message for f in report.findings]
    message = report.findings[0].message
    for table in ("encoding_table", "recognition_table", "timediscrimination_table"):
        assert table in message
    assert not report.compliant


def test_adots_validate_over_the_real_folder_exits_1_and_reports_each_file(real_data, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            main(["validate", str(real_data), "--json", "--label", "T0"])
            code = 0
        except SystemExit as exc:
            code = exc.code
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    names = {entry["source"].rsplit("/", 1)[-1]: entry for entry in report["sources"]}
    assert {"S001R01.edf", "S001R02.edf", "sub-4_ses-4_ecephys+image.nwb"} <= set(names)
    for name in ("S001R01.edf", "S001R02.edf"):
        codes = {f["code"] for f in names[name]["findings"]}
        assert "baseline.duration" in codes and "baseline.exists" not in codes
    assert [f["code"] for f in names["sub-4_ses-4_ecephys+image.nwb"]["findings"]] == ["baseline.exists"]


def test_eye_blinks_of_the_eyes_open_run_are_flagged_on_frontal_channels_only(real_data):
    # S001R01 (eyes open) carries blinks and eye movements on the frontopolar, anterior-frontal, frontal and
    # fronto-temporal electrodes (horizontal eye movements reach FT7); S001R02 (eyes closed) has none: the
    # amplitude checks must flag Fp/AF/F/FT-row channels only (not FC, central, temporal, parietal, occipital)
    # in the former and stay silent on the latter
    opened = validate_one(real_data / "S001R01.edf", labels=["T0"], select=["signal.outliers", "signal.artefacts"])
    flagged = {name for f in opened.findings for name in f.value["channels"]}
    assert flagged and all(re.match(r"(Fp|Af|F|Ft)[0-9z]", name) for name in flagged), flagged
    assert {"Fp2.", "Fpz."} <= flagged
    closed = validate_one(real_data / "S001R02.edf", labels=["T0"], select=["signal.outliers", "signal.artefacts"])
    assert closed.findings == []
