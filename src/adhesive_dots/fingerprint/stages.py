"""The stages of a fingerprint, shared by the in-memory and the streamed paths.

Both :func:`~adhesive_dots.fingerprint.compute_fingerprint_array` and
:func:`~adhesive_dots.fingerprint.streaming.fingerprint_streaming` run the same stages with the same
:class:`~adhesive_dots.fingerprint.params.ResolvedParams`, so they agree by construction:

1. :func:`compute_layout` -- where the sliding windows and the Welch segments lie, the frequency grid
   and the envelope rates (from the parameters, the sampling rate and the length alone).
2. :func:`compute_channel_features` -- everything per channel, on a block of channels: the spectral
   pass (:func:`spectral_pass`: segment periodograms once, giving the Welch PSD, every window's PSD and
   the band powers of every segment; band envelopes from one FFT), the broadband and envelope DFA, the
   aperiodic fits (whole record and windows), band powers and peaks, and the per-channel dynamics
   (windowed band powers and exponents, non-stationarity, drift). Returns an :class:`xarray.Dataset`
   whose variables all have a ``channel`` dim, so channel blocks are joined with
   :func:`join_channel_features`.
3. :func:`compute_structure` -- the correlation structure and the windows' mean ``|r|`` (in memory; the
   streamed path computes the same :class:`~adhesive_dots.fingerprint.correlation.CorrelationResult`
   from its passes).
4. :func:`compute_population_dfa` -- the DFA of the population signal.
   (:func:`compute_window_states` runs only what the state trajectory needs: what
   :func:`~adhesive_dots.compare.compare_baselines` computes for a Baseline.)
5. :func:`assemble_fingerprint` -- the dataset: the channel features, the structure, the population
   DFA, spiking statistics, the dynamics across channels (:func:`compute_state_dynamics`: state
   trajectory, drift of the windows' ``|r|``, arousal coupling), the summary vector
   (:func:`summary_from_dataset`, computed from the dataset alone) and the provenance.

:class:`TaskPool` runs the per-channel work on threads (NumPy, SciPy and BLAS release the GIL); results
never depend on the number of threads.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy
import scipy.fft
import xarray as xr
from threadpoolctl import threadpool_limits

from adhesive_dots.fingerprint._container import SUMMARY_FIELDS, SUMMARY_NAMES
from adhesive_dots.fingerprint.aperiodic import compute_aperiodic_array
from adhesive_dots.fingerprint.correlation import (
    CorrelationResult,
    compute_correlation_array,
    compute_covariance_blocks_array,
    correlation_from_moments,
    describe_moments,
    mean_abs_offdiagonal,
    window_mean_abs_correlation,
)
from adhesive_dots.fingerprint.dfa import DfaResult, compute_dfa_array, compute_envelope_array, envelope_length
from adhesive_dots.fingerprint.dynamics import (
    compute_arousal_coupling_array,
    compute_drift_array,
    compute_nonstationarity_array,
    segment_membership,
    segment_window_means,
    sliding_windows,
    window_average,
)
from adhesive_dots.fingerprint.params import ResolvedParams
from adhesive_dots.fingerprint.spectral import (
    DEFAULT_BANDS,
    band_masks,
    compute_band_power_array,
    compute_peak_frequency_array,
    compute_segment_periodograms_array,
    segment_layout,
)
from adhesive_dots.fingerprint.spiking import SpikingResult

WINDOW_BLOCK_CHANNELS = 512
"""Up to this many channels, windowed correlations reuse per-block cross-products (n_blocks x C x C)."""


@dataclass(frozen=True)
class Layout:
    """Where the windows and segments of a record lie (see :func:`compute_layout`).

    Attributes
    ----------
    fs : float
        Sampling rate in Hz.
    n_times : int
        Samples of the record.
    window_starts : ndarray of int, shape (n_windows,)
        Start samples of the sliding windows (none when the record is shorter than one window).
    window_length : int
        Samples per window.
    nperseg, segment_step : int
        Samples per Welch segment and between segment starts.
    segment_starts : ndarray of int, shape (n_segments,)
    freqs : ndarray, shape (n_freqs,)
        Frequencies of the spectra in Hz.
    band_names : tuple of str
    band_matrix : ndarray, shape (n_freqs, n_bands)
        Sums a spectrum over each band's bins times the bin width (the band power).
    membership : ndarray, shape (n_windows, n_segments), or None
        Averaging matrix of the segments inside each window (None without windows).
    envelope_fs : dict of str to float
        Effective rate (Hz) of each envelope band's envelope.
    envelope_sizes : dict of str to int
        Samples of each envelope.
    """

    fs: float
    n_times: int
    window_starts: np.ndarray
    window_length: int
    nperseg: int
    segment_step: int
    segment_starts: np.ndarray
    freqs: np.ndarray
    band_names: tuple[str, ...]
    band_matrix: np.ndarray
    membership: np.ndarray | None
    envelope_fs: dict[str, float]
    envelope_sizes: dict[str, int]

    @property
    def n_windows(self) -> int:
        return int(self.window_starts.size)

    @property
    def window_times(self) -> np.ndarray:
        """Window centres in s from the record's start."""
        return (self.window_starts + self.window_length / 2.0) / self.fs


def compute_layout(params: ResolvedParams, fs: float, n_times: int) -> Layout:
    """The windows, segments, frequencies and envelope rates of a record of ``n_times`` samples at ``fs``."""
    if n_times / fs >= params.window_s:
        starts, length = sliding_windows(n_times, fs, window_s=params.window_s, overlap=params.window_overlap)
    else:
        starts, length = np.zeros(0, dtype=int), int(round(params.window_s * fs))
    nperseg, step = segment_layout(fs, n_times, params.segment_s, params.segment_overlap)
    segment_starts = np.arange((n_times - nperseg) // step + 1) * step
    freqs = np.fft.rfftfreq(nperseg, 1.0 / fs)
    names, masks, _ = band_masks(freqs, params.band_dict)
    sizes = {name: envelope_length(n_times, fs, band) for name, band in params.envelope_bands}
    return Layout(
        fs=fs,
        n_times=n_times,
        window_starts=starts,
        window_length=length,
        nperseg=nperseg,
        segment_step=step,
        segment_starts=segment_starts,
        freqs=freqs,
        band_names=tuple(names),
        band_matrix=masks.T.astype(float) * float(freqs[1] - freqs[0]),
        membership=segment_membership(segment_starts, nperseg, starts, length) if starts.size else None,
        envelope_fs={name: size * fs / n_times for name, size in sizes.items()},
        envelope_sizes=sizes,
    )


class TaskPool:
    """Tasks on ``workers`` threads (inline when ``workers <= 1``), BLAS limited to one thread meanwhile.

    Results never depend on the number of workers: tasks write disjoint parts or return values.
    Use as a context manager; :meth:`wait` re-raises the first failure of the tasks submitted so far.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self.executor = ThreadPoolExecutor(max_workers=self.workers) if self.workers > 1 else None
        self.futures: list[Future] = []

    def __enter__(self) -> TaskPool:
        self.limits = threadpool_limits(limits=1, user_api="blas") if self.executor is not None else None
        return self

    def __exit__(self, *exc) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.limits.restore_original_limits()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        if self.executor is not None:
            future = self.executor.submit(fn, *args, **kwargs)
        else:
            future = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as error:  # re-raised by wait() / result(), as in a thread
                future.set_exception(error)
        self.futures.append(future)
        return future

    def wait(self) -> None:
        """Wait for every task submitted so far; re-raises the first failure."""
        for future in self.futures:
            future.result()


@dataclass(frozen=True)
class SpectralPass:
    """Outputs of :func:`spectral_pass` for every channel (filled block by block).

    Attributes
    ----------
    psd : ndarray, shape (n_channels, n_freqs)
        Welch PSD (mean of the segment periodograms), units**2/Hz.
    segment_band_power : ndarray, shape (n_segments, n_channels, n_bands)
        Band power of every segment.
    window_psd : ndarray, shape (n_windows, n_channels, n_freqs), or None
        PSD of every sliding window (mean of its segments).
    envelopes : dict of str to ndarray, shape (n_channels, n_env)
        Amplitude envelope of each envelope band.
    """

    psd: np.ndarray
    segment_band_power: np.ndarray
    window_psd: np.ndarray | None
    envelopes: dict[str, np.ndarray]

    @classmethod
    def empty(cls, n_channels: int, layout: Layout) -> SpectralPass:
        n_freqs = layout.freqs.size
        return cls(
            psd=np.empty((n_channels, n_freqs)),
            segment_band_power=np.empty((layout.segment_starts.size, n_channels, len(layout.band_names))),
            window_psd=np.empty((layout.n_windows, n_channels, n_freqs)) if layout.n_windows else None,
            envelopes={name: np.empty((n_channels, size)) for name, size in layout.envelope_sizes.items()},
        )


def spectral_pass(
    data: np.ndarray, params: ResolvedParams, layout: Layout, out: SpectralPass, *, channels: slice
) -> None:
    """Segment periodograms and envelopes of ``data[channels]`` ``(n_channels, n_times)``, into ``out[channels]``.

    One FFT pass gives the segment periodograms; their mean is the PSD, their band sums the segments'
    band powers and their running means every window's PSD. One more real FFT of the block gives every
    band's envelope (:func:`~adhesive_dots.fingerprint.dfa.compute_envelope_array`). Data must be finite.
    """
    block = np.asarray(data[channels], dtype=np.float64)
    power = compute_segment_periodograms_array(
        block,
        layout.fs,
        segment_s=params.segment_s,
        overlap=params.segment_overlap,
        window=params.taper,
        workers=1,
        check_finite=False,
    ).power  # (b, n_segments, n_freqs)
    out.psd[channels] = power.mean(axis=1)
    out.segment_band_power[:, channels] = np.moveaxis(power @ layout.band_matrix, 1, 0)
    if layout.membership is not None:
        out.window_psd[:, channels] = segment_window_means(np.moveaxis(power, 1, 0), layout.membership)
    del power
    if params.envelope_bands:
        spectrum = scipy.fft.rfft(block, axis=-1, workers=1)
        for name, band in params.envelope_bands:
            out.envelopes[name][channels] = compute_envelope_array(block, layout.fs, band=band, spectrum=spectrum)[0]


def compute_channel_features(
    data: np.ndarray,
    params: ResolvedParams,
    layout: Layout,
    *,
    channel_names: Sequence[str],
    units: str = "",
    pool: TaskPool,
    rng: np.random.Generator,
) -> xr.Dataset:
    """Every per-channel feature of ``data`` ``(n_channels, n_times)`` (finite samples at ``layout.fs``).

    Work runs on ``pool`` in two rounds: the broadband DFA (in ``pool.workers`` channel parts) and the
    spectral pass (channel blocks of ``params.block_channels``); then the aperiodic fits of the whole
    record and of the windows, and the envelope DFA. Tasks already on ``pool`` (e.g. the correlation
    structure) run alongside.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Finite samples (float32 is processed in float64 blocks).
    params : ResolvedParams
    layout : Layout
        From :func:`compute_layout` for this record.
    channel_names : sequence of str
    units : str
        Units of the samples (the variables' units attrs).
    pool : TaskPool
    rng : Generator
        Randomness of the non-stationarity surrogates (the same permutations for every block of channels
        when every block gets an identical generator).

    Returns
    -------
    xarray.Dataset
        Variables with a ``channel`` dim (see :func:`~adhesive_dots.fingerprint.compute_fingerprint_array`):
        ``psd``, ``band_power``, ``relative_power``, ``aperiodic_*``, ``peak_*``, ``dfa_*``,
        ``envelope_dfa_*``, ``window_log_band_power``, ``window_aperiodic_exponent``, ``nonstationarity``,
        and ``drift_*`` with 3 windows or more.
    """
    n_channels = data.shape[0]
    fs, freqs = layout.fs, layout.freqs
    spectra = SpectralPass.empty(n_channels, layout)
    parts = np.array_split(np.arange(n_channels), max(1, min(pool.workers, n_channels)))
    dfa_options = {"scales": params.dfa_scales, "fit_range": params.dfa_fit_range, "overlap": params.dfa_overlap}
    # big DFA parts first, then the short spectral blocks, so the threads finish together
    dfa_futures = _submit_dfa(pool, data, fs, parts, dfa_options)
    for c0 in range(0, n_channels, params.block_channels):
        pool.submit(spectral_pass, data, params, layout, spectra, channels=slice(c0, c0 + params.block_channels))
    pool.wait()

    # second round: aperiodic fits (whole record, windows), envelope DFA
    positive = _positive_spectra(freqs, spectra.psd, params.aperiodic_range)
    aperiodic_future = pool.submit(_aperiodic_or_nan, freqs, spectra.psd, positive, params.aperiodic_range, params.knee)
    n_windows = layout.n_windows
    window_futures = _submit_window_fits(pool, freqs, spectra.window_psd, positive, params)
    slow_options = {"scales": params.slow_scales, "fit_range": params.slow_fit_range, "overlap": params.dfa_overlap}
    envelope_futures = {
        name: _submit_dfa(pool, spectra.envelopes[name], layout.envelope_fs[name], parts, slow_options)
        for name, _ in params.envelope_bands
    }
    pool.wait()
    dfa = _join_dfa(dfa_futures)
    aperiodic = aperiodic_future.result()
    envelope_dfa = {name: _join_dfa(futures) for name, futures in envelope_futures.items()}
    window_exponent = _join_window_fits(window_futures, n_channels)

    # spectra: band powers, peak
    bands = params.band_dict
    bp = compute_band_power_array(freqs, spectra.psd, bands=bands)
    if params.peak_range is not None:
        peak = compute_peak_frequency_array(
            freqs,
            spectra.psd,
            freq_range=params.peak_range,
            offset=aperiodic["offset"],
            exponent=aperiodic["exponent"],
        )
        peak_frequency, peak_height = peak.frequency, peak.height
    else:
        peak_frequency = peak_height = np.full(n_channels, np.nan)

    # per-channel dynamics: windowed band powers, non-stationarity, drift
    window_log_power = _window_log_power(spectra, layout, bands)
    if n_windows:
        nonstationarity = compute_nonstationarity_array(
            spectra.segment_band_power, layout.membership, n_surrogates=params.n_surrogates, rng=rng
        )
    else:
        nonstationarity = np.full((n_channels, len(bp.bands)), np.nan)

    ds = xr.Dataset(
        coords={
            "channel": list(channel_names),
            "freq": ("freq", freqs, {"units": "Hz"}),
            "band": list(bp.bands),
            "band_low": ("band", bp.edges[:, 0], {"units": "Hz"}),
            "band_high": ("band", bp.edges[:, 1], {"units": "Hz"}),
            "scale": ("scale", dfa.scales, {"units": "s"}),
            "window": np.arange(n_windows),
            "window_time": (
                "window",
                layout.window_times,
                {"units": "s", "long_name": "window centre from segment start"},
            ),
        }
    )
    put = _putter(ds)
    power_units = f"({units})**2" if units else "units**2"
    put("psd", ("channel", "freq"), spectra.psd, units=f"{power_units}/Hz", long_name="Welch power spectral density")
    put("band_power", ("channel", "band"), bp.absolute, units=power_units)
    put("relative_power", ("channel", "band"), bp.relative, units="1", total_range=list(bp.total_range))
    for key, unit in (
        ("offset", "log10(power)"),
        ("exponent", "1"),
        ("knee", "Hz**exponent"),
        ("r_squared", "1"),
        ("error", "log10(power)"),
    ):
        put(f"aperiodic_{key}", ("channel",), aperiodic[key], units=unit, freq_range=list(params.aperiodic_range))
    put("peak_frequency", ("channel",), peak_frequency, units="Hz")
    put("peak_height", ("channel",), peak_height, units="log10(power)")
    put("dfa_exponent", ("channel",), dfa.exponent, units="1", fit_range=list(dfa.fit_range), overlap=dfa.overlap)
    put("dfa_r_squared", ("channel",), dfa.r_squared, units="1")
    put("dfa_fluctuation", ("channel", "scale"), dfa.fluctuation, units=f"{units or 'units'} x sqrt(samples)")
    if envelope_dfa:
        ds.coords["envelope_band"] = list(envelope_dfa)
        ds.coords["slow_scale"] = ("slow_scale", np.asarray(params.slow_scales), {"units": "s"})
        results = list(envelope_dfa.values())
        put("envelope_dfa_exponent", ("envelope_band", "channel"), [r.exponent for r in results], units="1")
        put("envelope_dfa_r_squared", ("envelope_band", "channel"), [r.r_squared for r in results], units="1")
        put(
            "envelope_dfa_fluctuation",
            ("envelope_band", "channel", "slow_scale"),
            [on_scales(r, params.slow_scales) for r in results],
        )
    put("window_log_band_power", ("window", "channel", "band"), window_log_power, units=f"log10({power_units})")
    put("window_aperiodic_exponent", ("window", "channel"), window_exponent, units="1")
    put(
        "nonstationarity",
        ("channel", "band"),
        nonstationarity,
        units="1",
        long_name="variance of windowed log band power / segment-shuffle surrogate",
    )
    if n_windows >= 3:
        times = layout.window_times
        drift_power = compute_drift_array(times, window_log_power)
        drift_exponent = compute_drift_array(times, window_exponent)
        put("drift_log_band_power", ("channel", "band"), drift_power.slope, units="log10(power)/min")
        put("drift_index_log_band_power", ("channel", "band"), drift_power.index, units="1")
        put("drift_aperiodic_exponent", ("channel",), drift_exponent.slope, units="1/min")
        put("drift_index_aperiodic_exponent", ("channel",), drift_exponent.index, units="1")
    return ds


def join_channel_features(parts: Sequence[xr.Dataset]) -> xr.Dataset:
    """The channel features of consecutive channel blocks as one dataset (blocks in channel order)."""
    if len(parts) == 1:
        return parts[0]
    return xr.concat(
        parts,
        dim="channel",
        data_vars="minimal",
        coords="minimal",
        compat="override",
        join="override",
        combine_attrs="override",
    )


def compute_structure(
    data: np.ndarray, params: ResolvedParams, layout: Layout, *, rng: np.random.Generator
) -> tuple[CorrelationResult | None, np.ndarray]:
    """Whole-record correlation structure and the mean ``|r|`` of every sliding window.

    Up to :data:`WINDOW_BLOCK_CHANNELS` channels, one pass of cross-products between window edges gives
    both; above, :func:`~adhesive_dots.fingerprint.correlation.compute_correlation_array` (low-rank above
    ``params.max_channels``) and the windows' ``|r|`` over a random subset of ``max_channels`` channels.

    Returns
    -------
    structure : CorrelationResult or None
        None for fewer than 2 channels.
    window_corr : ndarray, shape (n_windows,)
        Mean ``|r|`` per window (NaN for fewer than 2 channels).
    """
    n_channels, n_times = data.shape
    starts, length = layout.window_starts, layout.window_length
    window_corr = np.full(starts.size, np.nan)
    if n_channels < 2:
        return None, window_corr
    if n_channels <= WINDOW_BLOCK_CHANNELS:
        # one pass: cross-products of the blocks between window edges; windows add blocks
        edges = np.unique(np.concatenate([[0], starts, starts + length]))
        edges = edges[edges < n_times]
        sums, products = compute_covariance_blocks_array(data, block_starts=edges)
        structure = describe_moments(sums.sum(0), products.sum(0), n_times)
        block_of = {int(e): i for i, e in enumerate(edges)}
        for w, start in enumerate(starts):
            i0, i1 = block_of[int(start)], block_of.get(int(start + length), edges.size)
            corr = correlation_from_moments(sums[i0:i1].sum(0), products[i0:i1].sum(0), length)
            window_corr[w] = mean_abs_offdiagonal(corr)
        return structure, window_corr
    # many channels: per-block products would not fit; windows use (a subset of) channels
    structure = compute_correlation_array(data, max_channels=params.max_channels, rng=rng)
    subset = np.arange(n_channels)
    if n_channels > params.max_channels:
        subset = np.sort(rng.choice(n_channels, size=params.max_channels, replace=False))
    return structure, window_mean_abs_correlation(data[subset], starts, length)


def compute_population_dfa(signal: np.ndarray, fs: float, params: ResolvedParams) -> DfaResult:
    """DFA of the population signal ``(n_times,)`` at ``fs`` on the slow scales of ``params``."""
    return compute_dfa_array(
        signal, fs, scales=params.slow_scales, fit_range=params.slow_fit_range, overlap=params.dfa_overlap
    )


@dataclass(frozen=True)
class StateDynamics:
    """Dynamics across channels (see :func:`compute_state_dynamics`).

    Attributes
    ----------
    state_names : tuple of str
        ``log_power_<band>`` per band, ``aperiodic_exponent``, ``mean_abs_correlation``.
    state : ndarray, shape (n_windows, n_state)
        The state trajectory: medians over channels of the windowed log band powers and exponents, and
        the windows' mean ``|r|``.
    drift_correlation : float or None
        Drift (per minute) of the windows' mean ``|r|`` (None: fewer than 3 windows or 2 channels).
    arousal_names : tuple of str
    arousal_windows : ndarray, shape (n_arousal, n_windows)
        Each arousal signal averaged over the windows.
    coupling : ndarray, shape (n_arousal, n_state)
        Pearson r of each state feature with each arousal signal.
    """

    state_names: tuple[str, ...]
    state: np.ndarray
    drift_correlation: float | None
    arousal_names: tuple[str, ...]
    arousal_windows: np.ndarray
    coupling: np.ndarray


def compute_state_dynamics(
    window_log_power: np.ndarray,
    window_exponent: np.ndarray,
    layout: Layout,
    *,
    window_corr: np.ndarray | None,
    arousal: Mapping[str, tuple[np.ndarray, float]] | None = None,
) -> StateDynamics:
    """State trajectory, drift of the windows' mean ``|r|`` and arousal coupling, from the per-channel windows.

    Parameters
    ----------
    window_log_power : ndarray, shape (n_windows, n_channels, n_bands)
        log10 band power of every window and channel (bands ``layout.band_names``).
    window_exponent : ndarray, shape (n_windows, n_channels)
        Aperiodic exponent of every window and channel.
    layout : Layout
    window_corr : ndarray, shape (n_windows,), or None
        The windows' mean ``|r|`` (None: not computed).
    arousal : dict of str to (values, fs), optional
        Arousal signals over the same span.
    """
    n_windows, n_channels = window_exponent.shape
    names = tuple(f"log_power_{b}" for b in layout.band_names) + ("aperiodic_exponent", "mean_abs_correlation")
    corr = np.full(n_windows, np.nan) if window_corr is None else np.asarray(window_corr, dtype=float)
    if n_windows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (flat channels) give NaN
            state = np.column_stack(
                [np.nanmedian(window_log_power, axis=1), np.nanmedian(window_exponent, axis=1), corr]
            )
    else:
        state = np.zeros((0, len(names)))
    drift = None
    if window_corr is not None and n_windows >= 3 and n_channels >= 2:
        drift = float(compute_drift_array(layout.window_times, corr).slope)
    arousal = dict(arousal or {})
    coupling = np.full((len(arousal), len(names)), np.nan)
    windows = np.full((len(arousal), n_windows), np.nan)
    starts_s, length_s = layout.window_starts / layout.fs, layout.window_length / layout.fs
    for i, (values, signal_fs) in enumerate(arousal.values()):
        windows[i] = window_average(values, signal_fs, starts_s, length_s)
        coupling[i] = compute_arousal_coupling_array(state, windows[i])
    return StateDynamics(names, state, drift, tuple(arousal), windows, coupling)


def compute_window_states(
    data: np.ndarray,
    fs: float,
    params: ResolvedParams,
    *,
    workers: int = 1,
    rng: np.random.Generator | int | None = None,
) -> xr.DataArray:
    """The state trajectory a fingerprint with ``params`` stores (its ``state``), without the rest of it.

    The same stages on the same windows: the spectral pass (no envelopes), the windows' aperiodic fits,
    band powers and mean ``|r|`` (:func:`compute_structure`), so the values equal the fingerprint's.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Finite samples at ``fs`` Hz.
    fs : float
    params : ResolvedParams
        Resolved for this record.
    workers : int
        Threads (results do not depend on it).
    rng : Generator, int or None
        As the fingerprint's ``rng`` (the channel subset of the windows' ``|r|`` above ``max_channels``).

    Returns
    -------
    xarray.DataArray, dims (window, state_feature)
        With coordinate ``window_time`` (s, window centres).
    """
    n_channels, n_times = data.shape
    params = dataclasses.replace(params, envelope_bands=())
    layout = compute_layout(params, fs, n_times)
    rng_correlation, _ = fingerprint_streams(rng)
    spectra = SpectralPass.empty(n_channels, layout)
    with TaskPool(workers) as pool:
        structure = pool.submit(compute_structure, data, params, layout, rng=rng_correlation)
        for c0 in range(0, n_channels, params.block_channels):
            pool.submit(spectral_pass, data, params, layout, spectra, channels=slice(c0, c0 + params.block_channels))
        pool.wait()
        positive = _positive_spectra(layout.freqs, spectra.psd, params.aperiodic_range)
        window_fits = _submit_window_fits(pool, layout.freqs, spectra.window_psd, positive, params)
        pool.wait()
    dynamics = compute_state_dynamics(
        _window_log_power(spectra, layout, params.band_dict),
        _join_window_fits(window_fits, n_channels),
        layout,
        window_corr=structure.result()[1],
    )
    return xr.DataArray(
        dynamics.state,
        dims=("window", "state_feature"),
        coords={
            "window": np.arange(layout.n_windows),
            "window_time": ("window", layout.window_times, {"units": "s"}),
            "state_feature": list(dynamics.state_names),
        },
        name="state",
    )


def assemble_fingerprint(
    channels: xr.Dataset,
    params: ResolvedParams,
    layout: Layout,
    *,
    structure: CorrelationResult | None = None,
    window_corr: np.ndarray | None = None,
    population_dfa: DfaResult | None = None,
    population_signal: str = "mean over channels",
    spiking: SpikingResult | None = None,
    arousal: Mapping[str, tuple[np.ndarray, float]] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The fingerprint's dataset: channel features, structure, population DFA, spiking, dynamics, summary.

    Parameters
    ----------
    channels : xarray.Dataset
        From :func:`compute_channel_features` (joined over blocks with :func:`join_channel_features`).
    params : ResolvedParams
        Stored as the ``parameters`` attribute (JSON, with the envelopes' rates).
    layout : Layout
    structure : CorrelationResult, optional
        The correlation structure (None: left out).
    window_corr : ndarray, shape (n_windows,), optional
        The windows' mean ``|r|`` (None: not computed; NaN in the dataset).
    population_dfa : DfaResult, optional
        DFA of the population signal, described as ``population_signal``.
    spiking : SpikingResult, optional
    arousal : dict of str to (values, fs), optional
    attrs : dict, optional
        Provenance attributes (``source``, ``modality``, ``units`` ...), added to the computed ones.

    Returns
    -------
    xarray.Dataset
        See :func:`~adhesive_dots.fingerprint.compute_fingerprint_array`.
    """
    ds = channels.copy()
    dynamics = compute_state_dynamics(
        channels["window_log_band_power"].values,
        channels["window_aperiodic_exponent"].values,
        layout,
        window_corr=window_corr,
        arousal=arousal,
    )
    ds = ds.assign_coords(
        state_feature=list(dynamics.state_names),
        arousal=list(dynamics.arousal_names),
        feature=list(SUMMARY_NAMES),
        feature_unit=("feature", [unit for _, unit, _ in SUMMARY_FIELDS]),
    )
    put = _putter(ds)
    if population_dfa is not None:
        if "slow_scale" not in ds.coords:
            ds.coords["slow_scale"] = ("slow_scale", np.asarray(params.slow_scales), {"units": "s"})
        put("population_dfa_exponent", (), population_dfa.exponent, units="1", signal=population_signal)
        put("population_dfa_r_squared", (), population_dfa.r_squared, units="1")
        put("population_dfa_fluctuation", ("slow_scale",), on_scales(population_dfa, params.slow_scales))
    if structure is not None:
        if structure.matrix is not None:
            ds.coords["channel_b"] = ("channel_b", ds["channel"].values)
            put("correlation", ("channel", "channel_b"), structure.matrix, units="1")
        put("eigenvalues", ("component",), structure.eigenvalues, units="1", exact=int(structure.exact))
        put(
            "eigenspectrum_exponent",
            (),
            structure.eigenspectrum_exponent,
            units="1",
            rank_range=list(structure.rank_range),
            r_squared=structure.eigenspectrum_r_squared,
        )
        put("participation_ratio", (), structure.participation_ratio, units="1")
        put("eigenspectrum_knee", (), structure.knee, units="1", long_name="rank of the largest eigenvalue gap")
        put("mean_abs_correlation", (), structure.mean_abs_correlation, units="1")
    put("window_mean_abs_correlation", ("window",), dynamics.state[:, -1], units="1")
    put("state", ("window", "state_feature"), dynamics.state, long_name="state trajectory (medians over channels)")
    if dynamics.drift_correlation is not None:
        put("drift_mean_abs_correlation", (), dynamics.drift_correlation, units="1/min")
    put("arousal_windows", ("arousal", "window"), dynamics.arousal_windows)
    put("arousal_coupling", ("arousal", "state_feature"), dynamics.coupling, units="1", long_name="Pearson r")
    if spiking is not None:
        ds.coords["unit"] = np.arange(len(spiking.rate))
        put("spike_rate", ("unit",), spiking.rate, units="Hz")
        put("isi_cv", ("unit",), spiking.isi_cv, units="1")
        put("fano_factor", ("unit",), spiking.fano_factor, units="1", bin_s=spiking.bin_s)
        put("population_coupling", ("unit",), spiking.population_coupling, units="1", bin_s=spiking.coupling_bin_s)
    put("summary", ("feature",), summary_from_dataset(ds), long_name="fixed-length summary vector (see SUMMARY_FIELDS)")
    positive = _positive_spectra(layout.freqs, ds["psd"].values, params.aperiodic_range)
    from adhesive_dots import __version__

    ds.attrs.update(dict(attrs or {}))
    ds.attrs.update(
        {
            "fs": layout.fs,
            "n_times": layout.n_times,
            "duration_s": layout.n_times / layout.fs,
            "parameters": json.dumps({**params.to_dict(), "envelope_fs": layout.envelope_fs}),
            "adhesive_dots_version": __version__,
            "numpy_version": np.__version__,
            "scipy_version": scipy.__version__,
            "xarray_version": xr.__version__,
            "flat_channels": json.dumps(
                [str(n) for n, ok in zip(ds["channel"].values, positive, strict=True) if not ok]
            ),
        }
    )
    return ds


def summary_from_dataset(ds: xr.Dataset) -> np.ndarray:
    """The fixed-length summary vector (:data:`~adhesive_dots.fingerprint.SUMMARY_FIELDS`) of a fingerprint's
    dataset, from its variables alone (so every path that builds the dataset gets the same summary).

    Returns
    -------
    ndarray, shape (n_features,)
        float64; NaN where a feature does not apply.
    """
    n_channels = ds.sizes["channel"]
    relative = {str(b): _nanmedian(ds["relative_power"].sel(band=b)) for b in ds["band"].values}
    if "envelope_dfa_exponent" in ds and ds.sizes["envelope_band"]:
        slow = _nanmedian(ds["envelope_dfa_exponent"].isel(envelope_band=0))
    elif "population_dfa_exponent" in ds:
        slow = float(ds["population_dfa_exponent"])
    else:
        slow = float("nan")

    def scalar(name: str) -> float:
        return float(ds[name]) if name in ds else float("nan")

    drift = float("nan")
    if "drift_index_log_band_power" in ds:
        indices = [ds["drift_index_log_band_power"].values.ravel(), ds["drift_index_aperiodic_exponent"].values.ravel()]
        drift = _nanmedian(np.concatenate(indices))
    window_exponent = ds["window_aperiodic_exponent"].values
    variability = float("nan")
    if len(window_exponent) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows (every channel flat)
            variability = float(np.nanstd(np.nanmedian(window_exponent, axis=1)))
    coupling = ds["arousal_coupling"].values
    values = {
        "aperiodic_exponent": _nanmedian(ds["aperiodic_exponent"]),
        "aperiodic_r_squared": _nanmedian(ds["aperiodic_r_squared"]),
        "peak_frequency": _nanmedian(ds["peak_frequency"]),
        "peak_height": _nanmedian(ds["peak_height"]),
        **{f"relative_power_{b}": relative.get(b, float("nan")) for b in DEFAULT_BANDS},
        "dfa_broadband": _nanmedian(ds["dfa_exponent"]),
        "dfa_slow": slow,
        "mean_abs_correlation": scalar("mean_abs_correlation"),
        "participation_fraction": scalar("participation_ratio") / n_channels,
        "eigenspectrum_exponent": scalar("eigenspectrum_exponent"),
        "nonstationarity": _nanmedian(np.log10(np.asarray(ds["nonstationarity"]))),
        "drift": drift,
        "exponent_variability": variability,
        "arousal_coupling": float(np.nanmax(np.abs(coupling))) if np.isfinite(coupling).any() else float("nan"),
    }
    return np.array([values[name] for name in SUMMARY_NAMES], dtype=float)


def fingerprint_streams(rng: np.random.Generator | int | None) -> tuple[np.random.Generator, np.random.Generator]:
    """The independent random streams of a fingerprint: (channel subsets of the structure, surrogates).

    The same seed gives the same streams on every path (each block of the streamed fingerprint draws the
    same surrogate permutations as the in-memory fingerprint), whatever the threads.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    correlation, surrogates = rng.spawn(2)
    return correlation, surrogates


def on_scales(result: DfaResult, scales: Sequence[float]) -> np.ndarray:
    """DFA fluctuations on the scale grid ``scales`` (s; NaN where a scale rounded onto the same window)."""
    out = np.full((*result.fluctuation.shape[:-1], len(scales)), np.nan)
    for j, s in enumerate(scales):
        match = np.flatnonzero(np.isclose(result.scales, s, rtol=0.02))
        if match.size:
            out[..., j] = result.fluctuation[..., match[0]]
    return out


def _submit_window_fits(
    pool: TaskPool, freqs: np.ndarray, window_psd: np.ndarray | None, positive: np.ndarray, params: ResolvedParams
) -> list[Future]:
    """Aperiodic fits (no knee) of the windows' spectra, in ``pool.workers`` parts of windows."""
    if window_psd is None:
        return []
    n_windows = window_psd.shape[0]
    return [
        pool.submit(_aperiodic_or_nan, freqs, window_psd[part], positive[None, :], params.aperiodic_range, False)
        for part in np.array_split(np.arange(n_windows), max(1, min(pool.workers, n_windows)))
        if part.size
    ]


def _join_window_fits(futures: list[Future], n_channels: int) -> np.ndarray:
    """The windows' aperiodic exponents ``(n_windows, n_channels)`` from :func:`_submit_window_fits`."""
    if not futures:
        return np.zeros((0, n_channels))
    return np.concatenate([future.result()["exponent"] for future in futures])


def _window_log_power(spectra: SpectralPass, layout: Layout, bands: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """log10 band powers of the windows ``(n_windows, n_channels, n_bands)``."""
    if spectra.window_psd is None:
        return np.zeros((0, spectra.psd.shape[0], len(layout.band_names)))
    window_bp = compute_band_power_array(layout.freqs, spectra.window_psd, bands=bands)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(window_bp.absolute)


def _putter(ds: xr.Dataset) -> Callable[..., None]:
    def put(name: str, dims: tuple[str, ...], values: Any, **attrs: Any) -> None:
        ds[name] = (dims, np.asarray(values, dtype=float), attrs)

    return put


def _submit_dfa(pool: TaskPool, data: np.ndarray, fs: float, parts: list[np.ndarray], options: dict) -> list[Future]:
    """DFA of the channel ranges ``parts`` (consecutive indices) as separate tasks."""
    return [
        pool.submit(compute_dfa_array, data[p[0] : p[-1] + 1], fs, check_finite=False, **options)
        for p in parts
        if p.size
    ]


def _join_dfa(futures: list[Future]) -> DfaResult:
    """One DFA result from the results over consecutive channel ranges (same scales)."""
    parts = [future.result() for future in futures]
    if len(parts) == 1:
        return parts[0]
    join = {key: np.concatenate([getattr(p, key) for p in parts]) for key in ("exponent", "intercept", "r_squared")}
    return DfaResult(
        fluctuation=np.concatenate([p.fluctuation for p in parts]),
        scales=parts[0].scales,
        window_lengths=parts[0].window_lengths,
        fit_range=parts[0].fit_range,
        overlap=parts[0].overlap,
        **join,
    )


def _positive_spectra(freqs: np.ndarray, psd: np.ndarray, freq_range: tuple[float, float]) -> np.ndarray:
    """Channels whose spectrum is positive over the aperiodic fit range (others are flat)."""
    return np.all(psd[:, (freqs >= freq_range[0]) & (freqs <= freq_range[1])] > 0, axis=-1)


def _aperiodic_or_nan(freqs, psd, positive, freq_range, knee) -> dict[str, np.ndarray]:
    """Aperiodic fit where the spectrum is positive (NaN on flat channels)."""
    keys = ("offset", "exponent", "knee", "r_squared", "error")
    out = {k: np.full(psd.shape[:-1], np.nan) for k in keys}
    mask = np.broadcast_to(positive, psd.shape[:-1])
    if mask.any():
        fit = compute_aperiodic_array(freqs, psd[mask], freq_range=freq_range, knee=knee)
        for k in keys:
            out[k][mask] = getattr(fit, k)
    return out


def _nanmedian(values: Any) -> float:
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


__all__ = [
    "WINDOW_BLOCK_CHANNELS",
    "Layout",
    "SpectralPass",
    "StateDynamics",
    "TaskPool",
    "assemble_fingerprint",
    "compute_channel_features",
    "compute_layout",
    "compute_population_dfa",
    "compute_state_dynamics",
    "compute_structure",
    "compute_window_states",
    "fingerprint_streams",
    "join_channel_features",
    "on_scales",
    "spectral_pass",
    "summary_from_dataset",
]
