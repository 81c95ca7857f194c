"""The JSON API under ``/api/``: the pages' content for scripts, with the field names of ``adots search --json``.

Every endpoint is read-only and documented in the OpenAPI schema (``/api/openapi.json``). A
filter value outside the allowed ones answers 422 with ``{"detail": [{"parameter", "value",
"message", "allowed"}]}``; an unknown dot 404 with ``{"detail": message}``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from adhesive_dots.catalog.store import DotFilter
from adhesive_dots.serve._app import ServerState, in_heavy_lane, json_response, once_per_view, redirect_to_dot
from adhesive_dots.serve._data import (
    NotFound,
    canonical_dot_id,
    clean,
    compare_dots,
    curation,
    dot_detail,
    dot_list,
    duplicate_group_list,
    fingerprint_file,
    manifest_file,
    overview,
    similar,
)
from adhesive_dots.serve._params import (
    MANIFEST_FORMATS,
    Neighbours,
    Paging,
    Selection,
    allowed_values,
    check_choice,
    dot_filter,
    neighbours,
    paging,
    selection,
    view_of,
)

router = APIRouter(prefix="/api", tags=["catalog"])


class DotSummary(BaseModel):
    """One dot in a list: the columns of ``adots search --json``, plus its quality score."""

    model_config = ConfigDict(extra="allow")

    dot_id: str
    identity_lab: str | None = None
    identity_subject_id: str | None = None
    identity_session_id: str | None = None
    recording_modality: str | None = None
    subject_species: str | None = None
    paradigm_name: str | None = None
    duration_s: float | None = Field(None, description="Baseline length in s.")
    curation_validation_status: str | None = None
    source: str | None = None
    quality: float | None = Field(None, description="Quality score in [0, 1] (curation), null when not computable.")
    features: dict[str, float | None] = Field(
        default_factory=dict, description="Named summary features (as `adots search --json`); {} without a fingerprint."
    )


class DotPage(BaseModel):
    """One page of the dots matching the filters."""

    total: int = Field(description="Dots matching the filters.")
    page: int
    per_page: int
    pages: int
    sort: str | None
    order: str
    dots: list[DotSummary]


class SimilarDot(DotSummary):
    """A neighbour: ``adots search --similar-to DOT --json`` rows (nearest first)."""

    distance: float | None = Field(None, description="Distance of the standardised summary vectors.")


class FindingOut(BaseModel):
    code: str
    severity: str
    message: str
    location: str = ""
    value: Any = None
    fix: str = ""


class DuplicateLink(BaseModel):
    dot_id: str
    kind: str
    evidence: Any = None


class DotOut(BaseModel):
    """One dot: its list row, the full DotMetadata, findings (most severe first), summary vector, duplicates."""

    dot: DotSummary
    metadata: dict[str, Any]
    findings: list[FindingOut]
    summary: dict[str, float | None] | None = Field(None, description="Fingerprint summary vector by feature name.")
    duplicates: list[DuplicateLink]
    fingerprint: str | None = Field(None, description="URL of the fingerprint NetCDF file, when the store has it.")
    stored: dict[str, Any] = Field(description="Provenance as stored: segment, hashes, ingest time, tool version.")


class FeatureDifference(BaseModel):
    model_config = ConfigDict(extra="allow")

    feature: str
    value_a: float | None = None
    value_b: float | None = None
    difference: float | None = Field(None, description="b - a")
    ci_low: float | None = None
    ci_high: float | None = None
    flagged: bool = False


class ComparisonOut(BaseModel):
    """``compare_baselines`` of the two dots' fingerprints (differences are b - a)."""

    model_config = ConfigDict(extra="allow")

    a: str
    b: str
    verdict: str
    flagged: list[str]
    energy_distance: float | None = None
    energy_p: float | None = None
    riemann_distance: float | None = None
    riemann_p: float | None = None
    features: list[FeatureDifference]
    parameters: dict[str, Any]


class DuplicateGroup(BaseModel):
    group: str = Field(description="First dot of the group in catalog order.")
    dots: list[DotSummary]
    pairs: list[dict[str, Any]] = Field(description="Verified pairs: dot_a, dot_b, kind, evidence.")


class Facets(BaseModel):
    """Allowed filter values and the catalog's counts."""

    allowed: dict[str, list[str]]
    counts: dict[str, dict[str, int]]
    n_dots: int
    n_compliant: int
    minutes: float
    compliant_minutes: float


class Status(BaseModel):
    catalog: str
    snapshot_taken_at: str
    snapshot_version: int
    refreshes: int
    last_error: str | None
    n_dots: int
    integrity: list[str] = Field(description="Problems of the snapshot (empty: every dot is complete).")


def _state(request: Request) -> ServerState:
    return request.app.state.adots


@router.get("/dots", response_model=DotPage, summary="Dots matching filters (sorted, paged)")
async def api_dots(request: Request, filters: DotFilter = Depends(dot_filter), page: Paging = Depends(paging)):
    """The filters of ``adots search`` (``species``, ``paradigm``, ``modality``, ``min_duration``, ``illumination``,
    ``arousal`` (repeatable), ``lab``, ``status``), with sorting and paging."""

    def build() -> Response:
        listing = dot_list(view_of(request), filters, page)
        return json_response(
            {
                "total": listing.total,
                "page": page.page,
                "per_page": page.per_page,
                "pages": listing.pages,
                "sort": page.sort,
                "order": page.order,
                "dots": listing.rows,
            }
        )

    return await once_per_view(request, build)


@router.get("/dots/{dot_id}", response_model=DotOut, summary="One dot")
async def api_dot(request: Request, dot_id: str):
    """Metadata, findings, summary vector and duplicate links of one dot (404 when there is no such dot; a unique
    prefix of its id redirects to it)."""
    return await once_per_view(request, lambda: _dot_response(request, dot_id), one_dot=True)


def _dot_response(request: Request, dot_id: str) -> Response:
    full = canonical_dot_id(view_of(request), dot_id)
    if full != dot_id:  # a prefix, as the command line takes
        return redirect_to_dot(request, "/api/dots/", full)
    return json_response(_dot_json(request, dot_id))


def dot_features(view: Any, dot_id: str) -> dict[str, float | None]:
    """The dot's named summary features (as ``adots search --json``)."""
    from adhesive_dots.catalog.search import summary_features

    return summary_features(view.snapshot, [dot_id]).get(dot_id, {})


def _dot_json(request: Request, dot_id: str) -> dict[str, Any]:
    view = view_of(request)
    detail = dot_detail(view, dot_id)
    row = detail.row
    summary_row = {k: row.get(k) for k in DotSummary.model_fields if k not in ("quality", "features")}
    has_file = fingerprint_file(view, dot_id) is not None
    return {
        "dot": {**summary_row, "quality": detail.quality, "features": dot_features(view, dot_id)},
        "metadata": detail.metadata.model_dump(mode="json"),
        "findings": [clean(f.to_dict()) for f in detail.findings],
        "summary": detail.summary,
        "duplicates": detail.duplicates,
        "fingerprint": f"/api/dots/{urllib.parse.quote(dot_id, safe='')}/fingerprint" if has_file else None,
        "stored": {
            k: row.get(k) for k in ("start_s", "stop_s", "content_hash", "source_hash", "ingested_at", "tool_version")
        },
    }


@router.get("/dots/{dot_id}/similar", response_model=list[SimilarDot], summary="Nearest dots")
async def api_similar(request: Request, dot_id: str, near: Neighbours = Depends(neighbours)):
    """The ``k`` dots whose fingerprint summary vectors are nearest (empty when the dot has no fingerprint)."""
    return await once_per_view(request, lambda: json_response(similar(view_of(request), dot_id, near)), one_dot=True)


@router.get(
    "/dots/{dot_id}/fingerprint",
    summary="A dot's fingerprint file (NetCDF)",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-netcdf": {}}}},
)
def api_fingerprint(request: Request, dot_id: str):
    """The fingerprint NetCDF file the catalog names for this dot, from the catalog's fingerprint store only."""
    view = view_of(request)
    dot_detail(view, dot_id)
    path = fingerprint_file(view, dot_id)
    if path is None:
        raise NotFound(f"dot {dot_id!r} has no fingerprint file in the catalog's fingerprint store")
    return FileResponse(path, media_type="application/x-netcdf", filename=f"{path.stem}.nc")


@router.get("/compare", response_model=ComparisonOut, summary="Compare two dots")
async def api_compare(
    request: Request, a: str = Query(..., description="Dot id."), b: str = Query(..., description="Dot id.")
):
    """``compare_baselines`` of the two dots' stored fingerprints: verdict, flagged features, per-feature
    differences with block-bootstrap CIs (422 with the reason when they cannot be compared)."""
    state = _state(request)
    comparison = await in_heavy_lane(
        request, compare_dots, view_of(request), state.fingerprints, state.comparisons, a, b
    )
    return comparison.to_dict()


@router.get(
    "/manifest",
    summary="Manifest of the dots matching filters (Parquet or CSV)",
    response_class=Response,
    responses={200: {"content": {"application/vnd.apache.parquet": {}, "text/csv": {}}}},
)
async def api_manifest(
    request: Request,
    filters: DotFilter = Depends(dot_filter),
    chosen: Selection = Depends(selection),
    fmt: str | None = Query(None, alias="format", description="parquet (default) or csv."),
):
    """The curation manifest (``adots curate --export``: columns of ``MANIFEST_SCHEMA``) of the dots matching the
    filters, after ``min_quality`` and ``drop_duplicates``; built in memory, never written to disk."""
    fmt = check_choice("format", fmt, list(MANIFEST_FORMATS)) or "parquet"
    view = view_of(request)
    content, media, name = await in_heavy_lane(request, lambda: manifest_file(curation(view, filters, chosen), fmt))
    return Response(content, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/duplicates", response_model=list[DuplicateGroup], summary="Duplicate groups with their evidence")
def api_duplicates(request: Request):
    """Groups of dots linked by verified duplicate pairs (``adots curate`` stores them)."""
    return duplicate_group_list(view_of(request))


@router.get("/facets", response_model=Facets, summary="Allowed filter values and counts")
def api_facets(request: Request):
    view = view_of(request)
    info = overview(view)
    return {
        "allowed": allowed_values(view),
        "counts": {facet: {str(k): int(v) for k, v in series.items()} for facet, series in info.counts.items()},
        "n_dots": info.n_dots,
        "n_compliant": info.n_compliant,
        "minutes": info.minutes,
        "compliant_minutes": info.compliant_minutes,
    }


@router.get("/status", response_model=Status, summary="The catalog snapshot being served")
def api_status(request: Request):
    view = view_of(request)
    live = _state(request).live
    return {
        "catalog": str(view.snapshot.path),
        "snapshot_taken_at": view.snapshot.taken_at.isoformat(),
        "snapshot_version": view.version,
        "refreshes": live.refreshes,
        "last_error": live.last_error,
        "n_dots": overview(view).n_dots,
        "integrity": view.memo.get("integrity", view.snapshot.integrity_check),
    }
