"""The whole fingerprint: :func:`compute_fingerprint_array` (arrays) and :func:`fingerprint` (a Baseline).

Both resolve one :class:`~adhesive_dots.fingerprint.params.FingerprintParams` for the baseline and run
the stages of :mod:`~adhesive_dots.fingerprint.stages` (the streamed fingerprint runs the same ones).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_data, _check_fs
from adhesive_dots.fingerprint._container import Fingerprint
from adhesive_dots.fingerprint.correlation import MAX_CHANNELS
from adhesive_dots.fingerprint.params import SLOW_FS, FingerprintParams, ResolvedParams, make_params
from adhesive_dots.fingerprint.slow import add_slow_features
from adhesive_dots.fingerprint.spiking import compute_spiking_array
from adhesive_dots.fingerprint.stages import (
    TaskPool,
    assemble_fingerprint,
    compute_channel_features,
    compute_layout,
    compute_population_dfa,
    compute_structure,
    fingerprint_streams,
)
from adhesive_dots.metadata import Modality

AROUSAL_NAMES = (
    "pupil_diameter",
    "pupil",
    "running_speed",
    "running",
    "locomotion",
    "whisking",
    "heart_rate",
    "respiration_rate",
)
"""Auxiliary signals of a recording treated as arousal measures (by name)."""


def compute_fingerprint_array(
    data: np.ndarray,
    fs: float,
    *,
    params: FingerprintParams | ResolvedParams | None = None,
    channel_names: Sequence[str] | None = None,
    modality: Modality | str = Modality.OTHER,
    units: str = "",
    spike_times: Sequence[np.ndarray] | None = None,
    spike_interval: tuple[float, float] | None = None,
    arousal: Mapping[str, tuple[np.ndarray, float]] | None = None,
    correlation: bool = True,
    workers: int = 2,
    source: str = "<array>",
    rng: np.random.Generator | int | None = None,
    **settings: Any,
) -> Fingerprint:
    """The fingerprint of signals ``(n_channels, n_times)`` sampled at ``fs``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        The baseline's samples (float32 input is processed in float64 blocks).
    fs : float
        Sampling rate in Hz.
    params : FingerprintParams, optional
        The analysis parameters (window length, bands, fit ranges, DFA scales ...); what is left to
        the rule is resolved for this baseline (:meth:`FingerprintParams.resolve
        <adhesive_dots.fingerprint.params.FingerprintParams.resolve>`). A fingerprint's ``params``
        applies its values (DFA scales following this record's length).
    channel_names : sequence of str, optional
        One name per channel (default ``ch000`` ...).
    modality : Modality or str
        Chooses the defaults: envelope bands (alpha, beta) and peak range (7-14 Hz) for EEG/MEG/iEEG;
        4-12 Hz peaks for LFP; the population signal's DFA for calcium and spikes.
    units : str
        Units of the samples (provenance).
    spike_times : sequence of ndarray, optional
        Spike times (s, relative to the data's first sample) per unit: adds spiking statistics.
    spike_interval : (start, stop), optional
        The interval of ``spike_times`` in s (default the data's span).
    arousal : dict of str to (values, fs), optional
        Arousal signals (e.g. pupil diameter, running speed) over the same span, for the coupling.
    correlation : bool
        Compute the correlation structure and the windows' mean ``|r|`` (False leaves them out).
    workers : int
        Threads for the per-channel work (DFA of channel parts, correlations, spectral blocks, then
        aperiodic fits and envelope DFA), BLAS one thread each meanwhile. Results do not depend on it.
    source : str
        Where the data come from (provenance and messages).
    rng : Generator, int or None
        Randomness of the surrogates and of the channel subsets.
    **settings
        Fields of :class:`~adhesive_dots.fingerprint.params.FingerprintParams` overriding ``params``
        (``window_s=3.0`` is ``params=FingerprintParams(window_s=3.0)``).

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
        * slow signals (below 5 Hz, or fMRI): ``alff``, ``falff`` [channel], ``slow_band_power``,
          ``slow_relative_power`` [channel, slow_band], ``fc_fisher_z`` [channel, channel_b]
          (:mod:`~adhesive_dots.fingerprint.slow`);
        * spiking (with ``spike_times``): ``spike_rate``, ``isi_cv``, ``fano_factor``,
          ``population_coupling`` [unit];
        * ``summary`` [feature]: the fixed-length vector (:data:`SUMMARY_FIELDS`), from the dataset alone
          (:func:`~adhesive_dots.fingerprint.stages.summary_from_dataset`).

        ``attrs["parameters"]`` holds the resolved parameters (JSON; :attr:`Fingerprint.params`).
    """
    fs = _check_fs(fs)
    data = _check_data(data, name=f"{source} data", min_times=4)
    if data.ndim == 1:
        data = data[np.newaxis]
    if data.ndim != 2:
        raise DataError(f"{source}: data must be (n_channels, n_times), got shape {data.shape}")
    modality = Modality(modality)
    n_channels, n_times = data.shape
    names = [f"ch{i:03d}" for i in range(n_channels)] if channel_names is None else [str(c) for c in channel_names]
    if len(names) != n_channels:
        raise DataError(f"{source}: {len(names)} channel names for {n_channels} channels")
    resolved = make_params(params, **settings).resolve(
        fs=fs, n_times=n_times, n_channels=n_channels, modality=modality, spikes=spike_times is not None
    )
    layout = compute_layout(resolved, fs, n_times)
    rng_correlation, rng_surrogates = fingerprint_streams(rng)  # independent: results do not depend on threads
    spiking = population_dfa = None
    if spike_times is not None:
        start, stop = (0.0, n_times / fs) if spike_interval is None else spike_interval
        spiking = compute_spiking_array(spike_times, start=start, stop=stop)
    with TaskPool(workers) as pool:
        structure = pool.submit(compute_structure, data, resolved, layout, rng=rng_correlation) if correlation else None
        if resolved.population:
            signal, signal_fs = (
                (spiking.population_rate, spiking.population_fs)
                if spiking is not None
                else (data.mean(axis=0, dtype=np.float64), fs)
            )
            population_dfa = pool.submit(compute_population_dfa, signal, signal_fs, resolved)
        channels = compute_channel_features(
            data, resolved, layout, channel_names=names, units=units, pool=pool, rng=rng_surrogates
        )
    corr_result, window_corr = structure.result() if structure is not None else (None, None)
    dataset = assemble_fingerprint(
        channels,
        resolved,
        layout,
        structure=corr_result,
        window_corr=window_corr,
        population_dfa=None if population_dfa is None else population_dfa.result(),
        population_signal="summed spike rate" if spiking is not None else "mean over channels",
        spiking=spiking,
        arousal=arousal,
        attrs={"source": source, "modality": modality.value, "units": units},
    )
    if (fs < SLOW_FS or modality is Modality.FMRI) and n_channels <= MAX_CHANNELS:
        dataset = add_slow_features(dataset, data, fs)  # ALFF, fALFF, slow-5/4, Fisher-z FC
    return Fingerprint(dataset)


def arousal_signals(baseline: Baseline) -> dict[str, tuple[np.ndarray, float]]:
    """The auxiliary signals of ``baseline``'s recording named like arousal measures (:data:`AROUSAL_NAMES`),
    over its segment: ``{name: (values, fs)}``."""
    out = {}
    for name, signal in baseline.recording.signals.items():
        if name.lower() in AROUSAL_NAMES:
            values = baseline.load_signal(name)
            out[name] = (np.asarray(values, dtype=float)[0], signal.fs)
    return out


def fingerprint(
    baseline: Baseline,
    *,
    params: FingerprintParams | ResolvedParams | None = None,
    data: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    **options: Any,
) -> Fingerprint:
    """The fingerprint of a baseline (reads only its segment).

    Parameters
    ----------
    baseline : Baseline
        The adhesive dot; its recording's ``fs``, channel names, modality and units are used,
        and auxiliary signals named like pupil or running speed (:data:`AROUSAL_NAMES`) become
        the arousal signals of the coupling.
    params : FingerprintParams, optional
        The analysis parameters (default: the rule for this baseline).
    data : ndarray, shape (n_channels, n_times), optional
        The baseline's samples when the caller has already read them (``baseline.load()``),
        so they are not read twice.
    rng : Generator, int or None
        Randomness of the surrogates and of the channel subsets.
    **options
        Any other keyword of :func:`compute_fingerprint_array` (e.g. ``spike_times``, ``workers``), or
        fields of :class:`~adhesive_dots.fingerprint.params.FingerprintParams` (e.g. ``window_s``).
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
    >>> fp.summary_vector().shape, fp.params.window_s
    ((18,), 6.0)
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
    options.setdefault("arousal", arousal_signals(baseline))
    options.setdefault("channel_names", list(baseline.channel_names))
    options.setdefault("modality", baseline.metadata.recording.modality or recording.modality)
    options.setdefault("units", recording.units)
    options.setdefault("source", baseline.source)
    try:
        result = compute_fingerprint_array(data, baseline.fs, params=params, rng=rng, **options)
    except DataError as err:  # the array level knows no file: name the baseline's source
        if not baseline.source or baseline.source in str(err):
            raise
        raise type(err)(f"{baseline.source}: {err}") from err
    result.dataset.attrs.update(
        {
            "segment": json.dumps([list(p) for p in baseline.segment.pieces]),
            "segment_evidence": baseline.segment.evidence,
        }
    )
    return result
