"""Fingerprint parameters: the documented rule, validation, storage with every fingerprint, slow signals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from adhesive_dots import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import (
    FingerprintParams,
    ResolvedParams,
    compute_fingerprint_array,
    default_window_s,
    fingerprint,
    make_params,
    read_fingerprint,
    shared_window_s,
    summary_from_dataset,
)
from adhesive_dots.fingerprint.params import count_windows
from adhesive_dots.sim import sim_powerlaw

HCP_FS = 1 / 0.72
"""An HCP ROI table: TR 0.72 s."""

# the rule, case by case: (fs Hz, duration s, modality) -> window s, Welch segment s, aperiodic range Hz,
# DFA scales (first, last) s. Values exact (they are the rule's arithmetic), ranges to 1e-12.
RULE_CASES = {
    "60 s EEG at 160 Hz": ((160.0, 60.0, "eeg"), 3.0, 2.0, (1.0, 40.0), (0.1, 6.0)),
    "10 min EEG at 250 Hz": ((250.0, 600.0, "eeg"), 30.0, 2.0, (1.0, 40.0), (0.1, 60.0)),
    "30 min iEEG at 1 kHz": ((1000.0, 1800.0, "ieeg"), 30.0, 2.0, (1.0, 40.0), (0.1, 180.0)),
    "14.4 min ROI table at TR 0.72 s": ((HCP_FS, 864.0, "fmri"), 40.0, 23.04, (0.01, 0.8 * HCP_FS / 2), (7.2, 86.4)),
    "20 min BOLD at TR 2 s (one segment is 64 s)": ((0.5, 1200.0, "fmri"), 64.0, 64.0, (0.01, 0.2), (20.0, 120.0)),
    "10 min calcium at 30 Hz": ((30.0, 600.0, "calcium"), 30.0, 2.0, (1.0, 12.0), (1 / 3, 60.0)),
    "60 s calcium at 30 Hz": ((30.0, 60.0, "calcium"), 3.0, 2.0, (1.0, 12.0), (1 / 3, 6.0)),
    "10 min at 4 Hz (slow)": ((4.0, 600.0, "other"), 30.0, 8.0, (0.01, 1.6), (2.5, 60.0)),
    "25 s EEG at 250 Hz (too short for 39 windows)": ((250.0, 25.0, "eeg"), 2.0, 2.0, (1.0, 40.0), (0.1, 2.5)),
}


@pytest.mark.parametrize("case", list(RULE_CASES))
def test_the_documented_rule(case):
    """Window, segment, aperiodic range and DFA scales of the module docstring's cases; the default window
    leaves 39 windows (40 values in compare's split-half null) unless it is one Welch segment already."""
    (fs, seconds, modality), window_s, segment_s, aperiodic_range, scales = RULE_CASES[case]
    n_times = int(round(seconds * fs))
    resolved = FingerprintParams().resolve(fs=fs, n_times=n_times, n_channels=10, modality=modality)
    assert resolved.window_s == window_s
    assert resolved.segment_s == pytest.approx(segment_s, rel=1e-12)
    np.testing.assert_allclose(resolved.aperiodic_range, aperiodic_range, rtol=1e-12)
    np.testing.assert_allclose([resolved.dfa_scales[0], resolved.dfa_scales[-1]], scales, rtol=1e-12)
    assert resolved.dfa_fit_range == (resolved.dfa_scales[0], resolved.dfa_scales[-1])
    assert 0 < resolved.aperiodic_range[0] < resolved.aperiodic_range[1] < fs / 2
    assert resolved.window_s == default_window_s(fs, n_times)
    windows = count_windows(n_times, fs, resolved.window_s)
    assert windows >= 39 or resolved.window_s == resolved.segment_s
    if modality == "fmri":
        assert resolved.peak_range is None and resolved.envelope_bands == ()
    if modality == "eeg" and fs >= 80:
        assert resolved.peak_range == (7.0, 14.0) and [b for b, _ in resolved.envelope_bands] == ["alpha", "beta"]
    assert resolved.population == (modality == "calcium")


def test_the_rule_stays_inside_nyquist_with_enough_bins():
    """Over sampling rates from a TR of 3 s to 30 kHz and baselines from 1 to 60 min: the aperiodic range lies
    strictly inside (0, Nyquist) and holds at least 4 bins of the Welch spectrum (the fit's minimum), the
    window is at least one segment, and the 30 s base is reached from 10 min on (integer rates)."""
    for fs in (1 / 3, 0.5, HCP_FS, 2.0, 4.99, 5.0, 10.0, 16.0, 30.0, 100.0, 160.0, 256.0, 1000.0, 30000.0):
        for minutes in (1, 5, 10, 14.4, 60):
            n_times = int(minutes * 60 * fs)
            if n_times < 150:
                continue
            r = FingerprintParams().resolve(fs=fs, n_times=n_times)
            low, high = r.aperiodic_range
            assert 0 < low < high < fs / 2, (fs, minutes)
            freqs = np.fft.rfftfreq(int(round(r.segment_s * fs)), 1 / fs)
            assert np.count_nonzero((freqs >= low) & (freqs <= high)) >= 4, (fs, minutes)
            assert r.window_s >= r.segment_s
            if fs >= 5 and float(fs).is_integer() and minutes >= 10:
                assert r.window_s == 30.0


def test_one_window_for_baselines_analysed_together():
    """The shared window is the shorter baseline's (both keep >= 39 windows); an explicit one wins."""
    assert shared_window_s([160.0, 160.0], [160 * 60, 160 * 600]) == 3.0
    assert shared_window_s([160.0, 250.0], [160 * 600, 250 * 120]) == 6.0
    assert shared_window_s([160.0], [9600], params=FingerprintParams(window_s=10.0)) == 10.0


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"window_s": -1.0}, "window_s must be a positive number of seconds"),
        ({"window_overlap": 1.0}, r"window_overlap must be a fraction in \[0, 1\)"),
        ({"segment_s": "long"}, "segment_s must be"),
        ({"bands": {}}, "bands must be a non-empty mapping"),
        ({"bands": {"alpha": (13.0, 8.0)}}, r"bands\['alpha'\] must be a \(low, high\) pair"),
        ({"aperiodic_range": (0.0, 40.0)}, r"aperiodic_range must be a \(low, high\) pair with 0 < low"),
        ({"envelope_bands": "all"}, "envelope_bands must be a mapping of bands in Hz, None or 'auto'"),
        ({"envelope_bands": {"slow": (0.0, 1.0)}}, "envelope_bands"),
        ({"population": "yes"}, "population must be True, False or 'auto'"),
        ({"knee": "no"}, "knee must be True or False"),
        ({"dfa_scales": [1.0]}, "dfa_scales must be two or more increasing positive scales"),
        ({"n_surrogates": 0}, "n_surrogates must be an integer >= 1, got 0"),
        ({"max_channels": 1}, "max_channels must be an integer >= 2"),
        ({"taper": "nope"}, "taper must be a window name scipy.signal.get_window knows"),
        ({"windows_s": 3.0}, r"unknown fingerprint parameter\(s\) windows_s; the parameters are bands, "),
    ],
)
def test_invalid_parameters_are_named(settings, match):
    """Every bad value is a DataError (also a ValueError) naming the parameter, what is allowed and what was
    given -- when the object is made, and the same through the keyword shorthand of the functions."""
    with pytest.raises(DataError, match=match):
        make_params(**settings)
    with pytest.raises(ValueError, match=match):
        compute_fingerprint_array(np.zeros((1, 1000)), 100.0, **settings)


def test_parameters_that_do_not_fit_the_baseline_are_named():
    with pytest.raises(DataError, match=r"aperiodic_range \(1, 40\) Hz reaches above the Nyquist frequency \(0.694"):
        FingerprintParams(aperiodic_range=(1.0, 40.0)).resolve(fs=HCP_FS, n_times=1200)
    with pytest.raises(DataError, match=r"envelope_bands\['x'\] band \(100, 200\) Hz reaches above the Nyquist"):
        FingerprintParams(envelope_bands={"x": (100.0, 200.0)}).resolve(fs=250.0, n_times=25000)
    with pytest.raises(DataError, match=r"segment_s=10 s \(1000 samples\) is longer than the baseline"):
        FingerprintParams(segment_s=10.0).resolve(fs=100.0, n_times=500)


def test_params_are_frozen_hashable_and_explicit():
    params = FingerprintParams(bands={"slow": (0.5, 4.0), "fast": (4.0, 30.0)}, dfa_scales=np.array([0.5, 1.0, 2.0]))
    assert params.bands == (("slow", (0.5, 4.0)), ("fast", (4.0, 30.0))) and params.dfa_scales == (0.5, 1.0, 2.0)
    assert hash(params) == hash(FingerprintParams(bands=dict(params.bands), dfa_scales=[0.5, 1.0, 2.0]))
    with pytest.raises(AttributeError):
        params.window_s = 3.0
    assert make_params(params, window_s=3.0) == params.replace(window_s=3.0) != params


@pytest.fixture(scope="module")
def short_eeg():
    """4 channels, 60 s at 160 Hz (the PhysioNet runs' shape)."""
    data = 1e-5 * sim_powerlaw(160 * 60, 160.0, 1.5, f_flat=0.5, n_signals=4, rng=0)
    return Baseline.from_array(data, 160.0, modality="eeg")


def test_params_are_stored_and_restored(short_eeg, tmp_path):
    """The resolved parameters live in attrs['parameters'] and come back from NetCDF as Fingerprint.params
    (equal objects); fingerprinting again with them reproduces the dataset exactly."""
    fp = fingerprint(short_eeg, rng=0)
    assert fp.params == FingerprintParams().resolve(fs=160.0, n_times=9600, n_channels=4, modality="eeg")
    assert fp.params.window_s == 3.0 and fp.dataset.sizes["window"] == 39
    assert json.loads(fp.dataset.attrs["parameters"])["window_s"] == 3.0
    back = read_fingerprint(fp.to_netcdf(tmp_path / "fp.nc"))
    assert back.params == fp.params
    assert ResolvedParams.from_dict(fp.params.to_dict()) == fp.params
    again = fingerprint(short_eeg, params=back.params, rng=0)
    xr.testing.assert_identical(again.dataset, fp.dataset)
    np.testing.assert_array_equal(summary_from_dataset(fp.dataset), fp.summary_vector())


def test_explicit_window_and_the_keyword_shorthand_agree(short_eeg):
    """params=FingerprintParams(window_s=10) and window_s=10 are the same fingerprint; a window longer than the
    baseline leaves no windows (NaN dynamics), as before."""
    a = fingerprint(short_eeg, params=FingerprintParams(window_s=10.0), rng=0)
    b = fingerprint(short_eeg, window_s=10.0, rng=0)
    xr.testing.assert_identical(a.dataset, b.dataset)
    assert a.params.window_s == 10.0 and a.dataset.sizes["window"] == 11
    none = fingerprint(short_eeg, window_s=90.0, rng=0)
    assert none.dataset.sizes["window"] == 0 and np.isnan(none.summary_dict()["nonstationarity"])


def test_old_fingerprints_without_stored_scales_still_give_their_params(short_eeg):
    """A fingerprint written before the parameters object (taper stored as 'window', no scales) reads back."""
    fp = fingerprint(short_eeg, rng=0)
    old = json.loads(fp.dataset.attrs["parameters"])
    old["window"] = old.pop("taper")
    for name in ("dfa_scales", "slow_scales", "dfa_fit_range"):
        old.pop(name)
    ds = fp.dataset.copy()
    ds.attrs["parameters"] = json.dumps(old)
    restored = type(fp)(ds).params
    assert restored == fp.params


def test_hcp_like_roi_table_fingerprints_inside_nyquist():
    """94 ROIs x 1200 frames at TR 0.72 s (fs 1.389 Hz), which failed with 'freq_range must satisfy ... (1,
    0.555556)': the aperiodic range is 0.01-0.556 Hz, inside Nyquist (0.694 Hz), the 1/f^1 simulation's
    exponent comes back within 0.15 (16-bin Welch spectra of 23 s segments), the dynamics hold 41 windows
    of 40 s, and the streamed fingerprint agrees with the in-memory one (1e-9)."""
    from adhesive_dots.fingerprint.streaming import fingerprint_streaming

    data = sim_powerlaw(1200, HCP_FS, 1.0, n_signals=94, rng=0)
    baseline = Baseline.from_array(data, HCP_FS, modality="fmri")
    fp = fingerprint(baseline, rng=0)
    low, high = fp.params.aperiodic_range
    assert 0 < low < high < HCP_FS / 2
    assert fp.dataset["aperiodic_exponent"].attrs["freq_range"] == [0.01, pytest.approx(0.8 * HCP_FS / 2)]
    assert fp.summary_dict()["aperiodic_exponent"] == pytest.approx(1.0, abs=0.15)
    assert fp.params.window_s == 40.0 and fp.dataset.sizes["window"] == 41
    assert np.isfinite(fp.summary_dict()["dfa_broadband"]) and np.isfinite(fp.summary_dict()["drift"])
    streamed = fingerprint_streaming(baseline, block_neurons=30, rng=0)
    np.testing.assert_allclose(streamed.summary_vector(), fp.summary_vector(), rtol=1e-9, equal_nan=True)
    assert streamed.params == fp.params
