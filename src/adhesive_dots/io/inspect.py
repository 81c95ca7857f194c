"""A summary of a source for people and scripts (``adots inspect``).

:func:`inspect_source` opens the source, reads a short probe of samples (at most
``probe_seconds`` from the start, to show value ranges and catch an all-NaN series), finds the
candidate baselines and returns a JSON-compatible dict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from adhesive_dots.baselines import SPONTANEOUS_VOCABULARY, describe_intervals, find_baselines
from adhesive_dots.core import Recording
from adhesive_dots.io.read import open_recording


def inspect_source(
    source: str,
    *,
    vocabulary: Iterable[str] = SPONTANEOUS_VOCABULARY,
    probe_seconds: float = 10.0,
    **options: Any,
) -> dict[str, Any]:
    """Open ``source`` and describe it.

    Returns
    -------
    dict
        ``source``, ``modality``, ``n_channels``, ``channels`` (first 10), ``fs_hz``,
        ``duration_s``, ``t0_s``, ``units``, ``spikes`` (units and spike counts, if any),
        ``signals`` (auxiliary series), ``intervals`` (per table), ``metadata`` (what the
        source says, DotMetadata as JSON), ``probe`` (min/max/NaN fraction of the first
        ``probe_seconds``), ``baselines`` (candidates with start, stop, duration,
        contiguous, gaps, evidence) and ``no_baseline`` (why none, when none).
    """
    vocabulary = tuple(vocabulary)
    with open_recording(source, **options) as recording:
        return describe(recording, vocabulary=vocabulary, probe_seconds=probe_seconds)


def describe(
    recording: Recording, *, vocabulary: Iterable[str] = SPONTANEOUS_VOCABULARY, probe_seconds: float = 10.0
) -> dict[str, Any]:
    """The summary of an opened recording (see :func:`inspect_source`)."""
    vocabulary = tuple(vocabulary)
    probe = recording.read(recording.t0, recording.t0 + min(probe_seconds, recording.duration))
    finite = probe[np.isfinite(probe)]
    candidates = find_baselines(recording, vocabulary=vocabulary)
    tables = []
    for table, rows in recording.intervals.groupby("table", sort=False):
        tables.append(
            {
                "table": str(table),
                "rows": int(len(rows)),
                "start_s": float(rows["start"].min()),
                "stop_s": float(rows["stop"].max()),
                "labels": list(dict.fromkeys(str(v) for v in rows["label"]))[:10],
            }
        )
    spikes = recording.spikes
    summary: dict[str, Any] = {
        "source": recording.source,
        "modality": recording.modality.value,
        "n_channels": recording.n_channels,
        "channels": list(recording.channel_names[:10]),
        "fs_hz": recording.fs,
        "duration_s": recording.duration,
        "t0_s": recording.t0,
        "units": recording.units,
        "spikes": None if spikes is None else {"n_units": spikes.n_units, "n_spikes": spikes.n_spikes},
        "signals": {
            name: {"fs_hz": s.fs, "duration_s": s.duration, "units": s.units, "source": s.source}
            for name, s in recording.signals.items()
        },
        "intervals": tables,
        "metadata": recording.metadata.model_dump(mode="json", exclude_none=True),
        "probe": {
            "seconds": probe.shape[-1] / recording.fs,
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None,
            "nan_fraction": float(1 - finite.size / probe.size) if probe.size else 0.0,
        },
        "vocabulary": list(vocabulary),
        "baselines": [
            {
                "start_s": b.segment.start,
                "stop_s": b.segment.stop,
                "duration_s": b.segment.duration,
                "contiguous": b.segment.contiguous,
                "gaps": [list(g) for g in b.segment.gaps],
                "evidence": b.segment.evidence,
                "label": b.segment.label,
            }
            for b in candidates
        ],
        "no_baseline": None,
    }
    if not candidates:
        summary["no_baseline"] = (
            f"no interval marks spontaneous activity (vocabulary: {', '.join(vocabulary)}). "
            f"{describe_intervals(recording)}"
        )
    return summary
