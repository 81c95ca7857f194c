"""Reports opened in headless Chromium (Debian's ``chromium``, driven by Playwright): figures render,
no console errors, the dot-table filter narrows the table, metadata ``<script>`` does not run.

Screenshots are saved under ``test-artifacts/`` (git-ignored). ``make test`` installs Chromium when
``/usr/bin/chromium`` is absent; these tests fail (not skip) without it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
XSS = "<script>alert(1)</script>"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (fresh user-data dir) for the module; fails with the fix when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's chromium package; run `make test` "
            "(it installs it), or `apt-get install -y chromium`"
        )
    from playwright.sync_api import sync_playwright

    user_data = tempfile.mkdtemp(prefix="adots-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data, executable_path=str(CHROMIUM), args=ARGS, headless=True,
            viewport={"width": 1300, "height": 900},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(user_data, ignore_errors=True)


class Page:
    """A report opened from disk, with everything the page reported (console, errors, dialogs, requests)."""

    def __init__(self, context, path: Path) -> None:
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def figures(self) -> list[dict]:
        """Every <img> (natural size) and inline <svg> (bounding box) of the page."""
        return self.page.evaluate(
            """() => [
                ...Array.from(document.images).map(i => ({kind: 'img', alt: i.alt, complete: i.complete,
                    w: i.naturalWidth, h: i.naturalHeight})),
                ...Array.from(document.querySelectorAll('svg')).map(s => {
                    const r = s.getBoundingClientRect(); return {kind: 'svg', alt: '', complete: true,
                    w: r.width, h: r.height}; })]"""
        )

    def check_clean(self, name: str, n_figures: int) -> None:
        figures = self.figures()
        assert len(figures) >= n_figures, figures
        broken = [f for f in figures if not (f["complete"] and f["w"] > 0 and f["h"] > 0)]
        assert not broken, f"figures that did not render: {broken}"
        problems = [c for c in self.console if c[0] in ("error", "warning")]
        assert not problems and not self.errors, (problems, self.errors)
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        remote = [u for u in self.requests if not u.startswith(("file://", "data:"))]
        assert not remote, f"network requests: {remote}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000


def _corpus_catalog(corpus, path: Path):
    """A catalog of the corpus's dots written through :meth:`Catalog.write_source` (metadata as read from
    the files; status from the planted defects, quality scores and one duplicate pair added, and the
    first dot's lab named like a script) -- without fingerprinting, which ``adots ingest`` tests cover."""
    from adhesive_dots.baselines import find_baselines
    from adhesive_dots.catalog import Catalog, DotRecord, SourceRecord
    from adhesive_dots.io.read import open_recording

    catalog = Catalog(path)
    ids = []
    for i, entry in enumerate(corpus.entries):
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"} if entry.format == "bids" else {}
        with open_recording(corpus.root / entry.path, **options) as recording:
            baseline = find_baselines(recording)[0]
        metadata = baseline.metadata.model_copy(deep=True)
        metadata.curation.validation_status = "noncompliant" if entry.defects else "compliant"
        metadata.curation.quality_score = 0.3 if entry.defects else 0.9
        if i == 0:
            metadata.identity.lab = XSS
        ids.append(f"dot-{entry.key}")
        dot = DotRecord(ids[-1], metadata, (baseline.segment.start, baseline.segment.stop), baseline.duration,
                        content_hash=entry.key)  # fmt: skip
        catalog.write_source(SourceRecord(f"{corpus.root / entry.path}#{entry.key}", entry.key, dots=(dot,)))
    with catalog.connect() as con:
        con.execute("INSERT INTO duplicates VALUES (?, ?, 'near', ?)", [ids[0], ids[1], '{"distance": 0.01}'])
    return catalog


@pytest.fixture(scope="module")
def reports(small_corpus, real_data, tmp_path_factory):
    """Dot, catalog and comparison reports of the simulated corpus (one lab named like a script) and the real EEG."""
    from adhesive_dots.baselines import find_baselines
    from adhesive_dots.io.read import open_recording
    from adhesive_dots.io.sources import SourceSpec
    from adhesive_dots.report import write_report

    out = tmp_path_factory.mktemp("reports")
    entry = next(e for e in small_corpus.entries if e.format == "nwb" and not e.defects)
    with open_recording(small_corpus.root / entry.path) as recording:
        baseline = find_baselines(recording)[0]
        baseline.metadata.identity.lab = XSS
        dot = write_report(baseline, out / "dot.html")
    catalog = _corpus_catalog(small_corpus, out / "corpus.duckdb")
    catalog_html = write_report(catalog, out / "catalog.html")
    comparison = write_report([real_data / "S001R01.edf", real_data / "S001R02.edf"], out / "eeg-comparison.html",
                              template=SourceSpec("", labels=("T0",)), n_boot=200)  # fmt: skip
    return {"dot": dot, "catalog": catalog_html, "comparison": comparison, "n_dots": len(catalog.dots())}


def test_dot_report_in_browser(browser, reports):
    page = Page(browser, reports["dot"])
    page.check_clean("dot-report", n_figures=4)
    # the hostile lab name shows as text and did not run
    cells = page.page.locator("td", has_text=XSS)
    assert cells.count() >= 1 and cells.first.inner_text() == XSS
    assert page.page.locator("script").count() == 0


def test_catalog_report_filter_and_escaping(browser, reports):
    page = Page(browser, reports["catalog"])
    page.check_clean("catalog-report", n_figures=3)
    rows = page.page.locator("#dot-table tbody tr")
    total = rows.count()
    assert total == reports["n_dots"]

    def visible() -> list[str]:
        return [r.inner_text() for r in rows.all() if r.is_visible()]

    assert len(visible()) == total
    page.page.fill("#dot-filter", "lab1 02")
    shown = visible()
    assert 0 < len(shown) < total
    assert all("lab1" in text and "02" in text for text in shown)
    assert page.page.inner_text("#dot-count") == f"{len(shown)} of {total} dots shown"
    page.page.screenshot(path=str(ARTIFACTS / "catalog-report-filtered.png"), full_page=True)
    page.page.fill("#dot-filter", "no-such-dot")
    assert visible() == []
    page.page.fill("#dot-filter", "")
    assert len(visible()) == total
    # the lab named like a script is a table cell's text; no dialog opened at any point
    page.page.fill("#dot-filter", "alert(1)")
    shown = visible()
    assert len(shown) == 1 and XSS in shown[0]
    assert not page.dialogs and not page.errors


def test_real_eeg_comparison_in_browser(browser, reports):
    page = Page(browser, reports["comparison"])
    page.check_clean("eeg-comparison-report", n_figures=5 + 8)
    assert page.page.locator(".verdict").inner_text() in ("different", "within baseline variability")
    # the EDF rest runs have no task segment: the report says why the task-effect figure is absent
    assert "No task segments shared" in page.page.inner_text("#task-effects")


def test_real_eeg_comparison_flags_eyes_closed_alpha(reports):
    """Known fact (shared/data/real/README): S001R02 (eyes closed) has far more alpha than S001R01."""
    html = reports["comparison"].read_text()
    row = re.search(r'<tr class="flagged"><td>log_power_alpha</td>(.*?)</tr>', html)
    assert row is not None, "alpha power not flagged"
    difference = float(re.findall(r'<td class="num">([-0-9.e]+)</td>', row.group(1))[2])
    assert difference > 0.2  # log10 units: eyes-closed alpha power at least 1.6 times eyes-open
    assert "verdict different" in html
