"""``adots fingerprint SOURCE -o out.nc``: the fingerprint of a recording's baseline."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adhesive_dots.cli._app import app, console, plain, print_json, print_notes
from adhesive_dots.cli._options import (
    JSON_OPTION,
    OVERWRITE_OPTION,
    SEED_OPTION,
    WINDOW_OPTION,
    SourceOptions,
    out_option,
    source_options,
)


@app.command("fingerprint")
@source_options
def fingerprint_command(
    source: str | None = typer.Argument(
        None, help="One recording: a file, a BIDS run (or a root narrowed to one), a URL (or --sources-from)."
    ),
    out: Path | None = out_option("Write the fingerprint to this NetCDF file."),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    stream: bool | None = typer.Option(
        None,
        "--stream/--in-memory",
        help="Read the segment in channel blocks (memory bounded, for very many channels) or load it whole; "
        "default: stream when the segment's samples would take more than --max-memory.",
    ),
    max_memory: float = typer.Option(2.0, "--max-memory", help="GB of float64 samples above which to stream."),
    threads: int = typer.Option(2, help="Channel blocks fingerprinted at once when streaming."),
    overwrite: bool = OVERWRITE_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Fingerprint the baseline of SOURCE (spectra, 1/f, LRTC, correlations, dynamics)."""
    from adhesive_dots.fingerprint import SUMMARY_FIELDS, FingerprintParams
    from adhesive_dots.workflows.fingerprint import fingerprint_source

    progress = Progress(
        TextColumn("[bold]fingerprint (streamed)"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("channel blocks"),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
    )
    task = progress.add_task("blocks", total=None, visible=False)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total, visible=True)

    with progress:
        run = fingerprint_source(
            given.one(source),
            template=given.template(),
            out=out,
            overwrite=overwrite,
            params=FingerprintParams(window_s=window_s),
            seed=seed,
            stream=stream,
            max_memory=max_memory,
            threads=threads,
            progress=advance,
        )
    if as_json:
        print_json(run.to_dict())
        return
    info = run.to_dict()
    summary = info["summary"]
    table = Table(title=plain(f"Fingerprint of {info['source']}"), title_justify="left")
    for column in ("feature", "value", "unit"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for name, unit, _ in SUMMARY_FIELDS:
        value = summary[name]
        table.add_row(name, "–" if value is None or math.isnan(value) else f"{value:.3g}", unit)
    (start, _), (_, stop) = run.segment[0], run.segment[-1]
    console.print(
        plain(
            f"{info['modality']}, {info['n_channels']} channels at {info['fs']:g} Hz, "
            f"baseline {start:.1f}-{stop:.1f} s ({run.evidence}); {info['parameters']['window_s']:g} s windows"
        )
    )
    console.print(table)
    print_notes(run.notes)
    if out is not None:
        console.print(plain(f"written to {out}"))
