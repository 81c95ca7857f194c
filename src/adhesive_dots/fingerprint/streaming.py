"""Out-of-core fingerprints: every feature from a recording read in channel blocks, memory bounded.

:func:`fingerprint_streaming` returns the same :class:`~adhesive_dots.fingerprint.Fingerprint` as
:func:`~adhesive_dots.fingerprint.fingerprint` (same variables, same summary vector) without ever
holding the whole recording or a channels x channels matrix above ``max_channels`` channels:

* **Per-channel features** (spectra, band powers, aperiodic fits, peaks, DFA, envelopes, windowed
  powers, non-stationarity, drift) come from :func:`~adhesive_dots.fingerprint.compute_fingerprint_array`
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
:func:`compute_fingerprint_array`), the subset (``max_channels x n_times``), the sketch
(``n_times x (k + oversampling)``, float64) and the per-channel results.

The passes are expressed as independent tasks on channel blocks: ``map_blocks`` runs them
(in this process by default; :func:`adhesive_dots.parallel.streaming.fingerprint_streaming_dask`
runs them as Dask tasks). Every task reads its own block through ``source.read_block``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._compute import (
    _arousal_signals,
    _on_scales,
    _summary,
    compute_fingerprint_array,
    slow_grid,
)
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
from adhesive_dots.fingerprint.dfa import compute_dfa_array
from adhesive_dots.fingerprint.dynamics import (
    DEFAULT_WINDOW_OVERLAP,
    DEFAULT_WINDOW_S,
    compute_arousal_coupling_array,
    compute_drift_array,
    sliding_windows,
    window_average,
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
        arousal=_arousal_signals(baseline),
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
    fs: float,
    names: Sequence[str],
    options: Mapping[str, Any],
    seed: int,
    subset: np.ndarray,
    sketch_width: int,
) -> dict[str, Any]:
    """First pass over channels ``c0:c1``: per-channel features, moments, population sum, sketch, subset rows."""
    block = read_block(c0, c1)
    if block.shape[0] != c1 - c0:
        raise DataError(f"read_block({c0}, {c1}) returned {block.shape[0]} channels, expected {c1 - c0}")
    fp = compute_fingerprint_array(
        channels_contiguous(block, np.float64), fs, channel_names=list(names[c0:c1]), population=False,
        correlation=False, arousal={}, rng=seed, **options,
    )  # fmt: skip
    ds = fp.dataset
    channel_vars = {
        name: (var.dims, np.asarray(var.values), dict(var.attrs))
        for name, var in ds.data_vars.items()
        if "channel" in var.dims
    }
    out = _moments(block, c0, c1, seed=seed, subset=subset, sketch_width=sketch_width)
    out["channel_vars"] = channel_vars
    out["template"] = ds.drop_vars([n for n in ds.data_vars if "channel" in ds[n].dims])
    out["flat"] = json.loads(ds.attrs["flat_channels"])
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
    block_neurons: int = DEFAULT_BLOCK_NEURONS,
    n_components: int = DEFAULT_COMPONENTS,
    oversampling: int = DEFAULT_OVERSAMPLING,
    n_iter: int = 2,
    max_channels: int = MAX_CHANNELS,
    window_s: float = DEFAULT_WINDOW_S,
    window_overlap: float = DEFAULT_WINDOW_OVERLAP,
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
    block_neurons : int
        Channels per block (memory: about ``block_neurons x n_times x 8`` bytes, times a few).
    n_components : int
        Leading correlation eigenvalues estimated above ``max_channels`` channels; the power-law
        fit uses ranks 2 to ``n_components // 2``.
    oversampling : int
        Extra sketch columns.
    n_iter : int
        Passes applying ``Z Z^T`` after the sketching pass (0 allowed).
    max_channels : int
        Up to this many channels the correlation matrix is exact (as in memory); above, the
        randomised eigenvalues and a random subset of this many channels (mean ``|r|``,
        participation ratio, windows' mean ``|r|``).
    window_s, window_overlap
        Sliding windows of the dynamics (s, fraction).
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
        Any other keyword of :func:`compute_fingerprint_array` (e.g. ``bands``, ``n_surrogates``).

    Returns
    -------
    Fingerprint
        The variables of :func:`compute_fingerprint_array`; ``correlation`` only up to
        ``max_channels`` channels. ``attrs["streaming"]`` records the block size and passes.

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
    fs, n_channels, n_times = float(source.fs), int(source.n_channels), int(source.n_times)
    if n_times < 4:
        raise DataError(f"{source.source}: {n_times} samples; at least 4 are needed for a fingerprint")
    names = source.channel_names or tuple(f"ch{i:03d}" for i in range(n_channels))
    if len(names) != n_channels:
        raise DataError(f"{source.source}: {len(names)} channel names for {n_channels} channels")
    seed = _seed_of(rng)
    modality = Modality(options.pop("modality", source.modality))
    units = options.pop("units", source.units)
    block_options = {k: v for k, v in options.items() if k != "population"}
    block_options = {"modality": modality, "units": units, "window_s": window_s, "window_overlap": window_overlap,
                     "max_channels": max_channels, "workers": 1, **block_options}  # fmt: skip
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
    channel_parts: dict[int, dict] = {}
    template = None
    mean = np.empty(n_channels)
    sd = np.empty(n_channels)
    population_sum = np.zeros(n_times)
    sketch = np.zeros((n_times, width)) if width else None
    subset_rows: dict[int, np.ndarray] = {}
    flat: dict[int, list[str]] = {}
    shared = {"read_block": source.read_block, "fs": fs, "names": names, "options": block_options, "seed": seed,
              "subset": subset, "sketch_width": width}  # fmt: skip
    sketch_time = 0.0
    for part in map_blocks(features_task, blocks, shared):
        c0, c1 = part["c0"], part["c1"]
        channel_parts[c0] = part["channel_vars"]
        template = part["template"] if template is None else template
        mean[c0:c1], sd[c0:c1] = part["mean"], part["sd"]
        population_sum += part["population_sum"]
        subset_rows[c0] = part["subset_rows"]
        flat[c0] = part["flat"]
        if progress is not None:
            progress(len(flat), len(blocks))
        if sketch is not None:
            t = clock()
            sketch += part["sketch"]
            sketch_time += clock() - t
    gathered = np.concatenate([subset_rows[c0] for c0, _ in blocks], axis=0)
    del subset_rows
    timings["features"] = clock() - start

    # -- the low-rank step and the population statistics ------------------------------------------
    win_starts, win_len = (
        sliding_windows(n_times, fs, window_s=window_s, overlap=window_overlap)
        if n_times / fs >= window_s
        else (np.zeros(0, dtype=int), int(round(window_s * fs)))
    )
    window_corr = np.full(win_starts.size, np.nan)
    corr_result = None
    timings["low_rank"] = sketch_time
    start = clock()
    if n_channels >= 2:
        if exact:
            total, product = compute_covariance_blocks_array(gathered)
            corr_result = describe_moments(total[0], product[0], n_times)
        else:
            t = clock()
            eigenvalues = _randomized_eigenvalues(sketch, blocks, source.read_block, mean, sd, n_times, k, n_iter,
                                                  map_blocks)  # fmt: skip
            timings["low_rank"] += clock() - t
            corr_result = _low_rank_result(eigenvalues, gathered, n_channels, k)
        window_corr = window_mean_abs_correlation(gathered, win_starts, win_len)
    del gathered, sketch
    timings["population"] = clock() - start - (timings["low_rank"] - sketch_time)

    # -- assemble ----------------------------------------------------------------------------------
    start = clock()
    result = _assemble(
        template, channel_parts, blocks, names, fs=fs, n_times=n_times, modality=modality,
        population_sum=population_sum, corr_result=corr_result, window_corr=window_corr, win_starts=win_starts,
        win_len=win_len, arousal=arousal, options=options, flat=[n for c0, _ in blocks for n in flat[c0]],
    )  # fmt: skip
    ds = result.dataset
    ds.attrs["source"] = source.source
    ds.attrs["streaming"] = json.dumps({"block_neurons": step, "n_components": k, "oversampling": int(oversampling),
                                        "n_iter": int(n_iter), "max_channels": int(max_channels),
                                        "low_rank": not exact})  # fmt: skip
    if segment is not None:
        ds.attrs["segment"] = json.dumps([list(p) for p in segment.pieces])
        ds.attrs["segment_evidence"] = segment.evidence
    timings["assemble"] = clock() - start
    return result


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


def _assemble(template, channel_parts, blocks, names, *, fs, n_times, modality, population_sum, corr_result,
              window_corr, win_starts, win_len, arousal, options, flat) -> Fingerprint:  # fmt: skip
    """The dataset of :func:`compute_fingerprint_array` from the per-block parts and the population statistics."""
    n_channels = len(names)
    ds = template.assign_coords(channel=list(names))
    first = channel_parts[blocks[0][0]]
    for name, (dims, _, attrs) in first.items():
        axis = dims.index("channel")
        values = np.concatenate([channel_parts[c0][name][1] for c0, _ in blocks], axis=axis)
        ds[name] = (dims, values, attrs)
    for name in ("summary",):
        ds = ds.drop_vars(name)

    def put(name, dims, values, **attrs):
        ds[name] = (dims, np.asarray(values, dtype=float), attrs)

    # population DFA (calcium, spikes: the mean signal), as compute_fingerprint_array
    parameters = json.loads(ds.attrs["parameters"])
    population = options.get("population", "auto")
    if population == "auto":
        population = modality in (Modality.CALCIUM, Modality.SPIKES) and n_channels > 1
    population = bool(population)
    envelope_bands = {k: tuple(v) for k, v in parameters["envelope_bands"].items()}
    slow_scales, slow_fit_range = slow_grid(
        fs, n_times / fs, envelope_bands=envelope_bands, envelope_fs=parameters["envelope_fs"],
        population=population, spikes=False, slow_scales=options.get("slow_scales"),
        slow_fit_range=options.get("slow_fit_range"),
    )  # fmt: skip
    population_dfa = None
    if population:
        population_dfa = compute_dfa_array(population_sum / n_channels, fs, scales=slow_scales,
                                           fit_range=slow_fit_range, overlap=parameters["dfa_overlap"])  # fmt: skip
        if "slow_scale" not in ds.coords:
            ds = ds.assign_coords(slow_scale=("slow_scale", np.asarray(slow_scales), {"units": "s"}))
        put("population_dfa_exponent", (), population_dfa.exponent, units="1", signal="mean over channels")
        put("population_dfa_r_squared", (), population_dfa.r_squared, units="1")
        put("population_dfa_fluctuation", ("slow_scale",), _on_scales(population_dfa, slow_scales))
    parameters["population"] = bool(population)
    parameters["slow_fit_range"] = None if slow_fit_range is None else [float(v) for v in slow_fit_range]
    ds.attrs["parameters"] = json.dumps(parameters)

    # correlation structure
    if corr_result is not None:
        if corr_result.matrix is not None:
            ds = ds.assign_coords(channel_b=("channel_b", list(names)))
            put("correlation", ("channel", "channel_b"), corr_result.matrix, units="1")
        put("eigenvalues", ("component",), corr_result.eigenvalues, units="1", exact=int(corr_result.exact))
        put("eigenspectrum_exponent", (), corr_result.eigenspectrum_exponent, units="1",
            rank_range=list(corr_result.rank_range), r_squared=corr_result.eigenspectrum_r_squared)  # fmt: skip
        put("participation_ratio", (), corr_result.participation_ratio, units="1")
        put("eigenspectrum_knee", (), corr_result.knee, units="1", long_name="rank of the largest eigenvalue gap")
        put("mean_abs_correlation", (), corr_result.mean_abs_correlation, units="1")
    put("window_mean_abs_correlation", ("window",), window_corr, units="1")

    # dynamics across channels: state trajectory, drift of the windows' mean |r|, arousal coupling
    win_time = ds["window_time"].values
    n_windows = win_time.size
    log_power = ds["window_log_band_power"].values
    window_exponent = ds["window_aperiodic_exponent"].values
    if n_windows >= 3 and n_channels >= 2:
        drift_corr = compute_drift_array(win_time, window_corr)
        put("drift_mean_abs_correlation", (), drift_corr.slope, units="1/min")
    if n_windows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (flat channels) give NaN
            state = np.column_stack([np.nanmedian(log_power, axis=1), np.nanmedian(window_exponent, axis=1),
                                     window_corr])  # fmt: skip
    else:
        state = np.zeros((0, ds.sizes["state_feature"]))
    put("state", ("window", "state_feature"), state, long_name="state trajectory (medians over channels)")
    arousal_names = list(arousal)
    coupling = np.full((len(arousal_names), state.shape[1]), np.nan)
    arousal_windows = np.full((len(arousal_names), n_windows), np.nan)
    for i, name in enumerate(arousal_names):
        values, signal_fs = arousal[name]
        arousal_windows[i] = window_average(values, signal_fs, win_starts / fs, win_len / fs)
        coupling[i] = compute_arousal_coupling_array(state, arousal_windows[i])
    ds = ds.drop_vars(["arousal_windows", "arousal_coupling"]).assign_coords(arousal=arousal_names)
    put("arousal_windows", ("arousal", "window"), arousal_windows)
    put("arousal_coupling", ("arousal", "state_feature"), coupling, units="1", long_name="Pearson r")

    # the summary vector (same definition as in memory)
    bands = list(ds["band"].values)
    bp = SimpleNamespace(relative=ds["relative_power"].values, bands=bands)
    envelope_dfa = {}
    if "envelope_band" in ds.coords:
        for i, band in enumerate(ds["envelope_band"].values):
            envelope_dfa[str(band)] = SimpleNamespace(exponent=ds["envelope_dfa_exponent"].values[i])
    drift_power = drift_exponent = None
    if "drift_index_log_band_power" in ds:
        drift_power = SimpleNamespace(index=ds["drift_index_log_band_power"].values)
        drift_exponent = SimpleNamespace(index=ds["drift_index_aperiodic_exponent"].values)
    summary = _summary(ds, bp, n_channels, envelope_dfa, population_dfa, corr_result, drift_power, drift_exponent,
                       {"exponent": window_exponent}, coupling)  # fmt: skip
    put("summary", ("feature",), summary, long_name="fixed-length summary vector (see SUMMARY_FIELDS)")
    ds.attrs["flat_channels"] = json.dumps(flat)
    ds.attrs["n_times"] = n_times
    ds.attrs["duration_s"] = n_times / fs
    return Fingerprint(ds)


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
