"""``adots annotate SOURCE --start S --stop S --paradigm P``: write the dot back."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, print_json
from adhesive_dots.metadata import Paradigm


@app.command()
def annotate(
    source: Path = typer.Argument(..., help="NWB file, BIDS root or BIDS run file."),
    start: float = typer.Option(..., "--start", help="Start of the spontaneous segment (s)."),
    stop: float = typer.Option(..., "--stop", help="Stop of the spontaneous segment (s)."),
    paradigm: str = typer.Option(..., "--paradigm", help=f"One of: {', '.join(p.value for p in Paradigm)}."),
    metadata: Path | None = typer.Option(None, "--metadata", help="DotMetadata JSON file with more fields."),
    output: Path | None = typer.Option(None, "--output", "-o", help="NWB: output file (default <stem>.dot.nwb)."),
    in_place: bool = typer.Option(False, "--in-place", help="NWB: modify the source (after a .bak copy)."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing dot."),
    overwrite: bool = typer.Option(False, "--overwrite", help="NWB: overwrite an existing output file."),
    subject: str | None = typer.Option(None, help="BIDS subject."),
    session: str | None = typer.Option(None, help="BIDS session."),
    task: str | None = typer.Option(None, help="BIDS task (default: rest)."),
    run: str | None = typer.Option(None, help="BIDS run."),
    acquisition: str | None = typer.Option(None, help="BIDS acquisition."),
    units_bin_width: float | None = typer.Option(
        None, "--units-bin-width", help="NWB files holding only spike times: bin width (s) used to read them."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Mark START-STOP of SOURCE as its adhesive dot (NWB table or BIDS sidecar key)."""
    from adhesive_dots.errors import MetadataError, SourceNotFoundError
    from adhesive_dots.io.annotate import annotate as annotate_source
    from adhesive_dots.metadata import DotMetadata

    extra = None
    if metadata is not None:
        if not metadata.is_file():
            raise SourceNotFoundError(f"--metadata {metadata}: no such file")
        try:
            extra = DotMetadata.from_json(metadata.read_text(), source=str(metadata))
        except UnicodeDecodeError as err:
            raise MetadataError(f"--metadata {metadata}: not a UTF-8 JSON file ({err})") from None
    options = {
        "subject": subject,
        "session": session,
        "task": task,
        "run": run,
        "acquisition": acquisition,
        "units_bin_width": units_bin_width,
    }
    result = annotate_source(
        source,
        start=start,
        stop=stop,
        paradigm=paradigm,
        metadata=extra,
        output=output,
        in_place=in_place,
        replace=replace,
        overwrite=overwrite,
        **{k: v for k, v in options.items() if v is not None},
    )
    if json_out:
        print_json(
            {
                "output": str(result.output),
                "backup": str(result.backup) if result.backup else None,
                "kind": result.kind,
                "metadata": result.metadata.model_dump(mode="json", exclude_none=True),
            }
        )
        return
    console.print(
        f"wrote the dot {result.segment.start:g}-{result.segment.stop:g} s ({result.kind}) to {result.output}"
    )
    if result.backup is not None:
        console.print(f"backup of the original: {result.backup}")
