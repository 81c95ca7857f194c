"""The whole fingerprint: :func:`compute_fingerprint_array` (arrays) and :func:`fingerprint` (a Baseline)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import scipy
import scipy.fft
import xarray as xr
from threadpoolctl import threadpool_limits

from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data, _check_fs
from adhesive_dots.fingerprint._container import SUMMARY_FIELDS, SUMMARY_NAMES, Fingerprint
from adhesive_dots.fingerprint.aperiodic import compute_aperiodic_array
from adhesive_dots.fingerprint.correlation import (
    MAX_CHANNELS,
    compute_correlation_array,
    compute_covariance_blocks_array,
    correlation_from_moments,
    describe_moments,
    mean_abs_offdiagonal,
    window_mean_abs_correlation,
)
from adhesive_dots.fingerprint.dfa import (
    ENVELOPE_MIN_CYCLES,
    DfaResult,
    _dfa,
    compute_dfa_array,
    compute_envelope_array,
    default_scales,
    envelope_length,
)
from adhesive_dots.fingerprint.dynamics import (
    DEFAULT_WINDOW_OVERLAP,
    DEFAULT_WINDOW_S,
    compute_arousal_coupling_array,
    compute_drift_array,
    compute_nonstationarity_array,
    segment_membership,
    segment_window_means,
    sliding_windows,
    window_average,
)
from adhesive_dots.fingerprint.spectral import (
    DEFAULT_BANDS,
    DEFAULT_SEGMENT_S,
    _band_masks,
    _segment_parameters,
    _segment_periodograms,
    compute_band_power_array,
    compute_peak_frequency_array,
)
from adhesive_dots.fingerprint.spiking import compute_spiking_array
from adhesive_dots.metadata import Modality

CONTINUOUS = {Modality.EEG, Modality.MEG, Modality.IEEG, Modality.LFP}
HUMAN_PEAK_RANGE = (7.0, 14.0)
ANIMAL_PEAK_RANGE = (4.0, 12.0)
DEFAULT_ENVELOPE_BANDS = {"alpha": (8.0, 13.0), "beta": (13.0, 30.0)}
"""Envelope bands of EEG, MEG and iEEG (Hz)."""
LFP_ENVELOPE_BANDS = {"theta": (4.0, 10.0), "beta": (13.0, 30.0)}
"""Envelope bands of (animal) LFP: theta is the dominant rhythm of rodent hippocampus and cortex."""
SLOW_FIT_MIN_S = 5.0
"""Lower end of the default fit range of envelope and population DFA, in s (Linkenkaer-Hansen et al.
2001): shorter scales reflect the band-pass and the smoothness of the envelope, not its LRTC."""
BLOCK_SAMPLES = 4_800_000
"""Default samples (channels x times) per block of the spectral pass (8 channels of 10 min at 1 kHz)."""
WINDOW_BLOCK_CHANNELS = 512
"""Up to this many channels, windowed correlations reuse per-block cross-products (n_blocks x C x C)."""
AROUSAL_NAMES = ("pupil_diameter", "pupil", "running_speed", "running", "locomotion", "whisking")
"""Auxiliary signals of a recording treated as arousal measures (by name)."""


def _version() -> str:
    from adhesive_dots import __version__

    return __version__


def _defaults(modality: Modality, fs: float, n_channels: int) -> dict[str, Any]:
    nyquist = fs / 2.0
    if modality in CONTINUOUS and fs >= 80:
        candidates = LFP_ENVELOPE_BANDS if modality == Modality.LFP else DEFAULT_ENVELOPE_BANDS
        envelope_bands = {k: v for k, v in candidates.items() if v[1] < nyquist}
    else:
        envelope_bands = {}
    if modality in (Modality.EEG, Modality.MEG, Modality.IEEG, Modality.OTHER):
        peak_range = HUMAN_PEAK_RANGE  # the peak alpha frequency
    elif modality == Modality.LFP:
        peak_range = ANIMAL_PEAK_RANGE  # theta / low-frequency peak of rodent LFP
    else:
        peak_range = None  # calcium, spikes, fMRI: no oscillatory peak in the spectrum's reach
    if peak_range is not None and peak_range[1] >= 0.8 * nyquist:
        peak_range = None
    high = min(40.0, 0.8 * nyquist)
    return {
        "envelope_bands": envelope_bands,
        "peak_range": peak_range,
        "aperiodic_range": (1.0, high),
        "population": modality in (Modality.CALCIUM, Modality.SPIKES) and n_channels > 1,
    }


def compute_fingerprint_array(
    data: np.ndarray,
    fs: float,
    *,
    channel_names: Sequence[str] | None = None,
    modality: Modality | str = Modality.OTHER,
    units: str = "",
    bands: Mapping[str, tuple[float, float]] | None = None,
    segment_s: float = DEFAULT_SEGMENT_S,
    segment_overlap: float = 0.5,
    window: str = "hann",
    aperiodic_range: tuple[float, float] | None = None,
    knee: bool = False,
    peak_range: tuple[float, float] | None | str = "auto",
    envelope_bands: Mapping[str, tuple[float, float]] | None | str = "auto",
    population: bool | str = "auto",
    dfa_scales: np.ndarray | None = None,
    slow_scales: np.ndarray | None = None,
    slow_fit_range: tuple[float, float] | None = None,
    dfa_overlap: float = 0.5,
    window_s: float = DEFAULT_WINDOW_S,
    window_overlap: float = DEFAULT_WINDOW_OVERLAP,
    n_surrogates: int = 20,
    max_channels: int = MAX_CHANNELS,
    spike_times: Sequence[np.ndarray] | None = None,
    spike_interval: tuple[float, float] | None = None,
    arousal: Mapping[str, tuple[np.ndarray, float]] | None = None,
    block_channels: int | None = None,
    correlation: bool = True,
    workers: int = 2,
    source: str = "<array>",
    rng: np.random.Generator | int | None = None,
) -> Fingerprint:
    """The fingerprint of signals ``(n_channels, n_times)`` sampled at ``fs``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        The baseline's samples (float32 input is processed in float64 blocks).
    fs : float
        Sampling rate in Hz.
    channel_names : sequence of str, optional
        One name per channel (default ``ch000`` ...).
    modality : Modality or str
        Chooses the defaults: envelope bands (alpha, beta) and peak range (7-14 Hz) for EEG/MEG/iEEG;
        4-12 Hz peaks for LFP; the population signal's DFA for calcium and spikes.
    units : str
        Units of the samples (provenance).
    bands : dict, optional
        Frequency bands in Hz, half-open (default :data:`~adhesive_dots.fingerprint.spectral.DEFAULT_BANDS`).
    segment_s, segment_overlap, window
        Welch segments (s), their overlap fraction and taper.
    aperiodic_range : (low, high), optional
        Aperiodic fit range in Hz (default 1 Hz to min(40 Hz, 0.8 x Nyquist)).
    knee : bool
        Fit the aperiodic knee too.
    peak_range : (low, high), None or "auto"
        Peak-frequency search range in Hz; None skips it.
    envelope_bands : dict, None or "auto"
        Bands whose amplitude envelopes get a DFA; None or {} skips them.
    population : bool or "auto"
        DFA of the population signal (mean over channels; summed spike rate when ``spike_times``).
    dfa_scales, slow_scales : ndarray, optional
        DFA window lengths in s for broadband signals and for envelopes/population signals
        (default log-spaced from 0.1 s, resp. 1 s, to a tenth of the record).
    slow_fit_range : (low, high), optional
        Fit range in s of the envelope and population DFA (default :data:`SLOW_FIT_MIN_S` to the
        longest scale).
    dfa_overlap : float
        Overlap fraction of DFA windows.
    window_s, window_overlap
        Sliding windows of the dynamics (s, fraction).
    n_surrogates : int
        Shuffles of the non-stationarity index.
    max_channels : int
        Above this many channels the correlation matrix is not formed (low-rank description).
    spike_times : sequence of ndarray, optional
        Spike times (s, relative to the data's first sample) per unit: adds spiking statistics.
    spike_interval : (start, stop), optional
        The interval of ``spike_times`` in s (default the data's span).
    arousal : dict of str to (values, fs), optional
        Arousal signals (e.g. pupil diameter, running speed) over the same span, for the coupling.
    block_channels : int, optional
        Channels per block of the spectral pass (bounds the extra memory); default about
        :data:`BLOCK_SAMPLES` samples per block.
    correlation : bool
        Compute the correlation structure and the windows' mean ``|r|`` (False leaves them out, e.g. when
        :func:`~adhesive_dots.fingerprint.streaming.fingerprint_streaming` computes them across channel blocks).
    workers : int
        Threads for the per-channel work (DFA of channel halves, correlations, spectral blocks, then
        aperiodic fits and envelope DFA), BLAS one thread each meanwhile. Results do not depend on it.
    source : str
        Where the data come from (provenance and messages).
    rng : Generator, int or None
        Randomness of the surrogates and of the channel subsets.

    Returns
    -------
    Fingerprint
        ``fingerprint.dataset`` holds (dims in brackets; units in each variable's attrs):

        * spectra: ``psd`` [channel, freq], ``band_power``, ``relative_power`` [channel, band],
          ``aperiodic_offset|exponent|knee|r_squared|error``, ``peak_frequency``, ``peak_height`` [channel];
        * LRTC: ``dfa_exponent``, ``dfa_r_squared`` [channel], ``dfa_fluctuation`` [channel, scale];
          ``envelope_dfa_exponent|r_squared`` [envelope_band, channel] and ``envelope_dfa_fluctuation``
          [envelope_band, channel, slow_scale]; ``population_dfa_*`` (calcium, spikes);
        * correlation: ``correlation`` [channel, channel_b] (up to ``max_channels``), ``eigenvalues``
          [component], ``eigenspectrum_exponent``, ``eigenspectrum_knee``, ``participation_ratio``,
          ``mean_abs_correlation``;
        * dynamics: ``window_log_band_power`` [window, channel, band], ``window_aperiodic_exponent``
          [window, channel], ``window_mean_abs_correlation`` [window], ``state`` [window, state_feature],
          ``nonstationarity`` [channel, band], ``drift_*``, ``arousal_windows`` [arousal, window],
          ``arousal_coupling`` [arousal, state_feature];
        * spiking (with ``spike_times``): ``spike_rate``, ``isi_cv``, ``fano_factor``,
          ``population_coupling`` [unit];
        * ``summary`` [feature]: the fixed-length vector (:data:`SUMMARY_FIELDS`).
    """
    fs = _check_fs(fs)
    data = _check_data(data, name=f"{source} data", min_times=4)
    if data.ndim == 1:
        data = data[np.newaxis]
    if data.ndim != 2:
        raise DataError(f"{source}: data must be (n_channels, n_times), got shape {data.shape}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    rng_correlation, rng_surrogates = rng.spawn(2)  # independent streams: results do not depend on threads
    modality = Modality(modality)
    n_channels, n_times = data.shape
    duration = n_times / fs
    names = [f"ch{i:03d}" for i in range(n_channels)] if channel_names is None else [str(c) for c in channel_names]
    if len(names) != n_channels:
        raise DataError(f"{source}: {len(names)} channel names for {n_channels} channels")
    defaults = _defaults(modality, fs, n_channels)
    bands = dict(DEFAULT_BANDS if bands is None else bands)
    envelope_bands = defaults["envelope_bands"] if envelope_bands == "auto" else dict(envelope_bands or {})
    peak_range = defaults["peak_range"] if peak_range == "auto" else peak_range
    aperiodic_range = defaults["aperiodic_range"] if aperiodic_range is None else aperiodic_range
    population = (defaults["population"] or spike_times is not None) if population == "auto" else bool(population)

    # -- windows of the dynamics ---------------------------------------------------------------
    if duration >= window_s:
        win_starts, win_len = sliding_windows(n_times, fs, window_s=window_s, overlap=window_overlap)
    else:
        win_starts, win_len = np.zeros(0, dtype=int), int(round(window_s * fs))
    n_windows = win_starts.size

    # -- spectrogram layout, shared by every channel block ------------------------------------------
    nperseg, seg_step = _segment_parameters(fs, n_times, segment_s, segment_overlap)
    seg_starts = np.arange((n_times - nperseg) // seg_step + 1) * seg_step
    freqs = np.fft.rfftfreq(nperseg, 1.0 / fs)
    band_names, masks, _ = _band_masks(freqs, bands)
    band_matrix = masks.T.astype(float) * float(freqs[1] - freqs[0])
    membership = segment_membership(seg_starts, nperseg, win_starts, win_len) if n_windows else None
    psd = np.empty((n_channels, freqs.size))
    segment_band_power = np.empty((seg_starts.size, n_channels, len(band_names)))
    window_psd = np.empty((n_windows, n_channels, freqs.size)) if n_windows else None
    envelope_sizes = {name: envelope_length(n_times, fs, band) for name, band in envelope_bands.items()}
    envelope_fs = {name: size * fs / n_times for name, size in envelope_sizes.items()}
    envelopes = {name: np.empty((n_channels, size)) for name, size in envelope_sizes.items()}

    def spectral_block(c0: int, c1: int) -> None:
        """Segment periodograms (PSD, band powers per segment, window PSDs) and envelopes of channels c0:c1."""
        block = np.asarray(data[c0:c1], dtype=np.float64)
        power = _segment_periodograms(
            block, fs, segment_s=segment_s, overlap=segment_overlap, window=window, workers=1
        ).power  # (b, n_segments, n_freqs)
        psd[c0:c1] = power.mean(axis=1)
        segment_band_power[:, c0:c1] = np.moveaxis(power @ band_matrix, 1, 0)
        if membership is not None:
            window_psd[:, c0:c1] = segment_window_means(np.moveaxis(power, 1, 0), membership)
        del power
        if envelope_bands:
            spectrum = scipy.fft.rfft(block, axis=-1, workers=1)
            for name, band in envelope_bands.items():
                envelopes[name][c0:c1] = compute_envelope_array(block, fs, band=band, spectrum=spectrum)[0]

    # -- the per-channel work, on `workers` threads (NumPy, SciPy and BLAS release the GIL) ---------
    # big DFA parts first, then the short spectral blocks, so the threads finish together
    step = max(1, BLOCK_SAMPLES // n_times if block_channels is None else int(block_channels))
    dfa_parts = np.array_split(np.arange(n_channels), max(1, min(workers, n_channels)))
    with _Pool(workers) as pool:
        dfa_futures = _submit_dfa(pool, data, fs, dfa_parts, scales=dfa_scales, overlap=dfa_overlap)
        if correlation:
            corr_future = pool.submit(_correlation_pass, data, win_starts, win_len, max_channels, rng_correlation)
        for c0 in range(0, n_channels, step):
            pool.submit(spectral_block, c0, min(n_channels, c0 + step))
        pool.wait()

        # -- second round: aperiodic fits (whole record, windows), envelope and population DFA ----------
        positive = np.all(psd[:, (freqs >= aperiodic_range[0]) & (freqs <= aperiodic_range[1])] > 0, axis=-1)
        aperiodic_future = pool.submit(_aperiodic_or_nan, freqs, psd, positive, aperiodic_range, knee)
        window_ap_futures = [
            pool.submit(_aperiodic_or_nan, freqs, window_psd[part], positive[None, :], aperiodic_range, False)
            for part in np.array_split(np.arange(n_windows), max(1, min(workers, n_windows)))
            if part.size
        ]
        slow_scales, slow_fit_range = slow_grid(
            fs, duration, envelope_bands=envelope_bands, envelope_fs=envelope_fs, population=population,
            spikes=spike_times is not None, slow_scales=slow_scales, slow_fit_range=slow_fit_range,
        )  # fmt: skip
        envelope_futures = {
            name: _submit_dfa(
                pool,
                envelopes[name],
                envelope_fs[name],
                dfa_parts,
                scales=slow_scales,
                fit_range=slow_fit_range,
                overlap=dfa_overlap,
            )
            for name in envelope_bands
        }
        spiking = None
        population_dfa = None
        if spike_times is not None:
            interval = (0.0, duration) if spike_interval is None else spike_interval
            spiking = compute_spiking_array(spike_times, start=interval[0], stop=interval[1])
            if population:
                population_dfa = compute_dfa_array(
                    spiking.population_rate,
                    spiking.population_fs,
                    scales=slow_scales,
                    fit_range=slow_fit_range,
                    overlap=dfa_overlap,
                )
        elif population:
            mean_signal = data.mean(axis=0, dtype=np.float64)
            population_dfa = compute_dfa_array(
                mean_signal, fs, scales=slow_scales, fit_range=slow_fit_range, overlap=dfa_overlap
            )
        pool.wait()
        dfa = _concatenate_dfa(dfa_futures)
        corr_result, window_corr = corr_future.result() if correlation else (None, np.full(n_windows, np.nan))
        aperiodic = aperiodic_future.result()
        envelope_dfa = {name: _concatenate_dfa(futures) for name, futures in envelope_futures.items()}
        if n_windows:
            parts = [f.result() for f in window_ap_futures]
            window_ap = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    # -- spectra: band powers, peak -----------------------------------------------------------------
    bp = compute_band_power_array(freqs, psd, bands=bands)
    if peak_range is not None:
        peak = compute_peak_frequency_array(
            freqs, psd, freq_range=peak_range, offset=aperiodic["offset"], exponent=aperiodic["exponent"]
        )
        peak_frequency, peak_height = peak.frequency, peak.height
    else:
        peak_frequency = peak_height = np.full(n_channels, np.nan)

    # -- dynamics ---------------------------------------------------------------------------------
    win_time = (win_starts + win_len / 2.0) / fs
    if n_windows:
        window_bp = compute_band_power_array(freqs, window_psd, bands=bands)
        with np.errstate(divide="ignore", invalid="ignore"):
            window_log_power = np.log10(window_bp.absolute)  # (W, C, B)
        nonstationarity = compute_nonstationarity_array(
            segment_band_power, membership, n_surrogates=n_surrogates, rng=rng_surrogates
        )
    else:
        window_log_power = np.zeros((0, n_channels, len(bp.bands)))
        window_ap = {"exponent": np.zeros((0, n_channels))}
        nonstationarity = np.full((n_channels, len(bp.bands)), np.nan)
    if n_windows >= 3:
        drift_power = compute_drift_array(win_time, window_log_power)
        drift_exponent = compute_drift_array(win_time, window_ap["exponent"])
        drift_corr = compute_drift_array(win_time, window_corr) if n_channels >= 2 and correlation else None
    else:
        drift_power = drift_exponent = drift_corr = None
    state_names = [f"log_power_{b}" for b in bp.bands] + ["aperiodic_exponent", "mean_abs_correlation"]
    if n_windows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (flat channels) give NaN
            state = np.column_stack(
                [np.nanmedian(window_log_power, axis=1), np.nanmedian(window_ap["exponent"], axis=1), window_corr]
            )
    else:
        state = np.zeros((0, len(state_names)))
    arousal = dict(arousal or {})
    arousal_names = list(arousal)
    coupling = np.full((len(arousal_names), len(state_names)), np.nan)
    arousal_windows = np.full((len(arousal_names), n_windows), np.nan)
    for i, name in enumerate(arousal_names):
        values, signal_fs = arousal[name]
        arousal_windows[i] = window_average(values, signal_fs, win_starts / fs, win_len / fs)
        coupling[i] = compute_arousal_coupling_array(state, arousal_windows[i])

    # -- the dataset ------------------------------------------------------------------------------
    parameters = {
        "bands": {k: list(v) for k, v in bands.items()},
        "segment_s": segment_s,
        "segment_overlap": segment_overlap,
        "window": window,
        "aperiodic_range": list(aperiodic_range),
        "knee": knee,
        "peak_range": None if peak_range is None else list(peak_range),
        "envelope_bands": {k: list(v) for k, v in envelope_bands.items()},
        "envelope_fs": envelope_fs,
        "population": population,
        "dfa_overlap": dfa_overlap,
        "dfa_fit_range": list(dfa.fit_range),
        "slow_fit_range": None if slow_fit_range is None else [float(v) for v in slow_fit_range],
        "window_s": window_s,
        "window_overlap": window_overlap,
        "n_surrogates": n_surrogates,
        "max_channels": max_channels,
    }
    ds = xr.Dataset(
        coords={
            "channel": names,
            "freq": ("freq", freqs, {"units": "Hz"}),
            "band": list(bp.bands),
            "band_low": ("band", bp.edges[:, 0], {"units": "Hz"}),
            "band_high": ("band", bp.edges[:, 1], {"units": "Hz"}),
            "scale": ("scale", dfa.scales, {"units": "s"}),
            "window": np.arange(n_windows),
            "window_time": ("window", win_time, {"units": "s", "long_name": "window centre from segment start"}),
            "state_feature": state_names,
            "arousal": arousal_names,
            "feature": list(SUMMARY_NAMES),
            "feature_unit": ("feature", [u for _, u, _ in SUMMARY_FIELDS]),
        }
    )
    power_units = f"({units})**2" if units else "units**2"

    def put(name, dims, values, **attrs):
        ds[name] = (dims, np.asarray(values, dtype=float), attrs)

    put("psd", ("channel", "freq"), psd, units=f"{power_units}/Hz", long_name="Welch power spectral density")
    put("band_power", ("channel", "band"), bp.absolute, units=power_units)
    put("relative_power", ("channel", "band"), bp.relative, units="1", total_range=list(bp.total_range))
    for key, unit in (("offset", "log10(power)"), ("exponent", "1"), ("knee", "Hz**exponent"),
                      ("r_squared", "1"), ("error", "log10(power)")):  # fmt: skip
        put(f"aperiodic_{key}", ("channel",), aperiodic[key], units=unit, freq_range=list(aperiodic_range))
    put("peak_frequency", ("channel",), peak_frequency, units="Hz")
    put("peak_height", ("channel",), peak_height, units="log10(power)")
    put("dfa_exponent", ("channel",), dfa.exponent, units="1", fit_range=list(dfa.fit_range), overlap=dfa_overlap)
    put("dfa_r_squared", ("channel",), dfa.r_squared, units="1")
    put("dfa_fluctuation", ("channel", "scale"), dfa.fluctuation, units=f"{units or 'units'} x sqrt(samples)")
    if slow_scales is not None and (envelope_dfa or population_dfa is not None):
        ds = ds.assign_coords(slow_scale=("slow_scale", np.asarray(slow_scales), {"units": "s"}))
    if envelope_dfa:
        ds = ds.assign_coords(envelope_band=list(envelope_dfa))
        put("envelope_dfa_exponent", ("envelope_band", "channel"), [r.exponent for r in envelope_dfa.values()],
            units="1")  # fmt: skip
        put("envelope_dfa_r_squared", ("envelope_band", "channel"), [r.r_squared for r in envelope_dfa.values()],
            units="1")  # fmt: skip
        put("envelope_dfa_fluctuation", ("envelope_band", "channel", "slow_scale"),
            [_on_scales(r, slow_scales) for r in envelope_dfa.values()])  # fmt: skip
    if population_dfa is not None:
        put("population_dfa_exponent", (), population_dfa.exponent, units="1",
            signal="summed spike rate" if spike_times is not None else "mean over channels")  # fmt: skip
        put("population_dfa_r_squared", (), population_dfa.r_squared, units="1")
        put("population_dfa_fluctuation", ("slow_scale",), _on_scales(population_dfa, slow_scales))
    if corr_result is not None:
        if corr_result.matrix is not None:
            ds = ds.assign_coords(channel_b=("channel_b", names))
            put("correlation", ("channel", "channel_b"), corr_result.matrix, units="1")
        put("eigenvalues", ("component",), corr_result.eigenvalues, units="1", exact=int(corr_result.exact))
        put("eigenspectrum_exponent", (), corr_result.eigenspectrum_exponent, units="1",
            rank_range=list(corr_result.rank_range), r_squared=corr_result.eigenspectrum_r_squared)  # fmt: skip
        put("participation_ratio", (), corr_result.participation_ratio, units="1")
        put("eigenspectrum_knee", (), corr_result.knee, units="1", long_name="rank of the largest eigenvalue gap")
        put("mean_abs_correlation", (), corr_result.mean_abs_correlation, units="1")
    put("window_log_band_power", ("window", "channel", "band"), window_log_power, units=f"log10({power_units})")
    put("window_aperiodic_exponent", ("window", "channel"), window_ap["exponent"], units="1")
    put("window_mean_abs_correlation", ("window",), window_corr, units="1")
    put("state", ("window", "state_feature"), state, long_name="state trajectory (medians over channels)")
    put("nonstationarity", ("channel", "band"), nonstationarity, units="1",
        long_name="variance of windowed log band power / segment-shuffle surrogate")  # fmt: skip
    if drift_power is not None:
        put("drift_log_band_power", ("channel", "band"), drift_power.slope, units="log10(power)/min")
        put("drift_index_log_band_power", ("channel", "band"), drift_power.index, units="1")
        put("drift_aperiodic_exponent", ("channel",), drift_exponent.slope, units="1/min")
        put("drift_index_aperiodic_exponent", ("channel",), drift_exponent.index, units="1")
        if drift_corr is not None:
            put("drift_mean_abs_correlation", (), drift_corr.slope, units="1/min")
    put("arousal_windows", ("arousal", "window"), arousal_windows)
    put("arousal_coupling", ("arousal", "state_feature"), coupling, units="1", long_name="Pearson r")
    if spiking is not None:
        ds = ds.assign_coords(unit=np.arange(len(spiking.rate)))
        put("spike_rate", ("unit",), spiking.rate, units="Hz")
        put("isi_cv", ("unit",), spiking.isi_cv, units="1")
        put("fano_factor", ("unit",), spiking.fano_factor, units="1", bin_s=spiking.bin_s)
        put("population_coupling", ("unit",), spiking.population_coupling, units="1",
            bin_s=spiking.coupling_bin_s)  # fmt: skip
    summary = _summary(ds, bp, n_channels, envelope_dfa, population_dfa, corr_result, drift_power,
                       drift_exponent, window_ap, coupling)  # fmt: skip
    put("summary", ("feature",), summary, long_name="fixed-length summary vector (see SUMMARY_FIELDS)")
    ds.attrs.update(
        {
            "source": source,
            "modality": modality.value,
            "fs": fs,
            "units": units,
            "n_times": n_times,
            "duration_s": duration,
            "parameters": json.dumps(parameters),
            "adhesive_dots_version": _version(),
            "numpy_version": np.__version__,
            "scipy_version": scipy.__version__,
            "xarray_version": xr.__version__,
            "flat_channels": json.dumps([n for n, ok in zip(names, positive, strict=True) if not ok]),
        }
    )
    return Fingerprint(ds)


def slow_grid(
    fs: float,
    duration: float,
    *,
    envelope_bands: Mapping[str, tuple[float, float]],
    envelope_fs: Mapping[str, float],
    population: bool,
    spikes: bool,
    slow_scales: np.ndarray | None,
    slow_fit_range: tuple[float, float] | None,
) -> tuple[np.ndarray | None, tuple[float, float] | None]:
    """The scales (s) and fit range (s) of the envelope and population DFA (defaults filled in)."""
    slow_min = max(1.0, max((ENVELOPE_MIN_CYCLES / b[0] for b in envelope_bands.values()), default=1.0))
    if slow_scales is None and (envelope_bands or population):
        rate = min(envelope_fs.values(), default=fs if not spikes else 10.0)
        slow_scales = default_scales(rate, int(duration * rate), min_scale=slow_min)
    if slow_scales is not None and slow_fit_range is None:
        slow_scales = np.asarray(slow_scales, dtype=float)
        low = SLOW_FIT_MIN_S if slow_scales[-1] > 2 * SLOW_FIT_MIN_S else float(slow_scales[0])
        slow_fit_range = (low, float(slow_scales[-1]))
    return slow_scales, slow_fit_range


def _correlation_pass(data, win_starts, win_len, max_channels, rng):
    """Whole-record correlation structure and the mean |r| of every sliding window."""
    n_channels, n_times = data.shape
    n_windows = win_starts.size
    corr_result = None
    window_corr = np.full(n_windows, np.nan)
    if n_channels >= 2:
        if n_channels <= WINDOW_BLOCK_CHANNELS:
            # one pass: cross-products of the blocks between window edges; windows add blocks
            edges = np.unique(np.concatenate([[0], win_starts, win_starts + win_len]))
            edges = edges[edges < n_times]
            sums, products = compute_covariance_blocks_array(data, block_starts=edges)
            corr_result = describe_moments(sums.sum(0), products.sum(0), n_times)
            block_of = {int(e): i for i, e in enumerate(edges)}
            for w, start in enumerate(win_starts):
                i0, i1 = block_of[int(start)], block_of.get(int(start + win_len), edges.size)
                corr = correlation_from_moments(sums[i0:i1].sum(0), products[i0:i1].sum(0), win_len)
                window_corr[w] = mean_abs_offdiagonal(corr)
        else:
            # many channels: per-block products would not fit; windows use (a subset of) channels
            corr_result = compute_correlation_array(data, max_channels=max_channels, rng=rng)
            subset = np.arange(n_channels)
            if n_channels > max_channels:
                subset = np.sort(rng.choice(n_channels, size=max_channels, replace=False))
            window_corr = window_mean_abs_correlation(data[subset], win_starts, win_len)

    return corr_result, window_corr


class _Pool:
    """Tasks on ``workers`` threads (inline when ``workers <= 1``), BLAS limited to one thread meanwhile.

    Results never depend on the number of workers: tasks write disjoint parts or return values.
    """

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        self.executor = ThreadPoolExecutor(max_workers=self.workers) if self.workers > 1 else None
        self.futures: list[Future] = []

    def __enter__(self) -> _Pool:
        self.limits = threadpool_limits(limits=1, user_api="blas") if self.executor is not None else None
        return self

    def __exit__(self, *exc) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.limits.restore_original_limits()

    def submit(self, fn, *args, **kwargs) -> Future:
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


def _submit_dfa(pool: _Pool, data: np.ndarray, fs: float, parts: list[np.ndarray], **options) -> list[Future]:
    """DFA of the channel ranges ``parts`` (consecutive indices) as separate tasks."""
    return [pool.submit(_dfa, data[p[0] : p[-1] + 1], fs, **options) for p in parts if p.size]


def _concatenate_dfa(futures: list[Future]) -> DfaResult:
    """One DFA result from the results over consecutive channel ranges (same scales)."""
    parts = [future.result() for future in futures]
    if len(parts) == 1:
        return parts[0]
    join = {key: np.concatenate([getattr(p, key) for p in parts]) for key in ("exponent", "intercept", "r_squared")}
    return replace(parts[0], fluctuation=np.concatenate([p.fluctuation for p in parts]), **join)


def _on_scales(result, scales: np.ndarray) -> np.ndarray:
    """Fluctuations on the requested scale grid (NaN where a scale rounded onto the same window)."""
    out = np.full((*result.fluctuation.shape[:-1], len(scales)), np.nan)
    for j, s in enumerate(scales):
        match = np.flatnonzero(np.isclose(result.scales, s, rtol=0.02))
        if match.size:
            out[..., j] = result.fluctuation[..., match[0]]
    return out


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


def _nanmedian(values) -> float:
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _summary(ds, bp, n_channels, envelope_dfa, population_dfa, corr, drift_power, drift_exponent, window_ap,
             coupling) -> np.ndarray:  # fmt: skip
    rel = {name: _nanmedian(bp.relative[:, i]) for i, name in enumerate(bp.bands)}
    if envelope_dfa:
        slow = _nanmedian(next(iter(envelope_dfa.values())).exponent)
    elif population_dfa is not None:
        slow = float(population_dfa.exponent)
    else:
        slow = float("nan")
    drift_values = []
    if drift_power is not None:
        drift_values = [drift_power.index.ravel(), drift_exponent.index.ravel()]
    values = {
        "aperiodic_exponent": _nanmedian(ds["aperiodic_exponent"]),
        "aperiodic_r_squared": _nanmedian(ds["aperiodic_r_squared"]),
        "peak_frequency": _nanmedian(ds["peak_frequency"]),
        "peak_height": _nanmedian(ds["peak_height"]),
        **{f"relative_power_{b}": rel.get(b, float("nan")) for b in DEFAULT_BANDS},
        "dfa_broadband": _nanmedian(ds["dfa_exponent"]),
        "dfa_slow": slow,
        "mean_abs_correlation": float("nan") if corr is None else corr.mean_abs_correlation,
        "participation_fraction": float("nan") if corr is None else corr.participation_ratio / n_channels,
        "eigenspectrum_exponent": float("nan") if corr is None else corr.eigenspectrum_exponent,
        "nonstationarity": _nanmedian(np.log10(np.asarray(ds["nonstationarity"]))),
        "drift": _nanmedian(np.concatenate(drift_values)) if drift_values else float("nan"),
        "exponent_variability": float(np.nanstd(np.nanmedian(window_ap["exponent"], axis=1)))
        if len(window_ap["exponent"]) >= 2
        else float("nan"),
        "arousal_coupling": float(np.nanmax(np.abs(coupling))) if np.isfinite(coupling).any() else float("nan"),
    }
    return np.array([values[name] for name in SUMMARY_NAMES], dtype=float)


def _arousal_signals(baseline: Baseline) -> dict[str, tuple[np.ndarray, float]]:
    out = {}
    for name, signal in baseline.recording.signals.items():
        if name.lower() in AROUSAL_NAMES:
            values = baseline.load_signal(name)
            out[name] = (np.asarray(values, dtype=float)[0], signal.fs)
    return out


def fingerprint(baseline: Baseline, *, data: np.ndarray | None = None, **options: Any) -> Fingerprint:
    """The fingerprint of a baseline (reads only its segment).

    Parameters
    ----------
    baseline : Baseline
        The adhesive dot; its recording's ``fs``, channel names, modality and units are used,
        and auxiliary signals named like pupil or running speed (:data:`AROUSAL_NAMES`) become
        the arousal signals of the coupling.
    data : ndarray, shape (n_channels, n_times), optional
        The baseline's samples when the caller has already read them (``baseline.load()``),
        so they are not read twice.
    **options
        Any keyword of :func:`compute_fingerprint_array` (e.g. ``spike_times``, ``bands``, ``rng``).
        For a spike recording (binned units) whose recording carries the spike times
        (``recording.spikes``), the segment's spike times are passed for the spiking statistics.

    Returns
    -------
    Fingerprint
        With ``baseline``'s source, segment and content hash in the attrs.

    Examples
    --------
    >>> import numpy as np
    >>> from adhesive_dots import Baseline
    >>> from adhesive_dots.sim import sim_powerlaw
    >>> b = Baseline.from_array(sim_powerlaw(250 * 120, 250.0, 1.5, n_signals=3, rng=0), 250.0)
    >>> fp = fingerprint(b, rng=0)
    >>> fp.summary_vector().shape
    (18,)
    """
    data = baseline.load() if data is None else data
    recording = baseline.recording
    options = dict(options)
    spikes = getattr(recording, "spikes", None)
    if recording.modality is Modality.SPIKES and spikes is not None and baseline.segment.contiguous:
        start, stop = baseline.segment.start, baseline.segment.stop
        trains = (spikes.unit(i) for i in range(spikes.n_units))
        options.setdefault("spike_times", [t[(t >= start) & (t < stop)] - start for t in trains])
        options.setdefault("spike_interval", (0.0, stop - start))
    options.setdefault("arousal", _arousal_signals(baseline))
    options.setdefault("channel_names", list(baseline.channel_names))
    options.setdefault("modality", baseline.metadata.recording.modality or recording.modality)
    options.setdefault("units", recording.units)
    options.setdefault("source", baseline.source)
    result = compute_fingerprint_array(data, baseline.fs, **options)
    result.dataset.attrs.update(
        {
            "segment": json.dumps([list(p) for p in baseline.segment.pieces]),
            "segment_evidence": baseline.segment.evidence,
        }
    )
    return result
