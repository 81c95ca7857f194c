"""``adots compare A B``, ``adots effects``, ``adots predict``, ``adots identify``.

* ``compare A B``: are two baselines different beyond their own variability? (table or ``--json``)
* ``effects SOURCES...``: each session's task effects in baseline units (z); with ``--adjust-for``,
  naive and baseline-adjusted differences between task labels across sessions.
* ``predict SOURCES...``: ridge from baseline features to each task label's effect, leave-one-subject-out,
  against the group-mean model, with individual specificity.
* ``identify SOURCES...``: identify each subject's second session among all first sessions (or, with
  ``--halves``, each session's second half among all first halves); accuracy against chance 1/n.

SOURCES are any sources (files, folders searched recursively, BIDS roots: each resting run; pass
``--task-run`` to name the BIDS task whose annotations are the task segments), read with the shared
source options.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import typer

from adhesive_dots.cli._app import app, console, print_json, print_notes, render_frame
from adhesive_dots.cli._options import (
    JSON_OPTION,
    SEED_OPTION,
    WINDOW_OPTION,
    SourceOptions,
    dot_targets,
    source_options,
)
from adhesive_dots.cli._progress import source_progress
from adhesive_dots.cli.catalog import CATALOG_OPTION


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _notes(notes: list[str]) -> None:
    print_notes(notes, label="skipped")


@contextlib.contextmanager
def _skipped_in_errors(notes: list[str]):
    """An analysis that cannot run says which sources were skipped and why (they may be the reason)."""
    from adhesive_dots.errors import DataError

    try:
        yield
    except DataError as err:
        if not notes:
            raise
        raise DataError(f"{err}; skipped: {'; '.join(notes)}") from None


def _exit_for(notes: list[str]) -> None:
    """Exit 1 when sources were skipped (the result stands for the others); see the exit-code rule."""
    if notes:
        raise typer.Exit(1)


def _params(window_s: float | None):
    from adhesive_dots.fingerprint import FingerprintParams

    return FingerprintParams(window_s=window_s)


@app.command("compare")
@source_options
def compare_command(
    a: str | None = typer.Argument(
        None, help="Baseline A: a recording (any source), a .nc fingerprint, or a catalog dot id (or unique prefix)."
    ),
    b: str | None = typer.Argument(None, help="Baseline B (as A); A and B may instead be two rows of --sources-from."),
    window_s: float | None = WINDOW_OPTION,
    n_boot: int = typer.Option(1000, "--n-boot", help="Block-bootstrap replicates."),
    seed: int = SEED_OPTION,
    catalog: Path | None = CATALOG_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Compare two baselines: per-feature differences (block-bootstrap CIs), distances, and a verdict.

    Exit codes: 0 ok; 2 when the command could not run (a source unreadable, an unknown or ambiguous dot id).
    """
    from adhesive_dots.workflows.compare import as_jsonable, compare_sources

    first, second = dot_targets(given.pair([x for x in (a, b) if x is not None]), catalog)
    with source_progress("compare", quiet=as_json) as step:
        step("fingerprinting both baselines and bootstrapping")
        result, labels = compare_sources(
            first, second, template=given.template(), params=_params(window_s), n_boot=n_boot, seed=seed
        )
    if as_json:
        print_json(as_jsonable({"a": labels[0], "b": labels[1], **result.to_dict()}))
        return
    table = result.features[["feature", "value_a", "value_b", "difference", "ci_low", "ci_high", "z", "flagged"]]
    console.print(render_frame(table, f"A = {labels[0]}\nB = {labels[1]}"))
    null95 = result.to_dict()["energy_null_q95"]
    console.print(
        f"energy distance {result.energy_distance:.3g} (permutation null 95%: {null95:.3g}, p = {result.energy_p:.3g})"
    )
    if result.riemann_null.size:
        n_channels = len(result.parameters["channels"])
        console.print(
            f"Riemannian distance {result.riemann_distance:.3g} on {n_channels} matched channels "
            f"(permutation null 95%: {np.quantile(result.riemann_null, 0.95):.3g}, p = {result.riemann_p:.3g})"
        )
    console.print(
        f"verdict: [bold]{result.verdict}[/]" + (f" (flagged: {', '.join(result.flagged)})" if result.flagged else "")
    )


@app.command("effects")
@source_options
def effects_command(
    sources: list[str] = typer.Argument(None, help="Recordings, folders, BIDS roots (or --sources-from)."),
    task_run: str = typer.Option(None, "--task-run", help="BIDS task of the task run (e.g. 'visual')."),
    labels: list[str] = typer.Option(
        None, "--labels", help="Interval labels that are task segments (comma-separated)."
    ),
    feature: str = typer.Option("log_power_alpha", "--feature", help="Window feature shown (and compared)."),
    adjust_for: list[str] = typer.Option(
        None,
        "--adjust-for",
        help="Baseline summary features: also compare labels across sessions, "
        "naive and adjusted for these (comma-separated).",
    ),
    window_s: float | None = WINDOW_OPTION,
    n_boot: int = typer.Option(500, "--n-boot", help="Bootstrap replicates of the CIs."),
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Task effects in baseline units: change of each feature per task segment, z against the baseline windows.

    Exit codes: 0 ok; 1 when sources were skipped (listed; the others go on); 2 when the command could not
    run (no task effect computable from any source).
    """
    from adhesive_dots.workflows.compare import as_jsonable, compare_effects_sources, effects_frame, session_records

    label_list = _split(labels)
    with source_progress("effects", quiet=as_json) as step:
        records, notes = session_records(
            given.require(sources),
            template=given.template(),
            task_run=task_run,
            labels=label_list,
            n_boot=n_boot,
            seed=seed,
            summary=bool(adjust_for),
            params=_params(window_s),
            progress=step,
        )
    notes += [f"{r.key}: {r.note}" for r in records if r.note]
    if all(r.effects is None for r in records):  # nothing computable: the command could not run (exit 2)
        from adhesive_dots.errors import DataError

        raise DataError(
            "no task effect could be computed from any source"
            + (f": {'; '.join(notes)}" if notes else "")
            + " (name the task segments with --labels, or the task run with --task-run)"
        )
    if not as_json:
        _notes(notes)
    comparison = None
    if adjust_for:
        with _skipped_in_errors(notes):
            comparison = compare_effects_sources(
                records, feature=feature, covariates=_split(adjust_for), labels=label_list
            )
    if as_json:
        payload = {
            "sessions": [
                {
                    "source": r.key,
                    "subject": r.subject,
                    "session": r.session,
                    "note": r.note,
                    "effects": None if r.effects is None else r.effects.table.to_dict("records"),
                }
                for r in records
            ],
            "skipped": notes,
        }
        if comparison is not None:
            payload["comparison"] = {
                "table": comparison.table.to_dict("records"),
                "explained": comparison.explained,
                "covariates": comparison.covariates,
            }
        print_json(as_jsonable(payload))
        _exit_for(notes)
        return
    frame = effects_frame(records, feature=feature)
    if frame.empty:
        console.print("no task effects computed")
    else:
        shown = frame[["subject", "session", "label", "n_segments", "window_s", "delta", "z", "ci_low", "ci_high"]]
        console.print(render_frame(shown, f"Task effects of {feature} in baseline units (z = delta / baseline sd)"))
    if comparison is not None:
        console.print(render_frame(comparison.table, "Across sessions: naive and baseline-adjusted differences"))
        for contrast, value in comparison.explained.items():
            console.print(f"{contrast}: {value:.3g} of the naive difference is carried by the baseline features")
    _exit_for(notes)


@app.command("predict")
@source_options
def predict_command(
    sources: list[str] = typer.Argument(None, help="Recordings, folders, BIDS roots (at least 4 subjects)."),
    task_run: str = typer.Option(None, "--task-run", help="BIDS task of the task run (e.g. 'visual')."),
    labels: list[str] = typer.Option(None, "--labels", help="Task labels to predict (comma-separated)."),
    feature: str = typer.Option("log_power_alpha", "--feature", help="Window feature whose task effect is predicted."),
    features: list[str] = typer.Option(None, "--features", help="Baseline summary features (default: all finite)."),
    n_perm: int = typer.Option(200, "--n-perm", help="Permutations of the p-values."),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Rest -> task: ridge from baseline features to task effects, leave-one-subject-out, vs the group mean."""
    from adhesive_dots.workflows.compare import as_jsonable, predict_sources, session_records

    label_list = _split(labels)
    with source_progress("predict", quiet=as_json) as step:
        records, notes = session_records(
            given.require(sources),
            template=given.template(),
            task_run=task_run,
            labels=label_list,
            n_boot=50,
            seed=seed,
            params=_params(window_s),
            progress=step,
        )
    if not as_json:
        _notes(notes)
    with _skipped_in_errors(notes):
        result = predict_sources(
            records, feature=feature, features=_split(features), labels=label_list, n_perm=n_perm, seed=seed
        )
    if as_json:
        print_json(
            as_jsonable(
                {
                    "table": result.table.to_dict("records"),
                    "specificity": result.specificity,
                    "specificity_p": result.specificity_p,
                    "top1": result.top1,
                    "chance_top1": result.chance_top1,
                    "beats_group_mean": result.beats_group_mean,
                    "specific": result.specific,
                    "parameters": result.parameters,
                    "skipped": notes,
                }
            )
        )
        _exit_for(notes)
        return
    console.print(
        render_frame(result.table, "Rest -> task (leave-one-subject-out ridge; skill > 0 beats the group mean)")
    )
    console.print(
        f"individual specificity {result.specificity:.3g} (chance 0.5, p = {result.specificity_p:.3g}); "
        f"top-1 {result.top1:.3g} (chance {result.chance_top1:.3g})"
    )
    _exit_for(notes)


@app.command("identify")
@source_options
def identify_command(
    sources: list[str] = typer.Argument(None, help="Recordings, folders, BIDS roots (two sessions per subject)."),
    halves: bool = typer.Option(False, "--halves", help="Use the two halves of each baseline instead of two sessions."),
    features: list[str] = typer.Option(None, "--features", help="Baseline summary features (default: all)."),
    metric: str = typer.Option("correlation", "--metric", help="'correlation' (many features) or 'euclidean'."),
    method: str = typer.Option(
        "auto",
        "--method",
        help="'summary' (summary vectors), 'fc' (FC edge correlation, Finn et al. 2015: fMRI), or 'auto' (fc when "
        "every fingerprint has an FC matrix).",
    ),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Identify subjects from their baselines (connectome fingerprinting); accuracy against chance.

    The subject of each source comes from its metadata (BIDS sub-, NWB subject id, --subject, a subject column
    of --sources-from), never from its file name."""
    from adhesive_dots.workflows.compare import as_jsonable, identify_sources, session_records

    with source_progress("identify", quiet=as_json) as step:
        records, notes = session_records(
            given.require(sources),
            template=given.template(),
            effects=False,
            summary=not halves,
            halves=halves,
            seed=seed,
            params=_params(window_s),
            progress=step,
        )
    if not as_json:
        _notes(notes)
    with _skipped_in_errors(notes):
        result = identify_sources(records, features=_split(features), halves=halves, metric=metric, method=method)
    if as_json:
        print_json(
            as_jsonable(
                {
                    "accuracy": result.accuracy,
                    "chance": result.chance,
                    "p": result.p,
                    "matches": result.matches.to_dict("records"),
                    "features": result.features,
                    "skipped": notes,
                }
            )
        )
        _exit_for(notes)
        return
    console.print(render_frame(result.matches, "Identification"))
    console.print(
        f"accuracy {result.accuracy:.3g} (chance {result.chance:.3g}, binomial p = {result.p:.3g}) "
        f"on {len(result.features)} features{' (FC edges)' if any('~' in f for f in result.features) else ''}"
    )
    _exit_for(notes)
