"""``adots ingest``: fill the catalog from files, folders, BIDS roots, URLs and archive ids."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from adhesive_dots.cli._app import app, console, plain, print_json
from adhesive_dots.cli._options import (
    CONFIG_OPTION,
    JSON_OPTION,
    SEED_OPTION,
    WINDOW_OPTION,
    SourceOptions,
    source_options,
)
from adhesive_dots.cli._progress import make_progress
from adhesive_dots.cli.catalog import CATALOG_OPTION


@app.command()
@source_options
def ingest(
    sources: list[str] = typer.Argument(
        None, help="Files, folders, BIDS roots, globs, URLs, dandi:/openneuro: ids (or --sources-from)."
    ),
    catalog: Path | None = CATALOG_OPTION,
    workers: int = typer.Option(2, "--workers", "-w", min=0, help="Local Dask worker processes (0: no Dask)."),
    scheduler: str | None = typer.Option(None, help="Existing Dask scheduler, e.g. tcp://10.0.0.5:8786."),
    min_duration: float = typer.Option(600.0, help="Shortest compliant baseline in s."),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    config: Path | None = CONFIG_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Open, find baselines, validate, fingerprint, score quality and store every source (idempotent, transactional).

    Exit codes: 0 ok; 1 when a source failed or holds no baseline (each is stored as a finding, with
    the same severity as in validate, and the others go on); 2 when the command could not run.
    """
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.fingerprint import FingerprintParams
    from adhesive_dots.io.config import read_config
    from adhesive_dots.workflows.ingest import ingest as run_ingest

    settings = read_config(config)

    cat = Catalog(catalog)
    progress = make_progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "[green]{task.fields[ok]} ok[/] [yellow]{task.fields[same]} unchanged[/] "
            "[red]{task.fields[failed]} failed[/]"
        ),
        TimeElapsedColumn(),
        quiet=as_json,
    )
    task = None

    def on_progress(summary, record) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("ingest", total=summary.sources, ok=0, same=0, failed=0)
        progress.update(
            task,
            completed=summary.ingested + summary.unchanged + summary.failed,
            ok=summary.ingested,
            same=summary.unchanged,
            failed=summary.failed,
        )

    with progress:
        summary = run_ingest(
            given.require(sources),
            cat,
            template=given.template(),
            workers=workers,
            scheduler=scheduler,
            min_duration=min_duration,
            params=FingerprintParams(window_s=window_s),
            seed=seed,
            thresholds=settings.thresholds,
            quality_config=settings.quality,
            on_progress=on_progress,
        )
    if as_json:
        print_json(summary.to_dict())
    else:
        console.print(
            plain(
                f"{summary.ingested} sources ingested ({summary.dots} dots), {summary.unchanged} unchanged, "
                f"{summary.failed} failed, {summary.no_baseline} without a baseline "
                f"in {summary.seconds:.1f} s -> {cat.path}"
            )
        )
        for failure in summary.failures:
            console.print("  [red]skipped[/]", plain(failure["message"]))
    if summary.failed or summary.no_baseline:
        raise typer.Exit(1)
