"""``adots inspect SOURCE``: what a recording, a BIDS dataset or a folder holds, and where the baselines are."""

from __future__ import annotations

import pandas as pd
import typer
from rich.table import Table

from adhesive_dots.cli._app import app, console, plain, print_json, print_notes, render_frame
from adhesive_dots.cli._options import JSON_OPTION, SourceOptions, source_options


@app.command()
@source_options
def inspect(
    source: str | None = typer.Argument(
        None, help="A file (NWB, EDF/BDF/FIF/BrainVision/EEGLAB, TSV/CSV/NPY), a folder, a BIDS root, a URL."
    ),
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Describe SOURCE: a recording (modality, channels, rate, metadata, candidate baselines), a BIDS dataset
    (subjects, tasks, runs with durations and whether their data are present) or a folder (its recordings)."""
    from adhesive_dots.workflows.inspect import inspect_target

    summary = inspect_target(given.one(source), template=given.template())
    if as_json:
        print_json(summary)
        return
    render = {"recording": _render_recording, "bold-volume": _render_volume, "bids-dataset": _render_bids}
    render.get(summary["kind"], _render_folder)(summary)


def _render_recording(summary: dict) -> None:
    table = Table(title=plain(summary["source"]), title_justify="left", show_header=False)
    table.add_column("field", style="dim")
    table.add_column("value")
    rows = [("modality", summary["modality"])]
    if summary["spikes_only"]:
        spikes = summary["spikes"]
        rows.append(("data", f"spike times of {spikes['n_units']} units ({spikes['n_spikes']} spikes); no bin width"))
        rows.append(("span", f"{summary['duration_s']:.1f} s"))
    else:
        channels = ", ".join(summary["channels"]) + (" ..." if summary["n_channels"] > len(summary["channels"]) else "")
        rows.append(("channels", f"{summary['n_channels']} ({channels})"))
        rows.append(("sampling rate", f"{summary['fs_hz']:g} Hz"))
        rows.append(("duration", f"{summary['duration_s']:.1f} s (from {summary['t0_s']:.3f} s)"))
        rows.append(("units", summary["units"] or "-"))
        spikes = summary["spikes"]
        if spikes:
            rows.append(("spike times", f"{spikes['n_units']} units, {spikes['n_spikes']} spikes"))
    if not summary["data_present"]:
        rows.append(("data", "NOT PRESENT (placeholder files): described from the sidecars"))
    probe = summary["probe"]
    if probe["min"] is not None and not summary["spikes_only"]:
        rows.append(
            (
                "first samples",
                f"{probe['seconds']:.1f} s: {probe['min']:.3g} .. {probe['max']:.3g}, "
                f"{100 * probe['nan_fraction']:.1f} % NaN",
            )
        )
    for name, signal in summary["signals"].items():
        rows.append((f"signal {name}", f"{signal['fs_hz']:g} Hz, {signal['duration_s']:.1f} s, {signal['units']}"))
    meta = summary["metadata"]
    for group in ("identity", "subject", "paradigm", "recording"):
        values = {k: v for k, v in meta.get(group, {}).items() if v not in ([], {}, None) and k != "source_uri"}
        if values:
            rows.append((f"metadata {group}", ", ".join(f"{k}={v}" for k, v in values.items())))
    for field, value in rows:
        table.add_row(field, plain(value))
    console.print(table)
    if summary["intervals"]:
        frame = pd.DataFrame(summary["intervals"])
        frame["labels"] = frame["labels"].map(lambda v: ", ".join(v[:4]) + (" ..." if len(v) > 4 else ""))
        console.print(render_frame(frame, "Interval tables"))
    if summary["baselines"]:
        frame = pd.DataFrame(summary["baselines"])[["start_s", "stop_s", "duration_s", "contiguous", "evidence"]]
        console.print(render_frame(frame, "Candidate baselines (best first)"))
    else:
        console.print("[yellow]no candidate baseline:[/]", plain(summary["no_baseline"]))
    print_notes(summary["notes"])


def _render_volume(summary: dict) -> None:
    table = Table(title=plain(summary["source"]), title_justify="left", show_header=False)
    table.add_column("field", style="dim")
    table.add_column("value")
    x, y, z = summary["shape"]
    table.add_row("volume", plain(f"{x} x {y} x {z} voxels of {' x '.join(f'{v:g}' for v in summary['voxel_mm'])} mm"))
    table.add_row("volumes", str(summary["n_volumes"]))
    if summary["tr_s"] is None:
        table.add_row("repetition time", "none in the header or a sidecar: add RepetitionTime (s) to its JSON sidecar")
    else:
        table.add_row("repetition time", f"{summary['tr_s']:g} s (from the {summary['tr_from']})")
        table.add_row("duration", f"{summary['duration_s']:.1f} s")
    table.add_row("sidecar", plain(", ".join(summary["sidecar"]) or "none"))
    console.print(table)
    console.print("[yellow]no ROI time series yet:[/]", plain(summary["no_baseline"]))


def _render_bids(summary: dict) -> None:
    console.print(plain(f"BIDS dataset {summary['name'] or ''} at {summary['source']}"))
    console.print(plain(f"subjects ({len(summary['subjects'])}): {', '.join(summary['subjects']) or 'none'}"))
    if summary["sessions"]:
        console.print(plain(f"sessions: {', '.join(summary['sessions'])}"))
    console.print(plain(f"tasks: {', '.join(summary['tasks']) or 'none'}; {summary['n_runs']} runs in all"))
    if not summary["runs"]:
        console.print("[yellow]no run matches[/]", plain(f"({summary['selected']}); name a task with --task"))
        return
    frame = pd.DataFrame(summary["runs"])[["file", "task", "datatype", "duration_s", "fs_hz", "data_present"]]
    console.print(render_frame(frame, f"Runs ({summary['selected']}; narrow with --subject/--session/--run)"))


def _render_folder(summary: dict) -> None:
    if summary["recordings"]:
        console.print(render_frame(pd.DataFrame(summary["recordings"]), f"Recordings in {summary['source']}"))
    print_notes(summary["problems"], label="nothing read")
