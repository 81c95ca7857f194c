"""Sharing dots between labs: Parquet export and a validating, non-destructive import.

The Parquet file (one row per dot) has these columns:

=================  ================  ===================================================
column             Arrow type        meaning
=================  ================  ===================================================
dot_id             string            catalog id of the dot
source             string            where the dot was read (path, URL, archive id)
source_hash        string            sha256 of the source's bytes at ingest
segment_start      float64           s from the start of the recording
segment_stop       float64           s
duration_s         float64           s of data (gaps excluded)
content_hash       string            sha256 of the baseline's samples (float32 LE)
metadata_json      string            the DotMetadata record as JSON
vector             list<float64>     fingerprint summary vector (may be null)
findings_json      string            JSON list of validation findings
=================  ================  ===================================================

File-level metadata (Arrow schema metadata): ``adots_catalog_schema`` (the catalog schema
version) and ``adots_vector_names`` (JSON list naming the vector's elements).

An import is checked completely before anything is written: column names and types,
string sizes (``metadata_json`` at most 1 MiB, other strings 4 KiB), vector length and
names, and every metadata record against DotMetadata. A file failing any check is
rejected with a message listing the problems, and the catalog is left unchanged. Rows
whose ``dot_id`` or ``content_hash`` already exist with different content are reported as
conflicts and never overwrite what is there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from adhesive_dots.catalog.store import CATALOG_SCHEMA_VERSION, Catalog, CatalogError, DotRecord, ImportReport
from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import FormatError, MetadataError, SourceNotFoundError
from adhesive_dots.io._atomic import atomic_output
from adhesive_dots.metadata import DotMetadata

PARQUET_SCHEMA = pa.schema(
    [
        ("dot_id", pa.string()),
        ("source", pa.string()),
        ("source_hash", pa.string()),
        ("segment_start", pa.float64()),
        ("segment_stop", pa.float64()),
        ("duration_s", pa.float64()),
        ("content_hash", pa.string()),
        ("metadata_json", pa.string()),
        ("vector", pa.list_(pa.float64())),
        ("findings_json", pa.string()),
    ]
)
MAX_METADATA_BYTES = 1 << 20
MAX_STRING_BYTES = 4096
MAX_PROBLEMS_LISTED = 10


def export_parquet(catalog: Catalog, path: str | Path, *, overwrite: bool = False) -> int:
    """Write every dot of ``catalog`` to a Parquet file; returns the number of rows."""
    frame = catalog.exchange_rows()
    table = pa.Table.from_pandas(frame, schema=PARQUET_SCHEMA, preserve_index=False)
    table = table.replace_schema_metadata(
        {
            "adots_catalog_schema": str(CATALOG_SCHEMA_VERSION),
            "adots_vector_names": json.dumps(catalog.vector_names() if catalog.path.exists() else []),
        }
    )
    with atomic_output(path, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp)
    return table.num_rows


def _read_checked(path: Path) -> tuple[pa.Table, list[str]]:
    """Read ``path`` and check it completely; returns the table and its vector names."""
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise FormatError(f"{path}: not a readable Parquet file ({err})") from None
    problems: list[str] = []
    names = set(table.column_names)
    for column in PARQUET_SCHEMA:
        if column.name not in names:
            problems.append(f"missing column {column.name!r} ({column.type})")
        elif not table.schema.field(column.name).type.equals(column.type):
            problems.append(
                f"column {column.name!r} has type {table.schema.field(column.name).type}, expected {column.type}"
            )
    extra = names - set(PARQUET_SCHEMA.names)
    if extra:
        problems.append(f"unexpected column(s) {sorted(extra)}")
    if problems:
        raise FormatError(f"{path}: not an adhesive-dots export: " + "; ".join(problems))
    metadata = table.schema.metadata or {}
    try:
        vector_names = json.loads(metadata.get(b"adots_vector_names", b"[]"))
        if not isinstance(vector_names, list) or not all(isinstance(n, str) for n in vector_names):
            raise ValueError("not a list of strings")
    except ValueError as err:
        raise FormatError(f"{path}: file metadata adots_vector_names is malformed ({err})") from None
    rows = table.to_pylist()
    for index, row in enumerate(rows):
        where = f"row {index} (dot_id {str(row['dot_id'])[:40]!r})"
        for column in ("dot_id", "source", "content_hash"):
            if not row[column]:
                problems.append(f"{where}: {column} is empty")
        for column in ("dot_id", "source", "source_hash", "content_hash", "findings_json"):
            value = row[column] or ""
            limit = MAX_STRING_BYTES if column != "findings_json" else MAX_METADATA_BYTES
            if len(value.encode()) > limit:
                problems.append(f"{where}: {column} is {len(value.encode())} bytes, at most {limit} allowed")
        text = row["metadata_json"] or ""
        if len(text.encode()) > MAX_METADATA_BYTES:
            problems.append(f"{where}: metadata_json is {len(text.encode())} bytes, at most {MAX_METADATA_BYTES}")
        else:
            try:
                DotMetadata.from_json(text, source=where)
            except MetadataError as err:
                problems.append(str(err).splitlines()[0] + " " + " ".join(str(err).splitlines()[1:3]))
        vector = row["vector"]
        if vector is not None and vector_names and len(vector) != len(vector_names):
            problems.append(f"{where}: vector has {len(vector)} values, the file names {len(vector_names)}")
        try:
            findings = json.loads(row["findings_json"] or "[]")
            if not isinstance(findings, list):
                raise ValueError("not a list")
        except ValueError as err:
            problems.append(f"{where}: findings_json is not a JSON list ({err})")
        if len(problems) > MAX_PROBLEMS_LISTED:
            break
    if problems:
        shown = problems[:MAX_PROBLEMS_LISTED]
        more = f" (and more; first {MAX_PROBLEMS_LISTED} shown)" if len(problems) > MAX_PROBLEMS_LISTED else ""
        raise FormatError(f"{path}: rejected, nothing imported{more}:\n  - " + "\n  - ".join(shown))
    return table, vector_names


def import_parquet(catalog: Catalog, path: str | Path) -> ImportReport:
    """Merge a Parquet export into ``catalog`` (checked first; conflicts reported, never overwritten)."""
    path = Path(path)
    table, vector_names = _read_checked(path)
    report = ImportReport()
    with catalog.transaction() as tx:
        if vector_names:
            tx.check_vector_names(vector_names)
        added_per_source: dict[str, int] = {}
        for row in table.to_pylist():
            existing = tx.dots_like(row["dot_id"], row["content_hash"])
            metadata = DotMetadata.from_json(row["metadata_json"])
            if existing:
                same = any(
                    e[0] == row["dot_id"] and e[1] == row["content_hash"] and DotMetadata.from_json(e[2]) == metadata
                    for e in existing
                )
                (report.unchanged if same else report.conflicts).append(row["dot_id"])
                continue
            local = tx.source_status(row["source"])
            if local is not None and local != "imported":
                report.conflicts.append(row["dot_id"])  # the source is ingested here with other dots
                continue
            findings = tuple(
                Finding(
                    code=str(f.get("code", "")),
                    severity=Severity(f.get("severity", "info")),
                    message=str(f.get("message", "")),
                    location=str(f.get("location") or ""),
                    value=f.get("value"),
                    fix=str(f.get("fix") or ""),
                    source=row["source"],
                )
                for f in json.loads(row["findings_json"] or "[]")
            )
            dot = DotRecord(
                dot_id=row["dot_id"],
                metadata=metadata,
                segment=(row["segment_start"], row["segment_stop"]),
                duration_s=row["duration_s"],
                content_hash=row["content_hash"],
                vector=None if row["vector"] is None else np.asarray(row["vector"], dtype=float),
                findings=findings,
            )
            tx.insert_dot(row["source"], dot)
            if local is None and row["source"] not in added_per_source:
                tx.add_source(row["source"], row["source_hash"], f"import:{path.name}", "imported", 0)
            added_per_source[row["source"]] = added_per_source.get(row["source"], 0) + 1
            report.added.append(row["dot_id"])
        for source, count in added_per_source.items():
            tx.count_new_dots(source, count)
    return report


__all__ = ["PARQUET_SCHEMA", "CatalogError", "export_parquet", "import_parquet"]


CHANNEL_FEATURES_SCHEMA = pa.schema(
    [("dot_id", pa.string()), ("channel", pa.string()), ("feature", pa.string()), ("value", pa.float64())]
)
"""Columns of :func:`export_channel_features` (long format, one row per dot, channel and feature): ``feature``
is a per-channel fingerprint variable (``aperiodic_exponent``, ``dfa_exponent``, ...) or, for per-band ones,
``VARIABLE_BAND`` (``relative_power_alpha``, ``nonstationarity_theta``, ...)."""


def export_channel_features(catalog: Catalog, path: str | Path, *, overwrite: bool = False) -> int:
    """Write every dot's per-channel fingerprint features to a long-format Parquet file
    (:data:`CHANNEL_FEATURES_SCHEMA`), read from the fingerprints' NetCDF files; returns the number of rows."""
    from adhesive_dots.fingerprint import read_fingerprint

    columns: dict[str, list] = {"dot_id": [], "channel": [], "feature": [], "value": []}
    for dot_id in catalog.dots(columns=["dot_id"])["dot_id"]:
        netcdf = catalog.fingerprint_path(dot_id)
        if not netcdf or not Path(netcdf).exists():
            continue
        dataset = read_fingerprint(netcdf).dataset
        channels = [str(c) for c in dataset["channel"].values] if "channel" in dataset.coords else []
        for name, variable in dataset.data_vars.items():
            if variable.dims == ("channel",):
                parts = [(name, variable.values)]
            elif variable.dims == ("channel", "band"):
                parts = [(f"{name}_{band}", variable.sel(band=band).values) for band in dataset["band"].values]
            else:
                continue
            for feature, values in parts:
                for channel, value in zip(channels, np.asarray(values, dtype=float), strict=True):
                    columns["dot_id"].append(dot_id)
                    columns["channel"].append(channel)
                    columns["feature"].append(str(feature))
                    columns["value"].append(float(value) if np.isfinite(value) else None)
    table = pa.Table.from_pydict(columns, schema=CHANNEL_FEATURES_SCHEMA)
    with atomic_output(path, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp)
    return table.num_rows
