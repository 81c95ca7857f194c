"""Finding the spontaneous segments of a recording (``find_baselines``, ``select_baseline``).

Evidence, in the order candidates are returned:

1. an explicit ``start``/``stop`` given by the user (evidence ``"user"``);
2. the ``adhesive_baseline`` table written by ``adots annotate`` or the simulator (or the
   ``AdhesiveDot`` key of a BIDS sidecar), all its rows as the pieces of one segment;
3. every other labelled interval whose label (NWB tags, a name-like column such as
   ``stimulus_name`` -- Allen-style ``stimulus_name == "spontaneous"`` rows --, an MNE
   annotation description, the BIDS ``task-rest`` marker, or the table's own name when it
   has no label column) contains a word of the vocabulary, matched case-insensitively and
   not inside a longer word. Several rows of one table with the same label form one
   segment concatenated from pieces (its gaps are reported).

The default vocabulary is :data:`SPONTANEOUS_VOCABULARY`. **``wake`` is not in it**: a
``wake`` epoch (e.g. the pynapple test file ``A8604-211122.nwb``) marks a vigilance state,
not the absence of a task -- awake animals run tasks too -- so it is reported among the
intervals found but is a candidate only when asked for::

    find_baselines(recording, vocabulary=(*SPONTANEOUS_VOCABULARY, *STATE_VOCABULARY))

When nothing qualifies, :func:`select_baseline` raises :class:`BaselineNotFoundError` whose
message lists the interval tables that exist and their labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from adhesive_dots.core import Baseline, Recording, Segment
from adhesive_dots.errors import BaselineNotFoundError, DataError, MetadataError
from adhesive_dots.metadata import DotMetadata

SPONTANEOUS_VOCABULARY: tuple[str, ...] = (
    "spontaneous",
    "rest",
    "resting",
    "resting-state",
    "resting state",
    "task-rest",
    "baseline",
    "grey screen",
    "gray screen",
    "blank",
    "blank screen",
    "task-free",
    "task free",
)
"""Words that mark an interval as spontaneous activity (the default; configurable per call)."""

STATE_VOCABULARY: tuple[str, ...] = ("wake", "awake", "quiet wakefulness")
"""Vigilance-state words, accepted only when added to the vocabulary explicitly."""

DOT_TABLE = "adhesive_baseline"


def _pattern(vocabulary: Iterable[str]) -> re.Pattern[str]:
    words = sorted({w.lower().strip() for w in vocabulary if w and w.strip()}, key=len, reverse=True)
    if not words:
        raise DataError("vocabulary is empty; give at least one word (default: SPONTANEOUS_VOCABULARY)")
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in words) + r")(?![a-z0-9])")


def find_baselines(
    recording: Recording,
    *,
    vocabulary: Iterable[str] = SPONTANEOUS_VOCABULARY,
    start: float | None = None,
    stop: float | None = None,
) -> list[Baseline]:
    """Every candidate spontaneous segment of ``recording``, best evidence first.

    Parameters
    ----------
    recording : Recording
        An opened recording (its ``intervals`` carry the evidence).
    vocabulary : iterable of str
        Words that mark spontaneous activity (see the module docs).
    start, stop : float, optional
        An explicit segment in s, given by the user; it comes first.

    Returns
    -------
    list of Baseline
        Each with its :class:`Segment` (pieces, gaps, ``evidence`` naming the table and rows)
        and the recording's metadata with the ``segment`` group filled; empty when nothing
        qualifies (use :func:`select_baseline` for an error that lists what was found).
    """
    pattern = _pattern(vocabulary)
    found: list[Baseline] = []
    if start is not None or stop is not None:
        found.append(baseline_of(recording, _user_segment(recording, start, stop)))
    intervals = recording.intervals
    dot_rows = intervals[intervals["table"] == DOT_TABLE]
    if len(dot_rows):
        pieces = _merge(sorted((float(r.start), float(r.stop)) for r in dot_rows.itertuples()))
        segment = Segment(pieces, evidence=f"{DOT_TABLE} table ({len(dot_rows)} row(s))", label=DOT_TABLE)
        found.append(baseline_of(recording, segment))
    others = intervals[intervals["table"] != DOT_TABLE]
    groups: dict[tuple[str, str], list[int]] = {}
    for position, row in zip(others.index, others.itertuples(), strict=True):
        if pattern.search(str(row.label).lower()):
            groups.setdefault((str(row.table), str(row.label)), []).append(position)
    for (table, label), positions in groups.items():
        rows = intervals.loc[positions]
        pieces = _merge(sorted((float(a), float(b)) for a, b in zip(rows["start"], rows["stop"], strict=True)))
        if any(b.segment.pieces == tuple(pieces) for b in found):
            continue
        which = f"row {positions[0]}" if len(positions) == 1 else f"rows {_ranges(positions)}"
        segment = Segment(tuple(pieces), evidence=f"{table} {which} labelled {label!r}", label=label)
        found.append(baseline_of(recording, segment))
    return found


def select_baseline(
    recording: Recording,
    *,
    vocabulary: Iterable[str] = SPONTANEOUS_VOCABULARY,
    start: float | None = None,
    stop: float | None = None,
) -> Baseline:
    """The best candidate of :func:`find_baselines`; :class:`BaselineNotFoundError` when none.

    The error message lists the interval tables of the recording with their row counts and
    labels, and says how to mark the segment (``adots annotate``) or widen the vocabulary.
    """
    vocabulary = tuple(vocabulary)
    found = find_baselines(recording, vocabulary=vocabulary, start=start, stop=stop)
    if found:
        return found[0]
    raise BaselineNotFoundError(
        f"{recording.source}: no interval marks spontaneous activity (vocabulary: {', '.join(vocabulary)}). "
        f"{describe_intervals(recording)}. Fix: mark the segment with 'adots annotate {recording.source} "
        "--start S --stop S --paradigm P', give start=/stop=, or add a word to the vocabulary "
        "(e.g. vocabulary=(*SPONTANEOUS_VOCABULARY, 'wake'))"
    )


def describe_intervals(recording: Recording, *, max_labels: int = 4) -> str:
    """One sentence listing the interval tables of ``recording`` (rows and example labels)."""
    intervals = recording.intervals
    if not len(intervals):
        return "The recording has no interval tables or annotations"
    parts = []
    for table, rows in intervals.groupby("table", sort=False):
        labels = list(dict.fromkeys(str(v) for v in rows["label"]))
        shown = ", ".join(repr(v) for v in labels[:max_labels]) + (" ..." if len(labels) > max_labels else "")
        span = f"{rows['start'].min():.1f}-{rows['stop'].max():.1f} s"
        parts.append(f"{table} ({len(rows)} row{'s' if len(rows) != 1 else ''}, {span}; labels {shown})")
    return "Interval tables found: " + "; ".join(parts)


def _user_segment(recording: Recording, start: float | None, stop: float | None) -> Segment:
    t0, t1 = recording.t0, recording.t0 + recording.duration
    begin = t0 if start is None else float(start)
    end = t1 if stop is None else float(stop)
    if not np.isfinite(begin) or not np.isfinite(end) or end <= begin:
        raise DataError(f"{recording.source}: stop ({stop} s) must be after start ({start} s)")
    tolerance = 1.0 / recording.fs
    if begin < t0 - tolerance or end > t1 + tolerance:
        raise DataError(
            f"{recording.source}: the segment {begin}-{end} s lies outside the recording ({t0:.3f}-{t1:.3f} s); "
            "give start/stop within it"
        )
    return Segment.between(begin, end, evidence="user start/stop", label="user")


def baseline_of(recording: Recording, segment: Segment) -> Baseline:
    """The baseline ``segment`` of ``recording``, its metadata's ``segment`` group filled in (start, stop,
    duration, contiguity, gaps, position in the session relative to task intervals)."""
    others = recording.intervals[
        ~((recording.intervals["start"] >= segment.start - 1e-9) & (recording.intervals["stop"] <= segment.stop + 1e-9))
    ]
    others = others[others["table"].isin(["trials", "annotations"]) | others["table"].str.contains("stim|task|trial")]
    before = bool((others["stop"] <= segment.start + 1e-9).any())
    after = bool((others["start"] >= segment.stop - 1e-9).any())
    position = {(False, True): "before-task", (True, False): "after-task", (True, True): "between-tasks"}.get(
        (before, after), "standalone"
    )
    try:
        metadata = recording.metadata.merged(
            segment={
                "start": max(segment.start, 0.0),
                "stop": segment.stop,
                "duration": segment.duration,
                "contiguous": segment.contiguous,
                "gaps": [list(g) for g in segment.gaps],
                "position": recording.metadata.segment.position.value
                if recording.metadata.segment.position is not None
                else position,
            }
        )
    except MetadataError:  # e.g. a segment starting before 0 s: keep the recording's metadata
        metadata = DotMetadata.model_validate(recording.metadata.model_dump())
    return Baseline(recording, segment, metadata)


def _merge(pieces: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    merged: list[list[float]] = []
    for a, b in pieces:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if not merged:
        raise DataError(f"no interval with stop after start among {pieces}")
    return tuple((a, b) for a, b in merged)


def _ranges(positions: list[int]) -> str:
    if len(positions) <= 4:
        return ", ".join(str(p) for p in positions)
    return f"{positions[0]}..{positions[-1]} ({len(positions)} rows)"
