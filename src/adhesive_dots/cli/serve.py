"""``adots serve``: the catalog in a browser (pages and a JSON API), read-only, live with ingest."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console
from adhesive_dots.cli.catalog import CATALOG_OPTION


@app.command()
def serve(
    catalog: Path | None = CATALOG_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", help="TCP port."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="ADOTS_TOKEN",
        help="Require this token on every request (needed to listen on a non-loopback address).",
    ),
) -> None:
    """Serve the catalog in a browser: dots with filters, one dot and its neighbours, comparisons, curation."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.serve import serve_catalog

    cat = Catalog(catalog)

    def ready(url: str) -> None:
        console.print(f"serving [bold]{cat.path}[/] (read-only, follows ingests) at [bold]{url}[/]")
        if token:
            console.print("open it once with ?token=TOKEN (or send Authorization: Bearer TOKEN)")
        console.print("press Ctrl+C to stop")

    serve_catalog(cat, host=host, port=port, token=token, on_ready=ready)
