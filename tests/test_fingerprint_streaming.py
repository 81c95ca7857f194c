"""Out-of-core fingerprints: agreement with the in-memory fingerprint, the randomised low-rank step,
the large simulator's ground truth through a blockwise-written NWB file, and the Dask path."""

from __future__ import annotations

import numpy as np
import pytest

from adhesive_dots import Baseline
from adhesive_dots.errors import DataError, FormatError, SourceNotFoundError
from adhesive_dots.fingerprint import fingerprint
from adhesive_dots.fingerprint.correlation import fit_eigenspectrum
from adhesive_dots.fingerprint.streaming import (
    StreamSource,
    compute_low_rank_streaming,
    fingerprint_streaming,
    nystrom_eigenvalues,
    thread_map,
)
from adhesive_dots.io.nwb_large import open_block_source, write_large_calcium_nwb
from adhesive_dots.sim import sim_powerlaw_eigenspectrum
from adhesive_dots.sim.large import sim_large_calcium

# per-channel features come from the same code on the same samples: only float64 round-off differs
# (population sums accumulated block by block)
EXACT = {"rtol": 1e-9, "atol": 1e-12, "equal_nan": True}


def _assert_same_fingerprint(memory, streamed, *, skip=()):
    a, b = memory.dataset, streamed.dataset
    assert set(a.data_vars) == set(b.data_vars)
    assert set(a.coords) == set(b.coords)
    for name in a.data_vars:
        if name in skip:
            continue
        assert a[name].dims == b[name].dims, name
        np.testing.assert_allclose(b[name].values, a[name].values, **EXACT, err_msg=name)
    if "summary" not in skip:
        np.testing.assert_allclose(streamed.summary_vector(), memory.summary_vector(), **EXACT)
    assert list(b["channel"].values) == list(a["channel"].values)


@pytest.fixture(scope="module")
def population():
    """160 correlated channels (power-law eigenspectrum, exponent 1), 200 s at 30 Hz."""
    data, _ = sim_powerlaw_eigenspectrum(30 * 200, 160, 1.0, rng=0)
    return Baseline.from_array(data, 30.0, modality="calcium")


@pytest.fixture(scope="module")
def population_memory(population):
    return fingerprint(population, rng=0)


def test_streamed_equals_in_memory_below_max_channels(population, population_memory):
    """Every variable and the summary vector equal the in-memory fingerprint (blocks of 64 channels)."""
    streamed = fingerprint_streaming(population, block_neurons=48, rng=0)
    _assert_same_fingerprint(population_memory, streamed)
    assert streamed.params == population_memory.params  # resolved once, by the same rule
    assert streamed.dataset.attrs["segment_evidence"] == population_memory.dataset.attrs["segment_evidence"]


@pytest.mark.slow
def test_block_size_and_threads_do_not_change_the_result(population):
    one = fingerprint_streaming(population, block_neurons=160, rng=0)
    many = fingerprint_streaming(population, block_neurons=37, threads=2, rng=0)
    _assert_same_fingerprint(one, many)


def test_randomised_low_rank_agrees_with_the_exact_eigenspectrum(population, population_memory):
    """Above max_channels (here 60 of 160): randomised eigenvalues vs exact ones.

    Tolerances: the 32 leading eigenvalues within 3 % (two passes, 32 extra sketch columns,
    Nystroem); the exponent over ranks 2-32 within 0.03 of the exact fit on the same ranks; the
    participation ratio (from the exact correlations of a random 60-channel subset) within 15 %
    (the subset, not the sketch, limits it); mean |r| within 10 %. Per-channel features stay exact.
    """
    timings: dict[str, float] = {}
    streamed = fingerprint_streaming(
        population, block_neurons=48, max_channels=60, n_components=64, rng=0, timings=timings
    )
    ds, exact = streamed.dataset, population_memory.dataset
    assert int(ds["eigenvalues"].attrs["exact"]) == 0 and "correlation" not in ds
    assert ds.sizes["component"] == 64
    np.testing.assert_allclose(ds["eigenvalues"].values[:32], exact["eigenvalues"].values[:32], rtol=0.03)
    exact_exponent, _ = fit_eigenspectrum(exact["eigenvalues"].values, (2, 32))
    assert float(ds["eigenspectrum_exponent"]) == pytest.approx(exact_exponent, abs=0.03)
    assert float(ds["participation_ratio"]) == pytest.approx(float(exact["participation_ratio"]), rel=0.15)
    assert float(ds["mean_abs_correlation"]) == pytest.approx(float(exact["mean_abs_correlation"]), rel=0.10)
    for name in ("psd", "aperiodic_exponent", "dfa_exponent", "nonstationarity", "window_log_band_power"):
        np.testing.assert_allclose(ds[name].values, exact[name].values, **EXACT, err_msg=name)
    assert set(timings) == {"features", "low_rank", "population", "assemble"}


def test_options_pass_through_like_in_memory():
    """Options of compute_fingerprint_array (population off, other bands, fewer surrogates) give the same result."""
    data, _ = sim_powerlaw_eigenspectrum(30 * 90, 24, 1.0, rng=2)
    baseline = Baseline.from_array(data, 30.0, modality="calcium")
    options = {
        "population": False,
        "bands": {"slow": (0.1, 1.0), "fast": (1.0, 10.0)},
        "n_surrogates": 5,
        "window_s": 20.0,
        "rng": 4,
    }
    memory = fingerprint(baseline, **options)
    assert "population_dfa_exponent" not in memory.dataset
    _assert_same_fingerprint(memory, fingerprint_streaming(baseline, block_neurons=10, **options))


def test_nystrom_recovers_the_eigenvalues_of_a_low_rank_matrix():
    """Exact (to round-off) when the basis spans the range: a rank-5 PSD matrix."""
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.standard_normal((200, 5)))
    values = np.array([50.0, 20.0, 5.0, 1.0, 0.5])
    a = (u * values) @ u.T
    basis, _ = np.linalg.qr(a @ rng.standard_normal((200, 8)))
    got = nystrom_eigenvalues(basis, a @ basis)
    np.testing.assert_allclose(got[:5], values, rtol=1e-5)
    assert np.all(got[5:] < 1e-4)


@pytest.fixture(scope="module")
def large_file(tmp_path_factory):
    """A small instance of the large simulator (2,500 ROIs x 1,500 frames) written block by block."""
    sim = sim_large_calcium(2500, 1500, 30.0, n_components=256, rng=3)
    path = tmp_path_factory.mktemp("large") / "large.nwb"
    write_large_calcium_nwb(path, sim.block, n_rois=2500, n_times=1500, fs=30.0, block_neurons=1024, chunks=(500, 512))
    return sim, path


def test_blockwise_nwb_round_trip_and_open_recording(large_file):
    """The file holds exactly the simulator's blocks (float32), readable by open_recording too."""
    from adhesive_dots.io.read import open_recording

    sim, path = large_file
    source = open_block_source(path)
    assert (source.n_channels, source.n_times, source.fs) == (2500, 1500, 30.0)
    for c0, c1 in ((0, 10), (1020, 1030), (2490, 2500)):
        block = source.read_block(c0, c1)
        assert block.dtype == np.float32
        np.testing.assert_array_equal(block, sim.block(c0, c1))
    with open_recording(path) as recording:
        assert recording.n_channels == 2500 and recording.fs == 30.0
        np.testing.assert_allclose(recording.read(0.0, 1.0, channels=[5, 6]), sim.block(5, 7)[:, :30], rtol=1e-7)


def test_nwb_zarr_store_streams_like_the_hdf5_file(large_file, tmp_path):
    """The same recording written as an NWB Zarr store (hdmf-zarr, as on DANDI) reads the same blocks
    and gives the identical streamed fingerprint; open_recording reads it like the HDF5 file; the
    store is written atomically (no overwrite)."""
    sim, path = large_file
    store = tmp_path / "large.nwb.zarr"
    write_large_calcium_nwb(store, sim.block, n_rois=2500, n_times=1500, fs=30.0, block_neurons=1024, chunks=(500, 512))
    assert store.is_dir() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(FileExistsError):
        write_large_calcium_nwb(store, sim.block, n_rois=2500, n_times=1500, fs=30.0)
    zarr_source, hdf5_source = open_block_source(store), open_block_source(path)
    assert (zarr_source.n_channels, zarr_source.n_times, zarr_source.fs) == (2500, 1500, 30.0)
    np.testing.assert_array_equal(zarr_source.read_block(1020, 1030), sim.block(1020, 1030))
    options = {"block_neurons": 1000, "rng": 0, "n_components": 64}
    a, b = fingerprint_streaming(hdf5_source, **options), fingerprint_streaming(zarr_source, **options)
    assert a.dataset.attrs["source"] != b.dataset.attrs["source"]
    for name in a.dataset.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    from adhesive_dots.io.read import open_recording  # the general reader opens the store too

    with open_recording(store) as zarr_recording, open_recording(path) as hdf5_recording:
        assert (zarr_recording.n_channels, zarr_recording.fs) == (2500, 30.0)
        np.testing.assert_array_equal(
            zarr_recording.read(10.0, 12.0, channels=[3, 1999]), hdf5_recording.read(10.0, 12.0, channels=[3, 1999])
        )
    # a folder holding the store: discovered as one recording (hashed over its files) and validated
    from adhesive_dots.io.sources import expand_sources
    from adhesive_dots.workflows.validate import validate_sources

    items, problems = expand_sources([tmp_path])
    assert [item.source for item in items] == [str(store)] and not problems
    assert items[0].content_hash().startswith("sha256:")
    (report,) = validate_sources([tmp_path])
    assert report.baseline is not None and report.baseline.duration == pytest.approx(50.0)
    assert "baseline.duration" in {f.code for f in report.findings}  # 50 s < 600 s: reported, not a crash


@pytest.mark.slow
def test_large_simulator_ground_truth_is_recovered_from_the_file(large_file):
    """Exponent within 0.05 and participation ratio within 5 % of the exact population values.

    The truth is of the population correlation matrix; the sample one (1,500 frames) adds a noise
    floor of about noise x n_neurons / n_frames per eigenvalue (1 % of lambda_64) and the subset
    estimate (2,000 of 2,500 ROIs) of the participation ratio a few per cent.
    """
    sim, path = large_file
    truth = sim.truth(rank_range=(2, 64))
    assert truth["exponent"] == 1.0
    assert truth["eigenspectrum_exponent"] == pytest.approx(1.0, abs=0.05)
    fp = fingerprint_streaming(open_block_source(path), block_neurons=1024, rng=0)
    assert float(fp["eigenspectrum_exponent"]) == pytest.approx(truth["eigenspectrum_exponent"], abs=0.05)
    assert float(fp["participation_ratio"]) == pytest.approx(truth["participation_ratio"], rel=0.05)
    np.testing.assert_allclose(fp["eigenvalues"].values[:10], truth["eigenvalues"][:10], rtol=0.05)
    assert fp.dataset.sizes["channel"] == 2500 and np.isfinite(fp.summary_vector()[9])
    alone = compute_low_rank_streaming(open_block_source(path), block_neurons=1024, rng=0)
    np.testing.assert_allclose(alone.eigenvalues, fp["eigenvalues"].values, rtol=1e-6)  # the same passes
    assert alone.participation_ratio == pytest.approx(float(fp["participation_ratio"]), rel=1e-9)
    with pytest.raises(DataError, match="exact correlation matrix is cheap"):
        compute_low_rank_streaming(open_block_source(path), max_channels=5000)


def test_bad_input_is_refused(population, tmp_path):
    with pytest.raises(DataError, match="block_neurons must be a positive integer"):
        fingerprint_streaming(population, block_neurons=0)
    with pytest.raises(DataError, match="remove correlation="):
        fingerprint_streaming(population, correlation=False)
    with pytest.raises(DataError, match="spike statistics"):
        fingerprint_streaming(population, spike_times=[np.array([1.0])])
    with pytest.raises(DataError, match="Baseline or a StreamSource"):
        fingerprint_streaming(np.zeros((3, 100)))
    bad = StreamSource(read_block=lambda c0, c1: np.zeros((1, 1000)), fs=10.0, n_channels=3, n_times=1000)
    with pytest.raises(DataError, match=r"read_block\(0, 3\) returned 1 channels, expected 3"):
        fingerprint_streaming(bad)
    with pytest.raises(SourceNotFoundError, match="no such file"):
        open_block_source(tmp_path / "missing.nwb")
    (tmp_path / "text.nwb").write_text("not hdf5")
    with pytest.raises(FormatError, match="not a readable HDF5/NWB file"):
        open_block_source(tmp_path / "text.nwb")
    with pytest.raises(DataError, match="n_components must be between"):
        sim_large_calcium(100, 50, n_components=80)


def test_thread_map_keeps_every_block():
    mapper = thread_map(3)
    out = sorted(mapper(lambda c0, c1, k: (c0, c1, k), [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], {"k": 7}))
    assert out == [(0, 1, 7), (1, 2, 7), (2, 3, 7), (3, 4, 7), (4, 5, 7)]


@pytest.mark.slow
def test_simulated_nwb_session_streams_like_in_memory(small_corpus):
    """A calcium session of the corpus (with pupil and running): read through Recording.read in blocks,
    the streamed fingerprint equals fingerprint(baseline) -- including the arousal coupling."""
    from adhesive_dots.baselines import find_baselines
    from adhesive_dots.io.read import open_recording

    entry = next(e for e in small_corpus.entries if small_corpus.truth(e.key)["kind"] == "calcium")
    with open_recording(small_corpus.root / entry.path) as recording:
        baseline = find_baselines(recording)[0]
        memory = fingerprint(baseline, rng=0)
        streamed = fingerprint_streaming(baseline, block_neurons=50, rng=0)
    assert streamed.dataset.sizes["arousal"] >= 1
    _assert_same_fingerprint(memory, streamed)


@pytest.mark.slow
def test_dask_path_agrees_with_the_in_process_path(large_file):
    """Chunks as tasks on a LocalCluster of 2 processes: per-channel features identical; low-rank
    quantities equal to round-off (block results are summed in completion order)."""
    from adhesive_dots.parallel.streaming import fingerprint_streaming_dask

    _, path = large_file
    source = open_block_source(path)
    options = {"block_neurons": 1250, "rng": 0, "n_components": 64}
    local = fingerprint_streaming(source, **options)
    remote = fingerprint_streaming_dask(source, workers=2, **options)
    low_rank = ("eigenvalues", "eigenspectrum_exponent")
    _assert_same_fingerprint(local, remote, skip={*low_rank, "summary"})
    for name in low_rank:
        np.testing.assert_allclose(remote[name].values, local[name].values, rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(remote.summary_vector(), local.summary_vector(), rtol=1e-6, equal_nan=True)


def test_dask_path_refuses_an_unpicklable_reader(population):
    from adhesive_dots.parallel.streaming import fingerprint_streaming_dask

    with pytest.raises(DataError, match="cannot be sent to Dask workers"):
        fingerprint_streaming_dask(population, workers=1)


@pytest.mark.slow
def test_cli_streams_when_asked_or_when_the_segment_is_large(small_corpus, tmp_path):
    """``adots fingerprint --stream`` (and the automatic switch above --max-memory) gives the same
    summary as ``--in-memory`` on a calcium session; the NetCDF of the streamed fingerprint says so."""
    import json

    from typer.testing import CliRunner

    from adhesive_dots.cli import app
    from adhesive_dots.fingerprint import read_fingerprint

    entry = next(e for e in small_corpus.entries if small_corpus.truth(e.key)["kind"] == "calcium")
    path = str(small_corpus.root / entry.path)
    runner = CliRunner()
    runs = {}
    for name, flags in {
        "memory": ["--in-memory"],
        "stream": ["--stream", "--threads", "2"],
        "auto": ["--max-memory", "0.000001", "-o", str(tmp_path / "auto.nc")],
    }.items():
        result = runner.invoke(app, ["fingerprint", path, "--json", *flags])
        assert result.exit_code == 0, result.output
        runs[name] = json.loads(result.output)["summary"]
    for name in ("stream", "auto"):
        for key, value in runs["memory"].items():  # JSON null for NaN
            expected = pytest.approx(value, rel=1e-9, abs=1e-12) if value is not None else None
            assert runs[name][key] == expected, (name, key)
    streaming = json.loads(read_fingerprint(tmp_path / "auto.nc").dataset.attrs["streaming"])
    assert streaming["low_rank"] is False
