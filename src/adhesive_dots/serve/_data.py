"""What the pages and the API show, read from one catalog view: dot lists, one dot, neighbours,
comparisons, curation and manifests, figures. The pages and the JSON API call the same functions.

Files: the server opens no path taken from a request. The only files it reads are the
fingerprint NetCDF files the catalog names for a dot, and only inside the catalog's
fingerprint store (``<catalog file>.fingerprints/``): a stored path elsewhere, or a link
leading out of the store, counts as no fingerprint.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from adhesive_dots.catalog.curation import CurationResult, catalog_quality, curate_catalog, manifest_table
from adhesive_dots.catalog.search import similar_dots, summary_features
from adhesive_dots.catalog.store import SUMMARY_COLUMNS, DotFilter, DotNotFoundError
from adhesive_dots.core import Finding, Severity
from adhesive_dots.curate.selection import duplicate_groups
from adhesive_dots.errors import AdhesiveError, DataError, ParameterMismatchError
from adhesive_dots.fingerprint import SUMMARY_FIELDS, Fingerprint, read_fingerprint
from adhesive_dots.metadata import DotMetadata
from adhesive_dots.report import (
    CatalogOverview,
    FigureSpec,
    catalog_figure_specs,
    catalog_overview,
    comparison_figure_specs,
    figure_to_svg,
    fingerprint_figure_specs,
)
from adhesive_dots.serve._live import CatalogView, Memo
from adhesive_dots.serve._params import Neighbours, Paging, Selection

DETAIL_COLUMNS = (*SUMMARY_COLUMNS, "start_s", "stop_s", "content_hash")
"""The ``dots`` columns a dot's page and JSON read (the rest is in its metadata JSON)."""
COMPARE_N_BOOT = 1000
"""Bootstrap replicates of a comparison (as ``adots compare``)."""
COMPARE_ALPHA = 0.05
COMPARE_SEED = 0
"""Seed of the comparison's bootstrap: the same two dots always give the same numbers."""


class NotFound(AdhesiveError, LookupError):
    """No such dot (or figure) in the catalog (answered with 404)."""


class ComparisonFailed(AdhesiveError, ValueError):
    """Two dots cannot be compared (answered with 422 and the reason)."""


# -- values for JSON and tables -------------------------------------------------------------


def clean(value: Any) -> Any:
    """A value JSON can carry: NaN and missing as ``None``, NumPy scalars and arrays as Python ones."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dictionaries (column by column: much faster than row access)."""
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    return [{name: clean(values[i]) for name, values in columns.items()} for i in range(len(frame))]


def dot_label(row: dict[str, Any]) -> str:
    """``lab / subject / session`` of a dot (its id when those are missing)."""
    parts = [row.get("identity_lab"), row.get("identity_subject_id"), row.get("identity_session_id")]
    text = " / ".join(str(p) for p in parts if p not in (None, "") and not (isinstance(p, float) and math.isnan(p)))
    return text or str(row.get("dot_id", ""))


# -- the catalog ------------------------------------------------------------------------------


def overview(view: CatalogView) -> CatalogOverview:
    """Counts, minutes and findings of the whole catalog (the report's :func:`catalog_overview`)."""
    return view.memo.get("overview", lambda: catalog_overview(view.snapshot))


def quality_table(view: CatalogView) -> pd.DataFrame:
    """Quality of every dot (``catalog_quality``: the score curation filters on), by dot id."""
    return view.memo.get("quality", lambda: catalog_quality(view.snapshot).set_index("dot_id"))


def carry_quality(view: CatalogView, previous: CatalogView | None) -> None:
    """Quality of every dot of a new view, recomputed only for the sources (re)ingested since ``previous``.

    A dot's quality depends on its own findings, summary vector and modality only, all written with its
    source in one transaction; so a source whose ``sources`` row is unchanged keeps its dots' scores.
    """
    snapshot = view.snapshot
    sources = snapshot.sources()
    columns = [sources[c].astype(str).tolist() for c in ("source", "ingested_at", "status", "n_dots")]
    stamps = {source: stamp for source, *stamp in zip(*columns, strict=True)}
    old = previous.memo.peek("quality") if previous is not None else None
    old_stamps = previous.memo.peek("source-stamps") if previous is not None else None
    if old is None or old_stamps is None:
        frame = catalog_quality(snapshot).set_index("dot_id")
    else:
        changed = {source for source, stamp in stamps.items() if old_stamps.get(source) != stamp}
        if not changed and len(stamps) == len(old_stamps):
            frame = old  # nothing (re)ingested or removed: every score still holds
        else:
            dots = snapshot.dots(columns=["dot_id", "source"])
            again = dots["source"].isin(changed) | ~dots["dot_id"].isin(old.index)
            fresh = catalog_quality(snapshot, dot_ids=dots.loc[again, "dot_id"].tolist()).set_index("dot_id")
            kept = old.loc[old.index.intersection(dots.loc[~again, "dot_id"])]
            frame = pd.concat([kept, fresh]).reindex(dots["dot_id"])
    view.memo.put("quality", frame)
    view.memo.put("source-stamps", stamps)


def catalog_figures(view: CatalogView) -> list[FigureSpec]:
    """The catalog report's figures for this view."""

    def scores() -> np.ndarray:
        return quality_table(view)["quality"].to_numpy(dtype=float)

    return view.memo.get("catalog-figures", lambda: catalog_figure_specs(overview(view), scores))


def quality_of(view: CatalogView, dot_ids: Sequence[str]) -> dict[str, float | None]:
    """Quality scores of some dots (all of them at once when already computed for this view)."""
    if not dot_ids:
        return {}
    frame = view.memo.peek("quality")
    if frame is None:
        frame = catalog_quality(view.snapshot, dot_ids=list(dot_ids)).set_index("dot_id")
    scores = frame["quality"]
    return {dot_id: clean(scores.get(dot_id)) for dot_id in dot_ids}


@dataclass(frozen=True)
class DotList:
    """One page of dots matching a filter: ``rows`` carry :data:`SUMMARY_COLUMNS` and ``quality``."""

    total: int
    paging: Paging
    rows: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.paging.per_page))


def dot_list(view: CatalogView, filters: DotFilter, paging: Paging) -> DotList:
    """The dots of one page (the rows of ``adots search --json``, plus their quality)."""
    snapshot = view.snapshot
    total = snapshot.count(filters)
    found = snapshot.search_records(
        filters,
        columns=SUMMARY_COLUMNS,
        sort=paging.sort,
        descending=paging.order == "desc",
        limit=paging.per_page,
        offset=paging.offset,
    )
    rows = [{k: clean(v) for k, v in row.items()} for row in found]
    quality = quality_of(view, [r["dot_id"] for r in rows])
    features = summary_features(snapshot, [r["dot_id"] for r in rows])
    for row in rows:
        row["quality"] = quality.get(row["dot_id"])
        row["features"] = features.get(row["dot_id"], {})
    return DotList(total, paging, rows)


# -- one dot ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DotDetail:
    """One dot as stored: its row, metadata, findings (most severe first), summary vector, duplicate links."""

    row: dict[str, Any]
    metadata: DotMetadata
    findings: list[Finding]
    summary: dict[str, float | None] | None
    duplicates: list[dict[str, Any]]
    quality: float | None

    @property
    def dot_id(self) -> str:
        return str(self.row["dot_id"])

    @property
    def label(self) -> str:
        return dot_label(self.row)


def dot_ids(view: CatalogView) -> frozenset[str]:
    """Every dot id of the view (to answer 404 without a query)."""
    return view.memo.get("dot-ids", lambda: frozenset(view.snapshot.dots(columns=["dot_id"])["dot_id"]))


def canonical_dot_id(view: CatalogView, text: str) -> str:
    """The full id of the dot that ``text`` names: its id, or a unique prefix of it with or without ``dot-``
    (as on the command line); :class:`NotFound` (saying why) when there is none or several."""
    if text in dot_ids(view):
        return text
    try:
        return view.snapshot.resolve_dot_id(text)
    except DotNotFoundError as err:
        raise NotFound(str(err).split(": ", 1)[-1]) from None


def dot_detail(view: CatalogView, dot_id: str) -> DotDetail:
    """Everything the catalog holds about one dot; :class:`NotFound` when there is no such dot."""

    if dot_id not in dot_ids(view):
        raise NotFound(f"no dot {dot_id!r} in the catalog")

    def load() -> DotDetail:
        snapshot = view.snapshot
        row = snapshot.dot(dot_id, columns=DETAIL_COLUMNS)
        if row is None:
            raise NotFound(f"no dot {dot_id!r} in the catalog")
        metadata = DotMetadata.from_json(row.pop("metadata_text"), source=dot_id)
        row.pop("metadata_json", None)
        findings = [
            Finding(
                code=str(f.code),
                severity=Severity(f.severity),
                message=str(f.message or ""),
                source=str(f.source or ""),
                location=str(f.location or ""),
                value=_json_or_text(f.value),
                fix=str(f.fix or ""),
            )
            for f in _rows(snapshot.findings([dot_id]))
        ]
        findings.sort(key=lambda f: Severity(f.severity).rank)
        summary = None
        if row.get("has_vector"):
            names = snapshot.vector_names()
            summary = {n: clean(v) for n, v in zip(names, snapshot.vector_of(dot_id), strict=False)}
        links = []
        linked = view.memo.get("linked-dots", lambda: set(snapshot.duplicates()[["dot_a", "dot_b"]].stack()))
        for link in _rows(snapshot.duplicates(dot_id)) if dot_id in linked else []:
            other = link.dot_b if link.dot_a == dot_id else link.dot_a
            links.append({"dot_id": other, "kind": link.kind, "evidence": _json_or_text(link.evidence)})
        return DotDetail(
            row={k: clean(v) for k, v in row.items()},
            metadata=metadata,
            findings=findings,
            summary=summary,
            duplicates=links,
            quality=quality_of(view, [dot_id]).get(dot_id),
        )

    return view.bounded.get(("dot", dot_id), load)


def _rows(frame: pd.DataFrame) -> list[Any]:
    """A frame's rows as simple namespaces (attribute access like ``itertuples``, without its cost)."""
    return [SimpleNamespace(**row) for row in records(frame)]


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return clean(value)
    try:
        return json.loads(value)
    except ValueError:
        return value


def summary_rows(summary: dict[str, float | None] | None) -> list[dict[str, Any]]:
    """The summary vector as table rows with units and meanings (:data:`SUMMARY_FIELDS`)."""
    if not summary:
        return []
    return [{"name": n, "value": summary.get(n), "unit": u, "meaning": m} for n, u, m in SUMMARY_FIELDS]


def similar(view: CatalogView, dot_id: str, query: Neighbours) -> list[dict[str, Any]]:
    """The nearest dots (``adots search --similar-to DOT --json`` rows: ``dot_id``, ``distance``, summary columns)."""
    if dot_id not in dot_ids(view):
        raise NotFound(f"no dot {dot_id!r} in the catalog")
    if dot_id not in view.snapshot.vector_positions():
        return []  # no fingerprint summary: no neighbours
    frame = view.bounded.get(
        ("similar", dot_id, query.k, query.metric),
        lambda: similar_dots(view.snapshot, dot_id, k=query.k, metric=query.metric),
    )
    return records(frame)


# -- fingerprints and figures -----------------------------------------------------------------


def fingerprint_file(view: CatalogView, dot_id: str) -> Path | None:
    """The dot's fingerprint NetCDF file, when the catalog names one inside its fingerprint store."""
    stored = dot_detail(view, dot_id).row.get("netcdf_path")
    if not stored:
        return None
    store = view.snapshot.fingerprint_dir.resolve()
    for candidate in (Path(stored), store / Path(stored).name):
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            continue
        if resolved.suffix == ".nc" and resolved.parent == store and resolved.is_file():
            return resolved
    return None


class Fingerprints:
    """Fingerprints read from the store, kept while their file is unchanged (at most ``size``)."""

    def __init__(self, size: int = 32) -> None:
        self._memo = Memo(size=size)

    def read(self, view: CatalogView, dot_id: str) -> Fingerprint:
        path = fingerprint_file(view, dot_id)
        if path is None:
            raise NotFound(f"dot {dot_id!r} has no fingerprint file in the catalog's fingerprint store")
        key = (str(path), path.stat().st_mtime_ns)
        return self._memo.get(key, lambda: read_fingerprint(path))


class Figures:
    """SVG figures drawn on demand, one at a time (matplotlib's style context is global), and kept."""

    def __init__(self, size: int = 96) -> None:
        self._memo = Memo(size=size)
        self._draw = threading.Lock()

    def svg(self, key: Any, spec: FigureSpec) -> str:
        def draw() -> str:
            with self._draw:
                return figure_to_svg(spec.build())

        return self._memo.get(key, draw)


def dot_figure_titles() -> list[FigureSpec]:
    """The dot figures' ids, titles and captions (they do not depend on the data; nothing is read or drawn)."""
    return fingerprint_figure_specs(None)


def dot_figure_specs(view: CatalogView, fingerprints: Fingerprints, dot_id: str) -> list[FigureSpec]:
    """The dot report's figures of one dot (drawn from its fingerprint when requested)."""
    fp = fingerprints.read(view, dot_id)
    return fingerprint_figure_specs(fp.dataset)


# -- comparing two dots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Two dots and :func:`~adhesive_dots.compare.compare_baselines` of their fingerprints (b - a)."""

    a: DotDetail
    b: DotDetail
    result: Any  # BaselineComparison
    window_s: float
    fingerprint_a: Fingerprint
    fingerprint_b: Fingerprint

    @property
    def labels(self) -> tuple[str, str]:
        la, lb = self.a.label, self.b.label
        return (f"a: {la}", f"b: {lb}") if la == lb else (la, lb)

    def figure_specs(self) -> list[FigureSpec]:
        specs = comparison_figure_specs(
            self.fingerprint_a.dataset,
            self.fingerprint_b.dataset,
            self.labels,
            self.result,
            window_s=self.window_s,
            alpha=COMPARE_ALPHA,
        )
        if not math.isfinite(self.result.riemann_distance):  # fingerprints carry no samples for it
            specs = [s for s in specs if s.id != "riemann-null"]
        return specs

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.dot_id, "b": self.b.dot_id, **clean(self.result.to_dict())}


def compare_dots(view: CatalogView, fingerprints: Fingerprints, memo: Memo, a: str, b: str) -> Comparison:
    """Compare dots ``a`` and ``b`` from their stored fingerprints (kept for later requests).

    Raises
    ------
    NotFound
        No such dot.
    ComparisonFailed
        The same dot twice, a dot without a fingerprint, or fingerprints that cannot be compared
        (the message says why).
    """
    from adhesive_dots.compare import compare_baselines

    detail_a, detail_b = dot_detail(view, a), dot_detail(view, b)
    if a == b:
        raise ComparisonFailed(f"a and b are the same dot ({a}); choose two different dots")
    paths = []
    for name, dot_id in (("a", a), ("b", b)):
        path = fingerprint_file(view, dot_id)
        if path is None:
            raise ComparisonFailed(f"{name} ({dot_id}) has no fingerprint in the catalog's fingerprint store")
        paths.append((str(path), path.stat().st_mtime_ns))

    def run() -> Comparison:
        fa, fb = fingerprints.read(view, a), fingerprints.read(view, b)
        window_s = float(fa.parameters.get("window_s", 30.0))
        try:
            result = compare_baselines(
                fa, fb, n_boot=COMPARE_N_BOOT, alpha=COMPARE_ALPHA, window_s=window_s, rng=COMPARE_SEED
            )
        except ParameterMismatchError as err:  # fingerprinted with other windows: read both baselines again
            try:
                return _compare_from_sources(detail_a, detail_b)
            except (AdhesiveError, OSError) as why:
                raise ComparisonFailed(
                    f"{a} and {b} cannot be compared: {err}; reading their sources again failed too ({why})"
                ) from None
        except (AdhesiveError, ValueError) as err:
            raise ComparisonFailed(f"{a} and {b} cannot be compared: {err}") from None
        return Comparison(detail_a, detail_b, result, window_s, fa, fb)

    return memo.get((a, b, *paths), run)


def _compare_from_sources(detail_a: DotDetail, detail_b: DotDetail) -> Comparison:
    """Both dots read again from their sources (as the catalog recorded them) and analysed with one set of
    parameters: what comparing dots of different lengths needs when their stored windows differ."""
    from contextlib import ExitStack

    from adhesive_dots.compare import compare_baselines
    from adhesive_dots.fingerprint import shared_params
    from adhesive_dots.io.sources import SourceSpec, open_baseline
    from adhesive_dots.workflows.fingerprint import fingerprint_baseline

    with ExitStack() as stack:
        baselines = []
        for detail in (detail_a, detail_b):
            resolved, baseline = open_baseline(SourceSpec.for_dot(detail.metadata))
            stack.enter_context(resolved)
            baselines.append(baseline)
        n_times = [int(round(b.duration * b.fs)) for b in baselines]
        params = shared_params([b.fs for b in baselines], n_times)
        fa, fb = (fingerprint_baseline(b, params=params, seed=COMPARE_SEED) for b in baselines)
        result = compare_baselines(
            *baselines, params=params, n_boot=COMPARE_N_BOOT, alpha=COMPARE_ALPHA, rng=COMPARE_SEED
        )
    return Comparison(detail_a, detail_b, result, float(params.window_s), fa, fb)


# -- curation and manifests ---------------------------------------------------------------------------


def curation(view: CatalogView, filters: DotFilter, chosen: Selection) -> CurationResult:
    """:func:`~adhesive_dots.catalog.curation.curate_catalog` of the dots matching ``filters``."""
    return view.bounded.get(
        ("curation", filters, chosen),
        lambda: curate_catalog(
            view.snapshot, min_quality=chosen.min_quality, drop_duplicates=chosen.drop_duplicates, filters=filters
        ),
    )


def duplicate_group_list(view: CatalogView) -> list[dict[str, Any]]:
    """The stored duplicate links as groups (connected components): ``dots`` (rows) and ``pairs`` (evidence)."""

    def compute() -> list[dict[str, Any]]:
        snapshot = view.snapshot
        links = snapshot.duplicates()
        if links.empty:
            return []
        order = list(snapshot.dots(columns=["dot_id"])["dot_id"])
        pairs = list(zip(links["dot_a"], links["dot_b"], strict=True))
        group_of = duplicate_groups(order, pairs)
        members: dict[str, list[str]] = {}
        for dot_id in order:
            members.setdefault(group_of[dot_id], []).append(dot_id)
        summary = snapshot.dots(columns=SUMMARY_COLUMNS).set_index("dot_id", drop=False)
        quality = quality_table(view)["quality"]
        groups = []
        for root, ids in members.items():
            if len(ids) < 2:
                continue
            rows = records(summary.loc[ids].reset_index(drop=True))
            for row in rows:
                row["quality"] = clean(quality.get(row["dot_id"]))
            in_group = set(ids)
            evidence = [
                {"dot_a": r.dot_a, "dot_b": r.dot_b, "kind": r.kind, "evidence": _json_or_text(r.evidence)}
                for r in links.itertuples()
                if r.dot_a in in_group
            ]
            groups.append({"group": root, "dots": rows, "pairs": evidence})
        return groups

    return view.memo.get("duplicate-groups", compute)


def manifest_file(result: CurationResult, fmt: str) -> tuple[bytes, str, str]:
    """The manifest as ``(bytes, media type, file name)``: Parquet (:data:`MANIFEST_SCHEMA`) or CSV
    (the same columns; ``arousal_measures`` joined with ``;``). Built in memory: nothing is written to disk."""
    table = manifest_table(result)
    buffer = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buffer)
        return buffer.getvalue(), "application/vnd.apache.parquet", "manifest.parquet"
    if fmt == "csv":
        measures = [";".join(v or []) for v in table.column("arousal_measures").to_pylist()]
        index = table.schema.get_field_index("arousal_measures")
        flat = table.set_column(index, "arousal_measures", pa.array(measures, pa.string()))
        pacsv.write_csv(flat, buffer)
        return buffer.getvalue(), "text/csv; charset=utf-8", "manifest.csv"
    raise DataError(f"manifest format must be parquet or csv, got {fmt!r}")
