"""The one road: SourceSpec, expand_sources (folders, BIDS as found, globs, --sources-from), resolve, dot sidecars."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from adhesive_dots.errors import (
    BaselineNotFoundError,
    DataError,
    DataNotPresentError,
    FormatError,
    SourceNotFoundError,
    UnitsBinWidthRequired,
)
from adhesive_dots.io.annotate import annotate
from adhesive_dots.io.bids import scan_bids
from adhesive_dots.io.sidecar import read_dot_sidecar, sidecar_path
from adhesive_dots.io.sources import (
    SourceSpec,
    expand_one,
    expand_sources,
    read_sources_table,
    resolve,
    source_kind,
)
from adhesive_dots.metadata import Modality

BIDS_EXAMPLES = ("ds210", "eyetracking_fmri", "volume_timing", "genetics_ukbb", "ds000001-fmriprep", "atlas-Schaefer")


@pytest.fixture(scope="session")
def bids_examples(real_data):
    folder = real_data.parent / "bids-examples"
    if not folder.is_dir():
        pytest.skip("shared/data/bids-examples is absent")
    return folder


def _table(path, fs=100.0, n=6000, channels=3, seed=0):
    data = np.random.default_rng(seed).standard_normal((n, channels))
    if path.suffix == ".npy":
        np.save(path, data)
    else:
        sep = "," if path.suffix == ".csv" else "\t"
        header = sep.join(f"c{i}" for i in range(channels))
        np.savetxt(path, data, delimiter=sep, header=header, comments="")
    return path


# -- specs -------------------------------------------------------------------------------------------
def test_spec_checks_its_options_and_names_them():
    with pytest.raises(DataError, match="fs= must be a positive number"):
        SourceSpec("x.npy", fs=-1)
    with pytest.raises(DataError, match="modality= must be one of eeg, meg"):
        SourceSpec("x.npy", modality="mri")
    with pytest.raises(DataError, match="either whole=True or start=/stop=, not both"):
        SourceSpec("x.npy", whole=True, start=3)
    with pytest.raises(DataError, match=r"stop= \(2 s\) must be after start= \(5 s\)"):
        SourceSpec("x.npy", start=5, stop=2)
    spec = SourceSpec("x.npy", fs="250", labels="T0,T1", channels=("a", "b"))
    assert spec.fs == 250.0 and spec.labels == ("T0", "T1") and spec.channels == ("a", "b")
    assert SourceSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(DataError, match=r"unknown option\(s\) \['rate'\]"):
        SourceSpec.from_dict({"source": "x", "rate": 3})


def test_messages_speak_in_flags_on_the_command_line(monkeypatch):
    from adhesive_dots.errors import OPTION_STYLE_ENV, option

    assert option("units_bin_width", 0.01) == "units_bin_width=0.01" and option("labels") == "labels="
    monkeypatch.setenv(OPTION_STYLE_ENV, "cli")
    assert option("units_bin_width", 0.01) == "--units-bin-width 0.01"
    assert option("labels", "T0") == "--label T0" and option("overwrite", True) == "--overwrite"
    with pytest.raises(DataError, match="--stop"):
        SourceSpec("x.npy", start=5, stop=2)


# -- expanding --------------------------------------------------------------------------------------
def test_corpus_folder_expands_to_every_session_once(small_corpus):
    specs, problems = expand_sources([small_corpus.root])
    assert not problems
    nwb = [s for s in specs if s.key.endswith(".nwb")]
    bids = [s for s in specs if s.key.endswith(".vhdr")]
    assert len(nwb) == 4 and len(bids) == 2
    assert all("_task-rest_" in s.key for s in bids)  # rest runs only; the task runs are not baselines
    again, _ = expand_sources([small_corpus.root, nwb[0].key])  # naming the same thing twice yields it once
    assert [s.key for s in again] == [s.key for s in specs]


def test_content_hash_covers_the_files_the_sidecar_and_the_options(small_corpus, tmp_path):
    specs, _ = expand_sources([small_corpus.root])
    bids = next(s for s in specs if s.key.endswith(".vhdr"))
    names = {p.name.split("_task-rest_")[1] for p in bids.files()}
    assert {"eeg.vhdr", "eeg.eeg", "eeg.vmrk", "eeg.json", "channels.tsv"} <= names
    table = _table(tmp_path / "t.npy")
    first = SourceSpec(str(table), fs=100).content_hash()
    assert first.startswith("sha256:") and SourceSpec(str(table), fs=100).content_hash() == first
    assert SourceSpec(str(table), fs=200).content_hash() != first  # read otherwise: another dot
    annotate(SourceSpec(str(table), fs=100, whole=True), paradigm="other")
    assert SourceSpec(str(table), fs=100).content_hash() != first  # the dot sidecar is part of the source


def test_remote_ids_pass_globs_expand_and_problems_are_named(tmp_path):
    _table(tmp_path / "a.npy")
    _table(tmp_path / "b.npy")
    specs, problems = expand_sources(
        ["dandi:000017/draft", "https://example.org/a.nwb", tmp_path / "nope.nwb", str(tmp_path / "*.npy"),
         str(tmp_path / "*.edf")]
    )  # fmt: skip
    assert [s.source for s in specs[:2]] == ["dandi:000017/draft", "https://example.org/a.nwb"]
    assert [s.key for s in specs[2:]] == [str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]
    assert [p.code for p in problems] == ["source.unreadable", "source.unreadable"]
    assert "no such file" in problems[0].message and "matches no file" in problems[1].message


def test_folders_pick_up_tables_only_with_a_rate_or_a_dot(tmp_path):
    _table(tmp_path / "roi.tsv")
    (tmp_path / "participants.tsv").write_text("participant_id\nsub-01\n")
    (tmp_path / "x_desc-confounds_timeseries.tsv").write_text("a\n1\n")
    specs, problems = expand_sources([tmp_path])
    assert not specs and "picked up when fs= is given" in problems[0].message
    specs, _ = expand_sources([tmp_path], template=SourceSpec("", fs=10.0))
    assert [s.key for s in specs] == [str(tmp_path / "roi.tsv")] and specs[0].fs == 10.0


def test_sources_table_mixes_kinds_with_their_own_options(tmp_path, real_data):
    _table(tmp_path / "a.csv")
    rows = [
        "source\tfs\tlabel\twhole\tsubject",
        "a.csv\t100\t\ttrue\ts01",
        f"{real_data / 'S001R01.edf'}\t\tT0\t\t",
    ]
    (tmp_path / "sources.tsv").write_text("\n".join(rows) + "\n")
    specs = read_sources_table(tmp_path / "sources.tsv")
    assert specs[0].key == str(tmp_path / "a.csv") and specs[0].fs == 100.0 and specs[0].whole
    assert specs[1].labels == ("T0",) and specs[1].fs is None
    with resolve(specs[0]) as a, resolve(specs[1]) as b:
        assert a.baseline.metadata.identity.subject_id == "s01"  # outside BIDS, --subject names the dot's subject
        assert b.baseline.segment.evidence == "annotations row 0 labelled 'T0'"
    (tmp_path / "bad.tsv").write_text("source\trate\nx\t1\n")
    with pytest.raises(DataError, match=r"unknown column\(s\) \['rate'\]"):
        read_sources_table(tmp_path / "bad.tsv")
    (tmp_path / "bad2.tsv").write_text("source\tfs\na.csv\t-3\n")
    with pytest.raises(DataError, match="bad2.tsv, line 2: .*fs= must be a positive number"):
        read_sources_table(tmp_path / "bad2.tsv")


# -- BIDS datasets as they are found -------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::adhesive_dots.errors.AdhesiveWarning")  # e.g. age '89+' is not ISO 8601
@pytest.mark.parametrize("name", BIDS_EXAMPLES)
def test_bids_examples_report_each_run_once_and_never_fail(bids_examples, name):
    root = bids_examples / name
    scan = scan_bids(root)
    files = [r.data_path for r in scan.runs]
    assert len(files) == len(set(files))  # each run once (multi-echo BOLD: one run, three files)
    specs, problems = expand_sources([root])
    assert len(specs) == len(scan.select()) and (specs or problems)
    for spec in specs:
        with resolve(spec) as resolved:  # placeholders resolve, described from their sidecars
            assert resolved.present is False
            with pytest.raises(DataNotPresentError, match="data not present"):
                resolved.recording.read(0.0, 1.0)


def test_multi_echo_rest_runs_with_inherited_sidecars(bids_examples):
    scan = scan_bids(bids_examples / "ds210")
    rest = scan.select()
    assert len(rest) == 15 and {r.datatype for r in rest} == {"bold"}
    assert all(len([f for f in r.files if "_echo-" in f.name]) == 3 for r in rest)
    sidecar = rest[0].sidecar()
    assert sidecar["RepetitionTime"] == 3  # from the top-level task-rest_echo-1_bold.json (inheritance)
    assert set(scan.tasks) == {"cuedSGT", "rest"}


def test_volume_timing_gives_the_rate_without_repetition_time(bids_examples):
    from adhesive_dots.io.bids import sidecar_rate

    runs = scan_bids(bids_examples / "volume_timing").select()
    rates = {r.entities["acquisition"]: sidecar_rate(r, r.sidecar()) for r in runs}
    assert all(rate is not None and rate > 0 for rate in rates.values())


def test_fmriprep_confounds_are_never_neural_series(tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    deriv = root / "derivatives" / "fmriprep" / "sub-01" / "func"
    deriv.mkdir(parents=True)
    (deriv / "sub-01_task-rest_desc-confounds_timeseries.tsv").write_text("csf\twhite_matter\n1\t2\n")
    (deriv / "sub-01_task-rest_desc-confounds_timeseries.json").write_text(json.dumps({"RepetitionTime": 2}))
    with pytest.raises(SourceNotFoundError, match="no EEG/MEG/iEEG/BOLD run"):
        resolve(SourceSpec(str(root)))


# -- resolving ------------------------------------------------------------------------------------------
def test_options_apply_where_they_belong_and_say_so_elsewhere(real_data):
    with resolve(SourceSpec(str(real_data / "S001R01.edf"), fs=100, labels=("T0",))) as resolved:
        assert resolved.recording.fs == 160.0
        assert resolved.notes == [
            "fs=100.0 does not apply to a raw EEG/MEG file (the rate of TSV/CSV/NPY tables); ignored"
        ]


def test_no_baseline_says_how_to_name_one(real_data):
    with resolve(SourceSpec(str(real_data / "S001R01.edf"))) as resolved:
        with pytest.raises(BaselineNotFoundError, match=r"labels 'T0'.*Say where the baseline is: labels="):
            _ = resolved.baseline
    with resolve(SourceSpec(str(real_data / "S001R01.edf"), whole=True)) as resolved:
        assert resolved.baseline.segment.evidence == "whole recording" and resolved.baseline.duration == 60.0


def test_spike_times_need_a_bin_width_once(real_data, tmp_path):
    source = tmp_path / "spikes.nwb"
    shutil.copy(real_data / "A8604-211122.nwb", source)
    with pytest.raises(UnitsBinWidthRequired, match=r"units_bin_width=0.01"):
        resolve(SourceSpec(str(source), labels=("wake",)))
    result = annotate(SourceSpec(str(source), units_bin_width=0.05, labels=("wake",)), paradigm="other")
    with resolve(SourceSpec(str(result.output))) as resolved:  # the annotated copy reads with no flag
        assert resolved.recording.fs == 20.0 and resolved.recording.modality is Modality.SPIKES
        assert resolved.baseline.metadata.recording.units_bin_width == 0.05
    with resolve(SourceSpec(str(result.output), units_bin_width=0.1)) as resolved:  # a flag still wins
        assert resolved.recording.fs == 10.0


def test_a_dot_sidecar_makes_later_flags_unnecessary(tmp_path):
    table = _table(tmp_path / "roi.npy", fs=50.0, n=3000)
    with pytest.raises(DataError, match="has no sampling rate"):
        resolve(SourceSpec(str(table), whole=True))
    result = annotate(SourceSpec(str(table), fs=50.0, modality="lfp", start=10, stop=50), paradigm="other")
    assert result.output == sidecar_path(table) and result.kind == "sidecar"
    assert read_dot_sidecar(table).recording.sampling_frequency == 50.0
    with resolve(SourceSpec(str(table))) as resolved:
        assert resolved.recording.fs == 50.0 and resolved.recording.modality is Modality.LFP
        assert resolved.baseline.segment.pieces == ((10.0, 50.0),)
        assert resolved.baseline.segment.evidence == "the dot recorded in roi.npy.dot.json"
    with resolve(SourceSpec(str(table), fs=25.0)) as resolved:
        assert resolved.recording.fs == 25.0 and resolved.notes == ["fs=25.0 overrides 50 recorded in roi.npy.dot.json"]
    with pytest.raises(FormatError, match="a dot is already stored here"):
        annotate(SourceSpec(str(table), whole=True), paradigm="other")
    sidecar_path(table).write_text("{not json")
    with pytest.raises(Exception, match="roi.npy.dot.json: not valid JSON"):
        resolve(SourceSpec(str(table)))


def test_expand_one_lists_several_runs(small_corpus):
    root = next(e for e in small_corpus.entries if e.format == "bids").path
    with pytest.raises(DataError, match=r"names 2 recordings .* narrow a BIDS dataset with subject=, session=, run="):
        expand_one(small_corpus.root / root)
    session = next(e.session for e in small_corpus.entries if e.format == "bids")
    assert expand_one(small_corpus.root / root, template=SourceSpec("", session=session)).key.endswith(".vhdr")


def test_channel_selection(tmp_path):
    table = _table(tmp_path / "t.csv", channels=4)
    with resolve(SourceSpec(str(table), fs=100, whole=True, channels=("c3", "c1"))) as resolved:
        assert resolved.recording.channel_names == ("c3", "c1")
        data = resolved.baseline.load()
    full = np.loadtxt(table, delimiter=",", skiprows=1).T
    np.testing.assert_array_equal(data, full[[3, 1]])


def test_source_kinds(tmp_path, real_data):
    assert source_kind(SourceSpec(str(real_data / "S001R01.edf"))) == "raw"
    assert source_kind(SourceSpec(str(real_data / "A8604-211122.nwb"))) == "nwb"
    assert source_kind(SourceSpec(str(tmp_path))) == "folder"
    assert source_kind(SourceSpec(str(tmp_path / "nothing"))) == "missing"
    assert source_kind(SourceSpec("https://example.org/x.nwb")) == "remote"
