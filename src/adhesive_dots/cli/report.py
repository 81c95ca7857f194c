"""``adots report TARGET... -o report.html``: a self-contained HTML report of a dot, a comparison or a catalog."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, plain, print_json
from adhesive_dots.cli._options import (
    JSON_OPTION,
    OVERWRITE_OPTION,
    SEED_OPTION,
    WINDOW_OPTION,
    SourceOptions,
    dot_targets,
    out_option,
    source_options,
)
from adhesive_dots.cli._progress import source_progress
from adhesive_dots.cli.catalog import CATALOG_OPTION


@app.command("report")
@source_options
def report_command(
    targets: list[str] = typer.Argument(
        None,
        help="One source (dot report), two sources (comparison, b - a) or a catalog file (*.duckdb); a source may be "
        "a catalog dot id (or unique prefix, with --catalog).",
    ),
    out: Path = out_option("The HTML file to write.", required=True),
    title: str | None = typer.Option(None, help="Page title."),
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap replicates of a comparison."),
    overwrite: bool = OVERWRITE_OPTION,
    catalog: Path | None = CATALOG_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Write one HTML file with embedded figures (opens from disk, no network).

    Exit codes: 0 ok; 2 when the command could not run (a source unreadable, an unknown or ambiguous dot id).
    """
    from adhesive_dots.fingerprint import FingerprintParams
    from adhesive_dots.report import report_kind, write_report

    chosen = dot_targets(given.require(targets, what="TARGET"), catalog)
    kind = report_kind(chosen)
    with source_progress(f"{kind} report", quiet=as_json) as step:
        step("reading, fingerprinting and drawing")
        path = write_report(
            chosen,
            out,
            title=title,
            template=given.template(),
            params=FingerprintParams(window_s=window_s),
            seed=seed,
            n_boot=n_boot,
            overwrite=overwrite,
        )
    if as_json:
        print_json({"kind": kind, "out": str(path), "bytes": path.stat().st_size})
        return
    console.print(plain(f"{kind} report written to {path} ({path.stat().st_size / 1e6:.1f} MB)"))
