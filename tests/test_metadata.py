"""DotMetadata: good records pass, each kind of bad record is named field by field."""

from __future__ import annotations

import json

import jsonschema
import pytest

from adhesive_dots import DotMetadata, MetadataError
from adhesive_dots.metadata import SCHEMA_VERSION, Paradigm, dot_json_schema

GOOD = {
    "identity": {"dataset_id": "dandi:000017", "session_id": "s1", "subject_id": "m1", "lab": "Svoboda"},
    "recording": {"modality": "calcium", "sampling_frequency": 30.0, "n_channels": 400, "units": "dF/F",
                  "indicator": "GCaMP6s", "apparatus": {"microscope": "Bruker"}},
    "segment": {"start": 0.0, "stop": 600.0, "duration": 600.0, "contiguous": True, "position": "before-task"},
    "paradigm": {"name": "animal-head-fixed-task-free", "head_fixed": True, "screen": "grey"},
    "environment": {"illumination": "dark", "illuminance_lux": 0.1, "local_time": "09:30:00", "zeitgeber_time_h": 3},
    "arousal": {"measures": ["pupil", "locomotion"], "fraction_running": 0.2},
    "behaviour": [{"name": "running_speed", "kind": "timeseries"}],
    "subject": {"species": "Mus musculus", "sex": "F", "age": "P90D", "weight": "25 g", "strain": "C57BL/6J"},
    "context": {"preceding": "habituation", "drugs": []},
    "curation": {"validation_status": "compliant", "quality_score": 0.9, "licence": "CC-BY-4.0"},
}  # fmt: skip


def test_good_record_round_trips():
    meta = DotMetadata.from_dict(GOOD)
    assert meta.schema_version == SCHEMA_VERSION
    assert meta.paradigm.name is Paradigm.ANIMAL_HEAD_FIXED_TASK_FREE
    assert meta.subject.ncbi_taxon_id == 10090  # filled in from the species
    again = DotMetadata.from_json(meta.model_dump_json())
    assert again == meta


def test_empty_record_is_valid_and_human_ages_accepted():
    assert DotMetadata().schema_version == SCHEMA_VERSION
    for age in ("P25Y", "P3M2W", "PT36H", "P90D/P120D", "P1Y6M"):
        assert DotMetadata.from_dict({"subject": {"age": age}}).subject.age == age


@pytest.mark.parametrize(
    ("patch", "field", "hint"),
    [
        ({"paradigm": {"name": "eyes-wide-shut"}}, "paradigm.name", "human-eyes-closed"),
        ({"recording": {"modality": "ultrasound"}}, "recording.modality", "'calcium'"),
        ({"environment": {"illumination": "twilight"}}, "environment.illumination", "'dark'"),
        ({"segment": {"position": "during"}}, "segment.position", "'before-task'"),
        ({"subject": {"age": "90 days"}}, "subject.age", "ISO 8601"),
        ({"subject": {"species": "mouse"}}, "subject.species", "Latin binomial"),
        ({"subject": {"sex": "male"}}, "subject.sex", "'M'"),
        ({"recording": {"sampling_frequency": -250}}, "recording.sampling_frequency", "greater than 0"),
        ({"recording": {"n_channels": "many"}}, "recording.n_channels", "integer"),
        ({"segment": {"start": 600, "stop": 10}}, "segment", "stop (10.0 s) must be after start"),
        ({"arousal": {"fraction_running": 1.5}}, "arousal.fraction_running", "less than or equal to 1"),
        ({"paradigm": {"eyes": "closed"}}, "paradigm.eyes", "unknown field"),
        ({"schema_version": "9.0.0"}, "schema_version", "not readable"),
    ],
)
def test_each_bad_field_is_named(patch, field, hint):
    with pytest.raises(MetadataError) as info:
        DotMetadata.from_dict(patch, source="meta.json")
    message = str(info.value)
    assert message.startswith("meta.json:")
    assert f"  - {field}:" in message
    assert hint in message


def test_every_offending_field_is_listed_at_once():
    bad = {"paradigm": {"name": "nap"}, "subject": {"age": "old", "sex": "x"}, "lab": "where?"}
    with pytest.raises(MetadataError, match="4 invalid") as info:
        DotMetadata.from_dict(bad)
    for field in ("paradigm.name", "subject.age", "subject.sex", "lab"):
        assert f"  - {field}:" in str(info.value)
    assert "given 'nap'" in str(info.value)


def test_metadata_error_is_a_value_error():
    with pytest.raises(ValueError):
        DotMetadata.from_json("{not json")
    with pytest.raises(MetadataError, match="expected a JSON object"):
        DotMetadata.from_json("[1, 2]")


def test_flat_and_merged():
    meta = DotMetadata.from_dict(GOOD)
    flat = meta.flat()
    assert flat["paradigm.name"] == "animal-head-fixed-task-free"
    assert flat["recording.apparatus.microscope"] == "Bruker"
    changed = meta.merged(segment={"stop": 700.0})
    assert changed.segment.stop == 700.0 and changed.segment.start == 0.0
    with pytest.raises(MetadataError, match="unknown DotMetadata group"):
        meta.merged(nonsense={})


def test_json_schema_agrees_with_pydantic():
    """A record pydantic accepts validates against the exported JSON Schema, and a bad one does not."""
    schema = dot_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(json.loads(DotMetadata.from_dict(GOOD).model_dump_json()))
    bad = json.loads(DotMetadata.from_dict(GOOD).model_dump_json())
    bad["paradigm"]["name"] = "eyes-wide-shut"
    assert not validator.is_valid(bad)


def test_fields_round_trip_with_lists_of_records():
    """The unpacked form (one scalar per dotted path) rebuilds the same record."""
    from adhesive_dots.metadata import from_fields, to_fields

    meta = DotMetadata.from_dict(GOOD | {"segment": {"start": 0, "stop": 600, "gaps": [[100.0, 110.0]]}})
    fields = to_fields(meta)
    assert fields["arousal.measures.1"] == "locomotion" and fields["behaviour.0.name"] == "running_speed"
    assert fields["segment.gaps.0.1"] == 110.0
    assert all(not isinstance(v, (dict, list)) for v in fields.values())
    assert from_fields(fields) == meta
    with pytest.raises(MetadataError, match="paradigm.name"):
        from_fields({"paradigm.name": "nap"})
