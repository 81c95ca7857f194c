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

An import checks the file first: column names and types, the vector names, and the
uncompressed size of every column chunk against the per-value limits below (so a small
file that decompresses to gigabytes is refused before anything is decompressed). A file
failing these checks is rejected whole and the catalog is left unchanged.

The rows are then read in record batches (:data:`BATCH_ROWS` at a time; bounded memory) and
each row is checked on its own: string sizes (``metadata_json`` and ``findings_json`` at most
1 MiB, other strings 4 KiB), every metadata record against DotMetadata, the segment
(finite, ``0 <= duration <= stop - start <= MAX_SEGMENT_S``), the vector (its length, every
value finite-or-NaN and at most :data:`MAX_ABS_VECTOR_VALUE` in magnitude), the findings (a
list of objects with a known severity, nested at most :data:`MAX_JSON_DEPTH` levels). A row
that fails is *rejected* (listed with its row number and the problem, nothing of it stored);
rows whose ``dot_id`` or ``content_hash`` already exist with different content are
*conflicts* and never overwrite what is there. Each batch is written in its own transaction,
so the catalog's lock is released between batches and a search never waits for a whole
import.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from adhesive_dots.catalog.store import (
    CATALOG_SCHEMA_VERSION,
    Catalog,
    CatalogError,
    ImportReport,
    finding_row,
    flatten_dot_table,
)
from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import FormatError, SourceNotFoundError
from adhesive_dots.files import atomic_output
from adhesive_dots.metadata import DotMetadata, format_validation_error

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
"""Largest ``metadata_json`` or ``findings_json`` of one row (bytes of UTF-8)."""
MAX_STRING_BYTES = 4096
"""Largest other string of one row (bytes of UTF-8)."""
MAX_VECTOR_LENGTH = 4096
"""Most elements of a summary vector (and names in ``adots_vector_names``)."""
MAX_ABS_VECTOR_VALUE = 1e6
"""Largest magnitude of a summary-vector element: every element is unitless, in Hz or a log10
ratio (see :data:`~adhesive_dots.fingerprint.SUMMARY_FIELDS`), so anything larger is not a
fingerprint value. NaN (a feature that does not apply) is allowed; ±inf is not."""
MAX_SEGMENT_S = 1e7
"""Longest segment accepted (s; about 115 days)."""
MAX_TIME_S = 1e9
"""Largest magnitude of a segment bound (s)."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of a finding's JSON (lists and objects)."""
MAX_PROBLEMS_LISTED = 10
BATCH_ROWS = 122_880
"""Rows read, checked and written per transaction (the lock is released between batches): DuckDB's row
group size, so that each transaction writes whole row groups straight to the file and closing the
connection has almost nothing left to checkpoint (10,000-row transactions spent more time checkpointing
partly filled row groups than inserting)."""
MAX_BATCH_BYTES = 256 << 20
"""Most uncompressed bytes held for one batch (fewer rows per batch when rows are large)."""
MIN_ROWS_FOR_WORKERS = 20_000
"""Files with more rows are checked by worker processes (fewer: starting them costs more than it saves)."""
PAUSE_BETWEEN_BATCHES_S = 0.15
"""Time the catalog file is left free between two batches, so that a waiting search gets its turn."""
EXPORT_ROW_GROUP_ROWS = 10_000
"""Rows per Parquet row group written by :func:`export_parquet`."""
_SEVERITIES = frozenset(s.value for s in Severity)
_STRING_LIMITS = {
    "dot_id": MAX_STRING_BYTES,
    "source": MAX_STRING_BYTES,
    "source_hash": MAX_STRING_BYTES,
    "content_hash": MAX_STRING_BYTES,
    "metadata_json": MAX_METADATA_BYTES,
    "findings_json": MAX_METADATA_BYTES,
}
_CHUNK_OVERHEAD = 64
"""Bytes per value allowed on top of a column's per-value limit (lengths, levels, page headers)."""


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
        pq.write_table(table, tmp, row_group_size=EXPORT_ROW_GROUP_ROWS)
    return table.num_rows


def _open_checked(path: Path) -> tuple[pq.ParquetFile, list[str]]:
    """Open ``path`` and check its schema, vector names and declared sizes (nothing decompressed yet)."""
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise FormatError(f"{path}: not a regular file")
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as err:
        raise FormatError(f"{path}: not a readable Parquet file ({err})") from None
    problems: list[str] = []
    names = set(schema.names)
    for column in PARQUET_SCHEMA:
        if column.name not in names:
            problems.append(f"missing column {column.name!r} ({column.type})")
        elif not schema.field(column.name).type.equals(column.type):
            problems.append(f"column {column.name!r} has type {schema.field(column.name).type}, expected {column.type}")
    extra = names - set(PARQUET_SCHEMA.names)
    if extra:
        problems.append(f"unexpected column(s) {sorted(extra)[:MAX_PROBLEMS_LISTED]}")
    if problems:
        raise FormatError(f"{path}: not an adhesive-dots export: " + "; ".join(problems))
    vector_names = _vector_names(path, schema.metadata or {})
    _check_declared_sizes(path, parquet, len(vector_names))
    return parquet, vector_names


def _vector_names(path: Path, metadata: dict[bytes, bytes]) -> list[str]:
    raw = metadata.get(b"adots_vector_names", b"[]")
    try:
        if len(raw) > MAX_METADATA_BYTES:
            raise ValueError(f"{len(raw)} bytes, at most {MAX_METADATA_BYTES}")
        names = json.loads(raw)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("not a list of strings")
        if len(names) > MAX_VECTOR_LENGTH or any(len(n) > 256 or not n.isprintable() for n in names):
            raise ValueError(f"more than {MAX_VECTOR_LENGTH} names, or a name longer than 256 or not printable")
    except (ValueError, RecursionError) as err:
        raise FormatError(f"{path}: file metadata adots_vector_names is malformed ({err})") from None
    return names


def _check_declared_sizes(path: Path, parquet: pq.ParquetFile, n_names: int) -> None:
    """Refuse a file whose column chunks declare more uncompressed bytes than their rows may hold."""
    limits = {**_STRING_LIMITS, "vector": 8 * max(n_names, 1) + 8}
    meta = parquet.metadata
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            name = chunk.path_in_schema.split(".")[0]
            allowed = row_group.num_rows * (limits.get(name, 8) + _CHUNK_OVERHEAD) + (1 << 20)
            if chunk.total_uncompressed_size > allowed:
                raise FormatError(
                    f"{path}: rejected, nothing imported: column {name!r} of row group {group} declares "
                    f"{chunk.total_uncompressed_size} uncompressed bytes for {row_group.num_rows} rows, more than its "
                    f"values may hold ({allowed}); a damaged file or a decompression bomb"
                )


def _batches(parquet: pq.ParquetFile) -> Iterator[pa.RecordBatch]:
    """Record batches of at most :data:`BATCH_ROWS` rows and about :data:`MAX_BATCH_BYTES` uncompressed
    (across the file's row groups; fewer rows when the largest rows need it)."""
    meta = parquet.metadata
    per_row = 1.0
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        if row_group.num_rows:
            size = sum(row_group.column(i).total_uncompressed_size for i in range(row_group.num_columns))
            per_row = max(per_row, size / row_group.num_rows)
    rows = int(max(1, min(BATCH_ROWS, MAX_BATCH_BYTES // per_row)))
    yield from parquet.iter_batches(batch_size=rows, columns=PARQUET_SCHEMA.names)


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _finding_rows(text: str | None, source: str, dot_id: str) -> list[list[Any]]:
    """The ``findings`` rows of one row's ``findings_json``; raises ``ValueError`` naming the problem."""
    if text in (None, "", "[]"):
        return []
    try:
        items = json.loads(text)
    except RecursionError:
        raise ValueError(f"findings_json is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as err:
        raise ValueError(f"findings_json is not JSON ({err})") from None
    if not isinstance(items, list):
        raise ValueError(f"findings_json is not a JSON list (got {type(items).__name__})")
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(items) > MAX_JSON_DEPTH:
        raise ValueError(f"findings_json is nested deeper than {MAX_JSON_DEPTH} levels")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"finding {i} is not a JSON object (got {type(item).__name__})")
        severity = item.get("severity", "info")
        if severity not in _SEVERITIES:
            raise ValueError(f"finding {i} has severity {str(severity)[:40]!r}; allowed: {sorted(_SEVERITIES)}")
        for key in ("code", "message", "location", "fix"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise ValueError(f"finding {i}: {key} is not a string")
        finding = Finding(
            code=item.get("code") or "",
            severity=Severity(severity),
            message=item.get("message") or "",
            location=item.get("location") or "",
            value=item.get("value"),
            fix=item.get("fix") or "",
        )
        out.append(finding_row(source, dot_id, finding))
    return out


def _segment_problems(batch: pa.RecordBatch) -> list[str | None]:
    """Per row: the first problem of its segment columns, or ``None`` (vectorised over the batch)."""
    start, stop, duration = (
        batch.column(name).to_numpy(zero_copy_only=False).astype(float)
        for name in ("segment_start", "segment_stop", "duration_s")
    )
    length = stop - start
    with np.errstate(invalid="ignore", over="ignore"):
        checks = [
            (~np.isfinite(start), "segment_start is {start}, not a finite number of seconds"),
            (~np.isfinite(stop), "segment_stop is {stop}, not a finite number of seconds"),
            (~np.isfinite(duration), "duration_s is {duration}, not a finite number of seconds"),
            (
                (np.abs(start) > MAX_TIME_S) | (np.abs(stop) > MAX_TIME_S),
                f"a segment bound is beyond ±{MAX_TIME_S:g} s",
            ),
            (~(length > 0), "segment_stop {stop:g} s is not after segment_start {start:g} s"),
            (length > MAX_SEGMENT_S, f"the segment is {{length:g}} s long, more than {MAX_SEGMENT_S:g} s"),
            (
                (duration < 0) | (duration > length * (1 + 1e-9) + 1e-6),
                "duration_s {duration:g} s is negative or longer than the segment ({length:g} s)",
            ),
        ]
    out: list[str | None] = [None] * batch.num_rows
    for mask, message in reversed(checks):  # the first check that fails names the problem
        for i in np.flatnonzero(mask):
            out[i] = message.format(start=start[i], stop=stop[i], duration=duration[i], length=length[i])
    return out


def _vector_problems(column: pa.ListArray, n_names: int) -> list[str | None]:
    """Per row: the problem of its summary vector (length, ±inf, magnitude), or ``None``."""
    out: list[str | None] = [None] * len(column)
    lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy(zero_copy_only=False)
    flat = pc.fill_null(pc.list_flatten(column), np.nan).to_numpy(zero_copy_only=False).astype(float)
    offsets = np.concatenate([[0], np.cumsum(np.maximum(lengths, 0))])
    with np.errstate(invalid="ignore"):
        bad = np.isinf(flat) | (np.abs(flat) > MAX_ABS_VECTOR_VALUE)
    for row in np.unique(np.searchsorted(offsets, np.flatnonzero(bad), side="right") - 1):
        where = int(np.flatnonzero(bad[offsets[row] : offsets[row + 1]])[0])
        out[row] = (
            f"vector element {where} is {flat[offsets[row] + where]:g}; elements must be finite (or NaN) and at "
            f"most {MAX_ABS_VECTOR_VALUE:g} in magnitude"
        )
    for row in np.flatnonzero((lengths >= 0) & (lengths != n_names)):
        out[row] = (
            f"vector has {lengths[row]} values, {n_names} expected"
            if n_names
            else "has a vector but neither the file nor the catalog names its elements"
        )
    return out


def _size_problems(batch: pa.RecordBatch) -> list[str | None]:
    """Per row: the first string column that is empty (where required) or too large, or ``None``."""
    out: list[str | None] = [None] * batch.num_rows
    for column, limit in reversed(_STRING_LIMITS.items()):
        sizes = pc.fill_null(pc.binary_length(batch.column(column)), 0).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(sizes > limit):
            out[i] = f"{column} is {sizes[i]} bytes, at most {limit} allowed"
        if column in ("dot_id", "source", "content_hash"):
            for i in np.flatnonzero(sizes == 0):
                out[i] = f"{column} is empty"
    return out


def _canonical_metadata(text: str | None) -> str:
    """The metadata record validated against DotMetadata, as canonical JSON; raises ``ValueError`` naming the
    problem."""
    try:
        return DotMetadata.model_validate_json(text or "").model_dump_json()
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            raise ValueError(f"metadata_json is not valid JSON ({err.errors()[0]['msg']})") from None
        message = format_validation_error(err, source="metadata_json")
        raise ValueError(" ".join(message.split())[:300]) from None
    except RecursionError:
        raise ValueError("metadata_json is nested too deeply") from None


def check_rows(
    ids: list[str], sources: list[str], metadata: list[str | None], findings: list[str | None]
) -> list[tuple[str | None, str, list[list[Any]]]]:
    """Per row: ``(problem or None, canonical metadata JSON, findings rows)`` (the per-row Python checks;
    run in worker processes for large imports)."""
    out: list[tuple[str | None, str, list[list[Any]]]] = []
    with _no_cyclic_gc():
        for dot_id, source, meta, found in zip(ids, sources, metadata, findings, strict=True):
            try:
                rows = _finding_rows(found, source, dot_id)
                out.append((None, _canonical_metadata(meta), rows))
            except ValueError as err:
                out.append((str(err), "", []))
    return out


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while checking a batch: its many short-lived objects otherwise
    trigger full collections that triple the time per row; it runs again after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Checked:
    """One batch after its checks: the rows, their first row number, the per-row problems and results."""

    batch: pa.RecordBatch
    first_row: int
    problems: list[str | None]
    pending: list[Any]  # futures (or finished lists) of check_rows over the rows without a problem yet
    todo: list[int]


def import_parquet(
    catalog: Catalog,
    path: str | Path,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Merge a Parquet export into ``catalog``, batch by batch (see the module docs).

    File-level problems (not Parquet, wrong columns, malformed vector names, declared sizes
    beyond the limits, vector names that differ from the catalog's) raise
    :class:`~adhesive_dots.errors.FormatError` or :class:`CatalogError` before anything is
    written. Row-level problems are listed in ``report.rejected``; conflicts in
    ``report.conflicts``; neither stops the rows after them.

    Parameters
    ----------
    workers : int, optional
        Processes checking rows while this one writes (default: 2 when the file holds more than
        :data:`MIN_ROWS_FOR_WORKERS` rows, else 0: everything in this process).
    progress : callable, optional
        Called as ``progress(rows done, rows in the file)`` after each batch is written.
    """
    path = Path(path)
    parquet, vector_names = _open_checked(path)
    report = ImportReport()
    if catalog.path.exists() and catalog.vector_names():
        stored = catalog.vector_names()
        if vector_names and vector_names != stored:
            raise CatalogError(
                f"{path}: its fingerprint summary vector names differ from those of {catalog.path}; "
                "nothing imported (import into a new catalog)"
            )
        vector_names = stored
    if workers is None:
        workers = 2 if parquet.metadata.num_rows > MIN_ROWS_FOR_WORKERS else 0
    pool = (
        ProcessPoolExecutor(workers, mp_context=_pool_context(), initializer=_start_worker, initargs=(os.getpid(),))
        if workers
        else None
    )
    first_row = 0
    waiting: deque[_Checked] = deque()
    total = parquet.metadata.num_rows

    def write_next() -> None:
        checked = waiting.popleft()
        _write_batch(catalog, path, checked, vector_names, report)
        if progress is not None:
            progress(checked.first_row + checked.batch.num_rows, total)

    try:
        for batch in _batches(parquet):
            waiting.append(_check_batch(batch, first_row, len(vector_names), pool, max(workers, 1)))
            first_row += batch.num_rows
            if len(waiting) > 1:  # write one batch while the next one is being checked
                write_next()
                time.sleep(PAUSE_BETWEEN_BATCHES_S)
        while waiting:
            write_next()
    except (pa.ArrowException, OSError) as err:
        raise FormatError(
            f"{path}: unreadable from row {first_row} on ({err}); {len(report.added)} dots before it were imported"
        ) from None
    except BrokenProcessPool:
        raise CatalogError(
            f"{path}: a process checking its rows was killed (out of memory?); {len(report.added)} dots were "
            "imported before it, whole; run the import again to add the rest (those are recognised as unchanged)"
        ) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return report


def _pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` where there is one (the workers run only :func:`check_rows`: pydantic and json, no Arrow or
    DuckDB, and no catalog connection is open when they start), else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _start_worker(parent: int) -> None:
    """In a checking worker: run at a lower priority, so that the writer (which holds the catalog's lock)
    gets the cores first and releases the lock sooner; and end when the importing process is gone (a
    killed import must not leave its workers behind, each holding a copy of its memory)."""
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(10)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="adots-import-watchdog", daemon=True).start()


def _check_batch(
    batch: pa.RecordBatch, first_row: int, n_names: int, pool: ProcessPoolExecutor | None, parts: int
) -> _Checked:
    """Vectorised checks now; the per-row Python checks submitted to ``pool`` (or run here)."""
    problems = [
        a or b or c
        for a, b, c in zip(
            _size_problems(batch),
            _segment_problems(batch),
            _vector_problems(batch.column("vector"), n_names),
            strict=True,
        )
    ]
    todo = [i for i, p in enumerate(problems) if p is None]
    names = ("dot_id", "source", "metadata_json", "findings_json")
    columns = [batch.column(n).take(pa.array(todo, pa.int64())).to_pylist() for n in names]
    pending: list[Any] = []
    step = -(-len(todo) // parts) if todo else 1
    for lo in range(0, len(todo), step):
        chunk = [c[lo : lo + step] for c in columns]
        pending.append(pool.submit(check_rows, *chunk) if pool is not None else check_rows(*chunk))
    return _Checked(batch, first_row, problems, pending, todo)


def _write_batch(
    catalog: Catalog, path: Path, checked: _Checked, vector_names: list[str], report: ImportReport
) -> None:
    """Collect a batch's checks and prepare its good rows, then compare them with the catalog and append them
    in one transaction (everything that does not depend on the catalog is done before taking its lock)."""
    results = [r for part in checked.pending for r in (part if isinstance(part, list) else part.result())]
    batch, problems = checked.batch, checked.problems
    canonical: dict[int, str] = {}
    finding_rows: dict[int, list[list[Any]]] = {}
    for i, (problem, text, rows) in zip(checked.todo, results, strict=True):
        if problem is None:
            canonical[i], finding_rows[i] = text, rows
        else:
            problems[i] = problem
    ids = batch.column("dot_id").to_pylist()
    for i, problem in enumerate(problems):
        if problem is not None:
            report.rejected.append({"row": checked.first_row + i, "dot_id": str(ids[i])[:80], "problem": problem})
    if not canonical:
        return
    rows = _Rows(
        batch,
        canonical,
        ids=ids,
        sources=batch.column("source").to_pylist(),
        hashes=batch.column("content_hash").to_pylist(),
    )
    flat = flatten_dot_table(rows.table())
    owners = np.array([k for k, i in enumerate(canonical) for _ in finding_rows[i]], dtype=np.int64)
    findings = _findings_table([row for i in canonical for row in finding_rows[i]])
    within = rows.classify({}, {})  # the outcome if the catalog holds none of these dots and sources
    has_vector = batch.column("vector").is_valid().to_numpy(zero_copy_only=False)
    source_hashes = batch.column("source_hash").to_pylist()
    with catalog.transaction() as tx:
        if vector_names and any(has_vector[i] for i in canonical):
            tx.check_vector_names(vector_names)
        existing: dict[str, list[tuple[str, str, str]]] = {}
        for stored in tx.dots_matching([ids[i] for i in canonical], [rows.hashes[i] for i in canonical]):
            existing.setdefault(stored[0], []).append(stored)
            existing.setdefault(stored[1], []).append(stored)
        statuses = tx.source_statuses(sorted({rows.sources[i] for i in canonical}))
        blocked = existing or any(status != "imported" for status in statuses.values())
        keep, unchanged, conflicts = rows.classify(existing, statuses) if blocked else within
        per_source: dict[str, int] = {}
        new_sources: dict[str, str] = {}
        for i in keep:
            source = rows.sources[i]
            per_source[source] = per_source.get(source, 0) + 1
            if source not in statuses:
                new_sources.setdefault(source, source_hashes[i] or "")
        position = rows.position
        kept = np.array([position[i] for i in keep], dtype=np.int64)
        dots = flat if len(kept) == flat.num_rows else flat.take(kept)
        if len(kept) < flat.num_rows and findings.num_rows:
            findings = findings.filter(pa.array(np.isin(owners, kept)))
        with_vector = pa.array([i for i in keep if has_vector[i]], pa.int64())
        vectors = pa.table(
            {"dot_id": batch.column("dot_id").take(with_vector), "vector": batch.column("vector").take(with_vector)}
        )
        tx.insert_dot_table(dots, vectors, findings)
        tx.add_sources([(s, h, f"import:{path.name}", "imported", per_source[s]) for s, h in new_sources.items()])
        tx.count_new_dots_many({s: n for s, n in per_source.items() if s not in new_sources})
    report.added.extend(ids[i] for i in keep)
    report.unchanged.extend(unchanged)
    report.conflicts.extend(conflicts)


_FINDING_COLUMNS = ("source", "dot_id", "code", "severity", "message", "location", "value", "fix")


def _findings_table(rows: list[list[Any]]) -> pa.Table:
    """Rows of the ``findings`` table (:func:`~adhesive_dots.catalog.store.finding_row`) as an Arrow table."""
    return pa.table({n: pa.array([r[k] for r in rows], pa.string()) for k, n in enumerate(_FINDING_COLUMNS)})


@dataclass
class _Rows:
    """The rows of a batch that passed their checks (batch index -> canonical metadata JSON)."""

    batch: pa.RecordBatch
    canonical: dict[int, str]
    ids: list[Any]
    sources: list[Any]
    hashes: list[Any]

    @property
    def position(self) -> dict[int, int]:
        """Batch index -> position among the rows that passed."""
        return {i: k for k, i in enumerate(self.canonical)}

    def table(self) -> pa.Table:
        """The rows as the :data:`~adhesive_dots.catalog.store.DOT_COLUMNS` of ``dots``."""
        taken = pa.array(list(self.canonical), pa.int64())
        column = self.batch.column
        return pa.table(
            {
                "dot_id": column("dot_id").take(taken),
                "source": column("source").take(taken),
                "start_s": column("segment_start").take(taken),
                "stop_s": column("segment_stop").take(taken),
                "duration_s": column("duration_s").take(taken),
                "content_hash": column("content_hash").take(taken),
                "metadata_json": pa.array(list(self.canonical.values()), pa.string()),
            }
        )

    def classify(
        self, existing: dict[str, list[tuple[str, str, str]]], statuses: dict[str, str]
    ) -> tuple[list[int], list[str], list[str]]:
        """``(batch indices to add, ids unchanged, ids in conflict)``, given the stored dots sharing an id or
        content hash (``existing``, by id and by hash) and the stored sources' statuses. A row is unchanged
        or a conflict when it matches a stored dot or an earlier row of the batch; a conflict too when its
        source was ingested here (its dots came from reading the file, not from an import)."""
        seen: dict[str, tuple[str, str, str]] = {}  # ids and hashes taken earlier in this batch
        keep: list[int] = []
        unchanged: list[str] = []
        conflicts: list[str] = []
        for i, text in self.canonical.items():
            dot_id, content_hash = self.ids[i], self.hashes[i]
            dot = (dot_id, content_hash, text)
            matches = [seen[k] for k in (dot_id, content_hash) if k in seen]
            matches += existing.get(dot_id, []) + existing.get(content_hash, [])
            if matches:
                (unchanged if any(_same(m, dot) for m in matches) else conflicts).append(dot_id)
                continue
            status = statuses.get(self.sources[i])
            if status is not None and status != "imported":
                conflicts.append(dot_id)
                continue
            seen[dot_id] = seen[content_hash] = dot
            keep.append(i)
        return keep, unchanged, conflicts


def _same(stored: tuple[str, str, str], new: tuple[str, str, str]) -> bool:
    """Whether a stored ``(dot_id, content_hash, metadata JSON)`` is the same dot as ``new``."""
    if stored[:2] != new[:2]:
        return False
    return stored[2] == new[2] or DotMetadata.model_validate_json(stored[2]) == DotMetadata.model_validate_json(new[2])


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


__all__ = [
    "CHANNEL_FEATURES_SCHEMA",
    "PARQUET_SCHEMA",
    "CatalogError",
    "check_rows",
    "export_channel_features",
    "export_parquet",
    "import_parquet",
]
