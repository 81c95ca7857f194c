"""The whole fingerprint: array vs object paths, invariances, NetCDF, real EEG, simulated truth, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from adhesive_dots import Baseline, Recording, Segment
from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError
from adhesive_dots.fingerprint import (
    SUMMARY_FIELDS,
    compute_fingerprint_array,
    fingerprint,
    read_fingerprint,
)
from adhesive_dots.sim import sim_fgn_envelope, sim_oscillation, sim_powerlaw

FS = 250.0


def _eeg_like(n_channels=4, seconds=120.0, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    envelope = sim_fgn_envelope(n, FS, 0.7, rng=rng)
    alpha = sim_oscillation(n, FS, 10.0, envelope=envelope, rng=rng)
    x = sim_powerlaw(n, FS, 1.5, f_flat=0.5, n_signals=n_channels, rng=rng)
    return 1e-5 * (x + np.linspace(0.5, 1.5, n_channels)[:, None] * alpha)


@pytest.fixture(scope="module")
def eeg_like():
    return _eeg_like()


def test_array_and_object_paths_agree_exactly(eeg_like):
    """fingerprint(Baseline) loads the segment and calls compute_fingerprint_array: identical data
    variables and summary (no tolerance)."""
    names = ["O1", "O2", "Pz", "Cz"]
    baseline = Baseline.from_array(eeg_like, FS, channel_names=names, modality="eeg")
    a = fingerprint(baseline, rng=0)
    b = compute_fingerprint_array(eeg_like, FS, channel_names=names, modality="eeg", rng=0)
    xr.testing.assert_equal(a.dataset, b.dataset)
    np.testing.assert_array_equal(a.summary_vector(), b.summary_vector())
    assert a.summary_vector().shape == (len(SUMMARY_FIELDS),)
    assert json.loads(a.dataset.attrs["segment"]) == [[0.0, 120.0]]
    assert a.parameters["envelope_bands"] == {"alpha": [8.0, 13.0], "beta": [13.0, 30.0]}


def test_threads_change_no_result(eeg_like):
    """The per-channel work on 2 threads (DFA halves, channel blocks of 1) gives the same dataset as
    inline work, value for value; a failure inside a thread reaches the caller as the same error."""
    data = np.concatenate([eeg_like, eeg_like[::-1] * 2.0])
    inline = compute_fingerprint_array(data, FS, modality="eeg", rng=0, workers=1, block_channels=3)
    threads = compute_fingerprint_array(data, FS, modality="eeg", rng=0, workers=2, block_channels=1)
    xr.testing.assert_identical(inline.dataset, threads.dataset)
    for workers in (1, 2):
        with pytest.raises(DataError, match="band"):
            compute_fingerprint_array(data, FS, envelope_bands={"x": (100.0, 200.0)}, workers=workers)


def test_window_spectra_from_running_sums_equal_the_averaging_matrix():
    """Window PSDs from differences of running sums over segments equal membership @ periodograms (1e-12)."""
    from adhesive_dots.fingerprint.dynamics import segment_membership, segment_window_means, sliding_windows

    starts, length = sliding_windows(150_000, FS)
    membership = segment_membership(np.arange(299) * 500, 1000, starts, length)
    power = np.random.default_rng(0).random((3, 299, 17))
    expected = np.einsum("ws,bsf->wbf", membership, power)
    np.testing.assert_allclose(segment_window_means(np.moveaxis(power, 1, 0), membership), expected, rtol=1e-12)
    flat = power[0]  # (n_segments, n_freqs), as the non-stationarity index uses it
    np.testing.assert_allclose(segment_window_means(flat, membership), membership @ flat, rtol=1e-12)


def test_permuting_channels_permutes_results(eeg_like):
    """Per-channel features follow their channel exactly; whole-array features (mean |r|,
    participation ratio, eigenvalues) are unchanged to 1e-10."""
    order = np.array([2, 0, 3, 1])
    a = compute_fingerprint_array(eeg_like, FS, modality="eeg", rng=0)
    b = compute_fingerprint_array(
        eeg_like[order], FS, modality="eeg", channel_names=[f"ch{i:03d}" for i in order], rng=0
    )
    for name in ("psd", "aperiodic_exponent", "dfa_exponent", "peak_frequency", "relative_power"):
        xr.testing.assert_allclose(a.dataset[name].sel(channel=b.dataset.channel), b.dataset[name], rtol=1e-12)
    xr.testing.assert_allclose(
        a.dataset["envelope_dfa_exponent"].sel(channel=b.dataset.channel), b.dataset["envelope_dfa_exponent"]
    )
    for name in ("mean_abs_correlation", "participation_ratio", "eigenvalues"):
        np.testing.assert_allclose(a.dataset[name], b.dataset[name], atol=1e-10)


def test_amplitude_scaling_changes_no_exponent(eeg_like):
    """Multiplying the data by 1e6 (volts to microvolts) leaves every exponent, relative power,
    correlation and the whole summary vector unchanged (1e-8)."""
    a = compute_fingerprint_array(eeg_like, FS, modality="eeg", rng=0)
    b = compute_fingerprint_array(eeg_like * 1e6, FS, modality="eeg", rng=0)
    for name in (
        "aperiodic_exponent",
        "dfa_exponent",
        "envelope_dfa_exponent",
        "relative_power",
        "eigenspectrum_exponent",
        "peak_frequency",
    ):
        np.testing.assert_allclose(a.dataset[name], b.dataset[name], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(a.summary_vector(), b.summary_vector(), rtol=1e-8, atol=1e-10)


def test_netcdf_round_trip(eeg_like, tmp_path):
    """Written with h5netcdf and read back: the same dataset and provenance; no silent overwrite."""
    fp = compute_fingerprint_array(eeg_like, FS, modality="eeg", units="V", rng=0, source="sim.nwb")
    path = fp.to_netcdf(tmp_path / "fp.nc")
    back = read_fingerprint(path)
    xr.testing.assert_identical(fp.dataset, back.dataset)
    assert back.dataset.attrs["units"] == "V" and back.dataset.attrs["adhesive_dots_version"]
    assert back.dataset["psd"].attrs["units"] == "(V)**2/Hz"
    with pytest.raises(DataError, match="file exists"):
        fp.to_netcdf(path)
    fp.to_netcdf(path, overwrite=True)
    with pytest.raises(SourceNotFoundError):
        read_fingerprint(tmp_path / "missing.nc")
    (tmp_path / "bad.nc").write_text("not netcdf")
    with pytest.raises(FormatError, match="not a readable NetCDF"):
        read_fingerprint(tmp_path / "bad.nc")


def test_spikes_and_arousal_enter_the_fingerprint():
    """Spike times add per-unit statistics and the population-rate DFA; a pupil signal that follows
    the alpha amplitude gives an arousal coupling above 0.8 (the simulated amplitude is the pupil)."""
    rng = np.random.default_rng(1)
    n = int(300 * FS)
    amplitude = sim_fgn_envelope(n, FS, 0.7, envelope_fs=0.2, depth=0.8, rng=rng)
    x = sim_powerlaw(n, FS, 1.0, f_flat=0.5, n_signals=3, rng=rng) + 3 * amplitude * sim_oscillation(
        n, FS, 10.0, rng=rng
    )
    units = [np.sort(rng.uniform(0, 300, 3000)) for _ in range(5)]
    recording = Recording.from_array(
        x, FS, modality="lfp", signals={"pupil_diameter": Recording.from_array(amplitude[::25], FS / 25)}
    )
    baseline = Baseline(recording, Segment.between(0.0, 300.0))
    fp = fingerprint(baseline, spike_times=units, envelope_bands={"alpha": (8.0, 13.0)}, rng=0)
    ds = fp.dataset
    assert ds.sizes["unit"] == 5 and ds["spike_rate"].values == pytest.approx(10.0, rel=0.1)
    assert np.isfinite(ds["population_dfa_exponent"])
    assert list(ds.arousal.values) == ["pupil_diameter"]
    assert float(ds["arousal_coupling"].sel(arousal="pupil_diameter", state_feature="log_power_alpha")) > 0.8
    assert fp.summary_dict()["arousal_coupling"] > 0.8


def test_bad_input_is_named():
    x = _eeg_like(2, 60.0)
    x[0, 100] = np.nan
    with pytest.raises(DataError, match="rec.nwb data contains 1 NaN"):
        compute_fingerprint_array(x, FS, source="rec.nwb")
    with pytest.raises(DataError, match="3 channel names for 2 channels"):
        compute_fingerprint_array(_eeg_like(2, 60.0), FS, channel_names=["a", "b", "c"])


def _read_edf(path):
    import mne

    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    return raw.get_data(), raw.info["sfreq"], [name.strip(".") for name in raw.ch_names]


def test_real_eeg_eyes_closed_alpha(real_data):
    """PhysioNet S001: eyes closed (R02) vs eyes open (R01), 60 s at 160 Hz. Occipital (O1, Oz, O2)
    alpha power (8-13 Hz) is more than 5x higher with eyes closed, and R02's peak alpha frequency
    (median over occipital channels) lies in 8-12 Hz -- the README's known facts."""
    fps = {}
    for run in ("R01", "R02"):
        data, fs, names = _read_edf(real_data / f"S001{run}.edf")
        fps[run] = compute_fingerprint_array(data, fs, channel_names=names, modality="eeg", units="V", rng=0)
    occipital = ["O1", "Oz", "O2"]
    power = {run: fp.dataset["band_power"].sel(channel=occipital, band="alpha").sum() for run, fp in fps.items()}
    assert float(power["R02"] / power["R01"]) > 5
    peak = float(fps["R02"].dataset["peak_frequency"].sel(channel=occipital).median())
    assert 8.0 <= peak <= 12.0


@pytest.mark.slow
def test_simulated_ground_truth_is_recovered(small_corpus):
    """Every session of the simulated corpus (3 labs x 2 sessions), read back from NWB/BIDS:

    * LFP and EEG: aperiodic exponent within 0.1 of the truth (the fit range 1-40 Hz holds the
      simulated power law exactly; Welch noise ~0.02); peak frequency within 0.5 Hz (one bin);
      envelope DFA of the dominant rhythm (theta for the rodent LFP, alpha for EEG) within 0.1 of
      ``envelope_hurst`` (one fGn realisation drives all channels, so its own scatter, ~0.05,
      does not average out; fit 5-60 s, above the simulator's 2 Hz envelope interpolation).
    * Calcium: the eigenspectrum knee is latent_dim + 1 -- the four latent dimensions plus the
      arousal gain the simulator multiplies into every neuron. Not recovered: the population DFA of
      mean dF/F (~0.72-0.78 vs H ~0.60): the latent rotations and the indicator's decay add slow
      power, so we only check that long-range correlations are present (> 0.55).
    * Animal sessions with a pupil: the state trajectory couples to it (max |r| > 0.5).
    """
    from adhesive_dots.baselines import find_baselines
    from adhesive_dots.io.read import open_recording

    for entry in small_corpus.entries:
        truth = small_corpus.truth(entry.key)
        options = {"subject": entry.subject, "session": entry.session, "task": "rest"} if entry.format == "bids" else {}
        with open_recording(small_corpus.root / entry.path, **options) as recording:
            baseline = find_baselines(recording)[0]
            fp = fingerprint(baseline, rng=0)
        ds, summary = fp.dataset, fp.summary_dict()
        if truth["kind"] in ("ephys", "eeg"):
            assert abs(summary["aperiodic_exponent"] - truth["aperiodic_exponent"]) <= 0.1, entry.key
            assert abs(summary["peak_frequency"] - truth["peak_frequency"]) <= 0.5, entry.key
            band = "theta" if truth["kind"] == "ephys" else "alpha"
            envelope_dfa = float(ds["envelope_dfa_exponent"].sel(envelope_band=band).median())
            assert abs(envelope_dfa - truth["envelope_hurst"]) <= 0.1, (entry.key, envelope_dfa)
            assert summary["dfa_slow"] == pytest.approx(envelope_dfa)
        else:
            assert int(ds["eigenspectrum_knee"]) == truth["latent_dim"] + 1, entry.key
            assert summary["dfa_slow"] > 0.55
        if truth["kind"] != "eeg" and ds.sizes["arousal"]:
            assert summary["arousal_coupling"] > 0.5, entry.key


@pytest.mark.slow
def test_cli_fingerprint_nwb_and_bids(small_corpus, tmp_path):
    """``adots fingerprint`` writes NetCDF, prints a summary or JSON, takes BIDS entities, refuses to
    overwrite without --overwrite (exit 2) and names a missing source (exit 2)."""
    from typer.testing import CliRunner

    from adhesive_dots.cli import app, main

    runner = CliRunner()
    nwb = next(e for e in small_corpus.entries if e.kind == "ephys")
    out = tmp_path / "lfp.nc"
    result = runner.invoke(app, ["fingerprint", str(small_corpus.root / nwb.path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "aperiodic_exponent" in result.output and out.exists()
    assert read_fingerprint(out).dataset.attrs["modality"] == "lfp"
    eeg = next(e for e in small_corpus.entries if e.kind == "eeg")
    result = runner.invoke(
        app,
        [
            "fingerprint",
            str(small_corpus.root / eeg.path),
            "--subject",
            eeg.subject,
            "--session",
            eeg.session,
            "--task",
            "rest",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["modality"] == "eeg" and payload["n_channels"] == 19
    assert 8 <= payload["summary"]["peak_frequency"] <= 12
    with pytest.raises(SystemExit) as exit_info:
        main(["fingerprint", str(small_corpus.root / nwb.path), "-o", str(out)])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["fingerprint", str(tmp_path / "nope.nwb")])
    assert exit_info.value.code == 2


def test_object_level_features_equal_array_level(eeg_like):
    """compute_psd/aperiodic/dfa/correlation(baseline) label exactly the array-level values."""
    from adhesive_dots.fingerprint import (
        compute_aperiodic,
        compute_aperiodic_array,
        compute_correlation,
        compute_correlation_array,
        compute_dfa,
        compute_dfa_array,
        compute_psd,
        compute_psd_array,
    )

    baseline = Baseline.from_array(eeg_like, FS, channel_names=["a", "b", "c", "d"])
    freqs, psd = compute_psd_array(eeg_like, FS)
    labelled = compute_psd(baseline)
    np.testing.assert_array_equal(labelled.values, psd)
    assert list(labelled.channel.values) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(
        compute_aperiodic(baseline).exponent.values, compute_aperiodic_array(freqs, psd).exponent
    )
    np.testing.assert_array_equal(compute_dfa(baseline).exponent.values, compute_dfa_array(eeg_like, FS).exponent)
    np.testing.assert_array_equal(
        compute_correlation(baseline).correlation.values, compute_correlation_array(eeg_like).matrix
    )


def test_float32_input_and_many_channel_path(eeg_like):
    """float32 data (as NWB often stores) give the float64 results to 1e-5 (input rounding only: every
    computation is promoted block by block); the many-channel path of the windowed correlations
    (direct per window) equals the per-block path to 1e-10."""
    import adhesive_dots.fingerprint.stages as stages

    a = compute_fingerprint_array(eeg_like, FS, modality="eeg", rng=0)
    b = compute_fingerprint_array(eeg_like.astype(np.float32), FS, modality="eeg", rng=0)
    np.testing.assert_allclose(a.summary_vector(), b.summary_vector(), rtol=1e-5, atol=1e-6)
    original = stages.WINDOW_BLOCK_CHANNELS
    stages.WINDOW_BLOCK_CHANNELS = 2
    try:
        c = compute_fingerprint_array(eeg_like, FS, modality="eeg", rng=0)
    finally:
        stages.WINDOW_BLOCK_CHANNELS = original
    np.testing.assert_allclose(
        c.dataset["window_mean_abs_correlation"], a.dataset["window_mean_abs_correlation"], atol=1e-10
    )
    np.testing.assert_allclose(c.dataset["eigenvalues"], a.dataset["eigenvalues"], atol=1e-10)


def test_flat_channel_is_reported_not_fatal():
    """A constant channel (a planted defect of the simulator) gets NaN exponents and correlations,
    is listed in attrs['flat_channels'], and leaves the other channels' features finite."""
    x = _eeg_like(3, 90.0)
    x[0] = 1e-5
    fp = compute_fingerprint_array(x, FS, modality="eeg", rng=0)
    assert json.loads(fp.dataset.attrs["flat_channels"]) == ["ch000"]
    assert np.isnan(fp.dataset["aperiodic_exponent"][0]) and np.isnan(fp.dataset["dfa_exponent"][0])
    assert np.isfinite(fp.dataset["aperiodic_exponent"][1:]).all()
    assert np.isnan(fp.dataset["correlation"][0, 1]) and np.isfinite(fp.dataset["correlation"][1, 2])
    assert np.isfinite(fp.summary_dict()["mean_abs_correlation"])
