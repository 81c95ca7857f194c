"""``adots report TARGET... -o report.html``: a self-contained HTML report of a dot, a comparison or a catalog."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, print_json


@app.command("report")
def report_command(
    targets: list[str] = typer.Argument(
        ..., help="One source (dot report), two sources (comparison, b - a) or a catalog file (*.duckdb)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write."),
    title: str | None = typer.Option(None, help="Page title."),
    label: list[str] = typer.Option([], "--label", help="Extra interval label marking the baseline (repeatable)."),
    start: float | None = typer.Option(None, help="Baseline start in s (an explicit segment)."),
    stop: float | None = typer.Option(None, help="Baseline stop in s (an explicit segment)."),
    subject: str | None = typer.Option(None, help="BIDS subject (BIDS sources only)."),
    session: str | None = typer.Option(None, help="BIDS session (BIDS sources only)."),
    task: str | None = typer.Option(None, help="BIDS task (BIDS sources only)."),
    window: float | None = typer.Option(None, "--window", help="State-trajectory window in s (default 30 s)."),
    seed: int = typer.Option(0, help="Seed of the fingerprints and of the bootstrap."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates of a comparison."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write one HTML file with embedded figures (opens from disk, no network)."""
    from adhesive_dots.report import report_kind, write_report

    kind = report_kind(targets)
    path = write_report(targets, out, title=title, labels=label, start=start, stop=stop, subject=subject,
                        session=session, task=task, window_s=window, seed=seed, n_boot=n_boot,
                        overwrite=overwrite)  # fmt: skip
    if as_json:
        print_json({"kind": kind, "out": str(path), "bytes": path.stat().st_size})
        return
    console.print(f"{kind} report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
