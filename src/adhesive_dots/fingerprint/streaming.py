"""Out-of-core fingerprints: every feature from a recording read in channel blocks, memory bounded.

:func:`fingerprint_streaming` returns the same :class:`~adhesive_dots.fingerprint.Fingerprint` as
:func:`~adhesive_dots.fingerprint.fingerprint` (same variables, same summary vector) without ever
holding the whole recording or a channels x channels matrix above ``max_channels`` channels:

* **One set of parameters**: :class:`~adhesive_dots.fingerprint.params.FingerprintParams` resolved once
  for the whole recording (as in memory), and the same stages
  (:mod:`~adhesive_dots.fingerprint.stages`): layout, channel features, assembly, summary.
* **Per-channel features** (spectra, band powers, aperiodic fits, peaks, DFA, envelopes, windowed
  powers, non-stationarity, drift) come from :func:`~adhesive_dots.fingerprint.stages.compute_channel_features`
  run on each block of ``block_neurons`` channels (all samples of the segment): the same code on
  the same samples, so they equal the in-memory values exactly (up to float64 round-off).
  The non-stationarity surrogates use the same permutations in every block (one seed).
* **Population statistics** are accumulated over the blocks: the mean signal (its DFA), each
  channel's mean and standard deviation, and the samples of a random subset of ``max_channels``
  channels (mean ``|r|``, participation ratio and the windows' mean ``|r|``, as the in-memory
  low-rank regime computes them).
* **Low-rank structure** (leading eigenvalues of the correlation matrix, their power-law exponent
  and knee): a randomised range finder (Halko, Martinsson and Tropp 2011) in the time domain.
  With ``Z`` the standardised data (time x channels, ``Z^T Z`` the correlation matrix), the first
  pass accumulates the sketch ``Y = Z Omega`` block by block (``Omega`` Gaussian, drawn per block
  from one seed, so the result does not depend on the order of the blocks); each of ``n_iter``
  further passes applies ``Z Z^T`` to an orthonormal basis as a sum over channel blocks,
  ``sum_b Z_b (Z_b^T Q)``; the eigenvalues come from the stabilised Nystroem approximation of
  the last pass (Tropp et al. 2017). Products run in float32 (memory and speed: the data are
  float32 on disk) and accumulate in float64. Only ``n_times x (n_components + oversampling)``
  numbers are kept, never a channels x channels matrix. Up to ``max_channels`` channels the
  correlation matrix is formed exactly from the gathered samples instead (as in memory).

Peak memory: one block (``block_neurons x n_times`` samples and the per-block working memory of
the channel features), the subset (``max_channels x n_times``), the sketch
(``n_times x (k + oversampling)``, float64) and the per-channel results.

The passes are expressed as independent tasks on channel blocks: ``map_blocks`` runs them
(in this process by default; :func:`adhesive_dots.parallel.streaming.fingerprint_streaming_dask`
runs them as Dask tasks). Every task reads its own block through ``source.read_block``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import xarray as xr
from threadpoolctl import threadpool_limits

from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data
from adhesive_dots.fingerprint._compute import arousal_signals
from adhesive_dots.fingerprint._container import Fingerprint
from adhesive_dots.fingerprint.correlation import (
    MAX_CHANNELS,
    CorrelationResult,
    compute_covariance_blocks_array,
    describe_moments,
    eigenspectrum_knee,
    fit_eigenspectrum,
    window_mean_abs_correlation,
)
from adhesive_dots.fingerprint.params import FingerprintParams, ResolvedParams, make_params
from adhesive_dots.fingerprint.stages import (
    Layout,
    TaskPool,
    assemble_fingerprint,
    compute_channel_features,
    compute_layout,
    compute_population_dfa,
    fingerprint_streams,
    join_channel_features,
)
from adhesive_dots.metadata import Modality

DEFAULT_BLOCK_NEURONS = 1024
"""Channels per block (all samples of the segment are read for a block)."""
DEFAULT_COMPONENTS = 128
"""Eigenvalues estimated by the randomised range finder."""
DEFAULT_OVERSAMPLING = 32
"""Extra sketch columns beyond ``n_components`` (accuracy of the trailing eigenvalues)."""

BlockMapper = Callable[[Callable[..., Any], Sequence[tuple[int, int]], Mapping[str, Any]], Iterable[Any]]
"""``map_blocks(func, blocks, shared)`` -> results of ``func(c0, c1, **shared)`` for every block, any order."""


@dataclass(frozen=True)
class StreamSource:
    """A recording that can be read one channel block at a time.

    Attributes
    ----------
    read_block : callable
        ``read_block(c0, c1) -> ndarray (c1 - c0, n_times)``: all samples of channels ``c0:c1``
        (float32 or float64, any memory layout: a transposed view of a time x channels array is
        fine; must be picklable to run on Dask).
    fs : float
        Sampling rate in Hz.
    n_channels, n_times : int
        Size of the recording (segment).
    channel_names : tuple of str, optional
        Default ``ch000`` ...
    modality : Modality
    units : str
    source : str
        Where the data come from (provenance, messages).
    arousal : dict of str to (values, fs)
        Arousal signals over the same span (see :func:`compute_fingerprint_array`).
    """

    read_block: Callable[[int, int], np.ndarray]
    fs: float
    n_channels: int
    n_times: int
    channel_names: tuple[str, ...] | None = None
    modality: Modality = Modality.OTHER
    units: str = ""
    source: str = "<stream>"
    arousal: Mapping[str, tuple[np.ndarray, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class BaselineBlocks:
    """``read_block`` of a :class:`Baseline`: its segment, channels ``c0:c1`` (float64, as ``load``)."""

    baseline: Baseline

    def __call__(self, c0: int, c1: int) -> np.ndarray:
        return self.baseline.load(channels=list(range(c0, c1)))


def baseline_source(baseline: Baseline) -> StreamSource:
    """A :class:`StreamSource` reading ``baseline``'s segment lazily, channel block by channel block."""
    recording = baseline.recording
    n_times = sum(recording.sample_index(b) - recording.sample_index(a) for a, b in baseline.segment.pieces)
    return StreamSource(
        read_block=BaselineBlocks(baseline),
        fs=baseline.fs,
        n_channels=len(baseline.channel_names),
        n_times=int(n_times),
        channel_names=tuple(baseline.channel_names),
        modality=Modality(baseline.metadata.recording.modality or recording.modality),
        units=recording.units,
        source=baseline.source,
        arousal=arousal_signals(baseline),
    )


def serial_map(func: Callable[..., Any], blocks: Sequence[tuple[int, int]], shared: Mapping[str, Any]) -> Iterator:
    """The in-process :data:`BlockMapper`: blocks one after another."""
    for c0, c1 in blocks:
        yield func(c0, c1, **shared)


def thread_map(threads: int) -> BlockMapper:
    """An in-process :data:`BlockMapper` running up to ``threads`` blocks at once (NumPy releases the GIL).

    At most ``threads`` blocks are in flight (memory: that many blocks). BLAS runs one thread per
    block meanwhile (the blocks are the parallelism; nested BLAS threads would oversubscribe the cores).
    """

    def mapper(func: Callable[..., Any], blocks: Sequence[tuple[int, int]], shared: Mapping[str, Any]) -> Iterator:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool, threadpool_limits(1, user_api="blas"):
            pending = []
            for c0, c1 in blocks:
                pending.append(pool.submit(func, c0, c1, **shared))
                if len(pending) >= threads:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()

    return mapper


# -- tasks (top-level functions: picklable for Dask) -------------------------------------------------
TRANSPOSE_FRAMES = 64
"""Samples per tile of :func:`channels_contiguous` (a tile stays in cache)."""


def channels_contiguous(block: np.ndarray, dtype: np.dtype | type | None = None) -> np.ndarray:
    """``block`` ``(n_channels, n_times)`` in C order (as ``dtype``); a transposed view is copied tile by tile
    (4x faster than NumPy's copy)."""
    if block.flags.c_contiguous or not block.T.flags.c_contiguous:
        return np.ascontiguousarray(block, dtype=dtype)
    out = np.empty(block.shape, dtype=block.dtype if dtype is None else dtype)
    for t0 in range(0, block.shape[1], TRANSPOSE_FRAMES):
        out[:, t0 : t0 + TRANSPOSE_FRAMES] = block[:, t0 : t0 + TRANSPOSE_FRAMES]
    return out


def _centred(block: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``x - mean`` per channel, float32, in the block's memory layout (one copy; no transposing)."""
    centred = np.empty_like(block, dtype=np.float32)
    np.subtract(block, mean[:, None], out=centred, casting="unsafe")
    return centred


def _omega(seed: int, c0: int, n: int, width: int) -> np.ndarray:
    """The Gaussian test matrix rows of channels ``c0:c0+n`` (the same whichever order blocks run in)."""
    return np.random.default_rng([seed, c0]).standard_normal((n, width), dtype=np.float32)


def features_task(
    c0: int,
    c1: int,
    *,
    read_block: Callable[[int, int], np.ndarray],
    params: ResolvedParams,
    layout: Layout,
    names: Sequence[str],
    units: str,
    source: str,
    seed: int,
    subset: np.ndarray,
    sketch_width: int,
) -> dict[str, Any]:
    """First pass over channels ``c0:c1``: per-channel features, moments, population sum, sketch, subset rows."""
    block = read_block(c0, c1)
    if block.shape[0] != c1 - c0:
        raise DataError(f"read_block({c0}, {c1}) returned {block.shape[0]} channels, expected {c1 - c0}")
    _check_data(block, name=f"{source} channels {c0}:{c1}", min_times=4)
    _, surrogates = fingerprint_streams(seed)  # the in-memory fingerprint's surrogate stream, in every block
    with TaskPool(1) as pool:
        channels = compute_channel_features(
            channels_contiguous(block, np.float64),
            params,
            layout,
            channel_names=list(names[c0:c1]),
            units=units,
            pool=pool,
            rng=surrogates,
        )
    out = _moments(block, c0, c1, seed=seed, subset=subset, sketch_width=sketch_width)
    out["channels"] = channels
    return out


def moments_task(
    c0: int,
    c1: int,
    *,
    read_block: Callable[[int, int], np.ndarray],
    seed: int,
    subset: np.ndarray,
    sketch_width: int,
) -> dict[str, Any]:
    """First pass of the low-rank step alone: moments, population sum, sketch and subset rows of ``c0:c1``."""
    block = read_block(c0, c1)
    if block.shape[0] != c1 - c0:
        raise DataError(f"read_block({c0}, {c1}) returned {block.shape[0]} channels, expected {c1 - c0}")
    return _moments(block, c0, c1, seed=seed, subset=subset, sketch_width=sketch_width)


def _moments(block: np.ndarray, c0: int, c1: int, *, seed: int, subset: np.ndarray, sketch_width: int) -> dict:
    n_times = block.shape[-1]
    mean = block.mean(axis=-1, dtype=np.float64)
    centred = _centred(block, mean)
    sd = np.sqrt(np.einsum("ct,ct->c", centred, centred, dtype=np.float64) / n_times)
    local = subset[(subset >= c0) & (subset < c1)] - c0
    out = {
        "c0": c0,
        "c1": c1,
        "mean": mean,
        "sd": sd,
        "population_sum": block.sum(axis=0, dtype=np.float64),
        "subset_rows": np.array(block[local]),
    }
    if sketch_width:
        # Z Omega with Z = centred^T S (standardised: Z^T Z is the correlation); S scales Omega's rows
        omega = _omega(seed, c0, c1 - c0, sketch_width) * _scale(sd, n_times)[:, None].astype(np.float32)
        out["sketch"] = (centred.T @ omega).astype(np.float64)
    return out


def gram_task(
    c0: int,
    c1: int,
    *,
    read_block: Callable[[int, int], np.ndarray],
    mean: np.ndarray,
    scale: np.ndarray,
    basis: np.ndarray,
) -> np.ndarray:
    """One block's share of ``Z Z^T Q``: ``Z_b (Z_b^T Q)``, shape (n_times, width), float64.

    ``Z_b = centred^T S`` (channels scaled by ``S``), so ``Z_b Z_b^T Q = centred^T (S**2 (centred Q))``:
    the scaling touches only the small ``channels x width`` product.
    """
    centred = _centred(read_block(c0, c1), mean[c0:c1])
    weight = (scale[c0:c1] ** 2)[:, None].astype(np.float32)
    return (centred.T @ (weight * (centred @ basis))).astype(np.float64)


def _scale(sd: np.ndarray, n_times: int) -> np.ndarray:
    """``1 / (sd sqrt(T))``, 0 for constant channels (they drop out of the correlation structure)."""
    with np.errstate(divide="ignore"):
        return np.where(sd > 0, 1.0 / (sd * np.sqrt(n_times)), 0.0)


# -- the low-rank step ----------------------------------------------------------------------------
def nystrom_eigenvalues(basis: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Eigenvalues of the stabilised Nystroem approximation of a PSD ``A`` from ``A Q`` (Tropp et al. 2017).

    Parameters
    ----------
    basis : ndarray, shape (n, p)
        Orthonormal columns ``Q``.
    image : ndarray, shape (n, p)
        ``A Q``.

    Returns
    -------
    ndarray, shape (p,)
        Descending, non-negative.
    """
    shift = np.finfo(np.float32).eps * np.sqrt(image.shape[0]) * np.linalg.norm(image)  # Frobenius >= 2-norm
    shifted = image + shift * basis
    core = basis.T @ shifted
    core = (core + core.T) / 2
    try:
        chol = np.linalg.cholesky(core)
    except np.linalg.LinAlgError:  # numerically indefinite: fall back to the Rayleigh-Ritz values
        return np.sort(np.clip(np.linalg.eigvalsh(basis.T @ image), 0, None))[::-1]
    b = scipy.linalg.solve_triangular(chol, shifted.T, lower=True).T
    singular = np.linalg.svd(b, compute_uv=False)
    return np.clip(singular**2 - shift, 0.0, None)


def _orthonormal(y: np.ndarray) -> np.ndarray:
    # small dense factorisations run single-threaded: multi-threaded LAPACK on a tall-skinny matrix can be
    # 30x slower than one thread when the cores are busy (OpenBLAS threads spin waiting for each other)
    with threadpool_limits(1):
        q, _ = np.linalg.qr(y)
    return q


# -- the public functions --------------------------------------------------------------------------
def _seed_of(rng: np.random.Generator | int | None) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    if rng is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    return int(rng)


def compute_low_rank_streaming(
    source: StreamSource,
    *,
    block_neurons: int = DEFAULT_BLOCK_NEURONS,
    n_components: int = DEFAULT_COMPONENTS,
    oversampling: int = DEFAULT_OVERSAMPLING,
    n_iter: int = 2,
    max_channels: int = MAX_CHANNELS,
    threads: int = 1,
    map_blocks: BlockMapper | None = None,
    rng: np.random.Generator | int | None = None,
) -> CorrelationResult:
    """The correlation structure alone, streamed: ``1 + n_iter`` passes over the channel blocks.

    The same low-rank step as :func:`fingerprint_streaming` (which fuses the first pass with the
    per-channel features), for when only the eigenspectrum and dimensionality are wanted.
    Parameters as in :func:`fingerprint_streaming`; ``source`` must have more than
    ``max_channels`` channels (below, use :func:`~adhesive_dots.fingerprint.compute_correlation_array`).

    Returns
    -------
    CorrelationResult
        ``exact`` False; ``matrix`` None.
    """
    n_channels, n_times = int(source.n_channels), int(source.n_times)
    if n_channels <= max_channels:
        raise DataError(
            f"{source.source}: {n_channels} channels <= max_channels={max_channels}; the exact correlation "
            "matrix is cheap there (compute_correlation_array), or lower max_channels"
        )
    seed = _seed_of(rng)
    if map_blocks is None:
        map_blocks = thread_map(int(threads)) if int(threads) > 1 else serial_map
    step = int(block_neurons)
    blocks = [(c0, min(c0 + step, n_channels)) for c0 in range(0, n_channels, step)]
    subset = np.sort(np.random.default_rng([seed, 1]).choice(n_channels, size=max_channels, replace=False))
    k = min(int(n_components), n_channels, n_times)
    width = min(k + int(oversampling), n_channels, n_times)
    mean, sd = np.empty(n_channels), np.empty(n_channels)
    sketch = np.zeros((n_times, width))
    rows = {}
    shared = {"read_block": source.read_block, "seed": seed, "subset": subset, "sketch_width": width}
    for part in map_blocks(moments_task, blocks, shared):
        c0, c1 = part["c0"], part["c1"]
        mean[c0:c1], sd[c0:c1] = part["mean"], part["sd"]
        sketch += part["sketch"]
        rows[c0] = part["subset_rows"]
    eigenvalues = _randomized_eigenvalues(sketch, blocks, source.read_block, mean, sd, n_times, k, n_iter, map_blocks)
    gathered = np.concatenate([rows[c0] for c0, _ in blocks], axis=0)
    return _low_rank_result(eigenvalues, gathered, n_channels, k)


def fingerprint_streaming(
    source: Baseline | StreamSource,
    *,
    params: FingerprintParams | ResolvedParams | None = None,
    block_neurons: int = DEFAULT_BLOCK_NEURONS,
    n_components: int = DEFAULT_COMPONENTS,
    oversampling: int = DEFAULT_OVERSAMPLING,
    n_iter: int = 2,
    threads: int = 1,
    map_blocks: BlockMapper | None = None,
    timings: dict[str, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    rng: np.random.Generator | int | None = None,
    **options: Any,
) -> Fingerprint:
    """The fingerprint of a recording streamed in channel blocks (see the module docstring).

    Parameters
    ----------
    source : Baseline or StreamSource
        A baseline (its segment is read block by block through ``Recording.read``) or any
        :class:`StreamSource` (e.g. :func:`adhesive_dots.io.nwb_large.open_block_source`).
    params : FingerprintParams, optional
        The analysis parameters, resolved once for the whole recording (as :func:`fingerprint` does).
        ``params.max_channels``: up to this many channels the correlation matrix is exact (as in
        memory); above, the randomised eigenvalues and a random subset of this many channels (mean
        ``|r|``, participation ratio, windows' mean ``|r|``).
    block_neurons : int
        Channels per block (memory: about ``block_neurons x n_times x 8`` bytes, times a few).
    n_components : int
        Leading correlation eigenvalues estimated above ``max_channels`` channels; the power-law
        fit uses ranks 2 to ``n_components // 2``.
    oversampling : int
        Extra sketch columns.
    n_iter : int
        Passes applying ``Z Z^T`` after the sketching pass (0 allowed).
    threads : int
        Blocks processed at once in this process (ignored when ``map_blocks`` is given).
    map_blocks : callable, optional
        Runs the block tasks (:data:`BlockMapper`); default in this process (:func:`serial_map`,
        or :func:`thread_map` with ``threads > 1``).
    timings : dict, optional
        Filled with wall times in s: ``features`` (first pass, including reading and the sketch
        product, which runs inside each block task), ``low_rank`` (summing the sketch, the further
        passes including their reading, the eigenvalues),
        ``population`` (subset correlations, windows' mean ``|r|``), ``assemble``.
    progress : callable, optional
        ``progress(done, total)`` after each block of the first (per-channel) pass.
    rng : Generator, int or None
        One seed for the surrogates (same permutations in every block), the sketch and the subset.
    **options
        ``modality``, ``units``, ``arousal`` (default: the source's), or fields of
        :class:`~adhesive_dots.fingerprint.params.FingerprintParams` (e.g. ``window_s``, ``bands``,
        ``max_channels``).

    Returns
    -------
    Fingerprint
        The variables of :func:`~adhesive_dots.fingerprint.compute_fingerprint_array`; ``correlation`` only
        up to ``max_channels`` channels. ``attrs["streaming"]`` records the block size and passes.

    Examples
    --------
    >>> from adhesive_dots import Baseline
    >>> from adhesive_dots.sim import sim_powerlaw
    >>> b = Baseline.from_array(sim_powerlaw(30 * 300, 30.0, 1.0, n_signals=40, rng=0), 30.0)
    >>> fp = fingerprint_streaming(b, block_neurons=16, rng=0)
    >>> fp.summary_vector().shape
    (18,)
    """
    import time

    clock = time.perf_counter
    timings = {} if timings is None else timings
    for name, value in (("block_neurons", block_neurons), ("n_components", n_components)):
        if int(value) < 1:
            raise DataError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("oversampling", oversampling), ("n_iter", n_iter)):
        if int(value) < 0:
            raise DataError(f"{name} must be 0 or more, got {value!r}")
    for name in ("correlation", "workers"):
        if name in options:
            raise DataError(f"fingerprint_streaming computes {name!r} itself; remove {name}= from the options")
    if "spike_times" in options:
        raise DataError(
            "fingerprint_streaming streams sampled signals only; spike statistics (spike_times=) need "
            "fingerprint() (spike trains are small even for many units)"
        )
    segment = None
    if isinstance(source, Baseline):
        segment = source.segment
        source = baseline_source(source)
    if not isinstance(source, StreamSource):
        raise DataError(f"source must be a Baseline or a StreamSource, got {type(source).__name__}")
    arousal = dict(options.pop("arousal", source.arousal) or {})
    modality = Modality(options.pop("modality", source.modality))
    units = options.pop("units", source.units)
    fs, n_channels, n_times = float(source.fs), int(source.n_channels), int(source.n_times)
    if n_times < 4:
        raise DataError(f"{source.source}: {n_times} samples; at least 4 are needed for a fingerprint")
    names = source.channel_names or tuple(f"ch{i:03d}" for i in range(n_channels))
    if len(names) != n_channels:
        raise DataError(f"{source.source}: {len(names)} channel names for {n_channels} channels")
    resolved = make_params(params, **options).resolve(fs=fs, n_times=n_times, n_channels=n_channels, modality=modality)
    layout = compute_layout(resolved, fs, n_times)
    max_channels = resolved.max_channels
    seed = _seed_of(rng)
    if map_blocks is None:
        map_blocks = thread_map(int(threads)) if int(threads) > 1 else serial_map
    step = int(block_neurons)
    blocks = [(c0, min(c0 + step, n_channels)) for c0 in range(0, n_channels, step)]
    sub_rng = np.random.default_rng([seed, 1])
    exact = n_channels <= max_channels
    subset = np.arange(n_channels) if exact else np.sort(sub_rng.choice(n_channels, size=max_channels, replace=False))
    k = min(int(n_components), n_channels, n_times)
    width = 0 if exact or n_channels < 2 else min(k + int(oversampling), n_channels, n_times)

    # -- pass 1: per-channel features, moments, population sum, sketch, subset ------------------
    start = clock()
    channel_parts: dict[int, xr.Dataset] = {}
    mean = np.empty(n_channels)
    sd = np.empty(n_channels)
    population_sum = np.zeros(n_times)
    sketch = np.zeros((n_times, width)) if width else None
    subset_rows: dict[int, np.ndarray] = {}
    shared = {
        "read_block": source.read_block,
        "params": resolved,
        "layout": layout,
        "names": names,
        "units": units,
        "source": source.source,
        "seed": seed,
        "subset": subset,
        "sketch_width": width,
    }
    sketch_time = 0.0
    for part in map_blocks(features_task, blocks, shared):
        c0, c1 = part["c0"], part["c1"]
        channel_parts[c0] = part["channels"]
        mean[c0:c1], sd[c0:c1] = part["mean"], part["sd"]
        population_sum += part["population_sum"]
        subset_rows[c0] = part["subset_rows"]
        if progress is not None:
            progress(len(channel_parts), len(blocks))
        if sketch is not None:
            t = clock()
            sketch += part["sketch"]
            sketch_time += clock() - t
    gathered = np.concatenate([subset_rows[c0] for c0, _ in blocks], axis=0)
    del subset_rows
    timings["features"] = clock() - start

    # -- the low-rank step and the population statistics ------------------------------------------
    window_corr = np.full(layout.n_windows, np.nan)
    corr_result = None
    timings["low_rank"] = sketch_time
    start = clock()
    if n_channels >= 2:
        if exact:
            total, product = compute_covariance_blocks_array(gathered)
            corr_result = describe_moments(total[0], product[0], n_times)
        else:
            t = clock()
            eigenvalues = _randomized_eigenvalues(
                sketch, blocks, source.read_block, mean, sd, n_times, k, n_iter, map_blocks
            )
            timings["low_rank"] += clock() - t
            corr_result = _low_rank_result(eigenvalues, gathered, n_channels, k)
        window_corr = window_mean_abs_correlation(gathered, layout.window_starts, layout.window_length)
    del gathered, sketch
    population_dfa = compute_population_dfa(population_sum / n_channels, fs, resolved) if resolved.population else None
    timings["population"] = clock() - start - (timings["low_rank"] - sketch_time)

    # -- assemble (the same stage as in memory) ----------------------------------------------------
    start = clock()
    dataset = assemble_fingerprint(
        join_channel_features([channel_parts[c0] for c0, _ in blocks]),
        resolved,
        layout,
        structure=corr_result,
        window_corr=window_corr,
        population_dfa=population_dfa,
        arousal=arousal,
        attrs={"source": source.source, "modality": modality.value, "units": units},
    )
    dataset.attrs["streaming"] = json.dumps(
        {
            "block_neurons": step,
            "n_components": k,
            "oversampling": int(oversampling),
            "n_iter": int(n_iter),
            "max_channels": int(max_channels),
            "low_rank": not exact,
        }
    )
    if segment is not None:
        dataset.attrs["segment"] = json.dumps([list(p) for p in segment.pieces])
        dataset.attrs["segment_evidence"] = segment.evidence
    timings["assemble"] = clock() - start
    return Fingerprint(dataset)


def _randomized_eigenvalues(sketch, blocks, read_block, mean, sd, n_times, k, n_iter, map_blocks) -> np.ndarray:
    """Leading eigenvalues of the correlation matrix: passes applying ``Z Z^T``, then Nystroem."""
    scale = _scale(sd, n_times)
    basis = _orthonormal(sketch)
    image = None
    for i in range(max(int(n_iter), 1)):
        if i > 0:
            basis = _orthonormal(image)
        image = np.zeros_like(basis)
        shared = {"read_block": read_block, "mean": mean, "scale": scale, "basis": basis.astype(np.float32)}
        for part in map_blocks(gram_task, blocks, shared):
            image += part
    with threadpool_limits(1):
        return nystrom_eigenvalues(basis, image)[:k]


def _low_rank_result(eigenvalues: np.ndarray, gathered: np.ndarray, n_channels: int, k: int) -> CorrelationResult:
    """The low-rank description: randomised eigenvalues; mean |r| and participation ratio from the subset."""
    # float32 products (about 1e-6 in r, far below the subset's sampling error; 3x faster than float64)
    sub = np.corrcoef(gathered, dtype=np.float32).astype(np.float64)
    off = sub[~np.eye(sub.shape[0], dtype=bool)]
    off = off[np.isfinite(off)]
    mean_sq = float((off**2).mean())
    # sum lambda = n (trace), sum lambda^2 = ||C||_F^2 = n + n(n-1) E[r^2] (as compute_correlation_array)
    participation = n_channels**2 / (n_channels + n_channels * (n_channels - 1) * mean_sq)
    rank_range = (2, max(4, k // 2))
    exponent, r_squared = fit_eigenspectrum(eigenvalues, rank_range)
    return CorrelationResult(
        matrix=None,
        eigenvalues=eigenvalues,
        eigenspectrum_exponent=exponent,
        eigenspectrum_r_squared=r_squared,
        participation_ratio=float(participation),
        mean_abs_correlation=float(np.abs(off).mean()),
        knee=eigenspectrum_knee(eigenvalues),
        rank_range=rank_range,
        exact=False,
    )


__all__ = [
    "BaselineBlocks",
    "StreamSource",
    "baseline_source",
    "compute_low_rank_streaming",
    "moments_task",
    "fingerprint_streaming",
    "gram_task",
    "features_task",
    "nystrom_eigenvalues",
    "serial_map",
    "thread_map",
]
