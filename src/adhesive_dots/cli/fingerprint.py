"""``adots fingerprint SOURCE -o out.nc``: the fingerprint of a recording's baseline."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adhesive_dots.cli._app import app, console, print_json


@app.command("fingerprint")
def fingerprint_command(
    source: Path = typer.Argument(..., help="An NWB file or a BIDS folder."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the fingerprint to this NetCDF file."),
    subject: str | None = typer.Option(None, help="BIDS subject (BIDS sources only)."),
    session: str | None = typer.Option(None, help="BIDS session (BIDS sources only)."),
    task: str | None = typer.Option(None, help="BIDS task (BIDS sources only; default 'rest')."),
    seed: int = typer.Option(0, help="Seed of the surrogates and channel subsets."),
    stream: bool | None = typer.Option(
        None,
        "--stream/--in-memory",
        help="Read the segment in channel blocks (memory bounded, for very many channels) or load it whole; "
        "default: stream when the segment's samples would take more than --max-memory.",
    ),
    max_memory: float = typer.Option(2.0, "--max-memory", help="GB of float64 samples above which to stream."),
    threads: int = typer.Option(2, help="Channel blocks fingerprinted at once when streaming."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Fingerprint the first baseline found in SOURCE (spectra, 1/f, LRTC, correlations, dynamics)."""
    from adhesive_dots.baselines import find_baselines
    from adhesive_dots.errors import BaselineNotFoundError, DataError
    from adhesive_dots.fingerprint import SUMMARY_FIELDS, fingerprint
    from adhesive_dots.io.read import open_recording

    if out is not None and out.exists() and not overwrite:
        raise DataError(f"{out}: file exists; pass --overwrite to replace it")
    options = {k: v for k, v in {"subject": subject, "session": session, "task": task}.items() if v is not None}
    with open_recording(source, **options) as recording:
        baselines = find_baselines(recording)
        if not baselines:
            raise BaselineNotFoundError(
                f"{source}: no interval marks spontaneous activity; annotate the baseline first "
                "(an 'adhesive_baseline' table, or an interval labelled e.g. 'spontaneous' or 'rest')"
            )
        baseline = baselines[0]
        n_bytes = 8 * len(baseline.channel_names) * baseline.segment.duration * baseline.fs
        if stream or (stream is None and n_bytes > max_memory * 1e9):
            result = _fingerprint_streaming(baseline, seed=seed, threads=threads, quiet=as_json)
        else:
            result = fingerprint(baseline, rng=seed)
    if out is not None:
        result.to_netcdf(out, overwrite=overwrite)
    summary = result.summary_dict()
    attrs = result.dataset.attrs
    if as_json:
        print_json(
            {
                "source": attrs["source"],
                "modality": attrs["modality"],
                "n_channels": int(result.dataset.sizes["channel"]),
                "fs": attrs["fs"],
                "duration_s": attrs["duration_s"],
                "segment": baseline.segment.pieces,
                "out": str(out) if out is not None else None,
                "summary": {k: (None if math.isnan(v) else v) for k, v in summary.items()},
            }
        )
        return
    table = Table(title=f"Fingerprint of {attrs['source']}", title_justify="left")
    for column in ("feature", "value", "unit"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for name, unit, _ in SUMMARY_FIELDS:
        value = summary[name]
        table.add_row(name, "n/a" if math.isnan(value) else f"{value:.3g}", unit)
    console.print(
        f"{attrs['modality']}, {result.dataset.sizes['channel']} channels at {attrs['fs']:g} Hz, "
        f"baseline {baseline.segment.start:.1f}-{baseline.segment.stop:.1f} s ({baseline.segment.evidence})"
    )
    console.print(table)
    if out is not None:
        console.print(f"written to {out}")


def _fingerprint_streaming(baseline, *, seed: int, threads: int, quiet: bool):
    """:func:`~adhesive_dots.fingerprint.streaming.fingerprint_streaming` with a progress bar over channel blocks."""
    from adhesive_dots.fingerprint.streaming import fingerprint_streaming

    progress = Progress(
        TextColumn("[bold]fingerprint (streamed)"), BarColumn(), MofNCompleteColumn(), TextColumn("channel blocks"),
        TimeElapsedColumn(), console=console, disable=quiet,
    )  # fmt: skip
    task = progress.add_task("blocks", total=None)
    with progress:
        return fingerprint_streaming(
            baseline, threads=threads, rng=seed,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip
