"""``adots sufficiency SOURCE...``: is the baseline long enough? ``adots diversity SOURCES...``: do baselines vary
less than task segments?"""

from __future__ import annotations

import math

import typer
from rich.table import Table

from adhesive_dots.cli._app import app, console, plain, print_json, print_notes
from adhesive_dots.cli._options import JSON_OPTION, SEED_OPTION, WINDOW_OPTION, SourceOptions, source_options
from adhesive_dots.cli._progress import source_progress


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


def _fmt(value: float, spec: str = ".3g") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


@app.command("sufficiency")
@source_options
def sufficiency_command(
    sources: list[str] = typer.Argument(None, help="A recording (one baseline), or several / a folder (a corpus)."),
    lengths: str | None = typer.Option(None, help="Sub-segment lengths in s, comma-separated (default 15..3600)."),
    target: float = typer.Option(0.8, help="Reliability (ICC) to reach."),
    tolerance: float = typer.Option(0.1, help="Relative RMS error to reach (one recording, summary features)."),
    horizon: float | None = typer.Option(None, help="Verdict horizon in s (default: the recording; corpus: 600)."),
    max_segments: int | None = typer.Option(None, help="Sub-segments per length (default 12; corpus 6 per baseline)."),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Reliability of every fingerprint feature as a function of baseline length, and the length each needs.

    Exit codes: 0 ok; 1 when sources were skipped (unreadable, no baseline, NaN samples; listed, the others
    go on); 2 when the command could not run.
    """
    from adhesive_dots.fingerprint import FingerprintParams
    from adhesive_dots.workflows.sufficiency import sufficiency_sources

    template = given.template()
    with source_progress("sufficiency", quiet=as_json) as step:
        result, notes = sufficiency_sources(
            given.require(sources),
            template=template,
            lengths=_parse_lengths(lengths),
            target=target,
            tolerance=tolerance,
            horizon_s=horizon,
            max_segments=max_segments,
            modality=template.modality,
            params=FingerprintParams(window_s=window_s),
            seed=seed,
            progress=step,
        )
    corpus = result.to_dict()["mode"] == "corpus"
    if as_json:
        print_json({**result.to_dict(), "notes": notes})
        raise typer.Exit(1 if corpus and notes else 0)
    print_notes(notes)
    info = result.to_dict()
    table = Table(title=plain(f"Sufficiency ({info['mode']}) of {info['source']}"), title_justify="left")
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
    console.print(
        "(extrapolated): beyond the observed lengths, by Spearman-Brown for reliabilities and SD ~ "
        "1/sqrt(length) for the precision; both are optimistic when the signal drifts slowly. "
        "length-dependent: the estimate still moves with length by more than the tolerance"
    )
    if info["dfa"]:
        dfa = Table(title="DFA exponent by length", title_justify="left")
        for column in ("length (s)", "longest scale (s)", "mean", "sd", "95% interval of one estimate"):
            dfa.add_column(column, justify="right")
        for row in info["dfa"]:
            dfa.add_row(
                _fmt(row["length_s"], "g"),
                _fmt(row["dfa_max_scale_s"], "g"),
                _fmt(row["exponent_mean"]),
                _fmt(row["exponent_sd"]),
                f"{_fmt(row['ci_low'])} - {_fmt(row['ci_high'])}",
            )
        console.print(dfa)
    if corpus and notes:
        raise typer.Exit(1)


@app.command("diversity")
@source_options
def diversity_command(
    sources: list[str] = typer.Argument(None, help="Recordings (or folders) with a baseline and a task interval."),
    task_label: str = typer.Option("task", help="Label of the task interval in the recordings' interval tables."),
    length: float | None = typer.Option(None, help="Segment length in s (default: the shortest baseline or task)."),
    n_boot: int = typer.Option(2000, help="Bootstrap replicates."),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Dispersion of baseline fingerprints vs task-segment fingerprints across sessions, subjects and labs."""
    from adhesive_dots.fingerprint import FingerprintParams
    from adhesive_dots.workflows.sufficiency import diversity_sources

    with source_progress("diversity", quiet=as_json) as step:
        run = diversity_sources(
            given.require(sources),
            template=given.template(),
            task_label=task_label,
            length=length,
            params=FingerprintParams(window_s=window_s),
            n_boot=n_boot,
            seed=seed,
            progress=step,
        )
    result, common = run.result, run.length_s
    if as_json:
        print_json({"segment_length_s": common, "n_sessions": run.n_sessions, **result.to_dict(), "notes": run.notes})
        if run.notes:  # sources were skipped: the result stands for the others
            raise typer.Exit(1)
        return
    print_notes(run.notes, label="skipped")
    console.print(
        f"{run.n_sessions} sessions, {common:g} s segments; dispersion ratio baseline/task = {result.ratio:.3f} "
        f"[{result.ci_low:.3f}, {result.ci_high:.3f}] "
        f"({result.confidence:.0%} bootstrap over {result.cluster or 'rows'})"
    )
    table = Table(title="Per feature (sd baseline / sd task)", title_justify="left")
    for column in ("feature", "sd baseline", "sd task", "ratio", "interval"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for row in result.per_feature.itertuples():
        table.add_row(
            row.feature,
            _fmt(row.baseline_sd),
            _fmt(row.task_sd),
            _fmt(row.ratio),
            f"{_fmt(row.ci_low)} - {_fmt(row.ci_high)}",
        )
    console.print(table)
    levels = Table(title="Between-group ratio by level", title_justify="left")
    for column in ("level", "groups", "ratio", "interval"):
        levels.add_column(column)
    for row in result.levels.itertuples():
        levels.add_row(
            plain(row.level), str(row.n_groups), _fmt(row.ratio), f"{_fmt(row.ci_low)} - {_fmt(row.ci_high)}"
        )
    console.print(levels)
    if result.dropped:
        console.print(f"left out (not finite in every fingerprint, or constant): {', '.join(result.dropped)}")
    if run.notes:
        raise typer.Exit(1)
