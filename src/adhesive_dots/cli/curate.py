"""``adots curate`` (a catalog's dots: duplicates, quality, balance, manifest) and ``adots duplicates`` (files).

``adots curate`` works on the catalog: it sketches the dots that have no sketch yet
(reading only their segments), finds and verifies duplicates (storing the links with their
evidence), scores quality from the stored findings and fingerprints, selects dots
(``--min-quality``, ``--drop-duplicates``), prints the balance report over metadata and the
duplicate pairs, and writes the manifest (``--export manifest.parquet``).

``adots duplicates SOURCE...`` needs no catalog: it reads the baseline of each source named
(folders are searched; the shared source options say how to read them and which segment is the
baseline, e.g. ``--whole`` for the whole recording), and reports the duplicate pairs among them
with their evidence. It exits with 1 when duplicates were found, 0 when none, 2 when it
could not run or could read no source.

``adots curate`` reads each dot's source again as the catalog recorded it (its reading options
are stored with the dot), so it takes no source options.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from adhesive_dots.cli._app import app, console, err_console, plain, print_json, render_frame
from adhesive_dots.cli._options import CONFIG_OPTION, JSON_OPTION, OVERWRITE_OPTION, SourceOptions, source_options
from adhesive_dots.cli._progress import source_progress
from adhesive_dots.cli.catalog import CATALOG_OPTION, MAX_LISTED, TABLE_ROWS, fit_ids

DROP_CHOICES = ("keep-first", "keep-best")


def _say_shown(shown: int, total: int, what: str) -> None:
    if shown < total:
        console.print(plain(f"showing the first {shown} of {total} {what}; --json lists them all"))


def _pairs_frame(pairs: list, names: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for pair in pairs:
        e = pair.evidence if hasattr(pair, "evidence") else pair["evidence"]
        a, b, kind = (pair.a, pair.b, pair.kind) if hasattr(pair, "a") else (pair["dot_a"], pair["dot_b"], pair["kind"])
        rows.append(
            {
                "a": (names or {}).get(a, a),
                "b": (names or {}).get(b, b),
                "kind": kind,
                "overlap_s": e.get("overlap_s"),
                "offset_s": e.get("offset_s"),
                "rate": e.get("rate_ratio"),
                "gain": e.get("gain"),
                "corr": e.get("correlation"),
                "channels": e.get("n_matched"),
            }
        )
    return pd.DataFrame(rows)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 6)


def _short(path: str) -> str:
    return Path(path).name


@app.command()
def curate(
    min_quality: float | None = typer.Option(
        None, "--min-quality", min=0.0, max=1.0, help="Drop dots below this quality (0-1)."
    ),
    drop_duplicates: str | None = typer.Option(
        None,
        "--drop-duplicates",
        metavar="keep-first|keep-best",
        help="Keep one dot per duplicate group: the first in catalog order, or the best quality.",
    ),
    export: Path | None = typer.Option(
        None, "--export", "--out", "-o", metavar="FILE", help="Write the selected dots to this Parquet manifest."
    ),
    overwrite: bool = OVERWRITE_OPTION,
    no_search: bool = typer.Option(
        False, "--no-search", help="Use the stored duplicate links; do not sketch or verify."
    ),
    recompute_sketches: bool = typer.Option(False, "--recompute-sketches", help="Sketch every dot again."),
    catalog: Path | None = CATALOG_OPTION,
    config: Path | None = CONFIG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Curate the catalog: duplicates (with evidence), quality, balance over metadata, a training manifest.

    Quality is scored again for every dot (signal, metadata completeness, duration and their combined
    score, with the weights of --config) and stored in the catalog.

    Exit codes: 0 ok; 1 when some dots could not be sketched (listed; the others go on); 2 when the
    command could not run.
    """
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.curation import (
        compute_catalog_sketches,
        curate_catalog,
        export_manifest,
        find_catalog_duplicates,
        store_catalog_quality,
    )
    from adhesive_dots.errors import DataError
    from adhesive_dots.io.config import read_config

    if drop_duplicates is not None and drop_duplicates not in DROP_CHOICES:
        raise DataError(f"--drop-duplicates must be keep-first or keep-best, got {drop_duplicates!r}")
    cat = Catalog(catalog)
    if not cat.path.exists():
        from adhesive_dots.catalog import CatalogError

        raise CatalogError(f"{cat.path}: no catalog here yet (run `adots ingest` first, or pass --catalog)")
    settings = read_config(config)
    failures = pd.DataFrame(columns=["dot_id", "status", "error"])
    if not no_search:
        with source_progress("sketching", quiet=as_json) as step:
            report = compute_catalog_sketches(cat, recompute=recompute_sketches, progress=step)
        failures = report[report["status"] == "failed"]
        with source_progress("verifying duplicates", quiet=as_json):
            find_catalog_duplicates(cat)
    with source_progress("quality", quiet=as_json) as step:
        store_catalog_quality(cat, config=settings.quality, progress=step)
    result = curate_catalog(cat, min_quality=min_quality, drop_duplicates=drop_duplicates)
    written = export_manifest(result, export, overwrite=overwrite) if export is not None else None
    if as_json:
        print_json(
            {
                "options": result.options,
                "n_dots": len(result.dots),
                "n_selected": int(result.dots["selected"].sum()),
                "balance": result.balance.to_dict(orient="records"),
                "duplicates": [
                    {"dot_a": r.dot_a, "dot_b": r.dot_b, "kind": r.kind, "evidence": r.evidence}
                    for r in result.duplicates.itertuples()
                ],
                "dots": [
                    {
                        "dot_id": r["dot_id"],
                        "source": r["source"],
                        "quality": _number(r["quality"]),
                        "quality_components": {
                            "signal": _number(r["quality_signal"]),
                            "metadata": _number(r["quality_metadata"]),
                            "duration": _number(r["quality_duration"]),
                        },
                        "quality_reasons": r["quality_reasons"] or "",
                        "duplicate_group": r["duplicate_group"],
                        "selected": bool(r["selected"]),
                        "reason": r["reason"],
                    }
                    for r in result.dots.to_dict(orient="records")
                ],
                "quality_weights": dict(settings.quality.weights),
                "sketch_failures": failures.to_dict(orient="records"),
                "manifest": None if export is None else {"path": str(export), "rows": written},
            }
        )
        return
    console.print(
        f"{len(result.dots)} dots; {len(result.duplicates)} duplicate pairs; "
        f"{int(result.dots['selected'].sum())} selected"
        + (f" (min quality {min_quality:g})" if min_quality is not None else "")
        + (f" ({drop_duplicates})" if drop_duplicates else "")
    )
    console.print(render_frame(result.balance, "Balance of the selected dots"))
    duplicates = result.duplicates.head(TABLE_ROWS)
    columns = ["dot_id", "quality", "quality_signal", "quality_metadata", "quality_duration"]
    scores = result.dots[columns].head(TABLE_ROWS)
    dropped = result.dots[~result.dots["selected"]][["dot_id", "quality", "reason"]]
    n_dropped, dropped = len(dropped), dropped.head(TABLE_ROWS)
    shown = {*duplicates["dot_a"], *duplicates["dot_b"], *scores["dot_id"], *dropped["dot_id"]}
    short = cat.short_ids(sorted(shown))  # only the ids on screen: a catalog may hold millions
    if len(duplicates):
        pairs = _pairs_frame([r._asdict() for r in duplicates.itertuples()], short)
        table = fit_ids(render_frame(pairs, "Duplicates"), pairs["a"])
        table.columns[1].min_width, table.columns[1].no_wrap = table.columns[0].min_width, True
        console.print(table)
        _say_shown(len(duplicates), len(result.duplicates), "duplicate pairs")
    scores = scores.assign(dot_id=scores["dot_id"].map(short))
    title = "Quality (combined; signal, metadata completeness, duration)"
    console.print(
        fit_ids(render_frame(scores.rename(columns=lambda c: c.removeprefix("quality_")), title), scores["dot_id"])
    )
    _say_shown(len(scores), len(result.dots), "dots")
    if len(dropped):
        dropped = dropped.assign(dot_id=dropped["dot_id"].map(short))
        console.print(fit_ids(render_frame(dropped, "Dropped"), dropped["dot_id"]))
        _say_shown(len(dropped), n_dropped, "dropped dots")
    for row in failures.head(MAX_LISTED).itertuples():
        err_console.print("[yellow]not sketched[/]:", plain(f"{row.dot_id}: {row.error}"))
    if len(failures) > MAX_LISTED:
        err_console.print(plain(f"... and {len(failures) - MAX_LISTED} more not sketched (--json lists them)"))
    if written is not None:
        console.print(f"wrote {written} dots to {export}")


@app.command()
@source_options
def duplicates(
    sources: list[str] = typer.Argument(None, help="Recordings, folders, BIDS datasets (or --sources-from)."),
    min_correlation: float = typer.Option(
        0.9, "--min-correlation", min=0.0, max=1.0, help="Median channel correlation required."
    ),
    min_overlap: float = typer.Option(30.0, "--min-overlap", min=0.0, help="Seconds of shared signal required."),
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Find duplicate baselines among files (no catalog): exact copies and cropped/resampled/rescaled/subset ones.

    Exit code 1 when duplicates were found, 0 when none, 2 when no source could be read.
    """
    from adhesive_dots.curate import VerifyParams
    from adhesive_dots.workflows.curate import check_sources

    params = VerifyParams(min_correlation=min_correlation, min_overlap_s=min_overlap)
    result = check_sources(given.require(sources), template=given.template(), verify_params=params)
    pairs = result.search.pairs
    if as_json:
        print_json(
            {
                "sources": result.sources.to_dict(orient="records"),
                "pairs": [{"a": p.a, "b": p.b, "kind": p.kind, "evidence": p.evidence} for p in pairs],
                "candidates": result.search.n_candidates,
            }
        )
    else:
        names = {s: _short(s) for s in result.sources["source"]}
        console.print(
            f"{len(result.sources)} sources; {result.search.n_candidates} candidate pairs; {len(pairs)} duplicates"
        )
        if pairs:
            console.print(render_frame(_pairs_frame(pairs, names), "Duplicates"))
        for row in result.sources[result.sources["error"] != ""].itertuples():
            err_console.print("[yellow]skipped[/]:", plain(f"{row.source}: {row.error}"))
    if pairs:
        raise typer.Exit(1)
    if len(result.sources) and (result.sources["error"] != "").all():
        raise typer.Exit(2)  # nothing could be compared
