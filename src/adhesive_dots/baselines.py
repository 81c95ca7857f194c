"""Finding the spontaneous segments of a recording (``find_baselines``).

A labelled interval qualifies when its label (tags, name column, annotation description)
contains a word of :data:`SPONTANEOUS_VOCABULARY`, matched case-insensitively on word
boundaries. The ``adhesive_baseline`` table written by ``adots annotate`` (or by the
simulator) is preferred over every other evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from adhesive_dots.core import Baseline, Recording, Segment

SPONTANEOUS_VOCABULARY: tuple[str, ...] = (
    "spontaneous",
    "rest",
    "resting",
    "resting-state",
    "task-rest",
    "baseline",
    "grey screen",
    "gray screen",
    "blank",
    "task-free",
)
"""Words that mark an interval as spontaneous activity (configurable per call)."""

DOT_TABLE = "adhesive_baseline"


def _pattern(vocabulary: Iterable[str]) -> re.Pattern[str]:
    words = sorted({w.lower() for w in vocabulary}, key=len, reverse=True)
    return re.compile(r"(?<![a-z])(" + "|".join(re.escape(w) for w in words) + r")(?![a-z])")


def find_baselines(recording: Recording, *, vocabulary: Iterable[str] = SPONTANEOUS_VOCABULARY) -> list[Baseline]:
    """Every candidate spontaneous segment of ``recording``, the dot table's first.

    Returns
    -------
    list of Baseline
        Each with its :class:`Segment` (``evidence`` says which table and row marked it) and
        the recording's metadata; empty when nothing qualifies.
    """
    pattern = _pattern(vocabulary)
    found: list[Baseline] = []
    intervals = recording.intervals
    dot_rows = intervals[intervals["table"] == DOT_TABLE]
    if len(dot_rows):
        pieces = tuple(sorted((float(r.start), float(r.stop)) for r in dot_rows.itertuples()))
        segment = Segment(pieces, evidence=f"{DOT_TABLE} table ({len(pieces)} row(s))", label=DOT_TABLE)
        found.append(Baseline(recording, segment, recording.metadata))
    for position, row in enumerate(intervals.itertuples()):
        if row.table == DOT_TABLE or not pattern.search(str(row.label).lower()):
            continue
        if any(b.segment.pieces == ((float(row.start), float(row.stop)),) for b in found):
            continue
        segment = Segment.between(
            float(row.start),
            float(row.stop),
            evidence=f"{row.table} row {position} labelled {row.label!r}",
            label=str(row.label),
        )
        found.append(Baseline(recording, segment, recording.metadata))
    return found
