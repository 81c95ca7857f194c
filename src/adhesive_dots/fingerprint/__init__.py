"""Fingerprints of baselines: spectral, aperiodic, long-range temporal correlations, correlation
structure, spiking statistics and sliding-window dynamics (layer 2, numerics: NumPy, SciPy, xarray).

Object level::

    fp = fingerprint(baseline)          # -> Fingerprint (xarray Dataset + summary vector + provenance)
    fp.summary_vector()                 # fixed length, see SUMMARY_FIELDS
    fp.to_netcdf("dot.nc"); read_fingerprint("dot.nc")
    fp.params                           # the resolved parameters it was computed with

Parameters: one :class:`FingerprintParams` (window length, bands, fit ranges, DFA scales ...); what
is left to ``None``/``"auto"`` follows the documented rule of :mod:`~adhesive_dots.fingerprint.params`
(windows, segments and fit ranges adapted to the baseline's length and sampling rate)::

    fingerprint(baseline, params=FingerprintParams(window_s=3.0))
    FingerprintParams().resolve(fs=160.0, n_times=9600).window_s    # 3.0: the default for 60 s at 160 Hz

Object level per feature: :func:`compute_psd`, :func:`compute_aperiodic`, :func:`compute_dfa`,
:func:`compute_correlation` (labelled xarray results of a Baseline's segment).

Array level (time last, explicit ``fs`` in Hz, options keyword-only), one module per feature:

* :mod:`~adhesive_dots.fingerprint.spectral` -- :func:`compute_psd_array`, :func:`compute_band_power_array`,
  :func:`compute_peak_frequency_array`, :func:`compute_segment_periodograms_array`
* :mod:`~adhesive_dots.fingerprint.aperiodic` -- :func:`compute_aperiodic_array`, :func:`fit_specparam_array`
* :mod:`~adhesive_dots.fingerprint.dfa` -- :func:`compute_dfa_array`, :func:`compute_envelope_array`
* :mod:`~adhesive_dots.fingerprint.correlation` -- :func:`compute_correlation_array`
* :mod:`~adhesive_dots.fingerprint.spiking` -- :func:`compute_spiking_array`
* :mod:`~adhesive_dots.fingerprint.dynamics` -- sliding windows, non-stationarity, drift, arousal coupling
* :func:`compute_fingerprint_array` -- everything at once from an array (what :func:`fingerprint` calls),
  in the stages of :mod:`~adhesive_dots.fingerprint.stages` (shared with the streamed fingerprint of
  :mod:`~adhesive_dots.fingerprint.streaming`); :func:`summary_from_dataset` -- the summary vector of a
  fingerprint's dataset
"""

from adhesive_dots.fingerprint._compute import compute_fingerprint_array, fingerprint
from adhesive_dots.fingerprint._container import SUMMARY_FIELDS, SUMMARY_NAMES, Fingerprint, read_fingerprint
from adhesive_dots.fingerprint._objects import compute_aperiodic, compute_correlation, compute_dfa, compute_psd
from adhesive_dots.fingerprint.aperiodic import Aperiodic, compute_aperiodic_array, fit_specparam_array
from adhesive_dots.fingerprint.correlation import CorrelationResult, compute_correlation_array
from adhesive_dots.fingerprint.dfa import DfaResult, compute_dfa_array, compute_envelope_array
from adhesive_dots.fingerprint.dynamics import (
    compute_arousal_coupling_array,
    compute_drift_array,
    compute_nonstationarity_array,
    sliding_windows,
)
from adhesive_dots.fingerprint.params import (
    FingerprintParams,
    ResolvedParams,
    default_window_s,
    make_params,
    shared_params,
    shared_window_s,
)
from adhesive_dots.fingerprint.spectral import (
    DEFAULT_BANDS,
    compute_band_power_array,
    compute_peak_frequency_array,
    compute_psd_array,
    compute_segment_periodograms_array,
)
from adhesive_dots.fingerprint.spiking import SpikingResult, compute_spiking_array
from adhesive_dots.fingerprint.stages import summary_from_dataset

__all__ = [
    "DEFAULT_BANDS",
    "SUMMARY_FIELDS",
    "SUMMARY_NAMES",
    "Aperiodic",
    "CorrelationResult",
    "DfaResult",
    "Fingerprint",
    "FingerprintParams",
    "ResolvedParams",
    "SpikingResult",
    "compute_aperiodic",
    "compute_aperiodic_array",
    "compute_arousal_coupling_array",
    "compute_band_power_array",
    "compute_correlation",
    "compute_correlation_array",
    "compute_dfa",
    "compute_dfa_array",
    "compute_drift_array",
    "compute_envelope_array",
    "compute_fingerprint_array",
    "compute_nonstationarity_array",
    "compute_peak_frequency_array",
    "compute_psd",
    "compute_psd_array",
    "compute_segment_periodograms_array",
    "compute_spiking_array",
    "default_window_s",
    "fingerprint",
    "fit_specparam_array",
    "make_params",
    "read_fingerprint",
    "shared_params",
    "shared_window_s",
    "sliding_windows",
    "summary_from_dataset",
]
