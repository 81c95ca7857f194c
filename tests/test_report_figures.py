"""What the report's figures say: units typeset, labelled and symmetric correlation matrices, integer count
axes, DFA fit quality on the figure, no empty panels for features a modality cannot have (checked on the
SVG text, which the figures keep as ``<text>`` elements)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from adhesive_dots.fingerprint import compute_fingerprint_array
from adhesive_dots.report import _figures as figs
from adhesive_dots.sim import sim_powerlaw


def _texts(fig) -> list[str]:
    svg = figs.figure_to_svg(fig)
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]


@pytest.mark.parametrize(
    ("units", "shown"),
    [
        ("(V)**2/Hz", "V²/Hz"),
        ("log10((V)**2)", "log₁₀ V²"),
        ("(dF/F)**2/Hz", "(dF/F)²/Hz"),
        ("V x sqrt(samples)", "V·√samples"),
    ],
)
def test_units_are_typeset(units, shown):
    assert figs.typeset_units(units) == shown


@pytest.fixture(scope="module")
def eeg_like():
    rng = np.random.default_rng(0)
    common = sim_powerlaw(250 * 120, 250.0, 1.5, rng=1)
    data = 1e-5 * (0.3 * common + sim_powerlaw(250 * 120, 250.0, 1.5, n_signals=4, rng=2))
    data += 1e-7 * rng.standard_normal(data.shape)
    return compute_fingerprint_array(data, 250.0, channel_names=["O1", "O2", "Pz", "Cz"], units="V", rng=0).dataset


def test_correlation_matrix_has_channel_names_and_a_symmetric_scale(eeg_like):
    texts = _texts(figs.correlation_figure(eeg_like))
    assert {"O1", "O2", "Pz", "Cz"} <= set(texts)
    off = eeg_like["correlation"].values[~np.eye(4, dtype=bool)]
    limit = np.ceil(np.abs(off).max() * 10) / 10
    assert limit < 1 and any(f"±{limit:g}" in t for t in texts)  # weak correlations not washed out by the 1s


def test_psd_and_dfa_axes_show_typeset_units_and_fit_quality(eeg_like):
    psd = " ".join(_texts(figs.psd_figure(eeg_like)))
    assert "V²/Hz" in psd and "**" not in psd
    dfa = " ".join(_texts(figs.dfa_figure(eeg_like)))
    assert "R² = " in dfa and "fit " in dfa and "√samples" in dfa


def test_count_axes_have_integer_ticks():
    import pandas as pd

    fig = figs.counts_figure({"species": pd.Series({"Mus musculus": 2, "Homo sapiens": 1})})
    ticks = [t for t in _texts(fig) if re.fullmatch(r"[−-]?\d+(\.\d+)?", t)]
    assert ticks and all("." not in t for t in ticks)
    ticks = [t for t in _texts(figs.quality_figure(np.array([0.5, 0.7, 0.9]))) if re.fullmatch(r"\d+\.?\d*", t)]
    assert any(t in ("0", "1") for t in ticks)


def test_comparison_of_slow_signals_draws_no_empty_panels():
    """Two 30 Hz 'calcium' signals: beta and gamma lie above Nyquist (all NaN): no panel for them."""
    a, b = (
        compute_fingerprint_array(
            sim_powerlaw(30 * 600, 30.0, 2.0, n_signals=3, rng=seed), 30.0, modality="calcium", rng=0
        ).dataset
        for seed in (3, 4)
    )
    assert np.isnan(a["state"].sel(state_feature="log_power_beta").values).all()  # the panel would be empty
    titles = _texts(figs.trajectory_pair_figure(a, b, ("a", "b")))
    # calcium has no alpha rhythm: bands are named by their range, and beta/gamma have no panel
    assert "log power 4–8 Hz" in titles and "log power 8–13 Hz" in titles
    assert not [t for t in titles if "alpha" in t or "theta" in t or "beta" in t or "gamma" in t]
    assert "log power 13–30 Hz" not in titles


def test_edf_channels_with_padding_dots_get_scalp_maps(real_data):
    """S001R01.edf names its channels 'Fc5.', 'O1..': cleaned, all 64 match the standard 10-05 montage and the dot gets
    scalp maps of band power and exponent (MNE plot_topomap)."""
    from adhesive_dots.io.sources import SourceSpec
    from adhesive_dots.workflows.fingerprint import fingerprint_source

    assert figs.clean_channel_name("O1..") == "O1" and figs.clean_channel_name("Fc5.") == "Fc5"
    run = fingerprint_source(str(real_data / "S001R01.edf"), template=SourceSpec("", whole=True))
    ds = run.fingerprint.dataset
    assert "O1.." in set(map(str, ds["channel"].values))
    index, matched = figs.scalp_channels([str(c) for c in ds["channel"].values])
    assert index.size == 64 and "O1" in matched and "FC5" in matched
    assert figs.has_scalp_layout(ds)
    texts = " ".join(_texts(figs.topomap_figure(ds)))
    assert "alpha power" in texts and "aperiodic exponent" in texts and "64 channels" in texts


def test_no_scalp_maps_without_a_montage():
    a = compute_fingerprint_array(sim_powerlaw(30 * 120, 30.0, 2.0, n_signals=5, rng=3), 30.0, rng=0).dataset
    assert not figs.has_scalp_layout(a)  # roi_0... names: nothing on the scalp


def test_eeg_keeps_its_rhythm_names(eeg_like):
    eeg = eeg_like.assign_attrs(modality="eeg")
    assert figs.feature_label("log_power_alpha", eeg) == "log_power_alpha"
    labels = " ".join(_texts(figs.trajectory_figure(eeg)))
    assert "log_power_alpha" in labels and "Hz (mean" not in labels
