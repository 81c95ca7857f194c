"""``adots demo``: simulate a corpus and run the toolkit on it."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, render_frame


@app.command()
def demo(
    out: Path = typer.Option(Path("adots-demo"), "--out", "-o", help="Folder for the simulated corpus."),
    labs: int = typer.Option(3, help="Number of labs (calcium, ephys, EEG in turn)."),
    subjects: int = typer.Option(4, help="Subjects per lab."),
    sessions: int = typer.Option(2, help="Sessions per subject."),
    size: float = typer.Option(1.0, help="Scale of neurons/units/channels per session."),
    seed: int = typer.Option(0, help="Random seed of the simulation."),
    workers: int = typer.Option(2, "--workers", "-w", min=0, help="Dask workers for the ingest (0: in-process)."),
) -> None:
    """Simulate a multi-lab corpus (NWB + BIDS) and run every stage of the toolkit on it."""
    from adhesive_dots.demo import run_demo

    def show(result) -> None:
        if result.table is not None:
            console.print(render_frame(result.table, result.title))
        else:
            console.print(f"[bold]{result.title}[/]")
        for line in result.lines:
            console.print(f"  {line}")

    with console.status("simulating and reading the corpus ..."):
        run_demo(
            out,
            labs=labs,
            subjects_per_lab=subjects,
            sessions_per_subject=sessions,
            size=size,
            rng=seed,
            workers=workers,
            on_stage=show,
        )
    console.print(f"\n[bold green]demo finished[/]: output in {out.resolve()}")
