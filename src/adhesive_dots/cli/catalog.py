"""``adots search``, ``adots export``, ``adots import``: the catalog from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from adhesive_dots.cli._app import app, console, plain, print_json, render_frame
from adhesive_dots.cli._options import (
    JSON_OPTION,
    OVERWRITE_OPTION,
    SEED_OPTION,
    WINDOW_OPTION,
    SourceOptions,
    is_dot_id,
    source_options,
)
from adhesive_dots.cli._progress import source_progress

MAX_LISTED = 20
"""Conflicts and rejected rows listed one per line by `adots import` (all of them with --json)."""

SHORT_HEADERS = {
    "dot_id": "dot",
    "identity_lab": "lab",
    "identity_subject_id": "subject",
    "identity_session_id": "session",
    "recording_modality": "modality",
    "subject_species": "species",
    "paradigm_name": "paradigm",
    "duration_s": "s",
    "curation_validation_status": "status",
}
"""Column headers of the search table (``--json`` keeps the catalog's column names)."""

CATALOG_OPTION = typer.Option(
    None, "--catalog", "-c", envvar="ADOTS_CATALOG", help="Catalog file (default ./adhesive.duckdb)."
)


TABLE_ROWS = 50
"""Rows ``adots search`` lists in its table unless ``--max`` says otherwise (a catalog may hold millions)."""


@app.command()
@source_options(exclude=("modality",))
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
    features: list[str] = typer.Option(
        None,
        "--features",
        metavar="NAMES",
        help="Add these summary features to the table (comma-separated, or 'all'); --json always carries them.",
    ),
    max_rows: int | None = typer.Option(
        None,
        "--max",
        min=0,
        metavar="N",
        help=f"Rows to list (default: the first {TABLE_ROWS} in the table, every row with --json; 0: every row). "
        "The counts in the title are always over every match.",
    ),
    catalog: Path | None = CATALOG_OPTION,
    window_s: float | None = WINDOW_OPTION,
    seed: int = SEED_OPTION,
    as_json: bool = JSON_OPTION,
    given: SourceOptions = None,
) -> None:
    """Find dots by metadata, or the dots whose fingerprints resemble one (--similar-to DOT_ID or SOURCE).

    A SOURCE given to --similar-to is read with the source options (--fs, --label, --whole ...) and
    fingerprinted as ingest would (same parameters, --window-s, --seed). A dot id may be shortened to a
    unique prefix (as the table shows it). Dots linked as duplicates by `adots curate` count once in the
    "distinct" count.

    Exit codes: 0 ok (also when no dot matches); 2 when the command could not run (an unknown filter value,
    with the closest allowed ones; an unknown or ambiguous dot id).
    """
    from adhesive_dots.catalog import Catalog, search_dots, similar_dots
    from adhesive_dots.catalog.search import count_distinct, summary_features

    cat = Catalog(catalog)
    if similar_to is not None:
        query = similar_to
        if is_dot_id(similar_to):
            query = cat.resolve_dot_id(similar_to)
        else:
            from adhesive_dots.fingerprint import FingerprintParams
            from adhesive_dots.workflows.fingerprint import fingerprint_source

            run = fingerprint_source(
                similar_to, template=given.template(), params=FingerprintParams(window_s=window_s), seed=seed
            )
            query = run.fingerprint.summary_vector()
        frame = similar_dots(cat, query, k=k, metric=metric)
        title = f"{len(frame)} dots nearest to {similar_to} ({metric})"
    else:
        frame = search_dots(
            cat,
            species=species,
            paradigm=paradigm,
            modality=modality,
            min_duration=min_duration,
            illumination=illumination,
            arousal=arousal,
            lab=lab,
            status=status,
        )
        distinct = count_distinct(cat, frame["dot_id"].tolist()) if len(frame) else 0
        minutes = float(frame["duration_s"].fillna(0).sum()) / 60
        title = f"{len(frame)} dots ({distinct} distinct after de-duplication), {minutes:.1f} min, in {cat.path}"
    limit = (0 if as_json else TABLE_ROWS) if max_rows is None else max_rows
    matched = len(frame)
    if limit and matched > limit:
        frame = frame.head(limit)
    named = summary_features(cat, frame["dot_id"].tolist()) if len(frame) else {}
    if as_json:
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        print_json([{**row, "features": named.get(row["dot_id"], {})} for row in rows])
        return
    table = frame.drop(columns=["source"], errors="ignore")
    table["dot_id"] = table["dot_id"].map(cat.short_ids(table["dot_id"].tolist())) if len(table) else table["dot_id"]
    table = table.rename(columns=SHORT_HEADERS)
    if features:
        wanted = [f.strip() for value in features for f in value.split(",") if f.strip()]
        known = cat.vector_names()
        if wanted == ["all"]:
            wanted = known
        unknown = [f for f in wanted if f not in known]
        if unknown:
            from adhesive_dots.catalog.search import UnknownValueError

            raise UnknownValueError(
                f"--features: unknown feature(s) {unknown}; the summary features: {', '.join(known)}"
            )
        for name in wanted:
            table[name] = [named.get(d, {}).get(name) for d in frame["dot_id"]]
    console.print(fit_ids(render_frame(table, title), table["dot"]))
    if len(frame) < matched:
        console.print(
            plain(f"showing the first {len(frame)} of {matched} dots; --max N lists more (0: all), --json all of them")
        )


def fit_ids(table, ids) -> object:
    """The rich table with its first column (short dot ids) never shrunk or wrapped, so the ids can be copied."""
    if len(ids):
        table.columns[0].min_width = max(len(str(i)) for i in ids)
        table.columns[0].no_wrap = True
    return table


@app.command("export")
def export_(
    to: Path = typer.Option(..., "--out", "-o", "--to", metavar="FILE", help="Parquet file to write."),
    channels: Path | None = typer.Option(
        None,
        "--channels",
        metavar="FILE",
        help="Also write the per-channel fingerprint features, long format (dot_id, channel, feature, value).",
    ),
    overwrite: bool = OVERWRITE_OPTION,
    catalog: Path | None = CATALOG_OPTION,
) -> None:
    """Write every dot of the catalog to a Parquet file to share with another lab.

    The summary vector's element names are in the file metadata (``adots_vector_names``).
    """
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.exchange import export_channel_features, export_parquet

    count = export_parquet(Catalog(catalog), to, overwrite=overwrite)
    console.print(plain(f"exported {count} dots to {to}"))
    if channels is not None:
        rows = export_channel_features(Catalog(catalog), channels, overwrite=overwrite)
        console.print(plain(f"exported {rows} per-channel feature values to {channels}"))


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="Parquet file written by `adots export`."),
    catalog: Path | None = CATALOG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Merge another lab's export into the catalog (each row checked; rejected rows and conflicts are reported,
    never stored or overwritten; exit 1 when there are any)."""
    from adhesive_dots.catalog import Catalog
    from adhesive_dots.catalog.exchange import import_parquet

    with source_progress("importing rows", quiet=as_json) as step:
        report = import_parquet(Catalog(catalog), file, progress=step)
    summary = {
        "added": report.added,
        "unchanged": report.unchanged,
        "conflicts": report.conflicts,
        "rejected": report.rejected,
    }
    if as_json:
        print_json(summary)
    else:
        console.print(
            plain(
                f"imported {len(report.added)} dots; {len(report.unchanged)} already present; "
                f"{len(report.conflicts)} conflicts; {len(report.rejected)} rejected"
            )
        )
        for dot_id in report.conflicts[:MAX_LISTED]:
            console.print(plain(f"  conflict: {dot_id} differs from the dot with the same id or content hash"))
        for item in report.rejected[:MAX_LISTED]:
            console.print(plain(f"  rejected: row {item['row']} ({item['dot_id']!r}): {item['problem']}"))
        hidden = max(len(report.conflicts) - MAX_LISTED, 0) + max(len(report.rejected) - MAX_LISTED, 0)
        if hidden:
            console.print(f"  ... and {hidden} more (see --json)", markup=False)
    if report.conflicts or report.rejected:
        raise typer.Exit(1)
