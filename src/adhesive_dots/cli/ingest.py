"""``adots ingest``: fill the catalog from files, folders, BIDS roots, URLs and archive ids."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adhesive_dots.cli._app import app, console, print_json
from adhesive_dots.cli.catalog import CATALOG_OPTION


@app.command()
def ingest(
    sources: list[str] = typer.Argument(..., help="Files, folders, BIDS roots, URLs, dandi:/openneuro: ids."),
    catalog: Path | None = CATALOG_OPTION,
    workers: int = typer.Option(2, "--workers", "-w", min=0, help="Local Dask worker processes (0: no Dask)."),
    scheduler: str | None = typer.Option(None, help="Existing Dask scheduler, e.g. tcp://10.0.0.5:8786."),
    min_duration: float = typer.Option(600.0, help="Shortest compliant baseline in s."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end (no progress bar)."),
) -> None:
    """Open, find baselines, validate, fingerprint and store every source (idempotent, transactional).

    Exit code 1 when any source failed (each failure is stored as a finding), 0 otherwise.
    """
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.ingest import ingest as run_ingest

    cat = Catalog(catalog)
    progress = Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [yellow]{task.fields[same]} unchanged[/] "
                   "[red]{task.fields[failed]} failed[/]"),
        TimeElapsedColumn(), console=console, disable=as_json,
    )  # fmt: skip
    task = None

    def on_progress(summary, record) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("ingest", total=summary.sources, ok=0, same=0, failed=0)
        progress.update(
            task, completed=summary.ingested + summary.unchanged + summary.failed, ok=summary.ingested,
            same=summary.unchanged, failed=summary.failed,
        )  # fmt: skip

    with progress:
        summary = run_ingest(
            sources, cat, workers=workers, scheduler=scheduler, min_duration=min_duration, on_progress=on_progress
        )
    if as_json:
        print_json(summary.to_dict())
    else:
        console.print(
            f"{summary.ingested} sources ingested ({summary.dots} dots), {summary.unchanged} unchanged, "
            f"{summary.failed} failed in {summary.seconds:.1f} s -> {cat.path}"
        )
        for failure in summary.failures:
            console.print(f"  [red]failed[/] {failure['message']}")
    if summary.failed:
        raise typer.Exit(1)
