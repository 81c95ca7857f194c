"""Ingest: resolve -> validate -> fingerprint -> store, for many sources on Dask.

Targets are expanded and each source is resolved through the one road
(:mod:`adhesive_dots.io.sources`); every distinct candidate baseline becomes a dot, fingerprinted
with the shared parameters (:func:`~adhesive_dots.workflows.fingerprint.fingerprint_baseline`, the
same numbers as ``adots fingerprint``). Workers run :func:`analyse_source` (pure: it reads a source and returns a
:class:`~adhesive_dots.catalog.store.SourceRecord`, writing only the fingerprints' NetCDF
files, each atomically); the calling process alone commits records to the catalog, one
transaction per source, as they complete. Hence:

* **idempotent**: a source whose content hash matches the stored one is skipped; a changed
  source has its rows replaced;
* **transactional**: a source that fails, or a run killed mid-way, leaves no partial rows
  (the failure is stored as a ``source.unreadable`` finding);
* **concurrent-safe**: two ingests into one catalog take turns at the file lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adhesive_dots import __version__
from adhesive_dots.catalog.exchange import MAX_METADATA_BYTES
from adhesive_dots.catalog.store import Catalog, DotRecord, SourceRecord
from adhesive_dots.core import Baseline, Finding, Severity
from adhesive_dots.curate.quality import QualityConfig, compute_quality
from adhesive_dots.errors import AdhesiveError, BaselineNotFoundError
from adhesive_dots.files import remove_stale_temporaries
from adhesive_dots.fingerprint import SUMMARY_NAMES, FingerprintParams
from adhesive_dots.io.sources import SourceSpec, expand_sources, resolve
from adhesive_dots.parallel import run_tasks
from adhesive_dots.validate import Thresholds, batch_finding, validate_baseline
from adhesive_dots.workflows.fingerprint import fingerprint_baseline


@dataclass
class IngestSummary:
    """What an ingest did (the ``--json`` output of ``adots ingest``)."""

    catalog: str
    sources: int = 0
    ingested: int = 0
    unchanged: int = 0
    failed: int = 0
    no_baseline: int = 0
    dots: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog,
            "sources": self.sources,
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "no_baseline": self.no_baseline,
            "dots": self.dots,
            "seconds": round(self.seconds, 3),
            "sources_per_minute": round(60 * self.ingested / self.seconds, 2) if self.seconds > 0 else None,
            "failures": self.failures,
        }


def dot_id_for(source_key: str, start: float, stop: float) -> str:
    """A stable id: the same source and segment always give the same dot id."""
    digest = hashlib.sha256(f"{source_key}|{start:.6f}|{stop:.6f}".encode()).hexdigest()
    return f"dot-{digest[:16]}"


def _samples_hash(data: np.ndarray) -> str:
    """Same digest as :meth:`Baseline.content_hash` (float32 little-endian samples, pieces in order)."""
    return "sha256:" + hashlib.sha256(np.ascontiguousarray(data, dtype="<f4").tobytes()).hexdigest()


def analyse_source(
    spec: SourceSpec,
    *,
    fingerprint_dir: str,
    source_hash: str = "",
    min_duration: float = 600.0,
    params: FingerprintParams | None = None,
    seed: int = 0,
    thresholds: Thresholds | None = None,
    quality_config: QualityConfig | None = None,
) -> SourceRecord:
    """Read one source and return everything the catalog stores about it (runs on a worker).

    Every distinct candidate baseline becomes a dot: it is validated (with ``thresholds``), its
    samples are read once for the fingerprint and the content hash, the fingerprint is saved as
    NetCDF in ``fingerprint_dir``, and its quality is scored
    (:func:`~adhesive_dots.curate.quality.compute_quality` with ``quality_config``). Any error becomes
    a failed record with a ``source.unreadable`` finding (``data.present`` for a run whose data were
    not fetched) instead of an exception.
    """
    source_hash = source_hash or spec.content_hash()
    try:
        with resolve(spec) as resolved:
            if not resolved.present:
                message = f"{resolved.key}: data not present (placeholders or broken links); nothing to fingerprint"
                finding = batch_finding("data.present", resolved.key, message)
                return SourceRecord(spec.key, source_hash, findings=(finding,), failed=True, tool_version=__version__)
            baselines = resolved.distinct()
            if not baselines:
                try:
                    resolved.baseline  # noqa: B018  (raises the error that says how to name one)
                except BaselineNotFoundError as err:
                    finding = batch_finding("baseline.exists", spec.key, str(err))
                return SourceRecord(spec.key, source_hash, findings=(finding,), tool_version=__version__)
            dots = tuple(
                _analyse_baseline(
                    resolved.spec, b, fingerprint_dir, min_duration, params, seed, thresholds, quality_config
                )
                for b in baselines
            )
        return SourceRecord(spec.key, source_hash, dots=dots, tool_version=__version__)
    except (AdhesiveError, OSError, ValueError, KeyError, RuntimeError) as err:
        message = str(err) if spec.key in str(err) else f"{spec.key}: {err}"
        finding = Finding(
            "source.unreadable",
            Severity.CRITICAL,
            message,
            source=spec.key,
            fix="check the file (adots inspect SOURCE --debug shows the traceback)",
        )
        return SourceRecord(spec.key, source_hash, findings=(finding,), failed=True, tool_version=__version__)


def _analyse_baseline(
    spec: SourceSpec,
    baseline: Baseline,
    fingerprint_dir: str,
    min_duration: float,
    params: FingerprintParams | None,
    seed: int,
    thresholds: Thresholds | None = None,
    quality_config: QualityConfig | None = None,
) -> DotRecord:
    findings = validate_baseline(baseline, min_duration=min_duration, thresholds=thresholds)
    data = baseline.load()
    dot_id = dot_id_for(spec.key, baseline.segment.start, baseline.segment.stop)
    vector, netcdf_path = None, None
    try:
        fp = fingerprint_baseline(baseline, data=data, params=params, seed=seed)
    except AdhesiveError as err:  # e.g. a NaN stretch: the dot is kept with its findings, without a fingerprint
        findings = [
            *findings,
            Finding(
                "fingerprint.unavailable",
                Severity.ERROR,
                str(err),
                source=spec.key,
                fix="repair the samples named in the validation findings, then re-ingest",
            ),
        ]
    else:
        fp.dataset.attrs["source"] = spec.key
        netcdf = Path(fingerprint_dir) / f"{dot_id}.nc"
        fp.to_netcdf(netcdf, overwrite=True)
        vector, netcdf_path = fp.summary_vector(), str(netcdf)
    features = dict(zip(SUMMARY_NAMES, vector, strict=True)) if vector is not None else {}
    quality = compute_quality(
        findings, features=features, metadata=baseline.metadata, duration=baseline.duration, config=quality_config
    )
    score = quality.score if np.isfinite(quality.score) else None
    metadata = baseline.metadata.merged(
        identity={"source_uri": spec.key, "content_hash": _samples_hash(data)},
        segment={
            "start": baseline.segment.start,
            "stop": baseline.segment.stop,
            "duration": baseline.duration,
            "contiguous": baseline.segment.contiguous,
            "gaps": [list(g) for g in baseline.segment.gaps],
        },
        curation={"quality_score": score},
    )
    return DotRecord(
        dot_id=dot_id,
        metadata=metadata,
        segment=(baseline.segment.start, baseline.segment.stop),
        duration_s=baseline.duration,
        content_hash=metadata.identity.content_hash or "",
        vector=vector,
        netcdf_path=netcdf_path,
        findings=tuple(findings),
        quality=quality.to_dict(),
    )


def ingest(
    targets: Iterable[str | Path | SourceSpec],
    catalog: Catalog,
    *,
    template: SourceSpec | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    min_duration: float = 600.0,
    params: FingerprintParams | None = None,
    seed: int = 0,
    thresholds: Thresholds | None = None,
    quality_config: QualityConfig | None = None,
    on_progress: Callable[[IngestSummary, SourceRecord | None], None] | None = None,
) -> IngestSummary:
    """Ingest every source named by ``targets`` into ``catalog``.

    Parameters
    ----------
    targets : iterable of str, Path or SourceSpec
        Files, folders (searched recursively), BIDS roots, globs, URLs, ``dandi:``/``openneuro:`` ids.
    template : SourceSpec, optional
        Reading options and baseline choice of every source.
    params : FingerprintParams, optional
        Fingerprint parameters (default: the shared rule, as ``adots fingerprint``).
    seed : int
        Seed of the fingerprints' surrogates (as ``adots fingerprint --seed``).
    thresholds, quality_config : optional
        Validation thresholds and quality weights (``--config FILE``; default: the documented ones).
    workers : int
        Worker processes of the local Dask cluster; 0 runs in this process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``); overrides ``workers``.
    on_progress : callable, optional
        Called with the running summary after each source is committed (and once at start).
    """
    started = time.perf_counter()
    specs, problems = expand_sources(targets, template=template)
    specs = [absolute_spec(spec) for spec in specs]
    summary = IngestSummary(catalog=str(catalog.path), sources=len(specs) + len(problems))
    fingerprint_dir = catalog.path.with_name(catalog.path.name + ".fingerprints")
    fingerprint_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(fingerprint_dir)  # left by a killed earlier ingest
    todo = []
    for spec in specs:
        source_hash = spec.content_hash()
        state = catalog.source_state(spec.key)
        if source_hash and state == (source_hash, "ok"):
            summary.unchanged += 1
        else:
            todo.append((spec, source_hash))
    if on_progress is not None:
        on_progress(summary, None)
    for problem in problems:  # named targets that yield nothing are recorded like failed sources
        finding = Finding(problem.code, Severity.CRITICAL, problem.message, source=problem.source, fix=problem.fix)
        _commit(catalog, summary, SourceRecord(problem.source, "", findings=(finding,), failed=True), on_progress)
    outcomes = run_tasks(
        _analyse_item,
        todo,
        workers=workers,
        scheduler=scheduler,
        fingerprint_dir=str(fingerprint_dir),
        min_duration=min_duration,
        params=params,
        seed=seed,
        thresholds=thresholds,
        quality_config=quality_config,
    )
    for outcome in outcomes:
        spec, source_hash = outcome.item
        record = outcome.result
        if record is None:  # the task itself died (worker lost, out of memory, ...)
            finding = Finding("source.unreadable", Severity.CRITICAL, f"{spec.key}: {outcome.error}", source=spec.key)
            record = SourceRecord(spec.key, source_hash, findings=(finding,), failed=True, tool_version=__version__)
        _commit(catalog, summary, record, on_progress)
    summary.seconds = time.perf_counter() - started
    return summary


def absolute_spec(spec: SourceSpec) -> SourceSpec:
    """``spec`` with a local source (and key) made absolute and resolved, so a catalog does not depend on the
    working directory it was built from; remote sources unchanged."""
    if spec.is_remote or not spec.source:
        return spec

    def absolute(text: str) -> str:
        return str(Path(text).expanduser().resolve()) if text and not Path(text).is_absolute() else text

    return spec.replace(source=absolute(spec.source), key=absolute(spec.key))


def _commit(catalog: Catalog, summary: IngestSummary, record: SourceRecord, on_progress: Callable | None) -> None:
    """The single writer: one transaction per source, then the running summary."""
    record = _within_exchange_limits(record)
    catalog.write_source(record, vector_names=SUMMARY_NAMES)
    if record.failed:
        summary.failed += 1
        summary.failures.append({"source": record.source, "message": record.findings[0].message})
    else:
        summary.ingested += 1
        summary.dots += len(record.dots)
        if not record.dots:  # read, but no baseline in it: stored with its baseline.exists finding (critical)
            summary.no_baseline += 1
            summary.failures.append({"source": record.source, "message": record.findings[0].message})
    if on_progress is not None:
        on_progress(summary, record)


def _within_exchange_limits(record: SourceRecord) -> SourceRecord:
    """``record``, or a failed one when a dot's metadata exceeds the size an import accepts (so that every
    stored dot can be exported and imported again; e.g. a 100 MB BIDS ``TaskDescription``)."""
    for dot in record.dots:
        size = len(dot.metadata.model_dump_json().encode())
        if size > MAX_METADATA_BYTES:
            message = (
                f"{record.source}: the dot's metadata is {size} bytes of JSON, at most {MAX_METADATA_BYTES} allowed "
                "(the limit of catalog exports and imports); a metadata field is far too long"
            )
            fix = "shorten the offending field (e.g. TaskDescription) in the source, then re-ingest"
            finding = Finding("source.metadata-too-large", Severity.CRITICAL, message, source=record.source, fix=fix)
            failed = SourceRecord(record.source, record.source_hash, findings=(finding,), failed=True)
            return dataclasses.replace(failed, tool_version=record.tool_version)
    return record


def _analyse_item(item: tuple[SourceSpec, str], **kwargs: Any) -> SourceRecord:
    spec, source_hash = item
    return analyse_source(spec, source_hash=source_hash, **kwargs)
