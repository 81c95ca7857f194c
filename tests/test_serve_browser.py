"""``adots serve`` in headless Chromium (Debian's ``chromium``, driven by Playwright) on a demo-like catalog.

Filter to head-fixed, pupil-recorded, compliant dots of at least 600 s and see the dots of ``adots search``
with those flags; open a dot and its nearest neighbour; compare two dots and read the verdict; download the
manifest and read it back with pandas; hostile metadata never runs. No page makes a request outside the
server, logs an error or opens a dialog. Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from adhesive_dots.catalog import search_dots

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
HEAD_FIXED = "animal-head-fixed-task-free"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (fresh user-data dir) for the module; fails with the fix when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's chromium (`apt-get install -y chromium`)")
    from playwright.sync_api import sync_playwright

    user_data = tempfile.mkdtemp(prefix="adots-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data,
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1300, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(user_data, ignore_errors=True)


@pytest.fixture(scope="module")
def server(served_catalog):
    from adhesive_dots.serve import ServerThread, create_app

    with ServerThread(create_app(served_catalog)) as running:
        yield running


class Tab:
    """A page of the server with everything it reported (console, errors, dialogs, requests)."""

    def __init__(self, context, base: str) -> None:
        self.base = base
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str) -> Tab:
        self.page.goto(self.base + path, wait_until="load")
        return self

    def wait_for_figures(self) -> None:
        """Scroll every lazy figure into view and wait until each has drawn (a figure is drawn on request)."""
        for image in self.page.locator("figure img").all():
            image.scroll_into_view_if_needed()
        self.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('figure img')).every(i => i.complete && i.naturalWidth > 0)",
            timeout=60_000,
        )

    def check_clean(self, name: str) -> None:
        problems = [c for c in self.console if c[0] in ("error", "warning")]
        assert not problems and not self.errors, (problems, self.errors)
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        outside = [u for u in self.requests if not u.startswith((self.base, "data:"))]
        assert not outside, f"requests outside the server: {outside}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000

    def table_ids(self) -> list[str]:
        return self.page.eval_on_selector_all("#dot-table tbody tr", "rows => rows.map(r => r.dataset.dot)")


def test_filter_to_head_fixed_pupil_compliant_600_s(browser, server, served_catalog):
    tab = Tab(browser, server.url).open("/")
    tab.wait_for_figures()
    everything = tab.table_ids()
    assert everything == list(search_dots(served_catalog)["dot_id"])
    tab.page.select_option("#filter-paradigm", HEAD_FIXED)
    tab.page.check("input[name=arousal][value=pupil]")
    tab.page.select_option("#filter-status", "compliant")
    tab.page.fill("#filter-min-duration", "600")
    with tab.page.expect_navigation():
        tab.page.click("#apply-filters")
    expected = search_dots(served_catalog, paradigm=HEAD_FIXED, arousal=["pupil"], status="compliant", min_duration=600)
    assert 0 < len(expected) < len(everything)
    assert tab.table_ids() == list(expected["dot_id"])
    count = len(expected)
    assert (
        tab.page.inner_text("#dot-count") == f"{count} dot{'s' if count != 1 else ''} match{'es' if count == 1 else ''}"
    )
    # the form keeps the filter, and every row says so
    assert tab.page.input_value("#filter-paradigm") == HEAD_FIXED
    rows = tab.page.locator("#dot-table tbody tr").all_inner_texts()
    assert all(HEAD_FIXED in row and "compliant" in row for row in rows)
    tab.wait_for_figures()
    tab.check_clean("serve-catalog-filtered")


def test_open_a_dot_and_its_nearest_neighbour(browser, server, served_catalog):
    tab = Tab(browser, server.url).open("/")
    first = tab.table_ids()[0]
    with tab.page.expect_navigation():
        tab.page.click(f"#dot-table tbody tr[data-dot='{first}'] a.dot")
    assert tab.page.url.endswith(f"/dots/{first}")
    nearest = tab.page.locator("#nearest-table a.dot").first
    neighbour = nearest.inner_text()
    assert neighbour != first
    distance = float(tab.page.locator("#nearest-table td.distance").first.inner_text())
    assert distance >= 0
    tab.wait_for_figures()
    assert tab.page.locator("figure img").count() == 4
    tab.check_clean("serve-dot")
    with tab.page.expect_navigation():
        nearest.click()
    assert tab.page.url.endswith(f"/dots/{neighbour}")
    assert neighbour in tab.page.inner_text("#overview")
    assert first in tab.page.locator("#nearest-table").inner_text()  # nearness goes both ways here
    tab.wait_for_figures()
    tab.check_clean("serve-dot-neighbour")


def test_compare_two_dots_and_read_the_verdict(browser, server, served_catalog):
    tab = Tab(browser, server.url).open(f"/?paradigm={HEAD_FIXED}&status=compliant")
    button = tab.page.locator("#compare-selected")
    assert button.is_disabled()  # the script asks for exactly two
    a, b = tab.table_ids()[:2]
    tab.page.check(f"input[name=dot][value='{a}']")
    tab.page.check(f"input[name=dot][value='{b}']")
    assert button.is_enabled()
    with tab.page.expect_navigation():
        button.click()
    verdict = tab.page.locator("#verdict .verdict").inner_text()
    assert verdict in ("different", "within baseline variability")
    flagged = tab.page.inner_text("#flagged")
    table = tab.page.locator("#feature-table tr.flagged td:first-child").all_inner_texts()
    assert flagged == (", ".join(table) if table else "none")
    tab.wait_for_figures()
    tab.check_clean("serve-compare")


def test_download_the_manifest_and_read_it_back(browser, server, served_catalog, tmp_path):
    tab = Tab(browser, server.url).open(f"/curation?paradigm={HEAD_FIXED}&drop_duplicates=keep-best")
    assert tab.page.locator("#duplicates .group").count() >= 1
    frames = {}
    for kind in ("parquet", "csv"):
        with tab.page.expect_download() as info:
            tab.page.click(f"#manifest-{kind}")
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        frames[kind] = pd.read_parquet(path) if kind == "parquet" else pd.read_csv(path)
    assert list(frames["parquet"]["dot_id"]) == list(frames["csv"]["dot_id"])
    selected = tab.page.inner_text("#manifest-count").split(" of ")[0]
    assert len(frames["parquet"]) == int(selected) > 0
    assert set(frames["parquet"]["paradigm"]) == {HEAD_FIXED}
    assert frames["parquet"]["n_duplicates"].max() >= 1  # duplicates were dropped, their count kept
    tab.check_clean("serve-curation")


def test_hostile_metadata_does_not_run_in_the_browser(browser, hostile_catalog):
    from urllib.parse import quote

    from adhesive_dots.serve import ServerThread, create_app

    ids = list(hostile_catalog.dots()["dot_id"])
    with ServerThread(create_app(hostile_catalog)) as running:
        tab = Tab(browser, running.url)
        for i, path in enumerate(
            [
                "/",
                f"/dots/{quote(ids[0], safe='')}",
                f"/dots/{quote(ids[1], safe='')}",
                f"/compare?a={quote(ids[1], safe='')}&b={quote(ids[2], safe='')}",
                "/curation",
            ]
        ):
            tab.open(path)
            tab.wait_for_figures()
            assert tab.page.evaluate("() => document.querySelectorAll('body script, img[src=x]').length") == 0
            tab.check_clean(f"serve-hostile-{i}")
        assert "<script>alert(1)</script>" in tab.page.inner_text("#duplicates")  # text, not markup
