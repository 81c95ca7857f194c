"""``adots schema``: print the DotMetadata JSON Schema."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console
from adhesive_dots.metadata import dot_json_schema_text


@app.command()
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the schema to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of DotMetadata (the adhesive-dot metadata standard)."""
    text = dot_json_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")
