"""Reports: figures drawn from the fingerprint (known answers), escaping, targets and errors, the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from adhesive_dots import Baseline
from adhesive_dots.errors import BaselineNotFoundError, DataError, SourceNotFoundError
from adhesive_dots.fingerprint import FingerprintParams, fingerprint
from adhesive_dots.metadata import DotMetadata
from adhesive_dots.report import _figures as figs
from adhesive_dots.report import (
    catalog_report_html,
    channel_groups,
    dot_report_html,
    figure_to_svg,
    report_kind,
    write_report,
)
from adhesive_dots.sim import sim_powerlaw

XSS = "<script>alert(1)</script>"
FS = 250.0


@pytest.fixture(scope="module")
def powerlaw_baseline() -> Baseline:
    """Four channels of 1/f**1.5 noise, 120 s at 250 Hz, with a hostile lab name."""
    data = sim_powerlaw(int(120 * FS), FS, 1.5, n_signals=4, rng=3)
    metadata = DotMetadata.model_validate({"identity": {"lab": XSS, "session_id": "s1"}})
    return Baseline.from_array(data, FS, metadata=metadata, channel_names=["Fz", "Cz", "Pz", "Oz"])


@pytest.fixture(scope="module")
def powerlaw_fp(powerlaw_baseline):
    return fingerprint(powerlaw_baseline, params=FingerprintParams(window_s=12.0, population=True), rng=0)


def test_channel_groups_by_name_prefix():
    groups = channel_groups(["Fc5.", "Fc3.", "C1..", "roi001", "roi002", "O1"])
    assert {k: v.tolist() for k, v in groups.items()} == {"Fc": [0, 1], "C": [2], "Roi": [3, 4], "O": [5]}
    # more prefixes than max_groups: first letters; still too many: one group
    assert list(channel_groups(["Fa", "Fb", "Ca", "Cb"], max_groups=2)) == ["F", "C"]
    assert list(channel_groups([f"{c}x" for c in "ABCDE"], max_groups=2)) == ["all"]


def test_psd_figure_fit_line_has_the_fingerprint_exponent(powerlaw_fp):
    """Known answer: the dashed aperiodic line of 1/f**1.5 noise has log-log slope -1.5 (+-0.15)."""
    ds = powerlaw_fp.dataset
    fig = figs.psd_figure(ds)
    fits = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("aperiodic fit")]
    assert len(fits) == 4  # channels Fz, Cz, Pz, Oz: four groups of one channel
    low, high = ds["aperiodic_exponent"].attrs["freq_range"]
    checked = []
    for line, exponent in zip(fits, ds["aperiodic_exponent"].values, strict=True):
        x, y = line.get_xdata(), line.get_ydata()
        slope = np.polyfit(np.log10(x), np.log10(y), 1)[0]
        assert slope == pytest.approx(-exponent, abs=1e-6)
        assert slope == pytest.approx(-1.5, abs=0.15)
        assert x.min() >= low and x.max() <= high
        # the line sits on the spectrum of pure 1/f noise: median log10 residual within 0.1
        psd = ds["psd"].sel(channel=ds["channel"].values[len(checked)]).values
        on = np.isin(ds["freq"].values, x)
        assert np.median(np.abs(np.log10(psd[on]) - np.log10(y))) < 0.1
        checked.append(line)


def test_dfa_figure_line_slope_is_the_fitted_exponent(powerlaw_fp):
    ds = powerlaw_fp.dataset
    fig = figs.dfa_figure(ds)
    dashed = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert dashed, "no fitted DFA line"
    x, y = dashed[0].get_xdata(), dashed[0].get_ydata()
    slope = np.polyfit(np.log10(x), np.log10(y), 1)[0]
    group = next(iter(channel_groups(ds["channel"].values).values()))
    assert slope == pytest.approx(float(np.median(ds["dfa_exponent"].values[group])), abs=1e-9)
    low, high = ds["dfa_exponent"].attrs["fit_range"]
    assert x.min() >= low - 1e-12 and x.max() <= high + 1e-12
    # right panel: the population signal's line has its exponent as slope, over the slow fit range
    (line,) = [line for line in fig.axes[1].get_lines() if line.get_linestyle() == "--"]
    x, y = line.get_xdata(), line.get_ydata()
    assert np.polyfit(np.log10(x), np.log10(y), 1)[0] == pytest.approx(float(ds["population_dfa_exponent"]), abs=1e-9)
    low, high = powerlaw_fp.parameters["slow_fit_range"]
    assert x.min() >= low - 1e-12 and x.max() <= high + 1e-12


def test_figures_have_labelled_axes_with_units(powerlaw_fp):
    ds = powerlaw_fp.dataset
    for fig in (figs.psd_figure(ds), figs.dfa_figure(ds), figs.correlation_figure(ds), figs.trajectory_figure(ds)):
        for ax in fig.axes:
            if not ax.get_visible() or not ax.has_data():
                continue
            for label in (ax.get_xlabel(), ax.get_ylabel()):
                if label:
                    assert re.search(r"\(.+\)", label), label
    assert "Hz" in figs.psd_figure(ds).axes[0].get_xlabel()


def test_svg_escapes_text():
    fig, axes = figs._figure(2.0)
    axes[0, 0].set_title(XSS)
    svg = figure_to_svg(fig)
    root = ET.fromstring(svg)  # well-formed XML
    assert not [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "script"]
    assert "<script>" not in svg


def test_dot_report_shows_fingerprint_values_and_escapes_metadata(powerlaw_baseline, powerlaw_fp):
    html = dot_report_html(powerlaw_baseline, params=FingerprintParams(window_s=12.0), seed=0)
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 0  # a dot report needs no script at all
    exponent = powerlaw_fp.summary_dict()["aperiodic_exponent"]
    assert f">{exponent:.4g}<" in html
    assert html.count('src="data:image/svg+xml;base64,') == 4
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    # validation ran: a 120 s baseline is too short
    assert "baseline.duration" in html


def test_report_kind_and_target_errors(tmp_path, powerlaw_baseline):
    assert report_kind(["a.nwb"]) == "dot"
    assert report_kind(["a.nwb", "b.nwb"]) == "comparison"
    assert report_kind([tmp_path / "cat.duckdb"]) == "catalog"
    with pytest.raises(DataError, match="got 3"):
        report_kind(["a", "b", "c"])
    with pytest.raises(SourceNotFoundError, match="no catalog here"):
        write_report(tmp_path / "missing.duckdb", tmp_path / "r.html")
    out = tmp_path / "r.html"
    out.write_text("keep me")
    with pytest.raises(DataError, match="file exists"):
        write_report(powerlaw_baseline, out)
    assert out.read_text() == "keep me"
    with pytest.raises(DataError, match="window_s must be a positive number of seconds"):
        write_report(powerlaw_baseline, tmp_path / "w.html", params=FingerprintParams(window_s=-1.0))


def test_source_without_baseline_names_the_fix(tmp_path, real_data):
    # S001R01's only annotation is 'T0': without --label T0 (or --start/--stop) no baseline is found
    with pytest.raises(BaselineNotFoundError, match="S001R01"):
        write_report(real_data / "S001R01.edf", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_catalog_report_of_an_empty_catalog(tmp_path):
    from adhesive_dots.catalog import Catalog

    catalog = Catalog(tmp_path / "empty.duckdb")
    with catalog.connect():
        pass  # creates the schema
    html = catalog_report_html(catalog)
    assert "0 of 0 dots shown" in html and "No duplicates recorded" in html


@pytest.mark.slow
def test_cli_report(tmp_path, real_data):
    out = tmp_path / "dot.html"
    proc = subprocess.run(
        [sys.executable, "-m", "adhesive_dots", "report", str(real_data / "S001R01.edf"), "--label", "T0",
         "-o", str(out)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "dot report written to" in proc.stdout and out.exists()
    proc = subprocess.run(
        [sys.executable, "-m", "adhesive_dots", "report", "a.nwb", "b.nwb", "c.nwb", "-o", str(tmp_path / "x.html")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2 and "got 3" in proc.stderr


def test_task_effects_of_a_session_against_itself_cancel(small_corpus):
    """Known answer: a session compared with itself has Δ1 == Δ2, so naive and adjusted differences are 0
    and the adjusted CI is symmetric around 0; Spon/Task are the effects table's means."""
    from adhesive_dots.baselines import find_baselines
    from adhesive_dots.compare.effects import compute_task_effects
    from adhesive_dots.io.read import open_recording
    from adhesive_dots.report._build import _task_effects

    entry = next(e for e in small_corpus.entries if e.kind == "ephys" and not e.defects)
    with open_recording(small_corpus.root / entry.path) as recording:
        baseline = find_baselines(recording)[0]
        figures, rows, note = _task_effects(baseline, baseline, labels=("s1", "s2"), seed=0, n_boot=100, alpha=0.05)
        table = compute_task_effects(recording, baseline=baseline, labels=["task"], n_boot=100, rng=0).table
    assert len(figures) == 1 and "Task label 'task'" in note
    assert [r["feature"] for r in rows] == list(table["feature"])
    for row, ref in zip(rows, table.itertuples(), strict=True):
        assert float(row["naive"]) == 0.0 and float(row["adjusted"]) == 0.0
        low, high = (float(v) for v in row["ci"].strip("[]").split(","))
        assert low == pytest.approx(-high, rel=1e-3) and low < 0 < high
        assert float(row["spon_1"]) == pytest.approx(ref.baseline_mean, rel=1e-3)
        assert float(row["task_2"]) == pytest.approx(ref.task_mean, rel=1e-3)


def test_no_shared_task_says_so(powerlaw_baseline):
    from adhesive_dots.report._build import _task_effects

    figures, rows, note = _task_effects(powerlaw_baseline, powerlaw_baseline, labels=("a", "b"), seed=0,
                                        n_boot=10, alpha=0.05)  # fmt: skip
    assert figures == [] and rows == [] and "No task segments shared" in note
