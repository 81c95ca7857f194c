"""``adots inspect SOURCE``: what a recording holds and where its baselines are."""

from __future__ import annotations

import pandas as pd
import typer
from rich.table import Table

from adhesive_dots.cli._app import app, console, print_json
from adhesive_dots.cli.demo import render_frame


@app.command()
def inspect(
    source: str = typer.Argument(..., help="NWB file, URL, dandi:/openneuro: id, BIDS root, raw file or table."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    subject: str | None = typer.Option(None, help="BIDS subject (without 'sub-')."),
    session: str | None = typer.Option(None, help="BIDS session."),
    task: str | None = typer.Option(None, help="BIDS task (default: rest)."),
    run: str | None = typer.Option(None, help="BIDS run."),
    acquisition: str | None = typer.Option(None, help="BIDS acquisition."),
    series: str | None = typer.Option(None, help="NWB series to read ('units' for the Units table)."),
    units_bin_width: float | None = typer.Option(
        None, "--units-bin-width", help="Bin spike times at this width (s); needed when a file holds only Units."
    ),
    fs: float | None = typer.Option(None, "--fs", help="Sampling rate (Hz) of a plain table (TSV/CSV/NPY)."),
    also: list[str] = typer.Option([], "--also", help="Extra word marking spontaneous intervals (e.g. wake)."),
) -> None:
    """Summarise SOURCE: modality, channels, rate, duration, metadata and candidate baselines."""
    from adhesive_dots.baselines import SPONTANEOUS_VOCABULARY
    from adhesive_dots.io.inspect import inspect_source

    options = {
        "subject": subject,
        "session": session,
        "task": task,
        "run": run,
        "acquisition": acquisition,
        "series": series,
        "units_bin_width": units_bin_width,
        "fs": fs,
    }
    summary = inspect_source(
        source, vocabulary=(*SPONTANEOUS_VOCABULARY, *also), **{k: v for k, v in options.items() if v is not None}
    )
    if json_out:
        print_json(summary)
        return
    _render(summary)


def _render(summary: dict) -> None:
    table = Table(title=f"[bold]{summary['source']}[/]", title_justify="left", show_header=False)
    table.add_column("field", style="dim")
    table.add_column("value")
    table.add_row("modality", summary["modality"])
    channels = ", ".join(summary["channels"]) + (" ..." if summary["n_channels"] > len(summary["channels"]) else "")
    table.add_row("channels", f"{summary['n_channels']} ({channels})")
    table.add_row("sampling rate", f"{summary['fs_hz']:g} Hz")
    table.add_row("duration", f"{summary['duration_s']:.1f} s (from {summary['t0_s']:.3f} s)")
    table.add_row("units", summary["units"] or "-")
    if summary["spikes"]:
        table.add_row("spike times", f"{summary['spikes']['n_units']} units, {summary['spikes']['n_spikes']} spikes")
    probe = summary["probe"]
    if probe["min"] is not None:
        table.add_row(
            "first samples",
            f"{probe['seconds']:.1f} s: {probe['min']:.3g} .. {probe['max']:.3g}, "
            f"{100 * probe['nan_fraction']:.1f} % NaN",
        )
    for name, signal in summary["signals"].items():
        table.add_row(f"signal {name}", f"{signal['fs_hz']:g} Hz, {signal['duration_s']:.1f} s, {signal['units']}")
    meta = summary["metadata"]
    for group in ("identity", "subject", "paradigm", "recording"):
        values = {k: v for k, v in meta.get(group, {}).items() if v not in ([], {}, None) and k != "source_uri"}
        if values:
            table.add_row(f"metadata {group}", ", ".join(f"{k}={v}" for k, v in values.items()))
    console.print(table)
    if summary["intervals"]:
        frame = pd.DataFrame(summary["intervals"])
        frame["labels"] = frame["labels"].map(lambda v: ", ".join(v[:4]) + (" ..." if len(v) > 4 else ""))
        console.print(render_frame(frame, "Interval tables"))
    if summary["baselines"]:
        frame = pd.DataFrame(summary["baselines"])[["start_s", "stop_s", "duration_s", "contiguous", "evidence"]]
        console.print(render_frame(frame, "Candidate baselines (best first)"))
    else:
        console.print(f"[yellow]no candidate baseline:[/] {summary['no_baseline']}")
