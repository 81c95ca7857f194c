"""The pages: the catalog, a dot, a comparison, curation; their figures; the API's description; static files.

Every page is a jinja2 template (autoescape on) filled from :mod:`adhesive_dots.serve._data`,
the functions the JSON API also calls. Figures are the reports' figures
(:func:`~adhesive_dots.report.fingerprint_figure_specs` and friends), each drawn when its
``<img>`` asks for it and kept afterwards.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from adhesive_dots.catalog.store import DotFilter
from adhesive_dots.curate.selection import DROP_POLICIES
from adhesive_dots.report import finding_rows, format_value, metadata_rows
from adhesive_dots.serve._app import ServerState, in_heavy_lane, once_per_view, redirect_to_dot, render
from adhesive_dots.serve._data import (
    ComparisonFailed,
    DotDetail,
    NotFound,
    canonical_dot_id,
    catalog_figures,
    compare_dots,
    curation,
    dot_detail,
    dot_figure_specs,
    dot_figure_titles,
    dot_list,
    duplicate_group_list,
    fingerprint_file,
    overview,
    similar,
    summary_rows,
)
from adhesive_dots.serve._params import (
    SORT_KEYS,
    Neighbours,
    Paging,
    Selection,
    allowed_values,
    dot_filter,
    neighbours,
    paging,
    query_string,
    selection,
    view_of,
)

router = APIRouter(include_in_schema=False)

COLUMNS = [
    ("dot_id", "dot"),
    ("identity_lab", "lab"),
    ("identity_subject_id", "subject"),
    ("identity_session_id", "session"),
    ("subject_species", "species"),
    ("paradigm_name", "paradigm"),
    ("recording_modality", "modality"),
    ("duration_s", "minutes"),
    ("curation_validation_status", "status"),
]
"""Columns of the dot table: (field, heading); every one of them sorts."""
MAX_LISTED = 200
"""At most this many left-out dots and duplicate groups are listed on the curation page (the API has all)."""


def _state(request: Request) -> ServerState:
    return request.app.state.adots


def _filter_form(request: Request, filters: DotFilter) -> dict[str, Any]:
    """The filter form's fields: current values and the choices of each."""
    allowed = allowed_values(view_of(request))
    return {
        "current": filters,
        "choices": {
            name: allowed[name] for name in ("species", "paradigm", "modality", "illumination", "lab", "status")
        },
        "measures": allowed["arousal"],
    }


@router.get("/", response_class=HTMLResponse)
async def catalog_page(request: Request, filters: DotFilter = Depends(dot_filter), page: Paging = Depends(paging)):
    return await once_per_view(request, lambda: _catalog_page(request, filters, page))


def _catalog_page(request: Request, filters: DotFilter, page: Paging) -> Response:
    view = view_of(request)
    listing = dot_list(view, filters, page)
    info = overview(view)
    sort_links = {}
    for column, _ in COLUMNS:
        order = "desc" if page.sort == column and page.order == "asc" else "asc"
        sort_links[column] = query_string(filters, sort=column, order=order, per_page=page.per_page)

    def page_link(number: int) -> list[tuple[str, str]]:
        return query_string(filters, sort=page.sort, order=page.order, page=number, per_page=page.per_page)

    return render(
        request,
        "catalog.html.j2",
        title="Catalog of adhesive dots",
        info=info,
        counts={facet: list(series.items()) for facet, series in info.counts.items()},
        facet_filters={
            "species": "species",
            "paradigm": "paradigm",
            "modality": "modality",
            "lab": "lab",
            "compliance": "status",
        },
        minutes=[(str(k), v.compliant, v.other) for k, v in info.minutes_by_lab.iterrows()],
        figures=[(spec, f"/catalog/figures/{spec.id}.svg") for spec in catalog_figures(view)],
        form=_filter_form(request, filters),
        listing=listing,
        columns=COLUMNS,
        sort_keys=SORT_KEYS,
        sort_links=sort_links,
        previous_link=page_link(page.page - 1) if page.page > 1 else None,
        next_link=page_link(page.page + 1) if page.page < listing.pages else None,
        filter_query=query_string(filters),
        filtered=not filters.is_empty(),
    )


@router.get("/catalog/figures/{name}.svg")
async def catalog_figure(request: Request, name: str) -> Response:
    return await in_heavy_lane(request, _catalog_figure, request, name)


def _catalog_figure(request: Request, name: str) -> Response:
    view = view_of(request)
    specs = {spec.id: spec for spec in catalog_figures(view)}
    if name not in specs:
        raise NotFound(f"no catalog figure {name!r} (figures: {', '.join(specs)})")
    svg = _state(request).figures.svg(("catalog", view.version, name), specs[name])
    return Response(svg, media_type="image/svg+xml")


def _overview_rows(detail: DotDetail) -> list[dict[str, str]]:
    row, meta = detail.row, detail.metadata
    segment = f"{format_value(row.get('start_s'))}–{format_value(row.get('stop_s'))} s"
    return [
        {"name": name, "value": format_value(value)}
        for name, value in [
            ("dot", detail.dot_id),
            ("source", row.get("source")),
            ("lab", row.get("identity_lab")),
            ("subject", row.get("identity_subject_id")),
            ("session", row.get("identity_session_id")),
            ("species", row.get("subject_species")),
            ("paradigm", row.get("paradigm_name")),
            ("modality", row.get("recording_modality")),
            ("sampling rate (Hz)", meta.recording.sampling_frequency),
            ("channels", meta.recording.n_channels),
            ("segment", segment),
            ("baseline (min)", (row.get("duration_s") or 0) / 60),
            ("validation", row.get("curation_validation_status")),
            ("quality", detail.quality),
            ("content hash", row.get("content_hash")),
            ("source hash", row.get("source_hash")),
            ("ingested", row.get("ingested_at")),
            ("tool", row.get("tool_version")),
        ]
        if value not in (None, "")
    ]


@router.get("/dots/{dot_id}", response_class=HTMLResponse)
async def dot_page(request: Request, dot_id: str, near: Neighbours = Depends(neighbours)):
    return await once_per_view(request, lambda: _dot_page(request, dot_id, near), one_dot=True)


def _dot_page(request: Request, dot_id: str, near: Neighbours) -> Response:
    view = view_of(request)
    full = canonical_dot_id(view, dot_id)
    if full != dot_id:  # a prefix, as the command line takes: the page's one address is the full id
        return redirect_to_dot(request, "/dots/", full)
    detail = dot_detail(view, dot_id)
    figures = []
    if fingerprint_file(view, dot_id) is not None:  # the page lists the figures; each <img> draws one
        figures = [(spec, f"/dots/{_quote(dot_id)}/figures/{spec.id}.svg") for spec in dot_figure_titles()]
    return render(
        request,
        "dot.html.j2",
        title=f"Dot: {detail.label}",
        detail=detail,
        overview=_overview_rows(detail),
        findings=finding_rows(detail.findings),
        metadata=metadata_rows(detail.metadata),
        summary=summary_rows(detail.summary),
        nearest=similar(view, dot_id, near),
        near=near,
        figures=figures,
    )


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@router.get("/dots/{dot_id}/figures/{name}.svg")
async def dot_figure(request: Request, dot_id: str, name: str) -> Response:
    return await in_heavy_lane(request, _dot_figure, request, dot_id, name)


def _dot_figure(request: Request, dot_id: str, name: str) -> Response:
    view = view_of(request)
    dot_detail(view, dot_id)  # 404 for an unknown dot
    state = _state(request)
    specs = {spec.id: spec for spec in dot_figure_specs(view, state.fingerprints, dot_id)}
    if name not in specs:
        raise NotFound(f"no figure {name!r} for a dot (figures: {', '.join(specs)})")
    path = fingerprint_file(view, dot_id)
    svg = state.figures.svg(("dot", str(path), path.stat().st_mtime_ns, name), specs[name])
    return Response(svg, media_type="image/svg+xml")


def _pair(a: str | None, b: str | None, dot: list[str]) -> tuple[str | None, str | None]:
    """The two dots to compare: ``a`` and ``b``, or the first two ``dot`` values (the table's checkboxes)."""
    picked = [d for d in dot if d]
    a = a or (picked[0] if picked else None)
    b = b or (picked[1] if len(picked) > 1 else None)
    return (a or None), (b or None)


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(
    request: Request,
    a: str | None = Query(None),
    b: str | None = Query(None),
    dot: list[str] = Query([]),
):
    return await in_heavy_lane(request, _compare_page, request, a, b, dot)


def _compare_page(
    request: Request,
    a: str | None,
    b: str | None,
    dot: list[str],
):
    view = view_of(request)
    a, b = _pair(a, b, dot)
    context: dict[str, Any] = {"a": a or "", "b": b or "", "comparison": None, "error": None}
    status = 200
    if a and b:
        state = _state(request)
        try:
            comparison = compare_dots(view, state.fingerprints, state.comparisons, a, b)
        except ComparisonFailed as err:
            context["error"] = str(err)
            status = 422
        else:
            context.update(_comparison_context(comparison, a, b))
    elif a or b:
        context["error"] = "choose two dots: a and b"
        status = 422
    title = "Compare two dots"
    if context["comparison"] is not None:
        title = f"Compare: {context['labels'][0]} vs {context['labels'][1]}"
    return render(request, "compare.html.j2", status_code=status, title=title, **context)


def _comparison_context(comparison, a: str, b: str) -> dict[str, Any]:
    result = comparison.result
    query = f"a={_quote(a)}&b={_quote(b)}"
    meta_a = {(r["group"], r["field"]): r["value"] for r in metadata_rows(comparison.a.metadata)}
    meta_b = {(r["group"], r["field"]): r["value"] for r in metadata_rows(comparison.b.metadata)}
    summary = []
    for row in summary_rows(comparison.a.summary):
        va, vb = row["value"], (comparison.b.summary or {}).get(row["name"])
        difference = vb - va if va is not None and vb is not None else None
        summary.append({"name": row["name"], "unit": row["unit"], "a": va, "b": vb, "difference": difference})
    return {
        "comparison": comparison,
        "labels": comparison.labels,
        "details": (comparison.a, comparison.b),
        "overviews": (_overview_rows(comparison.a), _overview_rows(comparison.b)),
        "findings": (finding_rows(comparison.a.findings), finding_rows(comparison.b.findings)),
        "verdict": result.verdict,
        "flagged": result.flagged,
        "stats": {
            "energy_distance": result.energy_distance,
            "energy_p": result.energy_p,
            "riemann_distance": result.riemann_distance,
            "riemann_p": result.riemann_p,
            "n_boot": result.parameters.get("n_boot"),
            "block": result.parameters.get("block"),
            "n_windows": result.parameters.get("n_windows"),
            "n_tests": result.parameters.get("n_tests"),
            "window_s": comparison.window_s,
            "alpha": result.parameters.get("alpha"),
        },
        "features": list(result.features.itertuples()),
        "summary": summary,
        "metadata": [
            {
                "group": g,
                "field": f,
                "a": meta_a.get((g, f), ""),
                "b": meta_b.get((g, f), ""),
                "differs": meta_a.get((g, f), "") != meta_b.get((g, f), ""),
            }
            for g, f in sorted(set(meta_a) | set(meta_b))
        ],
        "figures": [(spec, f"/compare/figures/{spec.id}.svg?{query}") for spec in comparison.figure_specs()],
    }


@router.get("/compare/figures/{name}.svg")
async def compare_figure(request: Request, name: str, a: str = Query(...), b: str = Query(...)) -> Response:
    return await in_heavy_lane(request, _compare_figure, request, name, a, b)


def _compare_figure(request: Request, name: str, a: str, b: str) -> Response:
    view = view_of(request)
    state = _state(request)
    comparison = compare_dots(view, state.fingerprints, state.comparisons, a, b)
    specs = {spec.id: spec for spec in comparison.figure_specs()}
    if name not in specs:
        raise NotFound(f"no comparison figure {name!r} (figures: {', '.join(specs)})")
    files = [fingerprint_file(view, dot_id) for dot_id in (a, b)]
    key = ("compare", a, b, *((str(f), f.stat().st_mtime_ns) for f in files), name)
    return Response(state.figures.svg(key, specs[name]), media_type="image/svg+xml")


@router.get("/curation", response_class=HTMLResponse)
async def curation_page(
    request: Request, filters: DotFilter = Depends(dot_filter), chosen: Selection = Depends(selection)
):
    return await in_heavy_lane(request, _curation_page, request, filters, chosen)


def _curation_page(request: Request, filters: DotFilter, chosen: Selection):
    view = view_of(request)
    result = curation(view, filters, chosen)
    groups = duplicate_group_list(view)
    manifest_query = query_string(filters, min_quality=chosen.min_quality, drop_duplicates=chosen.drop_duplicates)
    return render(
        request,
        "curation.html.j2",
        title="Curation: duplicates and manifests",
        form=_filter_form(request, filters),
        chosen=chosen,
        policies=DROP_POLICIES,
        n_matching=len(result.dots),
        n_selected=int(result.dots["selected"].sum()) if len(result.dots) else 0,
        balance=list(result.balance.itertuples()),
        dropped=list(result.dots.loc[~result.dots["selected"], ["dot_id", "reason"]].head(MAX_LISTED).itertuples()),
        n_dropped=int((~result.dots["selected"]).sum()) if len(result.dots) else 0,
        groups=groups[:MAX_LISTED],
        n_groups=len(groups),
        n_pairs=sum(len(g["pairs"]) for g in groups),
        max_listed=MAX_LISTED,
        manifest_query=manifest_query,
        filter_query=query_string(filters),
    )


@router.get("/api", response_class=HTMLResponse)
def api_page(request: Request):
    schema = request.app.openapi()
    endpoints = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            parameters = [
                {"name": p["name"], "where": p["in"], "description": p.get("description", "")}
                for p in operation.get("parameters", [])
            ]
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": parameters,
                }
            )
    return render(request, "api.html.j2", title="JSON API", endpoints=endpoints)


@router.get("/static/{name}")
def static_file(request: Request, name: str) -> Response:
    files = _state(request).static
    if name not in files:
        raise NotFound(f"no static file {name!r}")
    content, media = files[name]
    return Response(content, media_type=media)
