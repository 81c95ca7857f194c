"""The catalog: adhesive dots, fingerprints, provenance and findings in one DuckDB file.

Tables (schema version :data:`CATALOG_SCHEMA_VERSION`):

``sources``
    One row per ingested source: ``source`` (URI, primary key), ``source_hash`` (sha256 of
    the file bytes, or of the BIDS run's files), ``tool_version``, ``ingested_at``,
    ``status`` (``ok`` or ``failed``), ``n_dots``.
``dots``
    One row per dot: ``dot_id`` (primary key), ``source``, ``segment_start``/``segment_stop``
    /``duration_s``, ``content_hash`` (of the baseline's samples), ``metadata_json`` (the
    full DotMetadata) and every scalar DotMetadata field flattened into a column named
    ``group_field`` (``paradigm_name``, ``subject_species``, ``environment_illumination``,
    ...; lists such as ``arousal_measures`` are ``VARCHAR[]``).
``fingerprints``
    ``dot_id``, ``vector`` (``DOUBLE[]``, the fingerprint's fixed-length summary),
    ``vector_version``, ``netcdf_path`` (the full fingerprint).
``findings``
    Validation findings and batch failures: ``source``, ``dot_id`` (may be null),
    ``code``, ``severity``, ``message``, ``location``, ``value``, ``fix``.
``duplicates``
    ``dot_a``, ``dot_b``, ``kind`` (``exact``/``near``), ``evidence`` (JSON); filled by curation.
``sketches`` (version 2)
    ``dot_id``, ``signature`` (``UINTEGER[]``, MinHash values), ``n_tokens``, ``fs``,
    ``n_channels``, ``n_times``, ``sketch_params`` (JSON), ``canonical_hash``, ``computed_at``;
    filled by curation (:mod:`adhesive_dots.catalog.curation`).
``meta``
    ``key``/``value`` pairs: ``schema_version``, ``vector_names`` (JSON list).

DuckDB lets one process write a file at a time. Every method opens the file, does its
work in one transaction and closes it again, retrying while another process holds the
lock, so concurrent ingests take turns and never corrupt the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel

from adhesive_dots.core import Finding
from adhesive_dots.errors import AdhesiveError, DataError
from adhesive_dots.metadata import DotMetadata

CATALOG_SCHEMA_VERSION = 2
DEFAULT_CATALOG = "adhesive.duckdb"
CATALOG_ENV = "ADOTS_CATALOG"
LOCK_TIMEOUT_S = 300.0

SKETCHES_DDL = (
    "CREATE TABLE IF NOT EXISTS sketches (dot_id VARCHAR PRIMARY KEY, signature UINTEGER[], n_tokens INTEGER, "
    "fs DOUBLE, n_channels INTEGER, n_times BIGINT, sketch_params JSON, canonical_hash VARCHAR, "
    "computed_at TIMESTAMP)"
)
MIGRATIONS: dict[int, tuple[str, ...]] = {1: (), 2: (SKETCHES_DDL,)}
"""SQL run to bring a catalog from version ``n - 1`` to ``n`` (version 1 is the first)."""


class CatalogError(AdhesiveError, RuntimeError):
    """The catalog file cannot be opened, is of an unknown version, or fails its integrity check."""


# -- flattening DotMetadata into typed columns ----------------------------------------------


def _sql_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _sql_type(args[0]) if len(args) == 1 else "VARCHAR"
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(annotation) or (str,)
        return "VARCHAR[]" if _sql_type(inner) == "VARCHAR" else "JSON"
    if origin is dict:
        return "JSON"
    if annotation is bool:
        return "BOOLEAN"
    if annotation is int:
        return "BIGINT"
    if annotation is float:
        return "DOUBLE"
    return "VARCHAR"  # str, enums, time


def metadata_columns() -> dict[str, str]:
    """``{column: SQL type}`` for every scalar or list field of DotMetadata."""
    columns: dict[str, str] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}_")
                continue
            inner = typing.get_args(annotation)
            if (
                typing.get_origin(annotation) is list
                and inner
                and isinstance(inner[0], type)
                and issubclass(inner[0], BaseModel)
            ):
                columns[f"{prefix}{name}"] = "JSON"
                continue
            columns[f"{prefix}{name}"] = _sql_type(annotation)

    walk(DotMetadata, "")
    return columns


def flatten_metadata(metadata: DotMetadata) -> dict[str, Any]:
    """Column values for :func:`metadata_columns` (JSON text for JSON columns)."""
    columns = metadata_columns()
    flat: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict) and prefix.rstrip("_") not in columns:
            for key, item in value.items():
                walk(item, f"{prefix}{key}_")
            return
        name = prefix.rstrip("_")
        kind = columns.get(name)
        if kind == "JSON":
            flat[name] = json.dumps(value)
        elif isinstance(value, Enum):
            flat[name] = value.value
        else:
            flat[name] = value

    walk(metadata.model_dump(mode="json"), "")
    return {name: flat.get(name) for name in columns}


# -- records handed to the catalog ----------------------------------------------------------


@dataclass(frozen=True)
class DotRecord:
    """Everything the catalog stores about one dot."""

    dot_id: str
    metadata: DotMetadata
    segment: tuple[float, float]
    duration_s: float
    content_hash: str
    vector: np.ndarray | None = None
    netcdf_path: str | None = None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class SourceRecord:
    """The outcome of ingesting one source: its dots, or the finding that it failed."""

    source: str
    source_hash: str
    dots: tuple[DotRecord, ...] = ()
    findings: tuple[Finding, ...] = ()  # source-level findings (e.g. unreadable, no baseline)
    failed: bool = False
    tool_version: str = ""


@dataclass
class ImportReport:
    """What :meth:`Catalog.import_parquet` did."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


_BASE_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS sources (
    source VARCHAR PRIMARY KEY, source_hash VARCHAR, tool_version VARCHAR,
    ingested_at TIMESTAMP, status VARCHAR, n_dots INTEGER);
CREATE TABLE IF NOT EXISTS fingerprints (
    dot_id VARCHAR PRIMARY KEY, vector DOUBLE[], vector_version VARCHAR, netcdf_path VARCHAR);
CREATE TABLE IF NOT EXISTS findings (
    source VARCHAR, dot_id VARCHAR, code VARCHAR, severity VARCHAR, message VARCHAR,
    location VARCHAR, value VARCHAR, fix VARCHAR);
CREATE TABLE IF NOT EXISTS duplicates (
    dot_a VARCHAR, dot_b VARCHAR, kind VARCHAR, evidence JSON, PRIMARY KEY (dot_a, dot_b));
"""


def _dots_ddl() -> str:
    columns = ",\n    ".join(f'"{name}" {kind}' for name, kind in metadata_columns().items())
    return f"""CREATE TABLE IF NOT EXISTS dots (
    dot_id VARCHAR PRIMARY KEY, source VARCHAR, start_s DOUBLE, stop_s DOUBLE,
    duration_s DOUBLE, content_hash VARCHAR, metadata_json JSON,
    {columns});"""


def default_catalog_path() -> Path:
    """``$ADOTS_CATALOG`` or ``./adhesive.duckdb``."""
    return Path(os.environ.get(CATALOG_ENV, DEFAULT_CATALOG))


class Catalog:
    """A catalog of adhesive dots in an embedded DuckDB file.

    Parameters
    ----------
    path : str or Path, optional
        The DuckDB file (default :func:`default_catalog_path`); created on first write.
    lock_timeout : float
        Seconds to wait for another process's lock before giving up.
    """

    def __init__(self, path: str | Path | None = None, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else default_catalog_path()
        self.lock_timeout = lock_timeout
        self._cache: dict[str, tuple[float, Any]] = {}  # name -> (file mtime, value)

    def __repr__(self) -> str:
        return f"<Catalog {str(self.path)!r}>"

    # -- connection handling ---------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open connection, retried while another process holds the file's lock."""
        if read_only and not self.path.exists():
            raise CatalogError(f"{self.path}: no catalog here yet (run `adots ingest` first, or pass --catalog)")
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as err:
                if "lock" not in str(err).lower() or time.monotonic() > deadline:
                    raise CatalogError(f"{self.path}: cannot open the catalog ({err})") from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)
            except duckdb.Error as err:
                raise CatalogError(f"{self.path}: not a readable DuckDB catalog ({err})") from None
        try:
            if not read_only:
                self._ensure_schema(con)
            else:
                self._check_version(con)
            yield con
        finally:
            con.close()

    def _check_version(self, con: duckdb.DuckDBPyConnection) -> int:
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            raise CatalogError(f"{self.path}: a DuckDB file but not an adhesive-dots catalog") from None
        version = int(row[0]) if row else 0
        if version > CATALOG_SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path}: catalog schema version {version} is newer than this adhesive-dots reads "
                f"({CATALOG_SCHEMA_VERSION}); upgrade adhesive-dots"
            )
        return version

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_BASE_TABLES)
            con.execute(_dots_ddl())
            version = self._check_version(con)
            if version < CATALOG_SCHEMA_VERSION:
                for step in range(version + 1, CATALOG_SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS.get(step, ()):
                        con.execute(statement)
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(CATALOG_SCHEMA_VERSION)])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    # -- writing -----------------------------------------------------------------------------
    def source_state(self, source: str) -> tuple[str, str] | None:
        """``(source_hash, status)`` of an ingested source, or ``None``."""
        if not self.path.exists():
            return None
        with self.connect() as con:
            row = con.execute("SELECT source_hash, status FROM sources WHERE source = ?", [source]).fetchone()
        return (row[0], row[1]) if row else None

    def write_source(self, record: SourceRecord, *, vector_names: Sequence[str] | None = None) -> None:
        """Replace everything stored for ``record.source`` with ``record``, in one transaction."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                if vector_names is not None:
                    self._check_vector_names(con, list(vector_names))
                old = [
                    r[0] for r in con.execute("SELECT dot_id FROM dots WHERE source = ?", [record.source]).fetchall()
                ]
                new_ids = [d.dot_id for d in record.dots]
                for table, column in (("fingerprints", "dot_id"), ("sketches", "dot_id"), ("dots", "dot_id")):
                    for dot_id in set(old) | set(new_ids):
                        con.execute(f"DELETE FROM {table} WHERE {column} = ?", [dot_id])
                for dot_id in set(old) | set(new_ids):
                    con.execute("DELETE FROM duplicates WHERE dot_a = ? OR dot_b = ?", [dot_id, dot_id])
                con.execute("DELETE FROM findings WHERE source = ?", [record.source])
                con.execute("DELETE FROM sources WHERE source = ?", [record.source])
                for dot in record.dots:
                    self._insert_dot(con, record.source, dot)
                for finding in record.findings:
                    self._insert_finding(con, record.source, None, finding)
                con.execute(
                    "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                    [record.source, record.source_hash, record.tool_version,
                     dt.datetime.now(dt.UTC).replace(tzinfo=None),
                     "failed" if record.failed else "ok", len(record.dots)],
                )  # fmt: skip
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    def _check_vector_names(self, con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
        row = con.execute("SELECT value FROM meta WHERE key = 'vector_names'").fetchone()
        if row is None:
            con.execute("INSERT INTO meta VALUES ('vector_names', ?)", [json.dumps(names)])
        elif json.loads(row[0]) != names:
            raise CatalogError(
                f"{self.path}: the fingerprint summary vector of this adhesive-dots version differs from the one "
                "stored in the catalog; re-ingest into a new catalog"
            )

    def _insert_dot(self, con: duckdb.DuckDBPyConnection, source: str, dot: DotRecord) -> None:
        flat = flatten_metadata(dot.metadata)
        names = ["dot_id", "source", "start_s", "stop_s", "duration_s", "content_hash", "metadata_json",
                 *flat]  # fmt: skip
        values = [dot.dot_id, source, dot.segment[0], dot.segment[1], dot.duration_s, dot.content_hash,
                  dot.metadata.model_dump_json(), *flat.values()]  # fmt: skip
        quoted = ", ".join(f'"{n}"' for n in names)
        con.execute(f"INSERT INTO dots ({quoted}) VALUES ({', '.join('?' * len(values))})", values)
        if dot.vector is not None:
            con.execute(
                "INSERT INTO fingerprints VALUES (?, ?, ?, ?)",
                [dot.dot_id, np.asarray(dot.vector, dtype=float).tolist(), "1", dot.netcdf_path],
            )
        for finding in dot.findings:
            self._insert_finding(con, source, dot.dot_id, finding)

    @staticmethod
    def _insert_finding(con: duckdb.DuckDBPyConnection, source: str, dot_id: str | None, finding: Finding) -> None:
        value = None if finding.value is None else json.dumps(finding.value, default=str)
        con.execute(
            "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [source, dot_id, finding.code, str(getattr(finding.severity, "value", finding.severity)),
             finding.message, finding.location, value, finding.fix],
        )  # fmt: skip

    # -- reading -------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run read-only SQL against the catalog and return a DataFrame."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).df()

    def dots(self) -> pd.DataFrame:
        """Every dot, one row each (metadata columns included)."""
        return self.query("SELECT * FROM dots ORDER BY source, start_s")

    def integrity_check(self) -> list[str]:
        """Problems found (empty when the catalog is consistent)."""
        problems = []
        checks = {
            "dots without a source row": "SELECT count(*) FROM dots d LEFT JOIN sources s USING (source) "
            "WHERE s.source IS NULL",
            "fingerprints without a dot": "SELECT count(*) FROM fingerprints f LEFT JOIN dots d USING (dot_id) "
            "WHERE d.dot_id IS NULL",
            "sources whose dot count is wrong": "SELECT count(*) FROM sources s WHERE s.n_dots != "
            "(SELECT count(*) FROM dots d WHERE d.source = s.source)",
            "dots with unreadable metadata": "SELECT count(*) FROM dots WHERE json_valid(metadata_json) = false",
        }
        with self.connect(read_only=True) as con:
            for label, sql in checks.items():
                count = con.execute(sql).fetchone()[0]
                if count:
                    problems.append(f"{count} {label}")
        return problems

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered until the catalog file changes."""
        mtime = self.path.stat().st_mtime_ns if self.path.exists() else -1
        hit = self._cache.get(name)
        if hit is None or hit[0] != mtime:
            self._cache[name] = hit = (mtime, compute())
        return hit[1]

    def vectors(self) -> tuple[np.ndarray, list[str]]:
        """All summary vectors ``(n_dots, n_features)`` and their dot ids (cached until the file changes)."""

        def load() -> tuple[np.ndarray, list[str]]:
            with self.connect(read_only=True) as con:
                table = con.execute("SELECT dot_id, vector FROM fingerprints ORDER BY dot_id").fetchnumpy()
            ids = [str(i) for i in table["dot_id"]]
            matrix = np.array(list(table["vector"]), dtype=float) if ids else np.empty((0, 0))
            return matrix, ids

        return self.cached("vectors", load)

    def vector_names(self) -> list[str]:
        rows = self.query("SELECT value FROM meta WHERE key = 'vector_names'")
        return json.loads(rows["value"].iloc[0]) if len(rows) else []

    def vector_of(self, dot_id: str) -> np.ndarray:
        matrix, ids = self.vectors()
        positions = self.cached("vector-positions", lambda: {name: i for i, name in enumerate(ids)})
        if dot_id not in positions:
            raise DataError(f"{self.path}: no fingerprint for dot {dot_id!r} (see `adots search` for dot ids)")
        return matrix[positions[dot_id]]
