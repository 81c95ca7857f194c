"""Curation on the catalog: sketches, duplicate links, quality scores and training manifests.

The catalog gains a ``sketches`` table (schema version 2, see :mod:`adhesive_dots.catalog.store`):
``dot_id`` (primary key), ``signature`` (``UINTEGER[]``, the MinHash values), ``n_tokens``,
``fs``, ``n_channels``, ``n_times``, ``sketch_params`` (JSON), ``canonical_hash`` (the
unit-canonical content hash of :func:`adhesive_dots.curate.hashing.compute_content_hash`)
and ``computed_at``.

* :func:`compute_catalog_sketches` reads each dot's segment from its source (only the
  segment) and stores its sketch and canonical hash;
* :func:`find_catalog_duplicates` proposes candidate pairs from the stored sketches and
  hashes, verifies them on the samples (re-reading only candidate dots) and replaces the
  ``duplicates`` table with the confirmed pairs and their evidence (JSON);
* :func:`catalog_quality` reads every dot's quality (signal, metadata, duration, combined; scored at
  ingest), and :func:`store_catalog_quality` scores every dot again from its stored findings,
  fingerprint vector, metadata and duration and stores the scores;
* :func:`curate_catalog` puts it together: quality, duplicate groups, selection;
* :func:`export_manifest` writes the selected dots to Parquet for a training pipeline
  (columns in :data:`MANIFEST_SCHEMA`).

The same duplicate search on files named directly, with no catalog (``adots duplicates``), is
:func:`adhesive_dots.workflows.curate.check_sources`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from adhesive_dots.catalog.store import Catalog, CatalogError, DotFilter
from adhesive_dots.core import Baseline, Segment
from adhesive_dots.curate.duplicates import DuplicateSearch, LoadedBaseline, find_duplicates
from adhesive_dots.curate.hashing import compute_content_hash
from adhesive_dots.curate.quality import QualityConfig, QualityScore, compute_quality
from adhesive_dots.curate.selection import balance_report, select_dots
from adhesive_dots.curate.sketch import Sketch, SketchParams, compute_sketch
from adhesive_dots.curate.verify import VerifyParams
from adhesive_dots.errors import SourceNotFoundError
from adhesive_dots.files import atomic_output
from adhesive_dots.io.remote import is_remote
from adhesive_dots.io.sources import SourceSpec, resolve
from adhesive_dots.metadata import DotMetadata

MANIFEST_SCHEMA = pa.schema(
    [
        ("dot_id", pa.string()),
        ("source", pa.string()),
        ("source_hash", pa.string()),
        ("segment_start", pa.float64()),
        ("segment_stop", pa.float64()),
        ("duration_s", pa.float64()),
        ("content_hash", pa.string()),
        ("quality", pa.float64()),
        ("duplicate_group", pa.string()),
        ("n_duplicates", pa.int64()),
        ("species", pa.string()),
        ("paradigm", pa.string()),
        ("modality", pa.string()),
        ("lab", pa.string()),
        ("subject_id", pa.string()),
        ("session_id", pa.string()),
        ("arousal_measures", pa.list_(pa.string())),
        ("sampling_frequency", pa.float64()),
        ("n_channels", pa.int64()),
        ("units", pa.string()),
        ("metadata_json", pa.string()),
    ]
)
"""Columns of the manifest Parquet file (one row per selected dot).

``dot_id``, ``source``, ``source_hash`` (sha256 of the source's bytes at ingest),
``segment_start``/``segment_stop`` (s in the recording), ``duration_s`` (s of data),
``content_hash`` (of the samples), ``quality`` (score in [0, 1], null when not computed),
``duplicate_group`` (first dot id of its duplicate group; the dot's own id when it has no
duplicate), ``n_duplicates`` (other dots of its group; dropped from the manifest when
``drop_duplicates`` was given), ``species``,
``paradigm``, ``modality``, ``lab``, ``subject_id``, ``session_id``, ``arousal_measures``,
``sampling_frequency`` (Hz), ``n_channels``, ``units``, and ``metadata_json`` (the full
DotMetadata). File metadata: ``adots_manifest`` (JSON: selection options, counts, tool).
"""

# -- opening sources ------------------------------------------------------------------------


def spec_for_dot(source: str, metadata_json: str | None = None) -> SourceSpec:
    """The :class:`~adhesive_dots.io.sources.SourceSpec` that reads catalog dot of ``source`` again.

    ``source`` is what ingest stored (a file, a BIDS run's data file, a URL); the dot's metadata
    (``metadata_json``) records how it was read (a table's rate, an NWB file's series and bin
    width, the modality), so no option has to be given again.
    """
    if not is_remote(source) and not Path(source).exists():
        raise SourceNotFoundError(f"{source}: the source of this dot is gone (moved or deleted); re-ingest it")
    if not metadata_json:
        return SourceSpec(source)
    metadata = DotMetadata.from_json(metadata_json, source=f"catalog dot of {source}")
    return SourceSpec.for_dot(metadata, source=source).replace(start=None, stop=None)


def spec_of_dot(catalog: Catalog, dot_id: str) -> SourceSpec:
    """The :class:`~adhesive_dots.io.sources.SourceSpec` that reads the baseline of a catalog dot again: its
    source, reading options and segment (``dot_id`` may be a unique prefix, :meth:`Catalog.resolve_dot_id`)."""
    full = catalog.resolve_dot_id(dot_id)
    row = catalog.dot(full, columns=["source", "start_s", "stop_s"])
    spec = spec_for_dot(row["source"], row["metadata_text"])
    return spec.replace(start=float(row["start_s"]), stop=float(row["stop_s"]), whole=False, labels=())


def load_baseline(spec: SourceSpec, *, segment: Segment | None = None) -> tuple[LoadedBaseline, str, Baseline]:
    """Read one baseline's samples: the given segment, or the baseline ``spec`` names.

    Parameters
    ----------
    spec : SourceSpec
        What to open and which baseline (``whole=True`` for the whole recording).
    segment : Segment, optional
        The segment to read (as the catalog stores it, gaps included), instead of the spec's baseline.

    Returns
    -------
    loaded : LoadedBaseline
        Samples ``(n_channels, n_times)`` in the recording's units, ``fs``, channel names.
    units : str
        The recording's units.
    baseline : Baseline
        The baseline read (its segment's evidence says what marked it).

    Raises
    ------
    BaselineNotFoundError
        Nothing marks a baseline in the source (the message says how to name one).
    """
    with resolve(spec) as resolved:
        recording = resolved.recording
        baseline = Baseline(recording, segment, recording.metadata) if segment is not None else resolved.baseline
        data = baseline.load()
        return LoadedBaseline(data, recording.fs, recording.channel_names), recording.units, baseline


# -- the catalog ------------------------------------------------------------------------------


def _segment_of(row: Any) -> Segment:
    """The dot's segment: ``start_s``..``stop_s`` minus the gaps its metadata records."""
    gaps: list[tuple[float, float]] = []
    try:
        gaps = [tuple(g) for g in json.loads(row.metadata_json or "{}").get("segment", {}).get("gaps", [])]
    except (ValueError, TypeError, AttributeError):
        gaps = []
    pieces, start = [], float(row.start_s)
    for gap_start, gap_stop in sorted(gaps):
        if start < gap_start < float(row.stop_s):
            pieces.append((start, float(gap_start)))
            start = float(gap_stop)
    pieces.append((start, float(row.stop_s)))
    return Segment(tuple(pieces), evidence=f"catalog dot {row.dot_id}")


def _sketch_table(catalog: Catalog) -> pd.DataFrame:
    catalog.upgrade()  # brings an older catalog up to schema version 2 first
    return catalog.sketches()


def compute_catalog_sketches(
    catalog: Catalog,
    *,
    params: SketchParams | None = None,
    recompute: bool = False,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Sketch every dot of ``catalog`` that has no sketch with ``params`` yet, and store it.

    Each dot's segment is read from its source (only the segment). A dot whose source
    cannot be read is reported, not fatal.

    Returns
    -------
    DataFrame
        ``dot_id``, ``status`` (``computed``, ``kept`` or ``failed``) and ``error``.
    """
    params = params or SketchParams()
    params_json = json.dumps(params.to_dict(), sort_keys=True)
    dots = catalog.segments()
    stored = _sketch_table(catalog)
    current = {
        row.dot_id for row in stored.itertuples() if json.dumps(json.loads(row.params), sort_keys=True) == params_json
    }
    report, rows = [], []
    for row in dots.itertuples():
        if row.dot_id in current and not recompute:
            report.append((row.dot_id, "kept", ""))
            continue
        if progress is not None:
            progress(row.dot_id)
        try:
            loaded, units, _ = load_baseline(spec_for_dot(row.source, row.metadata_json), segment=_segment_of(row))
            sketch = compute_sketch(loaded.data, loaded.fs, params=params)
        except (OSError, ValueError, LookupError) as err:  # unreadable, gone, or too slow to sketch
            report.append((row.dot_id, "failed", str(err)))
            continue
        rows.append(
            [row.dot_id, sketch.signature.astype(np.int64).tolist(), sketch.n_tokens, sketch.fs, sketch.n_channels,
             sketch.n_times, params_json, compute_content_hash(loaded.data, loaded.fs, units=units),
             dt.datetime.now(dt.UTC).replace(tzinfo=None)]
        )  # fmt: skip
        report.append((row.dot_id, "computed", ""))
    if rows:
        with catalog.transaction() as tx:
            tx.put_sketches(rows)
    return pd.DataFrame(report, columns=["dot_id", "status", "error"])


def stored_sketches(catalog: Catalog) -> tuple[dict[str, Sketch], dict[str, str]]:
    """Sketches and canonical content hashes stored in the catalog, by dot id."""
    sketches, hashes = {}, {}
    for row in _sketch_table(catalog).itertuples():
        sketches[row.dot_id] = Sketch.from_dict(
            {"signature": list(row.signature), "n_tokens": row.n_tokens, "fs": row.fs,
             "n_channels": row.n_channels, "n_times": row.n_times, "params": json.loads(row.params)}
        )  # fmt: skip
        if row.canonical_hash:
            hashes[row.dot_id] = row.canonical_hash
    return sketches, hashes


def find_catalog_duplicates(
    catalog: Catalog,
    *,
    params: VerifyParams | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> DuplicateSearch:
    """Find duplicate dots from the stored sketches, verify them, and store the links.

    The ``duplicates`` table is replaced by the confirmed pairs: ``dot_a`` (the earlier dot
    in catalog order: by source, then segment start), ``dot_b``, ``kind`` and ``evidence``
    (JSON, see :class:`~adhesive_dots.curate.duplicates.DuplicatePair`). Dots without a
    sketch take no part (run :func:`compute_catalog_sketches` first).
    """
    dots = catalog.segments()
    sketches, hashes = stored_sketches(catalog)
    by_id = {row.dot_id: row for row in dots.itertuples()}
    keys = [dot_id for dot_id in by_id if dot_id in sketches]
    usable = {k: sketches[k] for k in keys}
    if len({s.params for s in usable.values()}) > 1:
        raise CatalogError(
            f"{catalog.path}: the stored sketches were computed with different parameters; "
            "recompute them (adots curate --recompute-sketches)"
        )

    def load(dot_id: str) -> LoadedBaseline:
        row = by_id[dot_id]
        return load_baseline(spec_for_dot(row.source, row.metadata_json), segment=_segment_of(row))[0]

    search = find_duplicates(keys, usable, load=load, content_hashes=hashes, params=params, progress=progress)
    with catalog.transaction() as tx:
        tx.replace_duplicates((p.a, p.b, p.kind, json.dumps(p.evidence, default=str)) for p in search.pairs)
    return search


def stored_duplicates(catalog: Catalog) -> pd.DataFrame:
    """The ``duplicates`` table: ``dot_a``, ``dot_b``, ``kind``, ``evidence`` (parsed dicts)."""
    frame = catalog.duplicates()
    frame["evidence"] = [json.loads(e) if e else {} for e in frame["evidence"]]
    return frame


QUALITY_COLUMNS = ["dot_id", "quality", "quality_signal", "quality_metadata", "quality_duration", "quality_reasons"]
"""Columns of :func:`catalog_quality`."""


def catalog_quality(
    catalog: Catalog,
    *,
    config: QualityConfig | None = None,
    dot_ids: Sequence[str] | None = None,
    recompute: bool = False,
) -> pd.DataFrame:
    """Quality of every dot (or of ``dot_ids``): the stored scores, computed for dots that have none.

    With ``recompute`` (or a ``config``), every score is computed again from the dot's stored findings,
    fingerprint summary vector (the vector names map to features, so the plausibility ranges of
    :class:`~adhesive_dots.curate.quality.QualityConfig` name vector elements, e.g. ``aperiodic_exponent``),
    metadata and duration (:func:`~adhesive_dots.curate.quality.compute_quality`); nothing is written
    (:func:`store_catalog_quality` writes).

    Returns
    -------
    DataFrame
        :data:`QUALITY_COLUMNS`: ``dot_id``, ``quality`` (combined, in [0, 1]), ``quality_signal``,
        ``quality_metadata``, ``quality_duration`` (the components), ``quality_reasons`` (``"; "``-joined).
    """
    stored = pd.DataFrame() if recompute or config is not None else catalog.quality(dot_ids)
    rows = []
    have = set()
    for row in stored.itertuples():
        detail = json.loads(row.detail) if isinstance(row.detail, str) else {}
        rows.append(
            (row.dot_id, row.score, row.signal, row.metadata, row.duration, "; ".join(detail.get("reasons", [])))
        )
        have.add(row.dot_id)
    wanted = catalog.dots(columns=["dot_id"], dot_ids=dot_ids)["dot_id"]
    missing = [d for d in wanted if d not in have]
    if missing:
        for dot_id, score in compute_catalog_quality(catalog, config=config, dot_ids=missing).items():
            c = score.components
            rows.append((dot_id, score.score, c["signal"], c["metadata"], c["duration"], "; ".join(score.reasons)))
    frame = pd.DataFrame(rows, columns=QUALITY_COLUMNS)
    order = {d: i for i, d in enumerate(wanted)}
    return frame.sort_values("dot_id", key=lambda ids: ids.map(order)).reset_index(drop=True)


def compute_catalog_quality(
    catalog: Catalog, *, config: QualityConfig | None = None, dot_ids: Sequence[str] | None = None
) -> dict[str, QualityScore]:
    """:class:`~adhesive_dots.curate.quality.QualityScore` of every dot (or of ``dot_ids``), by dot id."""
    dots = catalog.dots(columns=["dot_id", "recording_modality", "duration_s", "metadata_json"], dot_ids=dot_ids)
    findings = catalog.findings(dot_ids, dots_only=True)
    per_dot: dict[str, list[dict[str, Any]]] = {}
    for row in findings.itertuples():
        try:
            value = json.loads(row.value) if isinstance(row.value, str) else None  # SQL NULL arrives as NaN
        except ValueError:
            value = row.value
        per_dot.setdefault(row.dot_id, []).append({"code": row.code, "severity": row.severity, "value": value})
    matrix, ids = catalog.vectors()
    names = catalog.vector_names() if ids else []
    positions = catalog.vector_positions()
    scores = {}
    for row in dots.itertuples():
        features = dict(zip(names, matrix[positions[row.dot_id]], strict=False)) if row.dot_id in positions else None
        try:
            metadata = DotMetadata.from_json(row.metadata_json, source=f"catalog dot {row.dot_id}")
        except (ValueError, TypeError):
            metadata = None
        duration = float(row.duration_s) if row.duration_s is not None and pd.notna(row.duration_s) else None
        scores[row.dot_id] = compute_quality(
            per_dot.get(row.dot_id, []), features=features, modality=row.recording_modality, metadata=metadata,
            duration=duration, config=config,
        )  # fmt: skip
    return scores


def store_catalog_quality(
    catalog: Catalog,
    *,
    config: QualityConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute every dot's quality again (with ``config``) and store it (the ``quality`` table and each dot's
    ``curation_quality_score``), in one transaction; returns the number of dots scored."""
    scores = compute_catalog_quality(catalog, config=config)
    rows = [(dot_id, score.to_dict()) for dot_id, score in scores.items()]
    with catalog.transaction() as tx:
        for start in range(0, len(rows), QUALITY_CHUNK):
            tx.put_quality(rows[start : start + QUALITY_CHUNK])
            if progress is not None:
                progress(min(start + QUALITY_CHUNK, len(rows)), len(rows))
    return len(rows)


QUALITY_CHUNK = 10_000
"""Quality rows stored per statement (the progress bar moves once per chunk)."""


@dataclass(frozen=True)
class CurationResult:
    """What :func:`curate_catalog` decided.

    Attributes
    ----------
    dots : DataFrame
        Every dot in catalog order with its metadata columns, ``source_hash``, ``quality``,
        ``quality_reasons``, ``duplicate_group``, ``selected`` and ``reason``.
    duplicates : DataFrame
        The stored duplicate pairs (``dot_a``, ``dot_b``, ``kind``, ``evidence``).
    balance : DataFrame
        :func:`~adhesive_dots.curate.selection.balance_report` of the selected dots.
    options : dict
        ``min_quality`` and ``drop_duplicates`` as given.
    """

    dots: pd.DataFrame
    duplicates: pd.DataFrame
    balance: pd.DataFrame
    options: dict[str, Any]

    @property
    def selected(self) -> pd.DataFrame:
        return self.dots[self.dots["selected"]].reset_index(drop=True)


def curate_catalog(
    catalog: Catalog,
    *,
    min_quality: float | None = None,
    drop_duplicates: str | None = None,
    quality_config: QualityConfig | None = None,
    filters: DotFilter | None = None,
) -> CurationResult:
    """Score, de-duplicate (with the stored duplicate links) and select the catalog's dots.

    With ``filters`` (the metadata filters of ``adots search``), only the dots matching them
    take part: duplicate groups are formed among those dots.
    """
    dots = catalog.dots_with_sources()
    if filters is not None and not filters.is_empty():
        matching = set(catalog.search(filters, columns=["dot_id"])["dot_id"])
        dots = dots[dots["dot_id"].isin(matching)].reset_index(drop=True)
    quality = catalog_quality(catalog, config=quality_config)
    dots = dots.merge(quality, on="dot_id", how="left")
    duplicates = stored_duplicates(catalog)
    pairs = list(zip(duplicates["dot_a"], duplicates["dot_b"], strict=True))
    chosen = select_dots(dots, pairs, min_quality=min_quality, drop_duplicates=drop_duplicates)
    balance = balance_report(chosen[chosen["selected"]])
    options: dict[str, Any] = {"min_quality": min_quality, "drop_duplicates": drop_duplicates}
    if filters is not None and not filters.is_empty():
        options["filters"] = {k: v for k, v in dataclasses.asdict(filters).items() if v not in (None, ())}
    return CurationResult(chosen, duplicates, balance, options)


def export_manifest(result: CurationResult, path: str | Path, *, overwrite: bool = False) -> int:
    """Write the selected dots of ``result`` to a Parquet manifest (:data:`MANIFEST_SCHEMA`).

    Returns
    -------
    int
        Rows written.
    """
    table = manifest_table(result)
    with atomic_output(path, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp)
    return table.num_rows


def manifest_table(result: CurationResult) -> pa.Table:
    """The manifest of the selected dots of ``result`` as an Arrow table (:data:`MANIFEST_SCHEMA`, with
    its ``adots_manifest`` file metadata), for :func:`export_manifest` or a download."""
    chosen = result.selected
    group_sizes = result.dots.groupby("duplicate_group")["dot_id"].transform("size")
    sizes = dict(zip(result.dots["dot_id"], group_sizes, strict=True))

    def text(value: Any) -> str | None:
        return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)

    def number(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    records = []
    for row in chosen.itertuples():
        measures = row.arousal_measures
        records.append(
            {
                "dot_id": row.dot_id, "source": row.source, "source_hash": text(row.source_hash),
                "segment_start": float(row.start_s), "segment_stop": float(row.stop_s),
                "duration_s": float(row.duration_s), "content_hash": text(row.content_hash),
                "quality": number(row.quality), "duplicate_group": row.duplicate_group,
                "n_duplicates": int(sizes[row.dot_id]) - 1, "species": text(row.subject_species),
                "paradigm": text(row.paradigm_name), "modality": text(row.recording_modality),
                "lab": text(row.identity_lab), "subject_id": text(row.identity_subject_id),
                "session_id": text(row.identity_session_id),
                "arousal_measures": [str(m) for m in measures] if measures is not None else [],
                "sampling_frequency": number(row.recording_sampling_frequency),
                "n_channels": None if pd.isna(row.recording_n_channels) else int(row.recording_n_channels),
                "units": text(row.recording_units), "metadata_json": row.metadata_text,
            }
        )  # fmt: skip
    table = pa.Table.from_pylist(records, schema=MANIFEST_SCHEMA)
    info = {
        **result.options, "n_dots": int(len(result.dots)), "n_selected": int(len(chosen)),
        "n_duplicate_pairs": int(len(result.duplicates)), "tool": f"adhesive-dots {_version()}",
    }  # fmt: skip
    return table.replace_schema_metadata({"adots_manifest": json.dumps(info)})


def _version() -> str:
    from adhesive_dots import __version__

    return __version__
