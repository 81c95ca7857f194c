"""Request parameters: the filters of ``adots search``, sorting, paging; checked against what is allowed.

The dependencies are ``async`` (they only compare short strings with lists kept per catalog view), so a
request whose response is already kept never waits for a worker thread.

Every parameter arrives as text and is checked here, the same way for the pages and the API:
a value outside the allowed ones is answered with 422 and the allowed values
(:class:`InvalidParameter`). Vocabulary filters (paradigm, modality, illumination, status,
arousal measure) allow the DotMetadata vocabulary plus any value present in the catalog;
free-text filters (species, lab) allow the values present in the catalog. Values match
case-insensitively, as in ``adots search``. An empty value (a form's "any") means no filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import Query, Request

from adhesive_dots.catalog.search import METRICS
from adhesive_dots.catalog.store import SUMMARY_COLUMNS, DotFilter
from adhesive_dots.curate.selection import DROP_POLICIES
from adhesive_dots.errors import DataError
from adhesive_dots.metadata import ArousalMeasure, IlluminationCategory, Modality, Paradigm, ValidationStatus
from adhesive_dots.serve._live import CatalogView

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "paradigm": tuple(p.value for p in Paradigm),
    "modality": tuple(m.value for m in Modality),
    "illumination": tuple(i.value for i in IlluminationCategory),
    "status": tuple(s.value for s in ValidationStatus),
    "arousal": tuple(a.value for a in ArousalMeasure),
}
"""Filters whose values come from a DotMetadata vocabulary."""
FREE_TEXT = ("species", "lab")
"""Filters whose allowed values are those present in the catalog."""
SORT_KEYS = SUMMARY_COLUMNS
"""Columns a dot list may be sorted by."""
ORDERS = ("asc", "desc")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_NEIGHBOURS = 100
MANIFEST_FORMATS = ("parquet", "csv")


class InvalidParameter(DataError):
    """A request parameter with a value outside the allowed ones (answered with 422)."""

    def __init__(self, parameter: str, value: Any, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.value = value
        self.message = message
        self.allowed = allowed

    def to_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "value": self.value, "message": self.message, "allowed": self.allowed}


def allowed_values(view: CatalogView) -> dict[str, list[str]]:
    """Allowed values of each choice filter in this view of the catalog (vocabulary plus catalog values)."""

    def compute() -> dict[str, list[str]]:
        snapshot = view.snapshot
        out = {}
        for name, column in DotFilter.COLUMNS.items():
            if name == "min_duration":
                continue
            present = snapshot.distinct_values(column)
            vocabulary = list(VOCABULARIES.get(name, ()))
            out[name] = vocabulary + sorted(v for v in present if v.lower() not in {w.lower() for w in vocabulary})
        return out

    return view.memo.get("allowed-values", compute)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def check_choice(name: str, value: str | None, allowed: list[str]) -> str | None:
    """``value`` spelled as the allowed value it matches case-insensitively; ``None`` for no value."""
    value = _text(value)
    if value is None:
        return None
    for candidate in allowed:
        if candidate.lower() == value.lower():
            return candidate
    raise InvalidParameter(name, value, f"unknown value {value!r}", allowed)


def check_number(name: str, value: str | None, *, low: float, high: float = math.inf, integer: bool = False) -> Any:
    """A number in ``[low, high]`` from text (``None`` for no value)."""
    value = _text(value)
    if value is None:
        return None
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise InvalidParameter(name, value, f"expected {kind}, got {value!r}") from None
    if not (low <= number <= high) or (isinstance(number, float) and not math.isfinite(number)):
        raise InvalidParameter(name, value, f"must lie in [{low:g}, {high:g}], got {value!r}")
    return number


def view_of(request: Request) -> CatalogView:
    """The catalog view this request reads (taken once, when the request started)."""
    return request.state.view


def _describe(name: str) -> str:
    allowed = VOCABULARIES.get(name)
    return f" Allowed: {', '.join(allowed)} (and values present in the catalog)." if allowed else ""


async def dot_filter(
    request: Request,
    species: str | None = Query(None, description="Species as recorded, e.g. 'Mus musculus' (case-insensitive)."),
    paradigm: str | None = Query(None, description="Paradigm of the baseline." + _describe("paradigm")),
    modality: str | None = Query(None, description="Recording modality." + _describe("modality")),
    min_duration: str | None = Query(None, description="Minimum baseline length in s (a number >= 0)."),
    illumination: str | None = Query(None, description="Illumination category." + _describe("illumination")),
    arousal: list[str] = Query(
        [], description="Arousal measure that must be recorded (repeatable: all must be)." + _describe("arousal")
    ),
    lab: str | None = Query(None, description="Lab name as recorded (case-insensitive)."),
    status: str | None = Query(None, description="Validation status." + _describe("status")),
) -> DotFilter:
    """The filters of ``adots search`` from query parameters, each checked (422 with the allowed values)."""
    allowed = allowed_values(view_of(request))
    measures = []
    for measure in arousal:
        checked = check_choice("arousal", measure, allowed["arousal"])
        if checked is not None and checked not in measures:
            measures.append(checked)
    return DotFilter(
        species=check_choice("species", species, allowed["species"]),
        paradigm=check_choice("paradigm", paradigm, allowed["paradigm"]),
        modality=check_choice("modality", modality, allowed["modality"]),
        min_duration=check_number("min_duration", min_duration, low=0.0),
        illumination=check_choice("illumination", illumination, allowed["illumination"]),
        arousal=tuple(measures),
        lab=check_choice("lab", lab, allowed["lab"]),
        status=check_choice("status", status, allowed["status"]),
    )


@dataclass(frozen=True)
class Paging:
    """Sorting and paging of a dot list."""

    sort: str | None
    order: str
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def paging(
    sort: str | None = Query(None, description=f"Column to sort by: {', '.join(SORT_KEYS)} (default: catalog order)."),
    order: str | None = Query(None, description="asc (default) or desc."),
    page: str | None = Query(None, description="Page number, from 1."),
    per_page: str | None = Query(None, description=f"Dots per page, 1 to {MAX_PER_PAGE} (default {DEFAULT_PER_PAGE})."),
) -> Paging:
    """Sorting and paging from query parameters, each checked (422 with the allowed values)."""
    return Paging(
        sort=check_choice("sort", sort, list(SORT_KEYS)),
        order=check_choice("order", order, list(ORDERS)) or "asc",
        page=check_number("page", page, low=1, integer=True) or 1,
        per_page=check_number("per_page", per_page, low=1, high=MAX_PER_PAGE, integer=True) or DEFAULT_PER_PAGE,
    )


@dataclass(frozen=True)
class Neighbours:
    k: int
    metric: str


async def neighbours(
    k: str | None = Query(None, description=f"Number of neighbours, 1 to {MAX_NEIGHBOURS} (default 10)."),
    metric: str | None = Query(None, description=f"Distance on standardised summary vectors: {', '.join(METRICS)}."),
) -> Neighbours:
    """How many nearest dots, by which distance."""
    return Neighbours(
        k=check_number("k", k, low=1, high=MAX_NEIGHBOURS, integer=True) or 10,
        metric=check_choice("metric", metric, list(METRICS)) or "cosine",
    )


@dataclass(frozen=True)
class Selection:
    """How curation selects the manifest's dots."""

    min_quality: float | None
    drop_duplicates: str | None


async def selection(
    min_quality: str | None = Query(None, description="Drop dots below this quality score (0 to 1)."),
    drop_duplicates: str | None = Query(
        None, description=f"Keep one dot per duplicate group: {', '.join(DROP_POLICIES)} (default: keep all)."
    ),
) -> Selection:
    return Selection(
        min_quality=check_number("min_quality", min_quality, low=0.0, high=1.0),
        drop_duplicates=check_choice("drop_duplicates", drop_duplicates, list(DROP_POLICIES)),
    )


def query_string(filters: DotFilter, **extra: Any) -> list[tuple[str, str]]:
    """``filters`` (and ``extra`` parameters) as query parameters, for links that keep the current filter."""
    pairs: list[tuple[str, str]] = []
    for name in ("species", "paradigm", "modality", "min_duration", "illumination", "lab", "status"):
        value = getattr(filters, name)
        if value is not None:
            pairs.append((name, f"{value:g}" if isinstance(value, float) else str(value)))
    pairs += [("arousal", m) for m in filters.arousal]
    for name, value in extra.items():
        if value is not None:
            pairs.append((name, value.value if isinstance(value, Enum) else str(value)))
    return pairs
