"""Self-contained HTML reports (layer 6, a face: matplotlib on the Agg canvas, jinja2 with autoescape).

* :func:`write_report` -- one source (dot report), two sources (comparison report) or a catalog
  (catalog report) to one HTML file; figures are embedded SVG images, the page makes no network
  request and its only script is the dot table's filter (plain JavaScript).
* :func:`dot_report_html`, :func:`comparison_report_html`, :func:`catalog_report_html` -- the HTML text.
* :func:`fingerprint_figure_specs`, :func:`comparison_figure_specs`, :func:`catalog_figure_specs` -- the
  figures, not drawn yet (:class:`FigureSpec`): the reports draw them all, the web server
  (``adots serve``) one at a time when a page asks; :func:`catalog_overview` the catalog's counts.

Every figure is drawn from :func:`~adhesive_dots.fingerprint.fingerprint`'s Dataset or
:func:`~adhesive_dots.compare.compare_baselines`'s table; nothing is recomputed here. Every string
from metadata passes through jinja2's autoescape, so a lab named ``<script>...`` shows as text.
"""

from adhesive_dots.report._build import (
    CATALOG_FACETS,
    CatalogOverview,
    FigureSpec,
    catalog_figure_specs,
    catalog_overview,
    catalog_report_html,
    comparison_figure_specs,
    comparison_report_html,
    dot_report_html,
    finding_rows,
    fingerprint_figure_specs,
    format_value,
    metadata_rows,
    report_kind,
    write_report,
)
from adhesive_dots.report._figures import channel_groups, figure_to_data_uri, figure_to_svg

__all__ = [
    "CATALOG_FACETS",
    "CatalogOverview",
    "FigureSpec",
    "catalog_figure_specs",
    "catalog_overview",
    "catalog_report_html",
    "comparison_figure_specs",
    "finding_rows",
    "fingerprint_figure_specs",
    "format_value",
    "metadata_rows",
    "channel_groups",
    "comparison_report_html",
    "dot_report_html",
    "figure_to_data_uri",
    "figure_to_svg",
    "report_kind",
    "write_report",
]
