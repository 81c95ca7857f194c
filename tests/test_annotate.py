"""Writing the dot back (NWB table, BIDS sidecar key), atomically, and `adots annotate`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pynwb import NWBHDF5IO

from adhesive_dots.baselines import find_baselines
from adhesive_dots.errors import DataError, FormatError, MetadataError
from adhesive_dots.io import open_recording
from adhesive_dots.io.annotate import annotate
from adhesive_dots.io.bids_write import SIDECAR_KEY, write_bids_eeg
from adhesive_dots.io.sources import SourceSpec, resolve
from adhesive_dots.metadata import Paradigm

PARADIGM = "animal-head-fixed-task-free"


@pytest.fixture
def nwb_source(make_nwb):
    data = np.random.default_rng(2).standard_normal((250 * 60, 4)).astype(np.float32)
    trials = pd.DataFrame({"start_time": [40.0, 50.0], "stop_time": [45.0, 55.0], "condition": ["go", "nogo"]})
    return make_nwb("session.nwb", data=data, kind="lfp", intervals={"trials_custom": trials})


def _inspector_messages(path):
    from nwbinspector import inspect_nwbfile

    return {(m.check_function_name, m.object_name, m.importance.name) for m in inspect_nwbfile(nwbfile_path=str(path))}


def test_annotate_nwb_writes_a_new_file_and_leaves_the_source_alone(nwb_source, file_hash, tmp_path):
    before = file_hash(nwb_source)
    meta = {"environment": {"illumination": "dark"}, "subject": {"strain": "C57BL/6J"}}
    result = annotate(nwb_source, start=5.0, stop=35.0, paradigm=PARADIGM, metadata=meta)
    assert result.output == tmp_path / "session.dot.nwb" and result.kind == "nwb"
    assert file_hash(nwb_source) == before
    with NWBHDF5IO(str(result.output), "r") as io:  # pynwb reads the result
        table = io.read().intervals["adhesive_baseline"].to_dataframe()
    assert list(table["start_time"]) == [5.0] and list(table["paradigm"]) == [PARADIGM]
    with open_recording(result.output) as recording:
        baselines = find_baselines(recording)
        meta_read = recording.metadata
    assert baselines[0].segment.evidence == "adhesive_baseline table (1 row(s))"
    assert baselines[0].segment.pieces == ((5.0, 35.0),)
    assert meta_read.paradigm.name == Paradigm.ANIMAL_HEAD_FIXED_TASK_FREE
    assert meta_read.environment.illumination.value == "dark" and meta_read.subject.strain == "C57BL/6J"
    assert meta_read.subject.species == "Mus musculus" and meta_read.identity.lab == "test-lab"  # kept from the file
    assert (meta_read.segment.start, meta_read.segment.stop, meta_read.segment.duration) == (5.0, 35.0, 30.0)


def test_nwbinspector_reports_nothing_new_beyond_the_dot_tables_own_form(nwb_source):
    result = annotate(nwb_source, start=5.0, stop=35.0, paradigm=PARADIGM)
    new = _inspector_messages(result.output) - _inspector_messages(nwb_source)
    # Every object that existed before is judged exactly as before. The adhesive_baseline table itself (one
    # row per piece of the dot, one scalar column per DotMetadata field) draws at most nwbinspector's
    # lowest-importance note that a one-row table could be attributes: a contiguous dot has one row.
    assert {name for _, name, _ in new} <= {"adhesive_baseline"}
    assert {check for check, _, _ in new} <= {"check_single_row"}
    assert {importance for *_, importance in new} <= {"BEST_PRACTICE_SUGGESTION"}


def test_annotate_in_place_keeps_a_backup(nwb_source, file_hash):
    before = file_hash(nwb_source)
    result = annotate(nwb_source, start=1.0, stop=20.0, paradigm=PARADIGM, in_place=True)
    assert result.output == nwb_source and result.backup == nwb_source.with_name("session.nwb.bak")
    assert file_hash(result.backup) == before and file_hash(nwb_source) != before
    with open_recording(nwb_source) as recording:
        assert find_baselines(recording)[0].segment.pieces == ((1.0, 20.0),)
    with pytest.raises(FormatError, match="already holds an adhesive_baseline table; pass replace=True"):
        annotate(nwb_source, start=2.0, stop=3.0, paradigm=PARADIGM, in_place=True)
    annotate(nwb_source, start=2.0, stop=30.0, paradigm=PARADIGM, in_place=True, replace=True)
    with open_recording(nwb_source) as recording:
        assert find_baselines(recording)[0].segment.pieces == ((2.0, 30.0),)
    assert nwb_source.with_name("session.nwb.bak.1").exists()  # a second backup never overwrites the first


@pytest.mark.parametrize("where", ["add_dot_table", "write"])
def test_interrupted_annotate_leaves_no_output_and_an_intact_source(nwb_source, file_hash, monkeypatch, where):
    folder = nwb_source.parent
    listing = sorted(p.name for p in folder.iterdir())
    before = file_hash(nwb_source)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated interruption")

    if where == "add_dot_table":
        monkeypatch.setattr("adhesive_dots.io.annotate.add_dot_table", crash)
    else:
        original = NWBHDF5IO.write

        def half_write(self, *args, **kwargs):
            original(self, *args, **kwargs)
            crash()

        monkeypatch.setattr(NWBHDF5IO, "write", half_write)
    with pytest.raises(KeyboardInterrupt):
        annotate(nwb_source, start=5.0, stop=35.0, paradigm=PARADIGM)
    assert sorted(p.name for p in folder.iterdir()) == listing  # no output, no temporary file
    with pytest.raises(KeyboardInterrupt):
        annotate(nwb_source, start=5.0, stop=35.0, paradigm=PARADIGM, in_place=True)
    assert file_hash(nwb_source) == before
    assert sorted(p.name for p in folder.iterdir()) == sorted([*listing, "session.nwb.bak"])  # only the full backup


@pytest.mark.parametrize(
    ("start", "stop", "match"),
    [
        (30.0, 30.0, "must be after start"),
        (30.0, 10.0, "must be after start"),
        (-5.0, 10.0, "start= must be a number of seconds >= 0"),
        (10.0, 61.0, "outside the recording"),
    ],
)
def test_bad_segments_are_refused_and_nothing_is_written(nwb_source, file_hash, start, stop, match):
    before = sorted(p.name for p in nwb_source.parent.iterdir())
    with pytest.raises(DataError, match=match):
        annotate(nwb_source, start=start, stop=stop, paradigm=PARADIGM)
    assert sorted(p.name for p in nwb_source.parent.iterdir()) == before


def test_unknown_paradigm_lists_the_allowed(nwb_source):
    with pytest.raises(MetadataError, match="paradigm 'nap' is not known; allowed: human-eyes-open-fixation"):
        annotate(nwb_source, start=1.0, stop=2.0, paradigm="nap")


def test_cli_annotate_nwb(nwb_source, tmp_path, adots, file_hash):
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"paradigm": {"screen": "grey", "head_fixed": True}}))
    out = tmp_path / "out.nwb"
    code, stdout, _ = adots(
        [
            "annotate",
            str(nwb_source),
            "--start",
            "3",
            "--stop",
            "33",
            "--paradigm",
            PARADIGM,
            "--metadata",
            str(meta),
            "-o",
            str(out),
            "--json",
        ]
    )
    assert code == 1  # written, but the dot still lacks required metadata: reported, exit 1
    (written,) = json.loads(stdout)
    assert written["output"] == str(out) and written["metadata"]["paradigm"]["screen"] == "grey"
    assert "environment.illumination|environment.illuminance_lux" in written["missing_required"]
    assert "paradigm.head_fixed" not in written["missing_required"]  # the paradigm says it
    with open_recording(out) as recording:
        assert recording.metadata.paradigm.head_fixed is True
    meta.write_text(
        json.dumps(
            {"subject": {"species": "Mus musculus"}, "environment": {"illumination": "dark"},
             "arousal": {"measures": ["pupil"]}}
        )
    )  # fmt: skip
    code, _, err = adots(
        ["annotate", str(nwb_source), "--whole", "--paradigm", PARADIGM, "--metadata", str(meta), "-o",
         str(tmp_path / "complete.nwb")])  # fmt: skip
    assert code == 0 and "lacks" not in err
    code, _, err = adots(
        ["annotate", str(nwb_source), "--whole", "--paradigm", PARADIGM, "-o", str(tmp_path / "bare.nwb")]
    )
    assert code == 1 and "incomplete:" in err and "still lacks required metadata" in err
    before = file_hash(nwb_source)
    code, _, err = adots(["annotate", str(nwb_source), "--start", "40", "--stop", "3", "--paradigm", PARADIGM])
    assert code == 2 and "error:" in err and "Traceback" not in err and "must be after --start" in err
    assert file_hash(nwb_source) == before


def test_annotate_bids_in_place_writes_the_sidecar_key_only_after_a_backup(tmp_path, file_hash):
    root = tmp_path / "bids"
    data = 1e-5 * np.random.default_rng(0).standard_normal((3, 2000))
    write_bids_eeg(
        root,
        subject="07",
        session=None,
        task="rest",
        data=data,
        fs=100.0,
        channel_names=["Fz", "Cz", "Pz"],
        sidecar={"Instructions": "Eyes open, look at the cross."},
    )
    sidecar = root / "sub-07" / "eeg" / "sub-07_task-rest_eeg.json"
    original = json.loads(sidecar.read_text())
    vhdr = root / "sub-07" / "eeg" / "sub-07_task-rest_eeg.vhdr"
    data_hash = file_hash(vhdr)
    run07 = SourceSpec("", subject="07")
    result = annotate(root, template=run07, start=2.0, stop=18.0, paradigm="human-eyes-open-fixation", in_place=True)
    assert result.output == sidecar and result.kind == "bids"
    assert json.loads(result.backup.read_text()) == original
    updated = json.loads(sidecar.read_text())
    filled = {k for k in result.fields_written if ":" not in k}
    kept = {k: v for k, v in original.items() if k not in filled}
    assert {k: v for k, v in updated.items() if k != SIDECAR_KEY and k not in filled} == kept  # others untouched
    assert not filled & {k for k, v in original.items() if v not in (None, "", "n/a")}  # nothing overwritten
    assert updated[SIDECAR_KEY]["segment"]["start"] == 2.0 and file_hash(vhdr) == data_hash
    with open_recording(root, subject="07") as recording:  # mne-bids still reads the run
        baselines = find_baselines(recording)
        assert baselines[0].segment.evidence.startswith("adhesive_baseline") and baselines[0].segment.pieces == (
            (2.0, 18.0),
        )
        assert recording.metadata.paradigm.instructions == "Eyes open, look at the cross."
    with pytest.raises(FormatError, match="already holds an AdhesiveDot key"):
        annotate(root, template=run07, start=2.0, stop=18.0, paradigm="human-eyes-open-fixation", in_place=True)
    sidecar_hash = file_hash(sidecar)
    with pytest.raises(DataError, match="outside the recording"):
        annotate(
            root, template=run07, start=2.0, stop=99.0, paradigm="human-eyes-open-fixation", replace=True, in_place=True
        )
    assert file_hash(sidecar) == sidecar_hash


def test_annotate_bids_by_default_leaves_the_dataset_alone(tmp_path, file_hash):
    root = tmp_path / "bids"
    data = 1e-5 * np.random.default_rng(1).standard_normal((2, 2000))
    write_bids_eeg(root, subject="09", session=None, task="rest", data=data, fs=100.0, channel_names=["Fz", "Cz"])
    before = {p: file_hash(p) for p in root.rglob("*") if p.is_file()}
    result = annotate(root, start=1.0, stop=15.0, paradigm="human-eyes-closed")
    vhdr = root / "sub-09" / "eeg" / "sub-09_task-rest_eeg.vhdr"
    assert result.kind == "sidecar" and result.output == vhdr.with_name(vhdr.name + ".dot.json")
    assert {p: file_hash(p) for p in before} == before  # every file of the dataset unchanged
    with resolve(SourceSpec(str(root))) as resolved:  # found again without any option
        assert resolved.baseline.segment.pieces == ((1.0, 15.0),)
        assert resolved.baseline.metadata.paradigm.name == Paradigm.HUMAN_EYES_CLOSED


def test_interrupted_bids_annotate_keeps_the_sidecar(tmp_path, file_hash, monkeypatch):
    root = tmp_path / "bids"
    data = 1e-5 * np.random.default_rng(0).standard_normal((2, 1000))
    write_bids_eeg(root, subject="08", session=None, task="rest", data=data, fs=100.0, channel_names=["Fz", "Cz"])
    folder = root / "sub-08" / "eeg"
    sidecar = folder / "sub-08_task-rest_eeg.json"
    before, listing = file_hash(sidecar), sorted(p.name for p in folder.iterdir())

    def half_write(path, data):
        path.write_text(json.dumps(data)[:20])  # a torn write ...
        raise KeyboardInterrupt("simulated interruption while writing the sidecar")  # ... then the kill

    monkeypatch.setattr("adhesive_dots.io.annotate.write_json", half_write)
    with pytest.raises(KeyboardInterrupt):
        annotate(root, start=1.0, stop=9.0, paradigm="human-eyes-closed", in_place=True)
    assert file_hash(sidecar) == before
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".bak")) == listing


def test_annotate_fills_empty_nwb_subject_fields_and_nwbinspector_stops_asking(make_nwb):
    """A file without species, sex or age: after annotate they are in /general/subject (pynwb reads them),
    nwbinspector no longer reports them missing, and every field written is reported."""
    data = np.random.default_rng(3).standard_normal((250 * 60, 2)).astype(np.float32)
    source = make_nwb("bare.nwb", data=data, kind="lfp", subject={"subject_id": "m7"})
    before = {check for check, *_ in _inspector_messages(source)}
    assert {"check_subject_species_exists", "check_subject_sex"} <= before
    meta = {"subject": {"species": "Mus musculus", "sex": "F", "age": "P90D", "subject_id": "other"}}
    result = annotate(source, start=0.0, stop=60.0, paradigm=PARADIGM, metadata=meta)
    assert set(result.fields_written) == {"Subject.species", "Subject.sex", "Subject.age"}  # subject_id was set
    after = {check for check, *_ in _inspector_messages(result.output)}
    assert not {"check_subject_species_exists", "check_subject_sex", "check_subject_age"} & after
    with NWBHDF5IO(str(result.output), "r") as io:
        subject = io.read().subject
        assert (subject.species, subject.sex, subject.age, subject.subject_id) == ("Mus musculus", "F", "P90D", "m7")


def test_annotate_never_overwrites_a_subject_field(nwb_source):
    """The fixture's subject is a female mouse; a dot saying otherwise changes nothing in Subject."""
    result = annotate(nwb_source, start=0.0, stop=30.0, paradigm=PARADIGM, metadata={"subject": {"sex": "M"}})
    assert "Subject.sex" not in result.fields_written
    with NWBHDF5IO(str(result.output), "r") as io:
        assert io.read().subject.sex == "F"


def test_annotate_bids_in_place_fills_standard_fields_and_participants(tmp_path):
    """In place, the dot's knowledge goes into the standard places where they are empty: the sidecar's
    EEGReference (mne-bids leaves it n/a) and participants.tsv's species, sex and age; RecordingDuration
    and a value already there are kept; each field written is reported."""
    root = tmp_path / "bids"
    data = 1e-5 * np.random.default_rng(1).standard_normal((3, 2000))
    write_bids_eeg(root, subject="08", session=None, task="rest", data=data, fs=100.0, channel_names=["Fz", "Cz", "Pz"])
    sidecar = root / "sub-08" / "eeg" / "sub-08_task-rest_eeg.json"
    original = json.loads(sidecar.read_text())
    participants = root / "participants.tsv"
    before = pd.read_csv(participants, sep="\t", dtype=str, keep_default_na=False)
    meta = {
        "subject": {"species": "Homo sapiens", "sex": "F", "age": "P31Y"},
        "recording": {"reference": "linked mastoids", "modality": "eeg"},
    }
    result = annotate(
        root,
        template=SourceSpec("", subject="08"),
        start=0.0,
        stop=20.0,
        paradigm="human-eyes-open-fixation",
        metadata=meta,
        in_place=True,
    )
    updated = json.loads(sidecar.read_text())
    assert "EEGReference" in result.fields_written and updated["EEGReference"] == "linked mastoids"
    assert updated["RecordingDuration"] == original["RecordingDuration"]  # already there: kept
    assert "RecordingDuration" not in result.fields_written
    after = pd.read_csv(participants, sep="\t", dtype=str, keep_default_na=False).set_index("participant_id")
    row = after.loc["sub-08"]
    for column, value in (("species", "Homo sapiens"), ("sex", "F"), ("age", "31")):
        was = before.set_index("participant_id").loc["sub-08"].get(column, "n/a")
        if was in ("", "n/a"):
            assert row[column] == value and f"participants.tsv:{column}" in result.fields_written
        else:
            assert row[column] == was and f"participants.tsv:{column}" not in result.fields_written
    assert set(after.columns) >= set(before.columns) - {"participant_id"}
