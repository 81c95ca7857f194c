"""The adhesive-dot metadata standard: what a spontaneous baseline records.

:class:`DotMetadata` groups the fields of DESIGN.md ("DotMetadata") into sub-records.
Names follow NWB (``Subject``: ``species``, ``strain``, ``genotype``, ``sex``, ``age`` as an
ISO 8601 duration, ``weight``) and BIDS (``SamplingFrequency`` → ``sampling_frequency``,
``TaskName``, ``Instructions``) where those standards have one. Controlled vocabularies are
enums; free text is kept where the world is open. Every field is optional except the
schema version, because a record is built up while a session is read; what a *compliant*
dot requires for its species and paradigm is the validator's business.

Examples
--------
>>> meta = DotMetadata.model_validate({
...     "paradigm": {"name": "animal-head-fixed-task-free", "head_fixed": True},
...     "subject": {"species": "Mus musculus", "age": "P90D", "sex": "F"},
... })
>>> meta.subject.ncbi_taxon_id
10090
"""

from __future__ import annotations

import json
import re
from datetime import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adhesive_dots.errors import MetadataError

SCHEMA_VERSION = "0.2.0"
"""Version of the DotMetadata schema (semantic versioning; bump on any field change)."""

#: NCBI taxonomy ids of the species most often recorded (filled in when only the name is given).
NCBI_TAXON_IDS: dict[str, int] = {
    "Homo sapiens": 9606,
    "Mus musculus": 10090,
    "Rattus norvegicus": 10116,
    "Macaca mulatta": 9544,
    "Macaca fascicularis": 9541,
    "Callithrix jacchus": 9483,
    "Mustela putorius furo": 9669,
    "Felis catus": 9685,
    "Danio rerio": 7955,
    "Drosophila melanogaster": 7227,
}

# ISO 8601 duration as NWB uses it for Subject.age, optionally a range "P90D/P100D".
_ISO_DURATION = r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
_AGE_RE = re.compile(rf"^{_ISO_DURATION}(/({_ISO_DURATION})?)?$")


class Modality(StrEnum):
    """Kind of neural signal."""

    EEG = "eeg"
    MEG = "meg"
    IEEG = "ieeg"
    LFP = "lfp"
    SPIKES = "spikes"
    CALCIUM = "calcium"
    FMRI = "fmri"
    OTHER = "other"


class Paradigm(StrEnum):
    """How the spontaneous segment was recorded."""

    HUMAN_EYES_OPEN_FIXATION = "human-eyes-open-fixation"
    HUMAN_EYES_CLOSED = "human-eyes-closed"
    ANIMAL_HEAD_FIXED_TASK_FREE = "animal-head-fixed-task-free"
    ANIMAL_FREELY_MOVING_TASK_FREE = "animal-freely-moving-task-free"
    ANAESTHETISED = "anaesthetised"
    SLEEP = "sleep"
    OTHER = "other"


class IlluminationCategory(StrEnum):
    """Ambient light when no lux measurement exists."""

    DARK = "dark"
    DIM = "dim"
    AMBIENT = "ambient"
    BRIGHT = "bright"


class ScreenContent(StrEnum):
    """What a screen in view showed during the segment."""

    GREY = "grey"
    BLACK = "black"
    OFF = "off"
    NONE = "none"
    OTHER = "other"


class SessionPosition(StrEnum):
    """Where the spontaneous segment sits in the session."""

    BEFORE_TASK = "before-task"
    AFTER_TASK = "after-task"
    BETWEEN_TASKS = "between-tasks"
    STANDALONE = "standalone"


class ArousalMeasure(StrEnum):
    """Measures of arousal that may accompany a baseline."""

    PUPIL = "pupil"
    LOCOMOTION = "locomotion"
    WHISKING = "whisking"
    HEART_RATE = "heart-rate"
    EEG_VIGILANCE = "eeg-vigilance"
    EMG = "emg"
    EYE_TRACKING = "eye-tracking"
    OTHER = "other"


class Sex(StrEnum):
    """NWB ``Subject.sex`` codes."""

    M = "M"
    F = "F"
    U = "U"
    O = "O"  # noqa: E741 - the NWB code for "other"


class ValidationStatus(StrEnum):
    """Outcome of ``adots validate`` for a dot."""

    NOT_VALIDATED = "not-validated"
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"


class _Record(BaseModel):
    """Common configuration: unknown fields are errors, assignments are validated."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        str_strip_whitespace=True,
        use_enum_values=False,
    )


class Identity(_Record):
    """Identity and provenance of the dot."""

    dataset_id: str | None = Field(
        None, description="Archive id with prefix, e.g. 'dandi:000017' or 'openneuro:ds004148', or 'local'."
    )
    dataset_version: str | None = Field(None, description="Archive version, e.g. '0.230913.1200'.")
    session_id: str | None = Field(None, description="NWB session_id / BIDS ses entity.")
    subject_id: str | None = Field(None, description="NWB Subject.subject_id / BIDS sub entity.")
    lab: str | None = None
    institution: str | None = None
    source_uri: str | None = Field(None, description="Where the data were read (path, URL, archive id).")
    content_hash: str | None = Field(
        None, description="Hash of the baseline's samples (not of the file), 'sha256:<hex>'."
    )


class Apparatus(_Record):
    """The hardware and setup of the recording."""

    rig: str | None = None
    amplifier: str | None = None
    probe: str | None = None
    microscope: str | None = None
    description: str | None = None


class RecordingInfo(_Record):
    """What was recorded and how."""

    modality: Modality | None = None
    sampling_frequency: float | None = Field(None, gt=0, description="Hz (BIDS SamplingFrequency).")
    n_channels: int | None = Field(None, ge=1, description="Channels, units or ROIs recorded.")
    channel_kind: str | None = Field(None, description="e.g. 'EEG electrodes', 'ROIs', 'sorted units'.")
    units: str | None = Field(None, description="Units of measure of the samples, e.g. 'V', 'dF/F', 'spikes/s'.")
    reference: str | None = Field(None, description="Reference scheme (BIDS EEGReference).")
    brain_areas: list[str] = Field(default_factory=list)
    indicator: str | None = Field(None, description="Calcium or voltage indicator, e.g. 'GCaMP6s'.")
    apparatus: Apparatus = Field(default_factory=Apparatus)
    software: str | None = Field(None, description="Acquisition and preprocessing software with versions.")
    series: str | None = Field(
        None, description="The series read as the data (an NWB series name or path, 'units'); adhesive-dots reads it."
    )
    units_bin_width: float | None = Field(
        None, gt=0, description="s; spike times binned at this width into rates (how adhesive-dots reads Units)."
    )
    preprocessing: str | None = Field(
        None,
        description="What was done to the samples when they were read (fMRI: atlas, confound strategy, scrubbing, "
        "detrending, standardisation).",
    )


class SegmentInfo(_Record):
    """Where the spontaneous segment lies, in seconds from the start of the recording."""

    start: float | None = Field(None, ge=0, description="s")
    stop: float | None = Field(None, gt=0, description="s")
    duration: float | None = Field(None, gt=0, description="s of data (excludes gaps)")
    contiguous: bool | None = None
    gaps: list[tuple[float, float]] = Field(
        default_factory=list, description="(start, stop) in s of each gap when concatenated."
    )
    position: SessionPosition | None = None

    @model_validator(mode="after")
    def _check_order(self) -> SegmentInfo:
        if self.start is not None and self.stop is not None and self.stop <= self.start:
            raise ValueError(f"stop ({self.stop} s) must be after start ({self.start} s)")
        for gap_start, gap_stop in self.gaps:
            if gap_stop <= gap_start:
                raise ValueError(f"gap ({gap_start}, {gap_stop}) must have stop after start")
        return self


class ParadigmInfo(_Record):
    """The task-free paradigm."""

    name: Paradigm | None = None
    instructions: str | None = Field(None, description="Verbatim instructions (BIDS Instructions).")
    eyes_closed: bool | None = None
    fixation: bool | None = Field(None, description="A fixation target was shown.")
    head_fixed: bool | None = None
    screen: ScreenContent | None = None
    description: str | None = None


class Environment(_Record):
    """The physical environment during the segment."""

    illumination: IlluminationCategory | None = None
    illuminance_lux: float | None = Field(None, ge=0)
    screen_luminance_cd_m2: float | None = Field(None, ge=0)
    sound_level_db_spl: float | None = None
    temperature_celsius: float | None = Field(None, ge=-50, le=60)
    local_time: time | None = Field(None, description="Local clock time at the segment start.")
    zeitgeber_time_h: float | None = Field(None, ge=0, lt=24, description="Hours after lights on.")


class ArousalInfo(_Record):
    """Arousal measures recorded with the segment and their summaries."""

    measures: list[ArousalMeasure] = Field(default_factory=list)
    locations: dict[str, str] = Field(
        default_factory=dict, description="Measure -> where it is in the file (NWB path or BIDS file)."
    )
    mean_normalised_pupil: float | None = Field(None, description="Mean pupil / max pupil over the segment.")
    fraction_running: float | None = Field(None, ge=0, le=1)
    state_labels: list[str] = Field(default_factory=list)


class BehaviourLog(_Record):
    """A reference to a behavioural time series or video."""

    name: str
    kind: str = Field("timeseries", description="'timeseries', 'video', 'events' or other.")
    location: str | None = Field(None, description="NWB path, BIDS file or URL.")
    description: str | None = None


class SubjectInfo(_Record):
    """The individual (NWB ``Subject`` field names; ``age`` is an ISO 8601 duration)."""

    subject_id: str | None = None
    species: str | None = Field(None, description="Latin binomial, e.g. 'Mus musculus'.")
    ncbi_taxon_id: int | None = Field(None, ge=1, description="Filled in from species when known.")
    strain: str | None = None
    genotype: str | None = None
    sex: Sex | None = None
    age: str | None = Field(None, description="ISO 8601 duration, e.g. 'P90D' or 'P25Y' (NWB).")
    weight: str | None = Field(None, description="With units, e.g. '25 g' (NWB).")
    handedness: str | None = Field(None, description="BIDS participants: 'left', 'right', 'ambidextrous'.")
    training_history: str | None = None
    health: str | None = None
    description: str | None = None

    @field_validator("age")
    @classmethod
    def _check_age(cls, value: str | None) -> str | None:
        if value is not None and not _AGE_RE.match(value):
            raise ValueError(f"age must be an ISO 8601 duration such as 'P90D', 'P12W' or 'P25Y' (NWB), got {value!r}")
        return value

    @field_validator("species")
    @classmethod
    def _check_species(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Z][a-z]+ [a-z]+( [a-z]+)?$|^http", value):
            raise ValueError(
                f"species must be a Latin binomial such as 'Mus musculus' or an NCBI taxonomy URL, got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _fill_taxon(self) -> SubjectInfo:
        if self.ncbi_taxon_id is None and self.species in NCBI_TAXON_IDS:
            # object.__setattr__ avoids re-running validation on assignment
            object.__setattr__(self, "ncbi_taxon_id", NCBI_TAXON_IDS[self.species])
        return self


class ContextInfo(_Record):
    """What surrounded the baseline."""

    preceding: str | None = Field(None, description="What happened just before the segment.")
    habituation: str | None = Field(None, description="Habituation to the rig (duration, sessions).")
    anaesthesia: str | None = None
    drugs: list[str] = Field(default_factory=list)


class CurationInfo(_Record):
    """Curation state of the dot."""

    validation_status: ValidationStatus = ValidationStatus.NOT_VALIDATED
    quality_score: float | None = Field(None, ge=0, le=1)
    licence: str | None = Field(None, description="SPDX id, e.g. 'CC-BY-4.0'.")


class DotMetadata(_Record):
    """The metadata record of one adhesive dot (a spontaneous baseline)."""

    schema_version: str = Field(SCHEMA_VERSION, description="Version of this schema.")
    identity: Identity = Field(default_factory=Identity)
    recording: RecordingInfo = Field(default_factory=RecordingInfo)
    segment: SegmentInfo = Field(default_factory=SegmentInfo)
    paradigm: ParadigmInfo = Field(default_factory=ParadigmInfo)
    environment: Environment = Field(default_factory=Environment)
    arousal: ArousalInfo = Field(default_factory=ArousalInfo)
    behaviour: list[BehaviourLog] = Field(default_factory=list)
    subject: SubjectInfo = Field(default_factory=SubjectInfo)
    context: ContextInfo = Field(default_factory=ContextInfo)
    curation: CurationInfo = Field(default_factory=CurationInfo)

    @field_validator("schema_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if value.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"schema_version {value!r} is not readable by this version of adhesive-dots "
                f"(reads {SCHEMA_VERSION.split('.')[0]}.x)"
            )
        return value

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "metadata") -> DotMetadata:
        """Validate a mapping; raise :class:`MetadataError` naming every offending field."""
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise MetadataError(format_validation_error(err, source=source)) from None

    @classmethod
    def from_json(cls, text: str, *, source: str = "metadata") -> DotMetadata:
        """Parse and validate a JSON document (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise MetadataError(f"{source}: not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise MetadataError(f"{source}: expected a JSON object, got {type(data).__name__}")
        return cls.from_dict(data, source=source)

    def merged(self, **groups: dict[str, Any]) -> DotMetadata:
        """A copy with fields of some groups updated, e.g. ``merged(segment={"start": 0})``."""
        data = self.model_dump(mode="json", exclude_none=True)
        for group, values in groups.items():
            if group not in type(self).model_fields:
                raise MetadataError(f"unknown DotMetadata group {group!r}; allowed: {sorted(type(self).model_fields)}")
            current = data.get(group)
            if isinstance(current, dict) and isinstance(values, dict):
                current.update({k: v for k, v in values.items()})
            else:
                data[group] = values
        return type(self).from_dict(data)

    def flat(self) -> dict[str, Any]:
        """Flatten to ``{"group.field": value}`` with JSON-compatible values (for tables)."""
        out: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, item)
            else:
                out[prefix] = value

        walk("", self.model_dump(mode="json"))
        return out


def format_validation_error(err: ValidationError, *, source: str = "metadata") -> str:
    """One line per offending field: where, what was allowed, what was given."""
    lines = [f"{source}: {err.error_count()} invalid DotMetadata field(s):"]
    for item in err.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(record)"
        given = item.get("input")
        allowed = item["msg"]
        ctx = item.get("ctx") or {}
        if "expected" in ctx:
            allowed = f"expected one of {ctx['expected']}"
        if item["type"] == "extra_forbidden":
            allowed = "unknown field (check the spelling; see `adots schema`)"
        given_text = repr(given)
        if len(given_text) > 80:
            given_text = given_text[:77] + "..."
        lines.append(f"  - {where}: {allowed}; given {given_text}")
    return "\n".join(lines)


def dot_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`DotMetadata` (what ``adots schema`` prints)."""
    schema = DotMetadata.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://adhesive-dots.org/schema/dot-metadata/{SCHEMA_VERSION}.json"
    schema["title"] = "DotMetadata"
    return schema


def dot_json_schema_text() -> str:
    """The JSON Schema as stable, pretty-printed text (ends with a newline)."""
    return json.dumps(dot_json_schema(), indent=2, sort_keys=True) + "\n"


def to_fields(metadata: DotMetadata) -> dict[str, str | float | int | bool]:
    """Every set field as ``{"group.field": scalar}``; list items get their index (``arousal.measures.0``).

    The unpacked form in which a dot is stored in tables whose cells must be scalars (the
    NWB ``adhesive_baseline`` table: one column per field). :func:`from_fields` inverts it.
    """
    out: dict[str, str | float | int | bool] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)
        elif value is not None:
            out[prefix] = value

    walk("", metadata.model_dump(mode="json", exclude_none=True))
    return out


def from_fields(fields: dict[str, Any], *, source: str = "metadata") -> DotMetadata:
    """Rebuild a :class:`DotMetadata` from :func:`to_fields` output (numeric path parts are list indices)."""
    nested: dict[str, Any] = {}
    for key, value in fields.items():
        parts = key.split(".")
        node: Any = nested
        for part, following in zip(parts[:-1], parts[1:], strict=True):
            container: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                node[index] = node[index] if node[index] is not None else container
                node = node[index]
            else:
                node = node.setdefault(part, container)
        last = parts[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append(None)
            node[index] = value
        else:
            node[last] = value
    return DotMetadata.from_dict(nested, source=source)
