"""``adots serve``: the catalog in a browser, and a JSON API (layer 6, a face like ``cli`` and ``report``).

Pages (server-side jinja2 templates; every script and style comes from this package):

* ``/`` -- the catalog: counts by species, paradigm, modality, lab and compliance, minutes of
  compliant baseline, quality distribution (the catalog report's figures), and the dot table
  with the filters of ``adots search``, sorting, paging, a link per dot and a "compare" pick;
* ``/dots/{dot_id}`` -- one dot: metadata, findings by severity, the dot report's fingerprint
  figures, and its nearest dots with their distance;
* ``/compare?a=...&b=...`` -- two dots side by side with ``compare_baselines`` of their
  fingerprints (verdict, flagged features, CIs);
* ``/curation`` -- duplicate groups with their evidence, and the manifest of the current filter
  (Parquet or CSV);
* ``/api`` -- the JSON API described from its OpenAPI schema (``/api/openapi.json``).

The API under ``/api/`` mirrors them (``dots``, ``dots/{id}``, ``dots/{id}/similar``,
``dots/{id}/fingerprint``, ``compare``, ``manifest``, ``duplicates``, ``facets``, ``status``)
with the field names of ``adots search --json``.

The server is read-only and follows the catalog while ``adots ingest`` writes it (see
:mod:`adhesive_dots.serve._live`). It listens on 127.0.0.1 by default; a network address
needs a token, which every request must then carry.

Examples
--------
>>> from adhesive_dots.serve import create_app
>>> app = create_app("adots-demo/adhesive.duckdb")  # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8765), or: adots serve --catalog adots-demo/adhesive.duckdb
"""

from adhesive_dots.serve._app import create_app
from adhesive_dots.serve._live import CatalogView, LiveCatalog
from adhesive_dots.serve._run import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServeError,
    ServerThread,
    check_binding,
    is_loopback,
    serve_catalog,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "CatalogView",
    "LiveCatalog",
    "ServeError",
    "ServerThread",
    "check_binding",
    "create_app",
    "is_loopback",
    "serve_catalog",
]
