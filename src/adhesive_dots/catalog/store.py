"""The catalog: adhesive dots, fingerprints, provenance and findings in one DuckDB file.

Tables (schema version :data:`CATALOG_SCHEMA_VERSION`):

``sources``
    One row per ingested source: ``source`` (URI, primary key), ``source_hash`` (sha256 of
    the file bytes, or of the BIDS run's files), ``tool_version``, ``ingested_at``,
    ``status`` (``ok`` or ``failed``), ``n_dots``.
``dots``
    One row per dot: ``dot_id`` (primary key), ``source``, ``start_s``/``stop_s``
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
``quality`` (version 3)
    ``dot_id`` (primary key), ``score`` (the combined quality score, also in the dot's
    ``curation_quality_score`` column and metadata), ``signal``, ``metadata``, ``duration`` (the
    components, :mod:`adhesive_dots.curate.quality`), ``detail`` (JSON: signal factors, reasons, the
    weights used), ``computed_at``; written at ingest and by ``adots curate``.
``meta``
    ``key``/``value`` pairs: ``schema_version``, ``vector_names`` (JSON list).

Every statement against these tables lives in this module: :class:`Catalog`'s reading
methods, and :class:`CatalogTransaction`'s writing methods inside
:meth:`Catalog.transaction` (curation, exchange, the reports and the web server call them).

DuckDB lets one process open a file for writing at a time, and a reader's lock keeps
writers out while it lasts. Every method opens the file, does its work (writing: in one
transaction) and closes it again, retrying while another process holds the lock, so
concurrent ingests take turns and never corrupt the file. :meth:`Catalog.snapshot` copies
the whole catalog into memory under one short read lock: a long-lived reader (the web
server) answers from the copy and takes a new one when :meth:`Catalog.file_signature`
changes, never holding the file while a writer waits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

from adhesive_dots.core import Finding
from adhesive_dots.errors import AdhesiveError, DataError
from adhesive_dots.metadata import DotMetadata

CATALOG_SCHEMA_VERSION = 3
DEFAULT_CATALOG = "adhesive.duckdb"
CATALOG_ENV = "ADOTS_CATALOG"
LOCK_TIMEOUT_S = 300.0

SKETCHES_DDL = (
    "CREATE TABLE IF NOT EXISTS sketches (dot_id VARCHAR PRIMARY KEY, signature UINTEGER[], n_tokens INTEGER, "
    "fs DOUBLE, n_channels INTEGER, n_times BIGINT, sketch_params JSON, canonical_hash VARCHAR, "
    "computed_at TIMESTAMP)"
)
QUALITY_DDL = (
    "CREATE TABLE IF NOT EXISTS quality (dot_id VARCHAR PRIMARY KEY, score DOUBLE, signal DOUBLE, "
    "metadata DOUBLE, duration DOUBLE, detail JSON, computed_at TIMESTAMP)"
)
MIGRATIONS: dict[int, tuple[str, ...]] = {1: (), 2: (SKETCHES_DDL,), 3: (QUALITY_DDL,)}
"""SQL run to bring a catalog from version ``n - 1`` to ``n`` (version 1 is the first)."""


class CatalogError(AdhesiveError, RuntimeError):
    """The catalog file cannot be opened, is of an unknown version, or fails its integrity check."""


class DotNotFoundError(AdhesiveError, LookupError):
    """No dot, or more than one, has the id (or id prefix) given."""


def shortest_prefixes(ids: Sequence[str], every: Sequence[str], *, min_length: int = 11) -> dict[str, str]:
    """``{id: shortest prefix of at least min_length characters that no other id of sorted every starts with}``."""
    import bisect

    out = {}
    for dot_id in ids:
        i = bisect.bisect_left(every, dot_id)
        after = i + 1 if i < len(every) and every[i] == dot_id else i
        neighbours = [every[j] for j in (i - 1, after) if 0 <= j < len(every)]
        common = max((len(os.path.commonprefix([dot_id, n])) for n in neighbours), default=0)
        out[dot_id] = dot_id[: max(min_length, common + 1)]
    return out


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
    return {name: kind for name, _, kind in _metadata_paths()}


@functools.cache
def _metadata_columns() -> dict[str, str]:
    return metadata_columns()


@functools.cache
def _metadata_paths() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """``(column, path of field names in the DotMetadata dump, SQL type)`` of every flattened column."""
    columns: list[tuple[str, tuple[str, ...], str]] = []

    def walk(model: type[BaseModel], path: tuple[str, ...]) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, (*path, name))
                continue
            inner = typing.get_args(annotation)
            if (
                typing.get_origin(annotation) is list
                and inner
                and isinstance(inner[0], type)
                and issubclass(inner[0], BaseModel)
            ):
                columns.append(("_".join((*path, name)), (*path, name), "JSON"))
                continue
            columns.append(("_".join((*path, name)), (*path, name), _sql_type(annotation)))

    walk(DotMetadata, ())
    return tuple(columns)


def flatten_metadata(metadata: DotMetadata) -> dict[str, Any]:
    """Column values for :func:`metadata_columns` (JSON text for JSON columns)."""
    data = metadata.model_dump(mode="json")
    flat: dict[str, Any] = {}
    for name, path, kind in _metadata_paths():
        value: Any = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if kind == "JSON":
            flat[name] = json.dumps(value)
        elif isinstance(value, Enum):
            flat[name] = value.value
        else:
            flat[name] = value
    return flat


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
    quality: dict[str, Any] | None = None  # QualityScore.to_dict(), stored in the quality table


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
    """What :func:`~adhesive_dots.catalog.exchange.import_parquet` did.

    ``rejected`` lists ``{"row": index in the file, "dot_id": ..., "problem": ...}`` for rows
    that failed their checks (nothing of them is stored).
    """

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


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
KNOWN_TABLES = ("meta", "sources", "dots", "fingerprints", "findings", "duplicates", "sketches", "quality")
"""The catalog's own tables (anything else in the file was added by someone else)."""
DOT_COLUMNS = ("dot_id", "source", "start_s", "stop_s", "duration_s", "content_hash", "metadata_json")
"""Columns of ``dots`` before the flattened metadata columns (:func:`metadata_columns`)."""
SUMMARY_COLUMNS = (
    "dot_id",
    "identity_lab",
    "identity_subject_id",
    "identity_session_id",
    "recording_modality",
    "subject_species",
    "paradigm_name",
    "duration_s",
    "curation_validation_status",
    "source",
)
"""The columns of a search result (``adots search --json``, the server's dot lists)."""
CATALOG_ORDER = ("source", "start_s")
"""Catalog order: by source, then segment start."""
_BUSY = ("lock", "file handle conflict", "different configuration")
"""Words of DuckDB errors that mean "another connection holds the file": wait and retry."""


def _dots_ddl() -> str:
    columns = ",\n    ".join(f'"{name}" {kind}' for name, kind in metadata_columns().items())
    return f"""CREATE TABLE IF NOT EXISTS dots (
    dot_id VARCHAR PRIMARY KEY, source VARCHAR, start_s DOUBLE, stop_s DOUBLE,
    duration_s DOUBLE, content_hash VARCHAR, metadata_json JSON,
    {columns});"""


def default_catalog_path() -> Path:
    """``$ADOTS_CATALOG`` or ``./adhesive.duckdb``."""
    return Path(os.environ.get(CATALOG_ENV, DEFAULT_CATALOG))


def _quote(name: str) -> str:
    """A column name as a quoted SQL identifier (only names of the catalog's own columns reach here)."""
    if name not in _known_columns():
        raise DataError(f"unknown catalog column {name!r}")
    return f'"{name}"'


@functools.cache
def _known_columns() -> frozenset[str]:
    return frozenset((*DOT_COLUMNS, *metadata_columns()))


# -- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DotFilter:
    """Metadata filters on dots (the options of ``adots search``); every field is optional.

    Strings match exactly and case-insensitively; ``arousal`` lists measures that must all be
    recorded (e.g. ``("pupil",)``); ``min_duration`` is in s; ``status`` is a validation
    status (``compliant``, ``noncompliant``, ``not-validated``).
    """

    species: str | None = None
    paradigm: str | None = None
    modality: str | None = None
    min_duration: float | None = None
    illumination: str | None = None
    arousal: tuple[str, ...] = ()
    lab: str | None = None
    status: str | None = None

    COLUMNS: typing.ClassVar[dict[str, str]] = {
        "species": "subject_species",
        "paradigm": "paradigm_name",
        "modality": "recording_modality",
        "illumination": "environment_illumination",
        "lab": "identity_lab",
        "status": "curation_validation_status",
        "arousal": "arousal_measures",
        "min_duration": "duration_s",
    }
    """The ``dots`` column each filter reads."""

    def where(self) -> tuple[str, list[Any]]:
        """``("WHERE ...", params)`` for these filters (``("", [])`` when none is set)."""
        clauses: list[str] = []
        params: list[Any] = []
        for name in ("species", "paradigm", "modality", "illumination", "lab", "status"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"lower({_quote(self.COLUMNS[name])}) = lower(?)")
                params.append(value)
        if self.min_duration is not None:
            clauses.append("duration_s >= ?")
            params.append(float(self.min_duration))
        for measure in self.arousal:
            clauses.append("list_contains(arousal_measures, ?)")
            params.append(measure)
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params

    def is_empty(self) -> bool:
        return self == DotFilter()


def _signature(path: Path) -> tuple[tuple[int, int], ...]:
    """``(mtime_ns, size)`` of the catalog file and of its write-ahead log: changes with every commit."""
    out = []
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            stat = candidate.stat()
            out.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            out.append((-1, -1))
    return tuple(out)


class Catalog:
    """A catalog of adhesive dots in an embedded DuckDB file.

    Every statement against the catalog lives in this class and in
    :class:`CatalogTransaction`: reading methods (:meth:`dots`, :meth:`search`, :meth:`dot`,
    :meth:`findings`, :meth:`duplicates`, ...) each open the file read-only for one query,
    writing goes through :meth:`transaction` (one transaction, committed on success, rolled
    back on any error). :meth:`snapshot` takes a consistent in-memory copy that answers the
    same reading methods without touching the file again (the web server reads those).

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
        self._cache: dict[str, tuple[Any, Any]] = {}  # name -> (cache key, value)

    def __repr__(self) -> str:
        return f"<Catalog {str(self.path)!r}>"

    @property
    def fingerprint_dir(self) -> Path:
        """The folder of the catalog's fingerprint NetCDF files (``<catalog file>.fingerprints``)."""
        return self.path.with_name(self.path.name + ".fingerprints")

    # -- connection handling ---------------------------------------------------------------
    def _retrying(self, action: Callable[[], Any], *, timeout: float | None = None) -> Any:
        """``action()``, retried while another connection holds the file (up to ``timeout`` s)."""
        deadline = time.monotonic() + (self.lock_timeout if timeout is None else timeout)
        delay = 0.02
        while True:
            try:
                return action()
            except duckdb.Error as err:
                busy = any(word in str(err).lower() for word in _BUSY)
                if not busy:
                    if _is_storage_fault(err):
                        raise CatalogError(f"{self.path}: {_write_failure(err)}") from None
                    raise CatalogError(f"{self.path}: not a readable DuckDB catalog ({_first_line(err)})") from None
                if time.monotonic() > deadline:
                    raise CatalogBusyError(f"{self.path}: cannot open the catalog ({err})") from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.1)  # poll often: writers release the file between batches

    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open connection, retried while another process holds the file's lock.

        A read-write connection first brings the file to the current schema version. Prefer
        the reading methods and :meth:`transaction`; this is the escape hatch underneath them.
        """
        if read_only and not self.path.exists():
            raise CatalogError(f"{self.path}: no catalog here yet (run `adots ingest` first, or pass --catalog)")
        con = self._retrying(lambda: duckdb.connect(str(self.path), read_only=read_only))
        try:
            try:
                if not read_only:
                    self._ensure_schema(con)
                else:
                    self._check_version(con)
            except duckdb.Error as err:
                raise CatalogError(f"{self.path}: {_write_failure(err)}") from None
            try:
                yield con
            except duckdb.IOException as err:  # e.g. a truncated file, found only when a query reaches the end
                raise CatalogError(f"{self.path}: not a readable DuckDB catalog ({_first_line(err)})") from None
        finally:
            with contextlib.suppress(duckdb.Error):  # closing after a failed write must not hide its cause
                con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CatalogTransaction]:
        """One read-write transaction: committed when the block ends, rolled back when it raises.

        Examples
        --------
        >>> with catalog.transaction() as tx:  # doctest: +SKIP
        ...     tx.replace_duplicates(pairs)
        """
        with self.connect() as con:
            try:
                with _transaction(con):
                    yield CatalogTransaction(self, con)
            except duckdb.Error as err:
                raise CatalogError(f"{self.path}: {_write_failure(err)}") from None

    def _check_version(self, con: duckdb.DuckDBPyConnection, schema: str = "") -> int:
        try:
            row = con.execute(f"SELECT value FROM {schema}meta WHERE key = 'schema_version'").fetchone()
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
        with _transaction(con):
            con.execute(_BASE_TABLES)
            con.execute(_dots_ddl())
            version = self._check_version(con)
            if version < CATALOG_SCHEMA_VERSION:
                for step in range(version + 1, CATALOG_SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS.get(step, ()):
                        con.execute(statement)
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(CATALOG_SCHEMA_VERSION)])

    def upgrade(self) -> None:
        """Create the file or bring it to the current schema version (a no-op when it is current)."""
        with self.connect():
            pass

    # -- snapshots ---------------------------------------------------------------------------
    def file_signature(self) -> tuple[tuple[int, int], ...]:
        """``(mtime_ns, size)`` of the file and its write-ahead log; changes whenever a transaction commits."""
        return _signature(self.path)

    def snapshot(self, *, timeout: float | None = None) -> CatalogSnapshot:
        """A consistent in-memory copy of the catalog as of now (see :class:`CatalogSnapshot`).

        The file is attached read-only just long enough to copy it (about 0.15 s for 10,000
        dots), so it sees whole transactions only: a source being ingested is either
        entirely in the copy or not at all.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait while another process holds the file (default ``lock_timeout``;
            0 tries once).

        Raises
        ------
        CatalogError
            No file, not a DuckDB file, not a catalog, or a newer schema version.
        CatalogBusyError
            The file stayed locked by a writer for ``timeout`` s.
        """
        if not self.path.exists():
            raise CatalogError(f"{self.path}: no catalog here yet (run `adots ingest` first, or pass --catalog)")
        if self.path.is_dir():
            raise CatalogError(f"{self.path}: a folder, not a catalog file")
        signature = self.file_signature()
        db = duckdb.connect(":memory:")
        try:
            literal = str(self.path.resolve()).replace("'", "''")
            self._retrying(lambda: db.execute(f"ATTACH '{literal}' AS source_catalog (READ_ONLY)"), timeout=timeout)
            try:
                self._check_version(db, "source_catalog.")
                db.execute("COPY FROM DATABASE source_catalog TO memory")
            finally:
                db.execute("DETACH source_catalog")
            self._ensure_schema(db)  # an older catalog is brought up to date in the copy only
            db.execute("SET threads TO 1")  # many small concurrent queries: parallelism across them, not within
        except BaseException:
            db.close()
            raise
        return CatalogSnapshot(self.path, db, signature=signature)

    # -- writing -----------------------------------------------------------------------------
    def source_state(self, source: str) -> tuple[str, str] | None:
        """``(source_hash, status)`` of an ingested source, or ``None``."""
        if not self.path.exists():
            return None
        with self.connect(read_only=True) as con:
            row = con.execute("SELECT source_hash, status FROM sources WHERE source = ?", [source]).fetchone()
        return (row[0], row[1]) if row else None

    def write_source(self, record: SourceRecord, *, vector_names: Sequence[str] | None = None) -> None:
        """Replace everything stored for ``record.source`` with ``record``, in one transaction."""
        with self.transaction() as tx:
            if vector_names is not None:
                tx.check_vector_names(list(vector_names))
            tx.replace_source(record)

    # -- reading -------------------------------------------------------------------------------
    def _frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self.connect(read_only=True) as con:
            return con.execute(sql, list(params or [])).df()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run read-only SQL against the catalog and return a DataFrame (for ad-hoc questions and tests)."""
        return self._frame(sql, params)

    def table_sizes(self) -> dict[str, int]:
        """Rows per table, for every table in the file (the catalog's own and any other)."""
        with self.connect(read_only=True) as con:
            names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
            return {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}

    def dots(
        self, *, columns: Sequence[str] | None = None, dot_ids: Sequence[str] | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """Every dot (or those of ``dot_ids``) in catalog order, one row each (all columns, or ``columns``)."""
        return self.search(None, columns=columns, dot_ids=dot_ids, limit=limit)

    def search(
        self,
        filters: DotFilter | None = None,
        *,
        columns: Sequence[str] | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        dot_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Dots matching ``filters``: ``columns`` (default all), sorted, one page of them.

        Parameters
        ----------
        filters : DotFilter, optional
            Metadata filters (none: every dot).
        columns : sequence of str, optional
            Columns of ``dots`` to return.
        sort : str, optional
            A column to sort by (missing values last); ties and the default follow catalog order.
        descending : bool
            Sort ``sort`` from the largest value.
        limit, offset : int
            The page: at most ``limit`` rows after skipping ``offset``.
        dot_ids : sequence of str, optional
            Only these dots.
        """
        return self._frame(*self._search_sql(filters, columns, sort, descending, limit, offset, dot_ids))

    def search_records(
        self,
        filters: DotFilter | None = None,
        *,
        columns: Sequence[str] | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """:meth:`search` as a list of ``{column: value}`` (Python values, no DataFrame: for many small queries)."""
        sql, params = self._search_sql(filters, columns, sort, descending, limit, offset, None)
        with self.connect(read_only=True) as con:
            cursor = con.execute(sql, params)
            rows = cursor.fetchall()
            names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    @staticmethod
    def _search_sql(filters, columns, sort, descending, limit, offset, dot_ids) -> tuple[str, list[Any]]:
        where, params = (filters or DotFilter()).where()
        if dot_ids is not None:
            where = f"{where} AND" if where else "WHERE"
            where += " list_contains(?::VARCHAR[], dot_id)"
            params.append(list(dot_ids))
        selected = "*" if columns is None else ", ".join(_quote(c) for c in columns)
        order = [f"{_quote(sort)} {'DESC' if descending else 'ASC'} NULLS LAST"] if sort else []
        order += [_quote(c) for c in CATALOG_ORDER]
        sql = f"SELECT {selected} FROM dots {where} ORDER BY {', '.join(order)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        return sql, params

    def count(self, filters: DotFilter | None = None) -> int:
        """Number of dots matching ``filters``."""
        where, params = (filters or DotFilter()).where()
        with self.connect(read_only=True) as con:
            return int(con.execute(f"SELECT count(*) FROM dots {where}", params).fetchone()[0])

    def dot(self, dot_id: str, *, columns: Sequence[str] | None = None) -> dict[str, Any] | None:
        """One dot: its ``dots`` columns (all, or ``columns``) plus ``metadata_text`` (the DotMetadata JSON),
        ``source_hash``, ``ingested_at``, ``tool_version``, ``netcdf_path`` and ``has_vector``; ``None`` when
        there is no such dot."""
        selected = "*" if columns is None else ", ".join(_quote(c) for c in dict.fromkeys(["source", *columns]))
        with self.connect(read_only=True) as con:
            cursor = con.execute(
                f"SELECT {selected}, CAST(metadata_json AS VARCHAR) AS metadata_text FROM dots WHERE dot_id = ?",
                [dot_id],
            )
            row = cursor.fetchone()
            if row is None:
                return None
            out = dict(zip([d[0] for d in cursor.description], row, strict=True))
            source = con.execute(
                "SELECT source_hash, ingested_at, tool_version FROM sources WHERE source = ?", [out["source"]]
            ).fetchone()
            fingerprint = con.execute(
                "SELECT netcdf_path, vector IS NOT NULL FROM fingerprints WHERE dot_id = ?", [dot_id]
            ).fetchone()
        out.update(zip(("source_hash", "ingested_at", "tool_version"), source or (None, None, None), strict=True))
        out.update(zip(("netcdf_path", "has_vector"), fingerprint or (None, False), strict=True))
        return out

    def resolve_dot_id(self, text: str) -> str:
        """The full id of the dot that ``text`` names: its id, or a unique prefix of it (like git), with or
        without the ``dot-`` prefix.

        Raises
        ------
        DotNotFoundError
            When no dot id starts with ``text``, or several do (the message lists them).
        """
        text = text.strip()
        prefix = text if text.startswith("dot-") else f"dot-{text}"
        if len(prefix) <= len("dot-"):
            raise DotNotFoundError(f"{self.path}: {text!r} is not a dot id")
        rows = self._frame("SELECT dot_id FROM dots WHERE starts_with(dot_id, ?) ORDER BY dot_id LIMIT 11", [prefix])[
            "dot_id"
        ].tolist()
        if prefix in rows:
            return prefix
        if not rows:
            raise DotNotFoundError(f"{self.path}: no dot id starts with {text!r} (adots search lists the dots)")
        if len(rows) > 1:
            listed = ", ".join(rows[:10]) + (" ..." if len(rows) > 10 else "")
            raise DotNotFoundError(f"{self.path}: dot id prefix {text!r} is ambiguous; it matches {listed}")
        return rows[0]

    def short_ids(self, dot_ids: Sequence[str], *, min_hex: int = 7) -> dict[str, str]:
        """The shortest prefix of each id (at least ``dot-`` and ``min_hex`` characters) that no other dot of
        the catalog shares, for tables (:meth:`resolve_dot_id` takes them back)."""
        every = sorted(self.cached("dot_ids", lambda: self._frame("SELECT dot_id FROM dots")["dot_id"].tolist()))
        return shortest_prefixes(dot_ids, every, min_length=len("dot-") + min_hex)

    def fingerprint_path(self, dot_id: str) -> str | None:
        """The stored path of a dot's fingerprint NetCDF file (``None`` without one)."""
        with self.connect(read_only=True) as con:
            row = con.execute("SELECT netcdf_path FROM fingerprints WHERE dot_id = ?", [dot_id]).fetchone()
        return row[0] if row else None

    def distinct_values(self, column: str) -> list[str]:
        """The distinct non-missing values of a ``dots`` column (list columns unnested), sorted."""
        kind = metadata_columns().get(column, "VARCHAR")
        expression = f"unnest({_quote(column)})" if kind.endswith("[]") else _quote(column)
        with self.connect(read_only=True) as con:
            rows = con.execute(f"SELECT DISTINCT CAST({expression} AS VARCHAR) AS v FROM dots").fetchall()
        return sorted(str(r[0]) for r in rows if r[0] is not None)

    def facet_counts(self, column: str, filters: DotFilter | None = None, *, missing: str = "unknown") -> pd.Series:
        """Dots per value of a ``dots`` column (a dot counts under each value of a list column), largest first."""
        where, params = (filters or DotFilter()).where()
        kind = metadata_columns().get(column, "VARCHAR")
        expression = f"unnest({_quote(column)})" if kind.endswith("[]") else _quote(column)
        frame = self._frame(
            f"SELECT coalesce(CAST(v AS VARCHAR), ?) AS value, count(*) AS n FROM "
            f"(SELECT {expression} AS v FROM dots {where}) GROUP BY value ORDER BY n DESC, value",
            [missing, *params],
        )
        return pd.Series(frame["n"].to_numpy(dtype=int), index=frame["value"].astype(str), name=column, dtype=int)

    def minutes_by(self, column: str = "identity_lab", filters: DotFilter | None = None) -> pd.DataFrame:
        """Minutes of baseline per value of ``column``: ``compliant`` and ``other`` (index: the values)."""
        where, params = (filters or DotFilter()).where()
        frame = self._frame(
            f"SELECT coalesce(CAST({_quote(column)} AS VARCHAR), 'unknown') AS key, "
            "coalesce(sum(duration_s) FILTER (WHERE curation_validation_status = 'compliant'), 0) / 60 AS compliant, "
            "coalesce(sum(duration_s) FILTER (WHERE curation_validation_status IS DISTINCT FROM 'compliant'), 0) / 60 "
            f"AS other FROM dots {where} GROUP BY key ORDER BY key",
            params,
        )
        return frame.set_index("key").rename_axis(None).astype(float)

    def findings(self, dot_ids: Sequence[str] | None = None, *, dots_only: bool = False) -> pd.DataFrame:
        """Stored findings: ``source``, ``dot_id``, ``code``, ``severity``, ``message``, ``location``,
        ``value`` (JSON text), ``fix``; of the given dots only, or of dots only (no source-level ones)."""
        clauses, params = [], []
        if dot_ids is not None:
            clauses.append("list_contains(?::VARCHAR[], dot_id)")
            params.append(list(dot_ids))
        if dots_only:
            clauses.append("dot_id IS NOT NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._frame(f"SELECT * FROM findings {where} ORDER BY source, dot_id NULLS FIRST, code", params)

    def quality(self, dot_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored quality: ``dot_id``, ``score``, ``signal``, ``metadata``, ``duration``, ``detail`` (JSON text),
        ``computed_at``; of the given dots only; in dot id order."""
        where, params = (
            ("WHERE list_contains(?::VARCHAR[], dot_id)", [list(dot_ids)]) if dot_ids is not None else ("", [])
        )
        try:
            return self._frame(
                "SELECT dot_id, score, signal, metadata, duration, CAST(detail AS VARCHAR) AS detail, computed_at "
                f"FROM quality {where} ORDER BY dot_id",
                params,
            )
        except duckdb.CatalogException:  # a catalog of schema version 2 opened read-only: nothing stored yet
            columns = ["dot_id", "score", "signal", "metadata", "duration", "detail", "computed_at"]
            return pd.DataFrame(columns=columns)

    def sources(self) -> pd.DataFrame:
        """The ``sources`` table: ``source``, ``source_hash``, ``tool_version``, ``ingested_at``, ``status``,
        ``n_dots``."""
        return self._frame("SELECT * FROM sources ORDER BY source")

    def finding_counts(self) -> pd.DataFrame:
        """``severity``, ``code``, ``n``: how often each check fired, most frequent first."""
        return self._frame(
            "SELECT severity, code, count(*) AS n FROM findings GROUP BY severity, code ORDER BY n DESC, code"
        )

    def source_counts(self) -> dict[str, int]:
        """Sources per ingest status (``ok``, ``failed``, ``imported``)."""
        frame = self._frame("SELECT status, count(*) AS n FROM sources GROUP BY status ORDER BY status")
        return {str(r.status): int(r.n) for r in frame.itertuples()}

    def duplicates(self, dot_id: str | None = None) -> pd.DataFrame:
        """Duplicate links ``dot_a``, ``dot_b``, ``kind``, ``evidence`` (JSON text); those of one dot when given."""
        where, params = ("WHERE dot_a = ? OR dot_b = ?", [dot_id, dot_id]) if dot_id is not None else ("", [])
        return self._frame(
            f"SELECT dot_a, dot_b, kind, CAST(evidence AS VARCHAR) AS evidence FROM duplicates {where} "
            "ORDER BY dot_a, dot_b",
            params,
        )

    def sketches(self) -> pd.DataFrame:
        """Stored sketches: ``dot_id``, ``signature``, ``n_tokens``, ``fs``, ``n_channels``, ``n_times``,
        ``params`` (JSON text), ``canonical_hash``."""
        return self._frame(
            "SELECT dot_id, signature, n_tokens, fs, n_channels, n_times, CAST(sketch_params AS VARCHAR) AS params, "
            "canonical_hash FROM sketches ORDER BY dot_id"
        )

    def segments(self) -> pd.DataFrame:
        """Where every dot's samples are: ``dot_id``, ``source``, ``start_s``, ``stop_s``, ``metadata_json``
        (text; its ``segment.gaps``), in catalog order."""
        return self._frame(
            "SELECT dot_id, source, start_s, stop_s, CAST(metadata_json AS VARCHAR) AS metadata_json "
            "FROM dots ORDER BY source, start_s"
        )

    def dots_with_sources(self) -> pd.DataFrame:
        """Every dot (all columns) with ``metadata_text`` (the JSON as text) and its source's ``source_hash``."""
        return self._frame(
            "SELECT d.*, CAST(d.metadata_json AS VARCHAR) AS metadata_text, s.source_hash FROM dots d "
            "LEFT JOIN sources s USING (source) ORDER BY d.source, d.start_s"
        )

    def exchange_rows(self) -> pd.DataFrame:
        """One row per dot with the columns of the Parquet exchange format
        (:data:`adhesive_dots.catalog.exchange.PARQUET_SCHEMA`), by dot id."""
        return self._frame(
            """
            SELECT d.dot_id, d.source, s.source_hash, d.start_s AS segment_start, d.stop_s AS segment_stop,
                   d.duration_s, d.content_hash,
                   CAST(d.metadata_json AS VARCHAR) AS metadata_json, f.vector,
                   coalesce((SELECT to_json(list({'code': x.code, 'severity': x.severity, 'message': x.message,
                                                   'location': x.location, 'value': x.value, 'fix': x.fix}))
                             FROM findings x WHERE x.dot_id = d.dot_id)::VARCHAR, '[]') AS findings_json
            FROM dots d LEFT JOIN sources s USING (source) LEFT JOIN fingerprints f USING (dot_id)
            ORDER BY d.dot_id
            """
        )

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

    def _cache_key(self) -> Any:
        return self.file_signature()

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered until the catalog file changes."""
        key = self._cache_key()
        hit = self._cache.get(name)
        if hit is None or hit[0] != key:
            self._cache[name] = hit = (key, compute())
        return hit[1]

    def vectors(self) -> tuple[np.ndarray, list[str]]:
        """All summary vectors ``(n_dots, n_features)`` and their dot ids (cached until the file changes)."""

        def load() -> tuple[np.ndarray, list[str]]:
            with self.connect(read_only=True) as con:
                table = con.execute(
                    "SELECT dot_id, vector FROM fingerprints WHERE vector IS NOT NULL ORDER BY dot_id"
                ).fetchnumpy()
            ids = [str(i) for i in table["dot_id"]]
            matrix = np.array(list(table["vector"]), dtype=float) if ids else np.empty((0, 0))
            return matrix, ids

        return self.cached("vectors", load)

    def vector_names(self) -> list[str]:
        """Names of the summary vector's elements (empty before the first fingerprint; cached)."""

        def load() -> list[str]:
            with self.connect(read_only=True) as con:
                row = con.execute("SELECT value FROM meta WHERE key = 'vector_names'").fetchone()
            return json.loads(row[0]) if row else []

        return list(self.cached("vector-names", load))

    def vector_positions(self) -> dict[str, int]:
        """``{dot_id: row of vectors()}`` (cached with the vectors)."""
        _, ids = self.vectors()
        return self.cached("vector-positions", lambda: {name: i for i, name in enumerate(ids)})

    def vector_of(self, dot_id: str) -> np.ndarray:
        matrix, _ = self.vectors()
        positions = self.vector_positions()
        if dot_id not in positions:
            raise DataError(f"{self.path}: no fingerprint for dot {dot_id!r} (see `adots search` for dot ids)")
        return matrix[positions[dot_id]]


class CatalogBusyError(CatalogError):
    """Another process held the catalog file for longer than the caller would wait."""


class CatalogSnapshot(Catalog):
    """A consistent, read-only, in-memory copy of a catalog (:meth:`Catalog.snapshot`).

    It answers every reading method of :class:`Catalog` from memory (thread-safe: each call
    uses its own cursor); writing raises :class:`CatalogError`. ``signature`` is the file's
    :meth:`~Catalog.file_signature` just before the copy: when the file's differs, a newer
    snapshot is due.
    """

    def __init__(self, path: Path, db: duckdb.DuckDBPyConnection, *, signature: Any) -> None:
        super().__init__(path)
        self._db = db
        self.signature = signature
        self.taken_at = dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return f"<CatalogSnapshot of {str(self.path)!r} taken {self.taken_at:%H:%M:%S}>"

    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            raise CatalogError(f"{self.path}: a snapshot of the catalog is read-only")
        cursor = self._db.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def snapshot(self, *, timeout: float | None = None) -> CatalogSnapshot:
        return self

    def upgrade(self) -> None:
        """Nothing to do: the copy was brought to the current schema version when it was taken."""

    def _cache_key(self) -> Any:
        return self.signature

    def close(self) -> None:
        """Free the copy (reading afterwards raises)."""
        self._db.close()


class CatalogTransaction:
    """The writing statements of one open transaction (:meth:`Catalog.transaction`)."""

    def __init__(self, catalog: Catalog, con: duckdb.DuckDBPyConnection) -> None:
        self.catalog = catalog
        self._con = con

    def check_vector_names(self, names: list[str]) -> None:
        """Record the summary vector's element names, or check them against those recorded."""
        rows = self._con.execute("SELECT value FROM meta WHERE key = 'vector_names'").fetchall()
        row = rows[0] if rows else None
        if row is None:
            self._con.execute("INSERT INTO meta VALUES ('vector_names', ?)", [json.dumps(names)])
        elif json.loads(row[0]) != names:
            raise CatalogError(
                f"{self.catalog.path}: the fingerprint summary vector of this adhesive-dots version differs from the "
                "one stored in the catalog; re-ingest into a new catalog"
            )

    def replace_source(self, record: SourceRecord) -> None:
        """Delete everything stored for ``record.source`` (its dots, fingerprints, sketches, duplicate
        links and findings), then store ``record``."""
        con = self._con
        old = [r[0] for r in con.execute("SELECT dot_id FROM dots WHERE source = ?", [record.source]).fetchall()]
        ids = sorted(set(old) | {d.dot_id for d in record.dots})
        if ids:
            for table in ("fingerprints", "sketches", "quality", "dots"):
                con.execute(f"DELETE FROM {table} WHERE list_contains(?::VARCHAR[], dot_id)", [ids])
            con.execute(
                "DELETE FROM duplicates WHERE list_contains(?::VARCHAR[], dot_a) OR list_contains(?::VARCHAR[], dot_b)",
                [ids, ids],
            )
        con.execute("DELETE FROM findings WHERE source = ?", [record.source])
        con.execute("DELETE FROM sources WHERE source = ?", [record.source])
        for dot in record.dots:
            self.insert_dot(record.source, dot)
        for finding in record.findings:
            self.insert_finding(record.source, None, finding)
        self.add_source(
            record.source,
            record.source_hash,
            record.tool_version,
            "failed" if record.failed else "ok",
            len(record.dots),
        )

    def insert_dot(self, source: str, dot: DotRecord) -> None:
        """Add one dot, its fingerprint row (when it has a vector) and its findings."""
        flat = flatten_metadata(dot.metadata)
        names = [*DOT_COLUMNS, *flat]
        values = [
            dot.dot_id,
            source,
            dot.segment[0],
            dot.segment[1],
            dot.duration_s,
            dot.content_hash,
            dot.metadata.model_dump_json(),
            *flat.values(),
        ]
        quoted = ", ".join(f'"{n}"' for n in names)
        self._con.execute(f"INSERT INTO dots ({quoted}) VALUES ({', '.join('?' * len(values))})", values)
        if dot.vector is not None:
            self._con.execute(
                "INSERT INTO fingerprints VALUES (?, ?, ?, ?)",
                [dot.dot_id, np.asarray(dot.vector, dtype=float).tolist(), "1", dot.netcdf_path],
            )
        for finding in dot.findings:
            self.insert_finding(source, dot.dot_id, finding)
        if dot.quality is not None:
            self.put_quality([(dot.dot_id, dot.quality)], update_dots=False)

    def put_quality(self, rows: Iterable[tuple[str, dict[str, Any]]], *, update_dots: bool = True) -> None:
        """Insert or replace ``quality`` rows from ``(dot_id, QualityScore.to_dict())`` pairs; with
        ``update_dots``, also set each dot's ``curation_quality_score`` (column and metadata JSON).

        One statement per table for all the rows (a statement per dot took 4 ms each: 70 min for 10^6 dots).
        """
        rows = list(rows)
        if not rows:
            return
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        scores = []
        for _, q in rows:
            score = q.get("score")
            scores.append(None if score is None or not np.isfinite(score) else float(score))
        table = pa.table(
            {
                "dot_id": pa.array([dot_id for dot_id, _ in rows], pa.string()),
                "score": pa.array(scores, pa.float64()),
                "signal": pa.array([q.get("signal") for _, q in rows], pa.float64()),
                "metadata": pa.array([q.get("metadata") for _, q in rows], pa.float64()),
                "duration": pa.array([q.get("duration") for _, q in rows], pa.float64()),
                "detail": pa.array(
                    [
                        json.dumps({k: v for k, v in q.items() if k not in ("score", "signal", "metadata", "duration")})
                        for _, q in rows
                    ],
                    pa.string(),
                ),
                "computed_at": pa.array([now] * len(rows), pa.timestamp("us")),
                "patch": pa.array([json.dumps({"curation": {"quality_score": s}}) for s in scores], pa.string()),
            }
        )
        self._con.register("_adots_quality", table)
        try:
            self._con.execute(
                "INSERT OR REPLACE INTO quality SELECT dot_id, score, signal, metadata, duration, "
                "CAST(detail AS JSON), computed_at FROM _adots_quality"
            ).fetchall()
            if update_dots:
                self._con.execute(
                    "UPDATE dots SET curation_quality_score = q.score, "
                    "metadata_json = json_merge_patch(dots.metadata_json, q.patch) "
                    "FROM _adots_quality q WHERE dots.dot_id = q.dot_id"
                ).fetchall()
        finally:
            self._con.unregister("_adots_quality")

    def insert_finding(self, source: str, dot_id: str | None, finding: Finding) -> None:
        self._con.execute("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", finding_row(source, dot_id, finding))

    def dots_like(self, dot_id: str, content_hash: str) -> list[tuple[str, str, str]]:
        """``(dot_id, content_hash, metadata JSON)`` of stored dots with this id or this content hash."""
        return self._con.execute(
            "SELECT dot_id, content_hash, CAST(metadata_json AS VARCHAR) FROM dots "
            "WHERE dot_id = ? OR content_hash = ?",
            [dot_id, content_hash],
        ).fetchall()

    def source_status(self, source: str) -> str | None:
        """The stored ``status`` of a source, ``None`` when it is not in the catalog."""
        row = self._con.execute("SELECT status FROM sources WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def add_source(self, source: str, source_hash: str, tool_version: str, status: str, n_dots: int) -> None:
        """A ``sources`` row, stamped now."""
        self._con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
            [source, source_hash, tool_version, dt.datetime.now(dt.UTC).replace(tzinfo=None), status, n_dots],
        )

    def count_new_dots(self, source: str, n: int) -> None:
        """Add ``n`` to a source's dot count."""
        self._con.execute("UPDATE sources SET n_dots = n_dots + ? WHERE source = ?", [n, source])

    # -- bulk writing (imports): one statement per table for a whole batch of rows ----------
    def dots_matching(self, dot_ids: Sequence[str], content_hashes: Sequence[str]) -> list[tuple[str, str, str]]:
        """``(dot_id, content_hash, metadata JSON)`` of stored dots whose id or content hash is in the lists.

        The search scans only the id and hash columns (the metadata of a large catalog is read only for
        the matches, usually none): one import batch costs a scan of two columns, not of every record.
        """
        self._con.register("_adots_ids", pa.table({"v": pa.array(list(dot_ids), pa.string())}))
        self._con.register("_adots_hashes", pa.table({"v": pa.array(list(content_hashes), pa.string())}))
        try:
            matched = self._con.execute(
                "SELECT dot_id FROM dots WHERE dot_id IN (SELECT v FROM _adots_ids) UNION "
                "SELECT dot_id FROM dots WHERE content_hash IN (SELECT v FROM _adots_hashes)"
            ).fetchall()
        finally:
            self._con.unregister("_adots_ids")
            self._con.unregister("_adots_hashes")
        if not matched:
            return []
        self._con.register("_adots_matched", pa.table({"v": pa.array([str(r[0]) for r in matched], pa.string())}))
        try:
            return self._con.execute(
                "SELECT dot_id, content_hash, CAST(metadata_json AS VARCHAR) FROM dots "
                "WHERE dot_id IN (SELECT v FROM _adots_matched)"
            ).fetchall()
        finally:
            self._con.unregister("_adots_matched")

    def source_statuses(self, sources: Sequence[str]) -> dict[str, str]:
        """``{source: status}`` of those of ``sources`` already in the catalog."""
        self._con.register("_adots_sources", pa.table({"v": pa.array(list(sources), pa.string())}))
        try:
            rows = self._con.execute(
                "SELECT source, status FROM sources WHERE source IN (SELECT v FROM _adots_sources)"
            ).fetchall()
        finally:
            self._con.unregister("_adots_sources")
        return {str(r[0]): str(r[1]) for r in rows}

    def insert_dot_table(self, dots: pa.Table, vectors: pa.Table, findings: pa.Table) -> None:
        """Add many dots at once (imports).

        ``dots`` comes from :func:`flatten_dot_table` (prepared before the transaction: the lock is
        held only to append); ``vectors`` has ``dot_id`` and ``vector`` (``list<double>``);
        ``findings`` has the columns of the ``findings`` table (strings, as :func:`finding_row`).
        """
        if dots.num_rows:
            names = ", ".join(f'"{n}"' for n in dots.column_names)
            select = names.replace('"metadata_json"', 'CAST("metadata_json" AS JSON)')
            self._insert_table("dots", names, dots, select=select)
        if vectors.num_rows:
            columns = "dot_id, vector, vector_version, netcdf_path"
            self._insert_table("fingerprints", columns, vectors, select="dot_id, vector, '1', NULL")
        if findings.num_rows:
            self._insert_table("findings", ", ".join(findings.column_names), findings)

    def add_sources(self, rows: Sequence[tuple[str, str, str, str, int]]) -> None:
        """Many ``sources`` rows ``(source, source_hash, tool_version, status, n_dots)``, stamped now."""
        if not rows:
            return
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        names = ("source", "source_hash", "tool_version", "status")
        columns = {n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)}
        columns["ingested_at"] = pa.array([now] * len(rows), pa.timestamp("us"))
        columns["n_dots"] = pa.array([int(r[4]) for r in rows], pa.int32())
        names_sql = "source, source_hash, tool_version, status, ingested_at, n_dots"
        self._insert_table("sources", names_sql, pa.table(columns))

    def count_new_dots_many(self, counts: dict[str, int]) -> None:
        """Add ``counts[source]`` to each source's dot count."""
        if not counts:
            return
        table = pa.table(
            {"source": pa.array(list(counts), pa.string()), "n": pa.array(list(counts.values()), pa.int64())}
        )
        self._con.register("_adots_counts", table)
        try:
            self._con.execute(
                "UPDATE sources SET n_dots = n_dots + c.n FROM _adots_counts c WHERE sources.source = c.source"
            ).fetchall()
        finally:
            self._con.unregister("_adots_counts")

    def _insert_table(
        self, name: str, columns: str, table: pa.Table, *, select: str | None = None, source: str = "_adots_batch"
    ) -> None:
        self._con.register("_adots_batch", table)
        try:
            self._con.execute(f"INSERT INTO {name} ({columns}) SELECT {select or columns} FROM {source}").fetchall()
        finally:
            self._con.unregister("_adots_batch")

    def replace_duplicates(self, pairs: Iterable[tuple[str, str, str, str]]) -> None:
        """Replace every duplicate link with ``(dot_a, dot_b, kind, evidence JSON)`` rows."""
        self._con.execute("DELETE FROM duplicates")
        rows = list(pairs)
        if rows:
            self._con.executemany("INSERT INTO duplicates VALUES (?, ?, ?, ?)", [list(r) for r in rows])

    def put_sketches(self, rows: Iterable[Sequence[Any]]) -> None:
        """Insert or replace ``sketches`` rows (``dot_id``, ``signature``, ``n_tokens``, ``fs``, ``n_channels``,
        ``n_times``, ``sketch_params``, ``canonical_hash``, ``computed_at``)."""
        for values in rows:
            self._con.execute("INSERT OR REPLACE INTO sketches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(values))


def finding_row(source: str, dot_id: str | None, finding: Finding) -> list[Any]:
    """The ``findings`` columns of one finding (``value`` as JSON text)."""
    value = None if finding.value is None else json.dumps(finding.value, default=str)
    severity = str(getattr(finding.severity, "value", finding.severity))
    return [source, dot_id, finding.code, severity, finding.message, finding.location, value, finding.fix]


def flatten_dot_table(dots: pa.Table) -> pa.Table:
    """``dots`` (the :data:`DOT_COLUMNS`; ``metadata_json`` the validated DotMetadata as written by
    ``model_dump_json``) with the flattened metadata columns added, as :func:`flatten_metadata` gives
    them one dot at a time.

    DuckDB's ``json_transform`` does the work in a private in-memory database, so an import flattens
    a batch without holding the catalog's lock.
    """
    names = [*DOT_COLUMNS, *(name for name, _, _ in _metadata_paths())]
    expressions = [*DOT_COLUMNS]
    expressions += ["m." + ".".join(f'"{key}"' for key in path) for _, path, _ in _metadata_paths()]
    select = ", ".join(f'{e} AS "{n}"' for e, n in zip(expressions, names, strict=True))
    with contextlib.closing(duckdb.connect(":memory:")) as db:
        db.register("_adots_batch", dots)
        return db.sql(
            f"SELECT {select} FROM (SELECT *, json_transform(metadata_json, '{_metadata_structure()}') AS m "
            "FROM _adots_batch)"
        ).to_arrow_table()


@functools.cache
def _metadata_structure() -> str:
    """The JSON structure of the flattened metadata columns, for DuckDB's ``json_transform`` (field names and
    SQL types only: no user text)."""
    structure: dict[str, Any] = {}
    for _, path, kind in _metadata_paths():
        node = structure
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = kind
    return json.dumps(structure)


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK when the block raises (the one place that spells it).

    The error that stopped the block (or the COMMIT) is the one raised: a ROLLBACK that fails in
    turn (DuckDB has already ended a transaction whose COMMIT failed) never replaces it.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


_STORAGE_WORDS = {
    "no space left": "no space left on the device",
    "disk full": "no space left on the device",
    "read-only file system": "the file system is read-only",
    "permission denied": "permission denied",
    "cannot open database": "cannot open the file",
}


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _is_storage_fault(err: BaseException) -> bool:
    text = str(err).lower()
    return any(word in text for word in _STORAGE_WORDS) and "not a valid duckdb" not in text


def _write_failure(err: BaseException) -> str:
    """One line for a DuckDB error while writing: the cause first (no space, read-only, ...), then DuckDB's words."""
    text = str(err).lower()
    for word, cause in _STORAGE_WORDS.items():
        if word in text:
            return f"cannot write the catalog: {cause}; nothing was changed ({_first_line(err)})"
    return f"cannot write the catalog; nothing was changed ({_first_line(err)})"
