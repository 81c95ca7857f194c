"""``adots search``, ``adots export``, ``adots import``: the catalog from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, print_json
from adhesive_dots.cli.demo import render_frame

CATALOG_OPTION = typer.Option(
    None, "--catalog", "-c", envvar="ADOTS_CATALOG", help="Catalog file (default ./adhesive.duckdb)."
)


@app.command()
def search(
    species: str | None = typer.Option(None, help="Latin binomial, e.g. 'Mus musculus'."),
    paradigm: str | None = typer.Option(None, help="e.g. animal-head-fixed-task-free, human-eyes-closed."),
    modality: str | None = typer.Option(None, help="eeg, meg, ieeg, lfp, spikes, calcium, fmri, other."),
    min_duration: float | None = typer.Option(None, help="Minimum baseline length in s."),
    illumination: str | None = typer.Option(None, help="dark, dim, ambient or bright."),
    arousal: list[str] = typer.Option(
        [], metavar="MEASURE", help="Arousal measure that must be recorded (repeatable), e.g. pupil."
    ),
    lab: str | None = typer.Option(None, help="Lab name."),
    status: str | None = typer.Option(None, help="compliant, noncompliant or not-validated."),
    similar_to: str | None = typer.Option(
        None, "--similar-to", help="A dot id, or a source (file/URL) to fingerprint: list its nearest neighbours."
    ),
    k: int = typer.Option(10, "--k", min=1, help="Number of neighbours for --similar-to."),
    metric: str = typer.Option("cosine", help="cosine or seuclidean (on standardised summary vectors)."),
    catalog: Path | None = CATALOG_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Find dots by metadata, or the dots whose fingerprints resemble one (--similar-to)."""
    from adhesive_dots.catalog import Catalog, search_dots, similar_dots

    cat = Catalog(catalog)
    if similar_to is not None:
        query = similar_to if similar_to.startswith("dot-") else _summary_vector_of(similar_to)
        frame = similar_dots(cat, query, k=k, metric=metric)
        title = f"{len(frame)} dots nearest to {similar_to} ({metric})"
    else:
        frame = search_dots(
            cat, species=species, paradigm=paradigm, modality=modality, min_duration=min_duration,
            illumination=illumination, arousal=arousal, lab=lab, status=status,
        )  # fmt: skip
        title = f"{len(frame)} dots in {cat.path}"
    if as_json:
        print_json(frame.to_dict(orient="records"))
    else:
        console.print(render_frame(frame.drop(columns=["source"], errors="ignore"), title))


def _summary_vector_of(source: str):
    """The fingerprint summary vector of the first baseline of ``source``."""
    from adhesive_dots.baselines import select_baseline
    from adhesive_dots.fingerprint import fingerprint
    from adhesive_dots.io import open_recording

    with open_recording(source) as recording:
        return fingerprint(select_baseline(recording), rng=0).summary_vector()


@app.command("export")
def export_(
    to: Path = typer.Option(..., "--to", help="Parquet file to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the file if it exists."),
    catalog: Path | None = CATALOG_OPTION,
) -> None:
    """Write every dot of the catalog to a Parquet file to share with another lab."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.exchange import export_parquet

    count = export_parquet(Catalog(catalog), to, overwrite=overwrite)
    console.print(f"exported {count} dots to {to}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="Parquet file written by `adots export`."),
    catalog: Path | None = CATALOG_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Merge another lab's export into the catalog (checked first; conflicts are reported, never overwritten)."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.exchange import import_parquet

    report = import_parquet(Catalog(catalog), file)
    summary = {"added": report.added, "unchanged": report.unchanged, "conflicts": report.conflicts}
    if as_json:
        print_json(summary)
        return
    console.print(
        f"imported {len(report.added)} dots; {len(report.unchanged)} already present; {len(report.conflicts)} conflicts"
    )
    for dot_id in report.conflicts:
        console.print(f"  [yellow]conflict[/]: {dot_id} differs from the dot with the same id or content hash")
    if report.conflicts:
        raise typer.Exit(1)
