"""What the reports' figures say once rendered in headless Chromium: the text of their axes, legends and
titles (the SVG figures keep text as ``<text>``; the page decodes each ``<img>``'s SVG and reads it), with
screenshots saved under ``test-artifacts/`` for a real EEG dot (scalp maps), a calcium dot and a catalog.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FIGURE_TEXTS = """() => Array.from(document.images).map(img => {
    const b64 = img.src.split(',')[1] || '';
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const svg = new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'image/svg+xml');
    return {alt: img.alt, w: img.naturalWidth, texts: Array.from(svg.querySelectorAll('text'))
        .map(t => t.textContent.replace(/\\s+/g, ' ').trim())};
})"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's chromium package (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    user_data = tempfile.mkdtemp(prefix="adots-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data, executable_path=str(CHROMIUM), args=ARGS, headless=True, viewport={"width": 1300, "height": 900}
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(user_data, ignore_errors=True)


def _render(browser, path: Path, name: str) -> dict[str, list[str]]:
    """Open ``path``, save a full-page screenshot, return each figure's alt text -> its rendered SVG texts."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    figures = page.evaluate(FIGURE_TEXTS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()
    assert not errors, errors
    assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
    assert all(f["w"] > 0 for f in figures), [f["alt"] for f in figures if not f["w"]]
    return {f["alt"]: f["texts"] for f in figures}


def test_eeg_dot_report_has_scalp_maps_and_readable_axes(browser, real_data, tmp_path):
    from adhesive_dots.io.sources import SourceSpec
    from adhesive_dots.report import write_report

    html = write_report(real_data / "S001R02.edf", tmp_path / "eeg-dot.html", template=SourceSpec("", whole=True))
    figures = _render(browser, html, "eeg-dot-report-topomaps")
    scalp = " ".join(figures["Scalp maps"])
    assert "alpha power" in scalp and "aperiodic exponent" in scalp and "64 channels" in scalp
    psd = " ".join(figures["Power spectrum with aperiodic fit"])
    assert "V²/Hz" in psd and "**" not in psd
    dfa = " ".join(figures["Detrended fluctuation analysis"])
    assert "R² = " in dfa and re.search(r"fit 0\.1–\d", dfa)
    correlation = figures["Correlation structure"]
    assert "Fc5" in correlation and not [t for t in correlation if t.endswith(".")]  # names, EDF dots removed


def test_calcium_dot_report_has_no_scalp_maps(browser, small_corpus, tmp_path):
    from adhesive_dots.report import write_report

    entry = next(e for e in small_corpus.entries if e.kind == "calcium" and not e.defects)
    html = write_report(small_corpus.root / entry.path, tmp_path / "calcium-dot.html")
    figures = _render(browser, html, "calcium-dot-report")
    assert "Scalp maps" not in figures
    assert "Power spectrum with aperiodic fit" in figures and "Detrended fluctuation analysis" in figures
    assert not any("**" in t for texts in figures.values() for t in texts)


def test_catalog_report_count_axes_are_whole_numbers(browser, small_corpus, tmp_path):
    from adhesive_dots.report import write_report

    spec = importlib.util.spec_from_file_location("report_browser", Path(__file__).with_name("test_report_browser.py"))
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    catalog = helpers._corpus_catalog(small_corpus, tmp_path / "corpus.duckdb")
    html = write_report(catalog, tmp_path / "catalog.html")
    figures = _render(browser, html, "catalog-report-figures")
    # the bar charts by facet: their only numbers are the count axis's ticks
    counts = [texts for texts in figures.values() if any(t.startswith("By ") for t in texts)]
    assert counts and any("Dots (count)" in t for t in counts[0])
    for texts in counts:
        numbers = [t for t in texts if re.fullmatch(r"[−-]?\d+(\.\d+)?", t)]
        assert numbers and all("." not in n for n in numbers), numbers
