"""``adots sufficiency SOURCE...``: is the baseline long enough? ``adots diversity SOURCES...``: do baselines vary
less than task segments?"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from adhesive_dots.cli._app import app, console, print_json


def _parse_lengths(text: str | None) -> tuple[float, ...] | None:
    from adhesive_dots.errors import DataError

    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise DataError(f"--lengths must be comma-separated seconds such as '15,30,60', got {text!r}") from err
    if not values:
        raise DataError(f"--lengths must list at least one length in s, got {text!r}")
    return values


def _items(sources: list[Path]):
    from adhesive_dots.errors import SourceNotFoundError
    from adhesive_dots.io.discover import expand_sources

    items, problems = expand_sources(sources)
    if problems and not items:
        raise SourceNotFoundError("; ".join(p.message for p in problems))
    for problem in problems:
        console.print(f"[yellow]skipped[/] {problem.message}")
    return items


def _baseline(recording, whole: bool):
    from adhesive_dots.baselines import select_baseline
    from adhesive_dots.core import Baseline, Segment

    if whole:
        segment = Segment.between(0.0, recording.duration, evidence="whole recording (--whole)")
        return Baseline(recording, segment)
    return select_baseline(recording)


def _modality(text: str):
    from adhesive_dots.errors import DataError
    from adhesive_dots.metadata import Modality

    try:
        return Modality(text.lower())
    except ValueError as err:
        allowed = ", ".join(m.value for m in Modality)
        raise DataError(f"--modality must be one of {allowed}; got {text!r}") from err


def _fmt(value: float, spec: str = ".3g") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


@app.command("sufficiency")
def sufficiency_command(
    sources: list[Path] = typer.Argument(..., help="A recording (one baseline), or several / a folder (a corpus)."),
    fs: float | None = typer.Option(None, help="Sampling rate in Hz (tables such as .npy/.csv only)."),
    whole: bool = typer.Option(False, "--whole", help="Use the whole recording as the baseline (no marked segment)."),
    lengths: str | None = typer.Option(None, help="Sub-segment lengths in s, comma-separated (default 15..3600)."),
    target: float = typer.Option(0.8, help="Reliability (ICC) to reach."),
    tolerance: float = typer.Option(0.1, help="Relative RMS error to reach (one recording, summary features)."),
    horizon: float | None = typer.Option(None, help="Verdict horizon in s (default: the recording; corpus: 600)."),
    max_segments: int | None = typer.Option(None, help="Sub-segments per length (default 12; corpus 6 per baseline)."),
    modality: str | None = typer.Option(None, help="Override the modality (e.g. lfp, eeg): chooses feature defaults."),
    seed: int = typer.Option(0, help="Seed of the fingerprints' surrogates."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Reliability of every fingerprint feature as a function of baseline length, and the length each needs."""
    from adhesive_dots.io.read import open_recording
    from adhesive_dots.sufficiency import DEFAULT_LENGTHS, compute_corpus_sufficiency, compute_sufficiency

    options = {"lengths": _parse_lengths(lengths) or DEFAULT_LENGTHS, "target": target, "rng": seed}
    if modality is not None:
        options["modality"] = _modality(modality)
    if max_segments is not None:
        options["max_segments"] = max_segments
    items = _items(sources)
    open_options = {} if fs is None else {"fs": fs}
    if len(items) == 1:
        item = items[0]
        with open_recording(item.source, **item.options, **open_options) as recording:
            baseline = _baseline(recording, whole)
            result = compute_sufficiency(baseline, tolerance=tolerance, horizon_s=horizon, **options)
    else:
        recordings = [open_recording(item.source, **item.options, **open_options) for item in items]
        try:
            baselines = [_baseline(r, whole) for r in recordings]
            result = compute_corpus_sufficiency(baselines, horizon_s=600.0 if horizon is None else horizon, **options)
        finally:
            for recording in recordings:
                recording.close()
    if as_json:
        print_json(result.to_dict())
        return
    info = result.to_dict()
    table = Table(title=f"Sufficiency ({info['mode']}) of {info['source']}", title_justify="left")
    lengths_s = info["lengths_s"]
    for column in ("feature", "basis", *[f"{v:g} s" for v in lengths_s], "needs (s)", "verdict"):
        table.add_column(column, justify="left" if column in ("feature", "basis", "verdict") else "right")
    horizon_s = info["horizon_s"]
    for row in info["features"]:
        needed = row["length_needed_s"]
        if row["status"] in ("undetermined", "length-dependent"):
            verdict = row["status"]
        elif row["within_horizon"]:
            verdict = f"stable within {horizon_s:g} s" + (" (extrapolated)" if row["extrapolated"] else "")
        else:
            verdict = f"needs more than {horizon_s:g} s" + (" (extrapolated)" if row["extrapolated"] else "")
        cells = [_fmt(row.get(f"{v:g}s"), ".2f") for v in lengths_s]
        table.add_row(row["feature"], row["basis"], *cells, _fmt(needed, ".0f"), verdict)
    console.print(
        f"target reliability {info['target']:g} (basis channels/corpus/reference), "
        f"relative RMS error <= {info['tolerance']:g}"
        f" (basis precision); {info['duration_s']:.1f} s; sub-segments per length {info['n_segments']}"
    )
    console.print(table)
    console.print("(extrapolated): beyond the observed lengths, by Spearman-Brown for reliabilities and SD ~ "
                  "1/sqrt(length) for the precision; both are optimistic when the signal drifts slowly. "
                  "length-dependent: the estimate still moves with length by more than the tolerance")  # fmt: skip
    if info["dfa"]:
        dfa = Table(title="DFA exponent by length", title_justify="left")
        for column in ("length (s)", "longest scale (s)", "mean", "sd", "95% interval of one estimate"):
            dfa.add_column(column, justify="right")
        for row in info["dfa"]:
            dfa.add_row(_fmt(row["length_s"], "g"), _fmt(row["dfa_max_scale_s"], "g"), _fmt(row["exponent_mean"]),
                        _fmt(row["exponent_sd"]), f"{_fmt(row['ci_low'])} - {_fmt(row['ci_high'])}")  # fmt: skip
        console.print(dfa)


@app.command("diversity")
def diversity_command(
    sources: list[Path] = typer.Argument(..., help="Recordings (or folders) with a baseline and a task interval."),
    task_label: str = typer.Option("task", help="Label of the task interval in the recordings' interval tables."),
    length: float | None = typer.Option(None, help="Segment length in s (default: the shortest baseline or task)."),
    n_boot: int = typer.Option(2000, help="Bootstrap replicates."),
    seed: int = typer.Option(0, help="Seed of the bootstrap and the fingerprints."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Dispersion of baseline fingerprints vs task-segment fingerprints across sessions, subjects and labs."""
    import pandas as pd

    from adhesive_dots.core import Baseline, Segment
    from adhesive_dots.errors import DataError
    from adhesive_dots.fingerprint import SUMMARY_NAMES, fingerprint
    from adhesive_dots.io.read import open_recording
    from adhesive_dots.sufficiency import compute_diversity

    pairs, groups = [], []
    recordings = []
    try:
        for item in _items(sources):
            recording = open_recording(item.source, **item.options)
            recordings.append(recording)
            baseline = _baseline(recording, False)
            rows = recording.intervals[recording.intervals["label"].astype(str).str.lower() == task_label.lower()]
            if rows.empty:
                console.print(f"[yellow]skipped[/] {item.key}: no interval labelled {task_label!r} (--task-label)")
                continue
            start, stop = float(rows.iloc[0]["start"]), float(rows.iloc[0]["stop"])
            task = Baseline(recording, Segment.between(start, stop, evidence=f"interval {task_label!r}"))
            pairs.append((baseline, task))
            ident = baseline.metadata.identity
            groups.append({"lab": ident.lab or ident.institution or "n/a",
                           "subject": f"{ident.lab}/{ident.subject_id or item.key}",
                           "session": f"{ident.subject_id}/{ident.session_id or item.key}"})  # fmt: skip
        if len(pairs) < 3:
            raise DataError(f"diversity needs at least 3 recordings with a baseline and a {task_label!r} interval, "
                            f"found {len(pairs)}; check --task-label")  # fmt: skip
        common = min(min(b.duration, t.duration) for b, t in pairs) if length is None else float(length)
        features = {"baseline": [], "task": []}
        for baseline, task in pairs:
            for kind, dot in (("baseline", baseline), ("task", task)):
                if dot.duration < common:
                    raise DataError(f"{dot.source}: {kind} is {dot.duration:.1f} s, shorter than --length {common:g}")
                piece = Segment.between(dot.segment.start, dot.segment.start + common, evidence=dot.segment.evidence)
                cropped = Baseline(dot.recording, piece, dot.metadata)
                features[kind].append(fingerprint(cropped, rng=seed).summary_vector())
    finally:
        for recording in recordings:
            recording.close()
    result = compute_diversity(
        pd.DataFrame(np.array(features["baseline"]), columns=list(SUMMARY_NAMES)),
        pd.DataFrame(np.array(features["task"]), columns=list(SUMMARY_NAMES)),
        groups=pd.DataFrame(groups), n_boot=n_boot, rng=seed,
    )  # fmt: skip
    if as_json:
        print_json({"segment_length_s": common, **result.to_dict()})
        return
    console.print(
        f"{len(pairs)} sessions, {common:g} s segments; dispersion ratio baseline/task = {result.ratio:.3f} "
        f"[{result.ci_low:.3f}, {result.ci_high:.3f}] "
        f"({result.confidence:.0%} bootstrap over {result.cluster or 'rows'})"
    )
    table = Table(title="Per feature (sd baseline / sd task)", title_justify="left")
    for column in ("feature", "sd baseline", "sd task", "ratio", "interval"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for row in result.per_feature.itertuples():
        table.add_row(row.feature, _fmt(row.baseline_sd), _fmt(row.task_sd), _fmt(row.ratio),
                      f"{_fmt(row.ci_low)} - {_fmt(row.ci_high)}")  # fmt: skip
    console.print(table)
    levels = Table(title="Between-group ratio by level", title_justify="left")
    for column in ("level", "groups", "ratio", "interval"):
        levels.add_column(column)
    for row in result.levels.itertuples():
        levels.add_row(row.level, str(row.n_groups), _fmt(row.ratio), f"{_fmt(row.ci_low)} - {_fmt(row.ci_high)}")
    console.print(levels)
    if result.dropped:
        console.print(f"left out (not finite in every fingerprint, or constant): {', '.join(result.dropped)}")
