"""The analysis parameters of a fingerprint: one frozen object, one documented rule for its defaults.

:class:`FingerprintParams` holds every analysis setting of a fingerprint; a field left to ``None``
(or ``"auto"``) takes the default of the rule below. :meth:`FingerprintParams.resolve` applies the
rule to one baseline (sampling rate, length, channels, modality) and returns :class:`ResolvedParams`,
concrete values only. Those are what the stages compute with, what every fingerprint stores (the
``parameters`` attribute, read back as :attr:`~adhesive_dots.fingerprint.Fingerprint.params`), and
what :func:`~adhesive_dots.fingerprint.compute_fingerprint_array`, the streamed fingerprint,
:func:`~adhesive_dots.compare.compare_baselines` and :mod:`~adhesive_dots.sufficiency` share, so the
same baseline gives the same numbers in every command.

The rule
--------
*Ordinary* signals are sampled at :data:`SLOW_FS` (5 Hz) or faster (EEG, MEG, iEEG, LFP, calcium
imaging, binned spikes); *slow* signals below it (fMRI BOLD, slow imaging).

* **Welch segment** (``segment_s``): 2 s (0.5 Hz resolution), but at least
  :data:`MIN_SEGMENT_SAMPLES` (32) samples, so that a slow signal still has a spectrum of 16 bins
  (23.04 s at a TR of 0.72 s). Segments overlap by half, Hann taper.
* **Aperiodic fit range** (``aperiodic_range``), always strictly inside (0, Nyquist): 1 Hz to
  ``min(40 Hz, 0.8 x Nyquist)`` for ordinary signals; 0.01 Hz (or a tenth of the upper end, if
  lower) to ``0.8 x Nyquist`` for slow ones.
* **Sliding windows** of the dynamics (``window_s``, 50 % overlap): the longest window of the series
  1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10**k s, at most the base (:data:`WINDOW_S`, 30 s; 60 s for slow
  signals), with which the baseline holds at least :data:`MIN_WINDOWS` (39) windows -- about a
  twentieth of the baseline. 39 windows (10 blocks of 4) give :func:`~adhesive_dots.compare.compare_baselines`
  a block-permutation null of 184756 distinct deals, ample for alpha = 0.05 over its two tests; the round series makes
  baselines of similar length share a window (and so remain comparable). The window is never
  shorter than one Welch segment: a baseline too short for 39 such windows gets windows of one
  segment (fewer of them). Baselines of 10 min or more get 30 s (39 windows in exactly 10 min).
* **DFA scales** (``dfa_scales``): 20 log-spaced scales from 0.1 s (at least 10 samples) to a tenth
  of the record, all fitted. Envelope and population DFA (``slow_scales``): from
  ``max(1 s, 3 cycles of the band's lower edge)`` to a tenth of the record, fitted from 5 s when
  the longest scale exceeds 10 s (``slow_fit_range``).
* **Modality**: EEG, MEG and iEEG get alpha and beta envelope DFA and a 7-14 Hz peak search; LFP
  theta and beta envelopes and a 4-12 Hz peak (envelopes only at 80 Hz or faster, bands below
  Nyquist; peaks only below 0.8 x Nyquist); calcium and spikes the DFA of the population signal.

Examples: a 60 s EEG at 160 Hz gets 3 s windows (39), 2 s segments, 1-40 Hz, DFA 0.1-6 s; a 10 min
EEG 30 s windows, 2 s segments, 1-40 Hz, DFA 0.1-60 s; a 14.4 min ROI table at TR 0.72 s
(1.389 Hz) 40 s windows (41), 23.04 s segments, 0.01-0.556 Hz, DFA 7.2-86.4 s; 10 min of 30 Hz
calcium 30 s windows, 2 s segments, 1-12 Hz, DFA 0.33-60 s and the population DFA.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint._checks import _check_fs
from adhesive_dots.fingerprint.correlation import MAX_CHANNELS
from adhesive_dots.fingerprint.dfa import ENVELOPE_MIN_CYCLES, default_scales, envelope_length
from adhesive_dots.fingerprint.dynamics import sliding_windows
from adhesive_dots.fingerprint.spectral import DEFAULT_BANDS, DEFAULT_SEGMENT_S
from adhesive_dots.metadata import Modality

SLOW_FS = 5.0
"""Sampling rates below this (Hz) are slow signals (fMRI BOLD, slow imaging) under the rule."""
MIN_SEGMENT_SAMPLES = 32
"""Shortest default Welch segment in samples (a spectrum of 16 bins)."""
WINDOW_S = 30.0
"""Base sliding window of ordinary signals in s (long baselines)."""
SLOW_WINDOW_S = 60.0
"""Base sliding window of slow signals in s."""
MIN_WINDOWS = 39
"""Sliding windows (50 % overlap) the default window leaves in a baseline: a twentieth of it, and ample
distinct block permutations for the null of :func:`~adhesive_dots.compare.compare_baselines`."""
WINDOW_SERIES = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
"""Mantissas of the default window lengths (times a power of ten, s)."""
WINDOW_OVERLAP = 0.5
"""Default overlap fraction of the sliding windows."""
FAST_APERIODIC_LOW = 1.0
"""Lower end (Hz) of the default aperiodic fit range of ordinary signals."""
FAST_APERIODIC_HIGH = 40.0
"""Upper end (Hz) of the default aperiodic fit range, when 0.8 x Nyquist is above it."""
SLOW_APERIODIC_LOW = 0.01
"""Lower end (Hz) of the default aperiodic fit range of slow signals."""
NYQUIST_FRACTION = 0.8
"""Default fit and peak ranges stop at this fraction of the Nyquist frequency (anti-alias roll-off)."""
CONTINUOUS = frozenset({Modality.EEG, Modality.MEG, Modality.IEEG, Modality.LFP})
"""Modalities with envelope DFA of their rhythms (at :data:`ENVELOPE_MIN_FS` or faster)."""
ENVELOPE_MIN_FS = 80.0
"""Envelope DFA only at this sampling rate (Hz) or faster."""
HUMAN_PEAK_RANGE = (7.0, 14.0)
"""Peak search range (Hz) of EEG, MEG, iEEG and other signals: the peak alpha frequency."""
ANIMAL_PEAK_RANGE = (4.0, 12.0)
"""Peak search range (Hz) of LFP: theta / low-frequency peak of rodent LFP."""
DEFAULT_ENVELOPE_BANDS = {"alpha": (8.0, 13.0), "beta": (13.0, 30.0)}
"""Envelope bands of EEG, MEG and iEEG (Hz)."""
LFP_ENVELOPE_BANDS = {"theta": (4.0, 10.0), "beta": (13.0, 30.0)}
"""Envelope bands of (animal) LFP: theta is the dominant rhythm of rodent hippocampus and cortex."""
SLOW_FIT_MIN_S = 5.0
"""Lower end of the default fit range of envelope and population DFA, in s (Linkenkaer-Hansen et al.
2001): shorter scales reflect the band-pass and the smoothness of the envelope, not its LRTC."""
SPIKE_POPULATION_FS = 10.0
"""Rate (Hz) of the summed spike rate whose DFA is the population DFA of spike trains (0.1 s bins)."""
BLOCK_SAMPLES = 4_800_000
"""Default samples (channels x times) per block of the spectral pass (8 channels of 10 min at 1 kHz)."""
LENGTH_DEPENDENT = ("dfa_scales", "dfa_fit_range", "slow_scales", "slow_fit_range")
"""Resolved values that follow the record's length (a tenth of it): left to the rule for sub-segments."""

Auto = Literal["auto"]
Range = tuple[float, float]
Bands = tuple[tuple[str, Range], ...]


def _fail(name: str, allowed: str, value: Any) -> DataError:
    return DataError(f"fingerprint parameter {name} must be {allowed}, got {value!r}")


def _number(
    name: str,
    value: Any,
    allowed: str,
    *,
    low: float = 0.0,
    high: float = np.inf,
    low_open: bool = True,
    high_open: bool = False,
) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(name, allowed, value) from None
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if isinstance(value, bool) or not np.isfinite(number) or not (above and below):
        raise _fail(name, allowed, value)
    return number


def _integer(name: str, value: Any, allowed: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise _fail(name, allowed, value)
    return int(value)


def _range(name: str, value: Any, *, low: float = 0.0) -> Range:
    allowed = f"a (low, high) pair with {max(low, 0.0):g} {'<' if low >= 0 else '<='} low < high"
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(name, allowed, value) from None
    if not (np.isfinite(a) and np.isfinite(b) and low < a < b):
        raise _fail(name, allowed, value)
    return a, b


def _bands(name: str, value: Any, *, positive: bool) -> Bands:
    """Bands as ``((name, (low, high)), ...)``; ``low`` may be 0 Hz unless ``positive``."""
    allowed = "a mapping of band names to (low, high) Hz"
    if not isinstance(value, Mapping) and not (isinstance(value, tuple) and all(len(v) == 2 for v in value)):
        raise _fail(name, allowed, value)
    items = tuple(value.items()) if isinstance(value, Mapping) else value
    low = 0.0 if positive else -np.finfo(float).tiny
    return tuple((str(k), _range(f"{name}[{k!r}]", v, low=low)) for k, v in items)


def _scales(name: str, value: Any) -> tuple[float, ...]:
    allowed = "two or more increasing positive scales in s"
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise _fail(name, allowed, value) from None
    if array.size < 2 or not np.all(np.isfinite(array)) or np.any(array <= 0) or np.any(np.diff(array) <= 0):
        raise _fail(name, allowed, value)
    return tuple(float(v) for v in array)


def _taper(value: Any) -> str:
    from scipy.signal import get_window

    try:
        get_window(value, 8)
    except (TypeError, ValueError):
        raise _fail("taper", "a window name scipy.signal.get_window knows (e.g. 'hann', 'hamming')", value) from None
    return str(value)


@dataclass(frozen=True)
class FingerprintParams:
    """Every analysis setting of a fingerprint; ``None`` (or ``"auto"``) takes the rule's default.

    Values are checked when the object is made (:class:`~adhesive_dots.errors.DataError` naming the
    parameter, what is allowed and what was given); those that depend on the baseline (a range above
    its Nyquist frequency) when :meth:`resolve` meets it. Mappings are stored as tuples of
    ``(name, (low, high))`` pairs and scales as tuples, so the object is immutable and hashable.

    Parameters
    ----------
    bands : mapping of str to (low, high), optional
        Frequency bands in Hz, half-open ``[low, high)`` (default
        :data:`~adhesive_dots.fingerprint.spectral.DEFAULT_BANDS`).
    segment_s : float, optional
        Welch segment length in s (default: the rule, 2 s or at least 32 samples).
    segment_overlap : float
        Overlap fraction of the Welch segments, in [0, 1).
    taper : str
        Window (taper) of the Welch segments, any name :func:`scipy.signal.get_window` knows.
    aperiodic_range : (low, high), optional
        Aperiodic fit range in Hz, inside (0, Nyquist] (default: the rule).
    knee : bool
        Fit the aperiodic knee too (whole-record spectra; windows fit without it).
    peak_range : (low, high), None or "auto"
        Peak-frequency search range in Hz; None skips the peak.
    envelope_bands : mapping of str to (low, high), None or "auto"
        Bands whose amplitude envelopes get a DFA (Hz, below Nyquist); None or ``{}`` skips them.
    population : bool or "auto"
        DFA of the population signal (mean over channels; summed spike rate with spike times).
        Auto: calcium and spikes with more than one channel, or when spike times are given.
    dfa_scales : sequence of float, optional
        Broadband DFA window lengths in s (default: 20 log-spaced from 0.1 s to a tenth of the record).
    dfa_fit_range : (low, high), optional
        Scales (s, inclusive) of the broadband DFA fit (default: all).
    slow_scales : sequence of float, optional
        Envelope and population DFA window lengths in s (default: from
        ``max(1 s, 3 cycles of the lowest envelope band)`` to a tenth of the record).
    slow_fit_range : (low, high), optional
        Fit range in s of the envelope and population DFA (default from :data:`SLOW_FIT_MIN_S`).
    dfa_overlap : float
        Overlap fraction of DFA windows, in [0, 1).
    window_s : float, optional
        Sliding windows of the dynamics in s (default: the rule; a baseline shorter than one window
        has no dynamics).
    window_overlap : float
        Overlap fraction of the sliding windows, in [0, 1).
    n_surrogates : int
        Segment shuffles of the non-stationarity index (>= 1).
    max_channels : int
        Above this many channels the correlation matrix is not formed (low-rank description).
    block_channels : int, optional
        Channels per block of the spectral pass (memory only; results do not depend on it). Default
        about :data:`BLOCK_SAMPLES` samples per block.

    Examples
    --------
    >>> p = FingerprintParams(window_s=3.0)
    >>> r = p.resolve(fs=160.0, n_times=160 * 60, modality="eeg")
    >>> r.window_s, r.segment_s, r.aperiodic_range
    (3.0, 2.0, (1.0, 40.0))
    >>> FingerprintParams().resolve(fs=1 / 0.72, n_times=1200).aperiodic_range
    (0.01, 0.5555555555555556)
    """

    bands: Mapping[str, Range] | Bands | None = None
    segment_s: float | None = None
    segment_overlap: float = 0.5
    taper: str = "hann"
    aperiodic_range: Range | None = None
    knee: bool = False
    peak_range: Range | None | Auto = "auto"
    envelope_bands: Mapping[str, Range] | Bands | None | Auto = "auto"
    population: bool | Auto = "auto"
    dfa_scales: Sequence[float] | None = None
    dfa_fit_range: Range | None = None
    slow_scales: Sequence[float] | None = None
    slow_fit_range: Range | None = None
    dfa_overlap: float = 0.5
    window_s: float | None = None
    window_overlap: float = WINDOW_OVERLAP
    n_surrogates: int = 20
    max_channels: int = MAX_CHANNELS
    block_channels: int | None = None

    def __post_init__(self) -> None:
        fraction = "a fraction in [0, 1)"
        positive = "a positive number of seconds, or None for the rule's default"
        checked: dict[str, Any] = {
            "segment_overlap": _number(
                "segment_overlap", self.segment_overlap, fraction, low_open=False, high=1.0, high_open=True
            ),
            "taper": _taper(self.taper),
            "dfa_overlap": _number("dfa_overlap", self.dfa_overlap, fraction, low_open=False, high=1.0, high_open=True),
            "window_overlap": _number(
                "window_overlap", self.window_overlap, fraction, low_open=False, high=1.0, high_open=True
            ),
            "n_surrogates": _integer("n_surrogates", self.n_surrogates, "an integer >= 1", low=1),
            "max_channels": _integer("max_channels", self.max_channels, "an integer >= 2", low=2),
        }
        if self.bands is not None:
            checked["bands"] = _bands("bands", self.bands, positive=False)
            if not checked["bands"]:
                raise _fail("bands", "a non-empty mapping of band names to (low, high) Hz", self.bands)
        for name in ("segment_s", "window_s"):
            if getattr(self, name) is not None:
                checked[name] = _number(name, getattr(self, name), positive)
        for name in ("aperiodic_range", "dfa_fit_range", "slow_fit_range"):
            if getattr(self, name) is not None:
                checked[name] = _range(name, getattr(self, name))
        for name in ("dfa_scales", "slow_scales"):
            if getattr(self, name) is not None:
                checked[name] = _scales(name, getattr(self, name))
        if not isinstance(self.knee, bool | np.bool_):
            raise _fail("knee", "True or False", self.knee)
        checked["knee"] = bool(self.knee)
        if self.peak_range not in ("auto", None):
            checked["peak_range"] = _range("peak_range", self.peak_range)
        if isinstance(self.envelope_bands, str):
            if self.envelope_bands != "auto":
                raise _fail("envelope_bands", "a mapping of bands in Hz, None or 'auto'", self.envelope_bands)
        elif self.envelope_bands is not None:
            checked["envelope_bands"] = _bands("envelope_bands", self.envelope_bands, positive=True)
        if self.population != "auto" and not isinstance(self.population, bool | np.bool_):
            raise _fail("population", "True, False or 'auto'", self.population)
        if self.population != "auto":
            checked["population"] = bool(self.population)
        if self.block_channels is not None:
            checked["block_channels"] = _integer("block_channels", self.block_channels, "an integer >= 1", low=1)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def replace(self, **settings: Any) -> FingerprintParams:
        """A copy with ``settings`` (field names) changed; unknown names are an error listing the fields."""
        unknown = sorted(set(settings) - set(FIELDS))
        if unknown:
            raise DataError(
                f"unknown fingerprint parameter(s) {', '.join(unknown)}; the parameters are {', '.join(FIELDS)}"
            )
        return dataclasses.replace(self, **settings) if settings else self

    def resolve(
        self,
        *,
        fs: float,
        n_times: int,
        n_channels: int = 1,
        modality: Modality | str = Modality.OTHER,
        spikes: bool = False,
    ) -> ResolvedParams:
        """Concrete values for one baseline, by the rule of the module docstring.

        Parameters
        ----------
        fs : float
            Sampling rate in Hz.
        n_times : int
            Samples of the baseline.
        n_channels : int
            Channels (the population DFA's default needs more than one).
        modality : Modality or str
            Chooses the envelope bands, the peak range and the population DFA.
        spikes : bool
            Spike times are given (their summed rate is the population signal).

        Returns
        -------
        ResolvedParams

        Raises
        ------
        DataError
            A range above the Nyquist frequency, a segment longer than the baseline, or a baseline too
            short for the DFA scales (the message names the parameter and the fix).
        """
        fs = _check_fs(fs)
        n_times = int(n_times)
        modality = Modality(modality)
        nyquist = fs / 2.0
        duration = n_times / fs
        bands = self.bands if self.bands is not None else tuple(DEFAULT_BANDS.items())
        segment_s = default_segment_s(fs) if self.segment_s is None else self.segment_s
        if int(round(segment_s * fs)) < 2:
            raise _fail("segment_s", f"at least 2 samples long at fs={fs:g} Hz ({2 / fs:g} s)", segment_s)
        if int(round(segment_s * fs)) > n_times:
            raise DataError(
                f"fingerprint parameter segment_s={segment_s:g} s ({int(round(segment_s * fs))} samples) is longer "
                f"than the baseline ({n_times} samples, {duration:.3g} s); use a shorter segment or more data"
            )
        aperiodic_range = default_aperiodic_range(fs) if self.aperiodic_range is None else self.aperiodic_range
        _check_below_nyquist("aperiodic_range", aperiodic_range, nyquist)
        if self.peak_range == "auto":
            peak_range = _default_peak_range(modality, nyquist)
        else:
            peak_range = self.peak_range
            if peak_range is not None:
                _check_below_nyquist("peak_range", peak_range, nyquist)
        if self.envelope_bands == "auto":
            envelope_bands = _default_envelope_bands(modality, fs)
        else:
            envelope_bands = self.envelope_bands or ()
            for name, band in envelope_bands:
                _check_below_nyquist(f"envelope_bands[{name!r}] band", band, nyquist)
        if self.population == "auto":
            population = (modality in (Modality.CALCIUM, Modality.SPIKES) and n_channels > 1) or spikes
        else:
            population = self.population
        dfa_scales = _dfa_scales(self.dfa_scales, fs, n_times)
        dfa_fit_range = (dfa_scales[0], dfa_scales[-1]) if self.dfa_fit_range is None else self.dfa_fit_range
        envelope_fs = {name: envelope_length(n_times, fs, band) * fs / n_times for name, band in envelope_bands}
        slow_scales, slow_fit_range = self.slow_scales, self.slow_fit_range
        if slow_scales is None and (envelope_bands or population):
            slow_min = max(1.0, max((ENVELOPE_MIN_CYCLES / band[0] for _, band in envelope_bands), default=1.0))
            rate = min(envelope_fs.values(), default=SPIKE_POPULATION_FS if spikes else fs)
            slow_scales = tuple(float(v) for v in default_scales(rate, int(duration * rate), min_scale=slow_min))
        if slow_scales is not None and slow_fit_range is None:
            low = SLOW_FIT_MIN_S if slow_scales[-1] > 2 * SLOW_FIT_MIN_S else slow_scales[0]
            slow_fit_range = (float(low), float(slow_scales[-1]))
        window_s = self.window_s
        if window_s is None:
            window_s = default_window_s(fs, n_times, segment_s=segment_s, overlap=self.window_overlap)
        block = max(1, BLOCK_SAMPLES // n_times) if self.block_channels is None else self.block_channels
        return ResolvedParams(
            bands=bands,
            segment_s=float(segment_s),
            segment_overlap=self.segment_overlap,
            taper=self.taper,
            aperiodic_range=aperiodic_range,
            knee=self.knee,
            peak_range=peak_range,
            envelope_bands=envelope_bands,
            population=population,
            dfa_scales=dfa_scales,
            dfa_fit_range=dfa_fit_range,
            slow_scales=slow_scales,
            slow_fit_range=slow_fit_range,
            dfa_overlap=self.dfa_overlap,
            window_s=float(window_s),
            window_overlap=self.window_overlap,
            n_surrogates=self.n_surrogates,
            max_channels=self.max_channels,
            block_channels=block,
        )


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FingerprintParams))
"""Names of the fingerprint parameters (the fields of :class:`FingerprintParams`)."""


@dataclass(frozen=True)
class ResolvedParams:
    """The concrete parameters a fingerprint was (or will be) computed with (see :class:`FingerprintParams`).

    Every field of :class:`FingerprintParams`, with the rule applied: ranges as ``(low, high)`` tuples
    (Hz or s), bands as ``((name, (low, high)), ...)``, scales in s; ``peak_range`` None (no peak),
    ``envelope_bands`` ``()`` (none), ``slow_scales`` and ``slow_fit_range`` None without envelope or
    population DFA. Stored with every fingerprint (``attrs["parameters"]``, :meth:`to_dict`) and read
    back by :meth:`from_dict`; ``block_channels`` changes no value, so it is neither stored nor compared.
    """

    bands: Bands
    segment_s: float
    segment_overlap: float
    taper: str
    aperiodic_range: Range
    knee: bool
    peak_range: Range | None
    envelope_bands: Bands
    population: bool
    dfa_scales: tuple[float, ...]
    dfa_fit_range: Range
    slow_scales: tuple[float, ...] | None
    slow_fit_range: Range | None
    dfa_overlap: float
    window_s: float
    window_overlap: float
    n_surrogates: int
    max_channels: int
    block_channels: int = dataclasses.field(default=1, compare=False)

    @property
    def band_dict(self) -> dict[str, Range]:
        """``bands`` as a dict."""
        return dict(self.bands)

    @property
    def envelope_band_dict(self) -> dict[str, Range]:
        """``envelope_bands`` as a dict."""
        return dict(self.envelope_bands)

    def to_params(self, *, keep_scales: bool = False) -> FingerprintParams:
        """The :class:`FingerprintParams` that reproduce these values.

        With ``keep_scales=False`` the DFA scales and fit ranges (:data:`LENGTH_DEPENDENT`) are left to the
        rule, so they follow the length of whatever record the parameters are applied to (a sub-segment, a
        baseline of another length); every other value is fixed (``block_channels``, which changes no value,
        is left to the rule too).
        """
        values = {name: getattr(self, name) for name in FIELDS}
        values["envelope_bands"] = self.envelope_bands or None
        values["block_channels"] = None  # memory only: follows the record's length
        if not keep_scales:
            values.update(dict.fromkeys(LENGTH_DEPENDENT))
        return FingerprintParams(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (bands as ``{name: [low, high]}``, tuples as lists)."""
        values = {name: _jsonable(getattr(self, name)) for name in FIELDS if name != "block_channels"}
        for name in ("bands", "envelope_bands"):
            values[name] = {band: [float(low), float(high)] for band, (low, high) in getattr(self, name)}
        return values

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ResolvedParams:
        """From :meth:`to_dict` (also reads fingerprints written before the parameters object: ``window``
        is the taper; values they did not store take the defaults of :class:`FingerprintParams`)."""
        values = dict(values)
        if "window" in values and "taper" not in values:
            values["taper"] = values.pop("window")
        default = FingerprintParams()

        def get(name):
            return values.get(name, getattr(default, name))

        def pairs(value):
            return tuple((str(k), (float(v[0]), float(v[1]))) for k, v in dict(value or {}).items())

        def pair(value):
            return None if value is None else (float(value[0]), float(value[1]))

        def floats(value):
            return None if value is None else tuple(float(v) for v in value)

        dfa_scales = floats(get("dfa_scales")) or ()
        fit = pair(get("dfa_fit_range"))
        return cls(
            bands=pairs(values.get("bands", DEFAULT_BANDS)),
            segment_s=float(values.get("segment_s", DEFAULT_SEGMENT_S)),
            segment_overlap=float(get("segment_overlap")),
            taper=str(get("taper")),
            aperiodic_range=pair(values.get("aperiodic_range")),
            knee=bool(get("knee")),
            peak_range=pair(values.get("peak_range")),
            envelope_bands=pairs(values.get("envelope_bands")),
            population=bool(values.get("population", False)),
            dfa_scales=dfa_scales,
            dfa_fit_range=fit if fit is not None else (dfa_scales[0], dfa_scales[-1]) if dfa_scales else None,
            slow_scales=floats(values.get("slow_scales")),
            slow_fit_range=pair(values.get("slow_fit_range")),
            dfa_overlap=float(get("dfa_overlap")),
            window_s=float(values.get("window_s", WINDOW_S)),
            window_overlap=float(get("window_overlap")),
            n_surrogates=int(get("n_surrogates")),
            max_channels=int(get("max_channels")),
            block_channels=int(values.get("block_channels") or 1),
        )


def make_params(params: FingerprintParams | ResolvedParams | None = None, **settings: Any) -> FingerprintParams:
    """One :class:`FingerprintParams` from an optional object and keyword settings (field names).

    ``make_params(None, window_s=3)`` is ``FingerprintParams(window_s=3)``; settings override the
    object's fields. A :class:`ResolvedParams` (a fingerprint's ``params``) is taken through
    :meth:`ResolvedParams.to_params`: its values, with the DFA scales following the new record.
    """
    if isinstance(params, ResolvedParams):
        params = params.to_params()
    elif params is None:
        params = FingerprintParams()
    elif not isinstance(params, FingerprintParams):
        raise DataError(f"params must be a FingerprintParams (or a fingerprint's params), got {type(params).__name__}")
    return params.replace(**settings)


def default_segment_s(fs: float) -> float:
    """Default Welch segment in s: 2 s, but at least :data:`MIN_SEGMENT_SAMPLES` samples."""
    return max(DEFAULT_SEGMENT_S, MIN_SEGMENT_SAMPLES / float(fs))


def default_aperiodic_range(fs: float) -> Range:
    """Default aperiodic fit range in Hz, strictly inside (0, Nyquist) (see the module docstring)."""
    high = NYQUIST_FRACTION * float(fs) / 2.0
    if fs >= SLOW_FS:
        return FAST_APERIODIC_LOW, min(FAST_APERIODIC_HIGH, high)
    return min(SLOW_APERIODIC_LOW, high / 10.0), high


def count_windows(n_times: int, fs: float, window_s: float, overlap: float = WINDOW_OVERLAP) -> int:
    """Whole sliding windows of ``window_s`` s overlapping by ``overlap`` in ``n_times`` samples at ``fs``
    (as :func:`~adhesive_dots.fingerprint.dynamics.sliding_windows` places them; 0 when one does not fit)."""
    try:
        starts, _ = sliding_windows(n_times, fs, window_s=window_s, overlap=overlap)
    except DataError:  # longer than the record
        return 0
    return int(starts.size)


def default_window_s(
    fs: float, n_times: int, *, segment_s: float | None = None, overlap: float = WINDOW_OVERLAP
) -> float:
    """Default sliding window in s of a baseline of ``n_times`` samples at ``fs`` (see the module docstring).

    The longest value of the 1-1.5-2-2.5-3-4-5-6-8 series, at most :data:`WINDOW_S` (:data:`SLOW_WINDOW_S`
    below :data:`SLOW_FS`), that leaves :data:`MIN_WINDOWS` windows; never shorter than one Welch segment
    (``segment_s``, default :func:`default_segment_s`), which is the answer when nothing longer fits.

    >>> default_window_s(160.0, 160 * 60), default_window_s(250.0, 250 * 600), default_window_s(1 / 0.72, 1200)
    (3.0, 30.0, 40.0)
    """
    fs = float(fs)
    segment = default_segment_s(fs) if segment_s is None else float(segment_s)
    base = WINDOW_S if fs >= SLOW_FS else SLOW_WINDOW_S
    for candidate in _window_series(base):
        if candidate < segment * (1 - 1e-9):
            break
        if count_windows(n_times, fs, candidate, overlap) >= MIN_WINDOWS:
            return candidate
    return segment


def shared_window_s(fs: Sequence[float], n_times: Sequence[int], *, params: FingerprintParams | None = None) -> float:
    """One window (s) for baselines analysed together (compared, or pooled in a corpus).

    ``params.window_s`` when set; otherwise the shortest default window of the baselines (that of the
    shortest baseline when their sampling rates are alike), so every baseline holds enough windows.
    """
    params = FingerprintParams() if params is None else params
    if params.window_s is not None:
        return float(params.window_s)
    windows = [
        default_window_s(rate, n, segment_s=params.segment_s, overlap=params.window_overlap)
        for rate, n in zip(fs, n_times, strict=True)
    ]
    if not windows:
        raise DataError("shared_window_s needs at least one baseline (fs and n_times)")
    return min(windows)


def shared_params(
    fs: Sequence[float], n_times: Sequence[int], *, params: FingerprintParams | None = None
) -> FingerprintParams:
    """One set of parameters for baselines analysed together (compared, or pooled in a corpus).

    What ``params`` leaves to the rule and the rule would set differently for different sampling rates or
    lengths is fixed to a value every baseline can use: the longest default Welch segment, the common part
    of the default aperiodic ranges (left to each baseline when they do not overlap, e.g. BOLD and EEG),
    then the shortest default window (:func:`shared_window_s`). For baselines of one sampling rate this is
    the rule for the shortest of them.

    >>> p = shared_params([250.0, 30.0], [250 * 600, 30 * 120])
    >>> p.segment_s, p.aperiodic_range, p.window_s
    (2.0, (1.0, 12.0), 6.0)
    """
    params = FingerprintParams() if params is None else params
    settings: dict[str, Any] = {}
    if params.segment_s is None:
        settings["segment_s"] = max(default_segment_s(rate) for rate in fs)
    if params.aperiodic_range is None:
        ranges = [default_aperiodic_range(rate) for rate in fs]
        low, high = max(r[0] for r in ranges), min(r[1] for r in ranges)
        if low < high:
            settings["aperiodic_range"] = (low, high)
    params = params.replace(**settings)
    return params.replace(window_s=shared_window_s(fs, n_times, params=params))


def _window_series(base: float) -> list[float]:
    """The 1-1.5-2-...-8 x 10**k series from ``base`` down to 1 ms, descending."""
    values = {round(m * 10.0**k, 6) for k in range(-3, 4) for m in WINDOW_SERIES}
    return sorted((v for v in values if v <= base), reverse=True)


def _default_peak_range(modality: Modality, nyquist: float) -> Range | None:
    if modality in (Modality.EEG, Modality.MEG, Modality.IEEG, Modality.OTHER):
        peak_range = HUMAN_PEAK_RANGE
    elif modality == Modality.LFP:
        peak_range = ANIMAL_PEAK_RANGE
    else:
        return None  # calcium, spikes, fMRI: no oscillatory peak in the spectrum's reach
    return peak_range if peak_range[1] < NYQUIST_FRACTION * nyquist else None


def _default_envelope_bands(modality: Modality, fs: float) -> Bands:
    if modality not in CONTINUOUS or fs < ENVELOPE_MIN_FS:
        return ()
    candidates = LFP_ENVELOPE_BANDS if modality == Modality.LFP else DEFAULT_ENVELOPE_BANDS
    return tuple((name, band) for name, band in candidates.items() if band[1] < fs / 2.0)


def _dfa_scales(scales: tuple[float, ...] | None, fs: float, n_times: int) -> tuple[float, ...]:
    """The broadband scales in s as the DFA uses them (rounded to whole samples, duplicates dropped)."""
    if scales is None:
        return tuple(float(v) for v in default_scales(fs, n_times))
    lengths = np.unique(np.round(np.asarray(scales) * fs).astype(int))
    if lengths.size < 2 or lengths[0] < 4 or lengths[-1] > n_times:
        raise DataError(
            f"fingerprint parameter dfa_scales must give at least 2 distinct window lengths between 4 samples and "
            f"the baseline's {n_times} samples at {fs:g} Hz; got {lengths.tolist()} samples"
        )
    return tuple(float(v) for v in lengths / fs)


def _check_below_nyquist(name: str, value: Range, nyquist: float) -> None:
    if value[1] > nyquist * (1 + 1e-12):
        raise DataError(
            f"fingerprint parameter {name} ({value[0]:g}, {value[1]:g}) Hz reaches above the Nyquist frequency "
            f"({nyquist:g} Hz); give a range inside (0, {nyquist:g}) Hz, or leave it to the default"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "BLOCK_SAMPLES",
    "FIELDS",
    "LENGTH_DEPENDENT",
    "MIN_WINDOWS",
    "SLOW_FS",
    "SLOW_WINDOW_S",
    "WINDOW_S",
    "FingerprintParams",
    "ResolvedParams",
    "count_windows",
    "default_aperiodic_range",
    "default_segment_s",
    "default_window_s",
    "make_params",
    "shared_params",
    "shared_window_s",
]
