"""The catalog of adhesive dots (layer 4, embedded DuckDB): store, search, exchange, curation.

Filling it from sources is a workflow (:mod:`adhesive_dots.workflows.ingest`)."""

from adhesive_dots.catalog.search import search_dots, similar_dots
from adhesive_dots.catalog.store import (
    Catalog,
    CatalogError,
    DotNotFoundError,
    DotRecord,
    SourceRecord,
    default_catalog_path,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "DotNotFoundError",
    "DotRecord",
    "SourceRecord",
    "default_catalog_path",
    "search_dots",
    "similar_dots",
]
