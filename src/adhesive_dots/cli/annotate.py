"""``adots annotate SOURCE --paradigm P [--start S --stop S | --whole | --label WORD]``: record the dot."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, plain, print_json, print_notes
from adhesive_dots.cli._options import JSON_OPTION, OVERWRITE_OPTION, SourceOptions, out_option, source_options
from adhesive_dots.metadata import Paradigm


@app.command()
@source_options
def annotate(
    sources: list[str] = typer.Argument(
        None, help="Local recordings of any kind (NWB, BIDS run, EDF, FIF, table ...), or --sources-from."
    ),
    paradigm: str | None = typer.Option(
        None, "--paradigm", help=f"One of: {', '.join(p.value for p in Paradigm)} (or in --metadata)."
    ),
    metadata: Path | None = typer.Option(None, "--metadata", help="DotMetadata JSON file with more fields."),
    out: Path | None = out_option("NWB: the annotated copy (default <stem>.dot.nwb beside the source)."),
    in_place: bool = typer.Option(
        False, "--in-place", help="NWB: modify the file; BIDS: write the run's sidecar key (each after a .bak copy)."
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing dot."),
    overwrite: bool = OVERWRITE_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Record the baseline of each SOURCE as its adhesive dot, with the reading options it needed.

    NWB files get an adhesive_baseline table (in a copy, or in place after a backup); BIDS runs a
    NAME.dot.json beside the data file (or, with --in-place, the AdhesiveDot key of their sidecar);
    every other file a NAME.dot.json beside it. Later commands find the dot without any flag.
    Each dot written is checked for the metadata its species and paradigm require (as validate does),
    and what it still lacks is listed.

    Exit codes: 0 ok; 1 when a dot was written but still lacks required metadata; 2 when the command
    could not run (nothing is written for a source that fails).
    """
    from adhesive_dots.errors import MetadataError, SourceNotFoundError
    from adhesive_dots.io.annotate import annotate as annotate_source
    from adhesive_dots.metadata import DotMetadata
    from adhesive_dots.validate.checks import missing_required

    extra = None
    if metadata is not None:
        if not metadata.is_file():
            raise SourceNotFoundError(f"--metadata {metadata}: no such file")
        try:
            extra = DotMetadata.from_json(metadata.read_text(encoding="utf-8"), source=str(metadata))
        except UnicodeDecodeError as err:
            raise MetadataError(f"--metadata {metadata}: not a UTF-8 JSON file ({err})") from None
    targets = given.require(sources)
    if out is not None and len(targets) > 1:
        from adhesive_dots.errors import DataError

        raise DataError(f"--out names one output file; {len(targets)} sources were given")
    results = [
        annotate_source(
            target,
            paradigm=paradigm,
            metadata=extra,
            output=out,
            in_place=in_place,
            replace=replace,
            overwrite=overwrite,
            template=given.template(),
        )
        for target in targets
    ]
    lacking = [missing_required(result.metadata) for result in results]
    if as_json:
        print_json(
            [
                {
                    "output": str(result.output),
                    "backup": str(result.backup) if result.backup else None,
                    "kind": result.kind,
                    "segment": [list(p) for p in result.segment.pieces],
                    "notes": list(result.notes),
                    "fields_written": list(result.fields_written),
                    "metadata": result.metadata.model_dump(mode="json", exclude_none=True),
                    "missing_required": missing,
                }
                for result, missing in zip(results, lacking, strict=True)
            ]
        )
    else:
        _render(results, lacking)
    if any(lacking):
        raise typer.Exit(1)


def _render(results: list, lacking: list[list[str]]) -> None:
    where = {"nwb": "adhesive_baseline table", "bids": "BIDS sidecar key AdhesiveDot", "sidecar": "dot sidecar"}
    for result, missing in zip(results, lacking, strict=True):
        segment = f"{result.segment.start:g}-{result.segment.stop:g} s"
        console.print(plain(f"wrote the dot {segment} ({where[result.kind]}) to {result.output}"))
        if result.backup is not None:
            console.print(plain(f"backup of the original: {result.backup}"))
        for name in result.fields_written:
            console.print(plain(f"filled the empty standard field {name}"))
        print_notes(list(result.notes))
        if missing:
            print_notes(
                [
                    f"{result.output}: the dot still lacks required metadata: {', '.join(missing)} "
                    "(add them with --metadata FILE, or --paradigm)"
                ],
                label="incomplete",
            )
