"""Filling :class:`DotMetadata` from what a source says about itself (NWB, BIDS, MNE raw files).

Values that the source states but that do not fit the standard (a species that is not a
Latin binomial, an age that is not an ISO 8601 duration) are left out with an
:class:`~adhesive_dots.errors.AdhesiveWarning` naming the field and the value; a dot already
stored in the file (the ``adhesive_baseline`` table or the ``AdhesiveDot`` sidecar key) wins
over everything inferred.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from typing import Any

import numpy as np
from pydantic import ValidationError

from adhesive_dots.errors import AdhesiveWarning, MetadataError
from adhesive_dots.metadata import ArousalMeasure, DotMetadata, Modality, Paradigm, from_fields

_EYES_CLOSED = re.compile(r"eyes[ _-]?closed|\bec\b|closed[ _-]?eyes", re.IGNORECASE)
_EYES_OPEN = re.compile(r"eyes[ _-]?open|\beo\b|open[ _-]?eyes|fixation|fixate", re.IGNORECASE)


def overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: values of ``top`` replace those of ``base``; nested dicts are merged."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        elif value is not None and value != [] and value != {}:
            out[key] = copy.deepcopy(value)
    return out


def drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    """Remove None, empty strings, empty lists and empty dicts, recursively."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = drop_empty(value)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == [] or value == {}:
            continue
        out[key] = value
    return out


def validated(data: dict[str, Any], *, source: str) -> DotMetadata:
    """A DotMetadata from ``data``, leaving out (with a warning) every field that does not validate."""
    data = drop_empty(data)
    for _ in range(50):  # each round drops the offending fields of one validation
        try:
            return DotMetadata.model_validate(data)
        except ValidationError as err:
            dropped = []
            for problem in err.errors():
                location = [str(p) for p in problem["loc"] if not isinstance(p, int)]
                if not location:
                    raise MetadataError(f"{source}: metadata cannot be validated ({err})") from None
                holder = data
                for part in location[:-1]:
                    holder = holder.get(part, {}) if isinstance(holder, dict) else {}
                if isinstance(holder, dict) and location[-1] in holder:
                    value = holder.pop(location[-1])
                    dropped.append(f"{'.'.join(location)}={value!r} ({problem['msg']})")
                elif len(location) > 1:  # a model-level error (e.g. segment order): drop the group
                    data.pop(location[0], None)
                    dropped.append(f"{location[0]} ({problem['msg']})")
                else:
                    data.pop(location[0], None)
                    dropped.append(f"{location[0]} ({problem['msg']})")
            if dropped:
                warnings.warn(
                    f"{source}: metadata value(s) not in the DotMetadata standard were left out: " + "; ".join(dropped),
                    AdhesiveWarning,
                    stacklevel=3,
                )
    raise MetadataError(f"{source}: metadata cannot be validated")  # pragma: no cover - guard


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def _sex(value: Any) -> str | None:
    text = (_text(value) or "").lower()
    return {"m": "M", "male": "M", "f": "F", "female": "F", "u": "U", "unknown": "U", "o": "O", "other": "O"}.get(text)


# -- NWB ---------------------------------------------------------------------------------------
def build_metadata(
    nwbfile: Any,
    *,
    source: str,
    modality: Modality,
    fs: float,
    n_channels: int,
    channel_kind: str,
    units: str,
    signals: dict[str, Any],
    dot_table: str,
) -> DotMetadata:
    """DotMetadata from an NWB file: Subject, lab, institution, session_id, devices, behaviour."""
    subject = nwbfile.subject
    inferred: dict[str, Any] = {
        "identity": {
            "session_id": _text(nwbfile.session_id),
            "subject_id": _text(getattr(subject, "subject_id", None)),
            "lab": _text(nwbfile.lab),
            "institution": _text(nwbfile.institution),
            "source_uri": source,
        },
        "recording": {
            "modality": modality.value,
            "sampling_frequency": fs,
            "n_channels": n_channels,
            "channel_kind": channel_kind,
            "units": units,
            "brain_areas": _brain_areas(nwbfile),
            "indicator": _indicator(nwbfile),
            "apparatus": {"description": _devices(nwbfile)},
        },
        "subject": {},
        "arousal": {},
        "behaviour": [],
    }
    if subject is not None:
        inferred["subject"] = {
            "subject_id": _text(subject.subject_id),
            "species": _text(subject.species),
            "strain": _text(getattr(subject, "strain", None)),
            "genotype": _text(subject.genotype),
            "sex": _sex(subject.sex),
            "age": _text(subject.age),
            "weight": _text(subject.weight),
            "description": _text(subject.description),
        }
    measures, locations = [], {}
    from adhesive_dots.io.nwb import arousal_measure

    for name, signal in signals.items():
        location = signal.source.split(":", 1)[-1] if signal.source.startswith(source + ":") else signal.source
        measure = arousal_measure(name) or ArousalMeasure.OTHER
        if measure not in measures:
            measures.append(measure)
            locations[measure.value] = location
        inferred["behaviour"].append({"name": name, "kind": "timeseries", "location": location})
    inferred["arousal"] = {"measures": [m.value for m in measures], "locations": locations}
    base = validated(inferred, source=source).model_dump(mode="json", exclude_none=True)
    stored = stored_dot(nwbfile, dot_table, source)
    merged = overlay(base, stored) if stored else base
    merged.setdefault("identity", {})["source_uri"] = source
    return DotMetadata.from_dict(merged, source=source)


def stored_dot(nwbfile: Any, dot_table: str, source: str) -> dict[str, Any]:
    """The dot stored in an NWB file's ``adhesive_baseline`` table, as a JSON-like dict (empty when none)."""
    table = nwbfile.intervals.get(dot_table) if nwbfile.intervals is not None else None
    if table is None or len(table) == 0:
        return {}
    where = f"{source}:{dot_table}"
    if "dot_metadata" in table.colnames:  # the JSON column of files written before the unpacked form
        text = table["dot_metadata"].data[0]
        text = text.decode() if isinstance(text, bytes) else str(text)
        return DotMetadata.from_json(text, source=where).model_dump(mode="json", exclude_none=True)
    fields = {name: _scalar(table[name].data[0]) for name in table.colnames if "." in name or name == "schema_version"}
    return from_fields(fields, source=where).model_dump(mode="json", exclude_none=True)


def _scalar(value: Any) -> Any:
    """A table cell as a plain Python value (bytes -> str, NumPy scalars -> Python)."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if hasattr(value, "item") else value


def _brain_areas(nwbfile: Any) -> list[str]:
    areas: list[str] = []
    electrodes = nwbfile.electrodes
    if electrodes is not None and "location" in electrodes.colnames:
        for value in np.asarray(electrodes["location"].data[:]):
            text = _text(value)
            if text and text.lower() not in ("unknown", "none") and text not in areas:
                areas.append(text)
    for plane in nwbfile.imaging_planes.values():
        text = _text(plane.location)
        if text and text.lower() != "unknown" and text not in areas:
            areas.append(text)
    return areas[:20]


def _indicator(nwbfile: Any) -> str | None:
    for plane in nwbfile.imaging_planes.values():
        text = _text(plane.indicator)
        if text and text.lower() != "unknown":
            return text
    return None


def _devices(nwbfile: Any) -> str | None:
    names = []
    for device in nwbfile.devices.values():
        text = _text(device.description) or _text(device.name)
        if text and text not in names:
            names.append(text)
    return "; ".join(names[:5]) or None


# -- BIDS / MNE --------------------------------------------------------------------------------
def paradigm_from_text(*texts: str | None) -> dict[str, Any]:
    """Eyes closed / eyes open wording of TaskName, TaskDescription, Instructions -> paradigm fields."""
    joined = " ".join(t for t in texts if t)
    if _EYES_CLOSED.search(joined):
        return {"name": Paradigm.HUMAN_EYES_CLOSED.value, "eyes_closed": True}
    if _EYES_OPEN.search(joined):
        return {"name": Paradigm.HUMAN_EYES_OPEN_FIXATION.value, "eyes_closed": False}
    return {}


def bids_metadata(
    *,
    source: str,
    sidecar: dict[str, Any],
    participant: dict[str, Any],
    subject: str | None,
    session: str | None,
    modality: Modality,
    fs: float,
    n_channels: int,
    dataset_name: str | None,
    stored_key: str,
    rest: bool,
) -> DotMetadata:
    """DotMetadata of a BIDS run from its sidecar, ``participants.tsv`` row and stored dot."""
    age = participant.get("age")
    age_text = None
    try:
        years = float(age)
        if np.isfinite(years) and years >= 0:
            age_text = f"P{int(years)}Y" if float(years).is_integer() else f"P{round(years * 365.25)}D"
    except (TypeError, ValueError):
        age_text = _text(age)
    hand = (_text(participant.get("handedness") or participant.get("hand")) or "").lower()
    handedness = {
        "r": "right",
        "right": "right",
        "l": "left",
        "left": "left",
        "a": "ambidextrous",
        "ambidextrous": "ambidextrous",
    }.get(hand)
    species = _text(participant.get("species")) or "Homo sapiens"  # BIDS: human unless said otherwise
    instructions = _text(sidecar.get("Instructions"))
    paradigm = paradigm_from_text(sidecar.get("TaskName"), sidecar.get("TaskDescription"), instructions)
    if species != "Homo sapiens" and "name" in paradigm:  # the eyes-open/closed paradigms are human ones
        paradigm = {"eyes_closed": paradigm["eyes_closed"]}
    if instructions:
        paradigm["instructions"] = instructions
    if sidecar.get("TaskDescription"):
        paradigm["description"] = _text(sidecar.get("TaskDescription"))
    inferred = {
        "identity": {
            "subject_id": subject,
            "session_id": session,
            "source_uri": source,
            "institution": _text(sidecar.get("InstitutionName")),
            "dataset_id": dataset_name,
        },
        "recording": {
            "modality": modality.value,
            "sampling_frequency": fs,
            "n_channels": n_channels,
            "channel_kind": f"{modality.value.upper()} channels",
            "reference": _text(sidecar.get("EEGReference") or sidecar.get("iEEGReference")),
            "apparatus": {
                "amplifier": " ".join(
                    t for t in (_text(sidecar.get("Manufacturer")), _text(sidecar.get("ManufacturersModelName"))) if t
                )
                or None
            },
            "software": _text(sidecar.get("SoftwareVersions")),
        },
        "paradigm": paradigm,
        "subject": {
            "subject_id": subject,
            "species": species,
            "sex": _sex(participant.get("sex")),
            "age": age_text,
            "handedness": handedness,
        },
    }
    duration = sidecar.get("RecordingDuration")
    if rest and isinstance(duration, int | float) and duration > 0:  # a task-rest run is one baseline
        inferred["segment"] = {"start": 0.0, "stop": float(duration), "duration": float(duration), "contiguous": True}
    base = validated(inferred, source=source).model_dump(mode="json", exclude_none=True)
    stored = sidecar.get(stored_key)
    if stored is not None:
        if isinstance(stored, str):
            stored = json.loads(stored)
        stored_meta = DotMetadata.from_dict(stored, source=f"{source}:{stored_key}")
        base = overlay(base, stored_meta.model_dump(mode="json", exclude_none=True))
    base.setdefault("identity", {})["source_uri"] = source
    return DotMetadata.from_dict(base, source=source)
