"""Signal sketches for near-duplicate search: landmarks of log band-power fluctuations + MinHash.

A copy of a recording that was cropped, resampled, rescaled (other units), reduced to a
subset of channels or re-referenced still shares the *timing* of its slow power
fluctuations with the original. The sketch captures exactly that, and nothing that those
operations change:

1. each channel is band-passed to ``band`` (Hz, the same absolute band whatever the
   sampling rate, so resampling does not matter), squared and smoothed over ``smooth_s``;
   its log10 with the channel's median removed is the channel's *log band-power
   fluctuation* curve (a gain, i.e. a change of units, only adds a constant to the log and
   is removed with the median). The mean curve over channels is the *array* curve. Curves
   stay at the full sampling rate, so a copy cropped at any sample sees the same maxima at
   the same places (a curve sampled every ``hop_s`` s, :func:`compute_power_course`, serves
   the verification step).
2. landmarks are the local maxima of each course (at least ``min_distance_s`` apart and
   ``min_prominence`` log10 units prominent), defined by the content, hence unmoved by
   cropping; the same is done on the channels re-referenced to their average (unchanged by
   any change of a common reference) and on the array course;
3. every run of ``landmarks_per_token`` consecutive landmarks of a course becomes one
   token: the intervals between them quantised to ``interval_quantum_s`` plus the rank
   order of their heights, hashed to 64 bits. Intervals do not depend on where the copy
   starts, on its sampling rate, its units or on which other channels it kept;
4. the set of tokens is summarised by ``n_hashes`` (256) MinHash values (the probability that two
   sketches agree on one value equals the Jaccard similarity of their token sets).

The sketch is compact (``n_hashes`` unsigned 32-bit integers plus a few scalars), and
:class:`Sketch` serialises to a dict of plain values for storage. Candidate pairs come from
locality-sensitive hashing of the signatures (:mod:`adhesive_dots.curate.lsh`); they are
confirmed on the samples themselves by :func:`adhesive_dots.curate.verify.verify_pair`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from adhesive_dots.errors import DataError

SKETCH_VERSION = 1
CHANNEL_BLOCK = 32
"""Channels processed at once (bounds memory to a few full-rate copies of 32 channels)."""
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class SketchParams:
    """How sketches are computed (sketches made with different parameters cannot be compared).

    Attributes
    ----------
    band : (float, float)
        Pass band in Hz, inclusive, of the power whose fluctuations are tracked. The upper
        edge is lowered to ``0.4 * fs`` for recordings sampled too slowly to hold it.
    smooth_s : float
        Length in s of the moving average applied to the squared band-passed signal.
    hop_s : float
        Sampling interval in s of the log band-power course.
    min_distance_s : float
        Minimum distance in s between two landmarks of a course.
    min_prominence : float
        Minimum prominence of a landmark, in log10 power units (0.1 is a 26 % rise).
    landmarks_per_token : int
        Consecutive landmarks combined into one token.
    interval_quantum_s : float
        Quantum in s of the landmark intervals inside a token.
    n_hashes : int
        Length of the MinHash signature.
    seed : int
        Seed of the MinHash functions (fixed, so sketches are comparable across runs).
    """

    band: tuple[float, float] = (1.0, 5.0)
    smooth_s: float = 1.0
    hop_s: float = 0.25
    min_distance_s: float = 2.0
    min_prominence: float = 0.1
    landmarks_per_token: int = 7
    interval_quantum_s: float = 1.0
    n_hashes: int = 256
    seed: int = 20_240_601

    def __post_init__(self) -> None:
        low, high = self.band
        if not 0 < low < high:
            raise DataError(f"SketchParams.band must be (low, high) Hz with 0 < low < high, got {self.band!r}")
        for name in ("smooth_s", "hop_s", "min_distance_s", "interval_quantum_s"):
            if not getattr(self, name) > 0:
                raise DataError(f"SketchParams.{name} must be positive (s), got {getattr(self, name)!r}")
        if self.landmarks_per_token < 2:
            raise DataError(f"SketchParams.landmarks_per_token must be at least 2, got {self.landmarks_per_token}")
        if self.n_hashes < 8:
            raise DataError(f"SketchParams.n_hashes must be at least 8, got {self.n_hashes}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"band": list(self.band), "version": SKETCH_VERSION}


@dataclass(frozen=True)
class Sketch:
    """The sketch of one baseline.

    Attributes
    ----------
    signature : ndarray of uint32, shape (n_hashes,)
        MinHash values of the token set (all ``2**32 - 1`` when there are no tokens).
    n_tokens : int
        Distinct tokens summarised.
    fs : float
        Sampling rate in Hz of the sketched data.
    n_channels, n_times : int
        Shape of the sketched data.
    params : SketchParams
        Parameters used.
    """

    signature: np.ndarray
    n_tokens: int
    fs: float
    n_channels: int
    n_times: int
    params: SketchParams = field(default_factory=SketchParams)

    @property
    def duration(self) -> float:
        """s of data sketched."""
        return self.n_times / self.fs

    def jaccard(self, other: Sketch) -> float:
        """Estimated Jaccard similarity of the two token sets (fraction of equal MinHash values)."""
        _check_comparable(self, other)
        if self.n_tokens == 0 or other.n_tokens == 0:
            return 0.0
        return float(np.mean(self.signature == other.signature))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-serialisable) for storage; inverse of :meth:`from_dict`."""
        return {
            "signature": self.signature.astype(np.int64).tolist(),
            "n_tokens": int(self.n_tokens),
            "fs": float(self.fs),
            "n_channels": int(self.n_channels),
            "n_times": int(self.n_times),
            "params": self.params.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sketch:
        """Rebuild a sketch stored with :meth:`to_dict`."""
        try:
            params = dict(data["params"])
            version = params.pop("version", SKETCH_VERSION)
            if version != SKETCH_VERSION:
                raise DataError(
                    f"sketch version {version} cannot be read by this adhesive-dots (reads {SKETCH_VERSION}); "
                    "recompute the sketches"
                )
            params["band"] = tuple(params["band"])
            return cls(
                signature=np.asarray(data["signature"], dtype=np.uint32),
                n_tokens=int(data["n_tokens"]),
                fs=float(data["fs"]),
                n_channels=int(data["n_channels"]),
                n_times=int(data["n_times"]),
                params=SketchParams(**params),
            )
        except (KeyError, TypeError) as err:
            raise DataError(f"not a stored sketch (missing or malformed field: {err})") from None


def _check_comparable(a: Sketch, b: Sketch) -> None:
    if a.params != b.params:
        raise DataError("the two sketches were computed with different SketchParams; recompute one of them")


# -- the log band-power course -------------------------------------------------------------------


def _check_rate(fs: float, params: SketchParams) -> float:
    if not np.isfinite(fs) or fs <= 0:
        raise DataError(f"fs must be a positive sampling rate in Hz, got {fs!r}")
    low, high = params.band
    high = min(high, 0.4 * fs)
    if high <= low:
        raise DataError(
            f"fs = {fs:g} Hz is too low for the sketch band {params.band} Hz (need fs > {low / 0.4:g} Hz); "
            "lower SketchParams.band"
        )
    return high


def compute_log_power(data: np.ndarray, fs: float, *, params: SketchParams | None = None) -> np.ndarray:
    """Log10 band power of each channel at the full rate, smoothed, median removed.

    The band-passed signal (``params.band``, zero-phase 4th-order Butterworth) is squared and
    smoothed by three passes of a moving average of ``smooth_s / sqrt(3)`` s (a near-Gaussian
    kernel with the spread of a ``smooth_s`` boxcar), so its maxima are well defined.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Samples (any units; non-finite samples are treated as zero).
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    ndarray, shape (..., n_times)
        log10 power minus its median over time (so a change of units changes nothing).
    """
    params = params or SketchParams()
    x = np.asarray(data, dtype=np.float64)
    if x.shape[-1] < 2:
        raise DataError(f"data must hold at least 2 samples along time, got shape {x.shape}")
    high = _check_rate(fs, params)
    x = np.where(np.isfinite(x), x, 0.0)
    x = x - x.mean(axis=-1, keepdims=True)
    sos = sps.butter(4, (params.band[0], high), btype="bandpass", fs=fs, output="sos")
    power = sps.sosfiltfilt(sos, x, axis=-1) ** 2
    size = max(1, int(round(params.smooth_s * fs / np.sqrt(3))))
    for _ in range(3):
        power = ndimage.uniform_filter1d(power, size=size, axis=-1, mode="nearest")
    floor = np.maximum(np.median(power, axis=-1, keepdims=True) * 1e-6, np.finfo(float).tiny)
    log_power = np.log10(np.maximum(power, floor))
    return log_power - np.median(log_power, axis=-1, keepdims=True)


def compute_power_course(
    data: np.ndarray,
    fs: float,
    *,
    params: SketchParams | None = None,
) -> np.ndarray:
    """Log10 band-power fluctuations of each channel sampled every ``hop_s`` s (median removed).

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Samples (any units; non-finite samples are treated as zero).
    fs : float
        Sampling rate in Hz.
    params : SketchParams, optional
        ``band``, ``smooth_s`` and ``hop_s`` are used.

    Returns
    -------
    ndarray, shape (..., n_hops)
        :func:`compute_log_power` sampled every ``hop_s`` s from the first sample.
    """
    params = params or SketchParams()
    log_power = compute_log_power(data, fs, params=params)
    n_times = log_power.shape[-1]
    n_hops = int(np.floor((n_times - 1) / fs / params.hop_s)) + 1
    index = np.minimum(np.round(np.arange(n_hops) * params.hop_s * fs).astype(int), n_times - 1)
    course = log_power[..., index]
    return course - np.median(course, axis=-1, keepdims=True)


# -- landmarks and tokens --------------------------------------------------------------------------


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective scramble of uint64 values."""
    z = values.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def compute_landmarks(
    course: np.ndarray, fs: float, *, params: SketchParams | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of one log band-power curve: times in s (parabolically interpolated) and heights.

    Parameters
    ----------
    course : ndarray, shape (n_samples,)
        A log band-power curve (:func:`compute_log_power`, or a course sampled every ``hop_s``).
    fs : float
        Its sampling rate in Hz (``1 / hop_s`` for a course).

    Returns
    -------
    times : ndarray, shape (n_landmarks,)
        s from the start of the course.
    heights : ndarray, shape (n_landmarks,)
        Course value at each landmark.
    """
    params = params or SketchParams()
    c = np.asarray(course, dtype=float)
    distance = max(1, int(round(params.min_distance_s * fs)))
    peaks, _ = sps.find_peaks(c, distance=distance, prominence=params.min_prominence)
    peaks = peaks[(peaks > 0) & (peaks < c.size - 1)]
    left, mid, right = c[peaks - 1], c[peaks], c[peaks + 1]
    denom = left - 2 * mid + right
    shift = np.divide(0.5 * (left - right), denom, out=np.zeros_like(mid), where=denom != 0)
    shift = np.clip(shift, -0.5, 0.5)
    return (peaks + shift) / fs, mid


def compute_tokens(courses: np.ndarray, fs: float, *, params: SketchParams | None = None, salt: int = 0) -> np.ndarray:
    """Distinct 64-bit tokens of the landmarks of every curve.

    Parameters
    ----------
    courses : ndarray, shape (n_courses, n_samples)
        Log band-power curves (:func:`compute_log_power`).
    fs : float
        Their sampling rate in Hz.
    salt : int
        Mixed into every token (keeps per-array tokens apart from per-channel ones).

    Returns
    -------
    ndarray of uint64, shape (n_tokens,)
        Sorted, distinct.
    """
    params = params or SketchParams()
    m = params.landmarks_per_token
    out = []
    for course in np.atleast_2d(courses):
        times, heights = compute_landmarks(course, fs, params=params)
        if times.size < m:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(np.arange(times.size), m)
        intervals = np.diff(times[windows], axis=1)
        quanta = np.floor(intervals / params.interval_quantum_s + 0.5).astype(np.uint64)
        ranks = np.argsort(np.argsort(heights[windows], axis=1), axis=1).astype(np.uint64)
        token = np.full(windows.shape[0], np.uint64(salt + 1))
        with np.errstate(over="ignore"):
            for column in range(m - 1):
                token = _mix64(token ^ (quanta[:, column] + np.uint64(0x9E3779B97F4A7C15)))
            for column in range(m):
                token = _mix64(token ^ (ranks[:, column] + np.uint64(0x632BE59BD9B4E019)))
        out.append(token)
    if not out:
        return np.empty(0, dtype=np.uint64)
    return np.unique(np.concatenate(out))


def minhash_signature(tokens: np.ndarray, *, n_hashes: int = 256, seed: int = 0) -> np.ndarray:
    """MinHash signature of a set of 64-bit tokens (multiply-shift hashing).

    Returns
    -------
    ndarray of uint32, shape (n_hashes,)
        ``min`` over tokens of each hash function; ``2**32 - 1`` everywhere for an empty set.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=n_hashes, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=n_hashes, dtype=np.uint64)
    tokens = np.asarray(tokens, dtype=np.uint64)
    if tokens.size == 0:
        return np.full(n_hashes, np.iinfo(np.uint32).max, dtype=np.uint32)
    signature = np.full(n_hashes, np.iinfo(np.uint32).max, dtype=np.uint64)
    for start in range(0, tokens.size, 4096):
        block = tokens[start : start + 4096]
        with np.errstate(over="ignore"):
            hashed = (a[:, None] * block[None, :] + b[:, None]) >> np.uint64(32)
        signature = np.minimum(signature, hashed.min(axis=1))
    return signature.astype(np.uint32)


def compute_sketch(
    data: np.ndarray,
    fs: float,
    *,
    channel_names: Sequence[str] | None = None,
    params: SketchParams | None = None,
) -> Sketch:
    """The sketch of a baseline's samples.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Samples in any units (1-D is one channel).
    fs : float
        Sampling rate in Hz.
    channel_names : sequence of str, optional
        Only checked for length: tokens do not depend on names, since copies rename channels.
    params : SketchParams, optional
        See :class:`SketchParams`.

    Returns
    -------
    Sketch

    Examples
    --------
    >>> from adhesive_dots.sim import sim_powerlaw
    >>> x = sim_powerlaw(60_000, 250.0, 1.5, n_signals=4, rng=0)
    >>> a = compute_sketch(x, 250.0)
    >>> b = compute_sketch(1e3 * x[:2, 10_000:], 250.0)  # cropped, rescaled, half the channels
    >>> a.jaccard(b) > 0.1
    True
    """
    params = params or SketchParams()
    x = np.asarray(data, dtype=np.float64)
    if x.ndim == 1:
        x = x[np.newaxis]
    if x.ndim != 2:
        raise DataError(f"data must be (n_channels, n_times), got shape {x.shape}")
    if channel_names is not None and len(channel_names) != x.shape[0]:
        raise DataError(f"{len(channel_names)} channel names for {x.shape[0]} channels")
    _check_rate(fs, params)
    parts, array_sum = [], None
    common = x.mean(axis=0, keepdims=True) if x.shape[0] > 1 else None
    for start in range(0, x.shape[0], CHANNEL_BLOCK):
        block = x[start : start + CHANNEL_BLOCK]
        curves = compute_log_power(block, fs, params=params)
        parts.append(compute_tokens(curves, fs, params=params))
        array_sum = curves.sum(axis=0) if array_sum is None else array_sum + curves.sum(axis=0)
        if common is not None:
            parts.append(
                compute_tokens(compute_log_power(block - common, fs, params=params), fs, params=params, salt=2)
            )
    if x.shape[0] > 1:
        parts.append(compute_tokens((array_sum / x.shape[0])[np.newaxis], fs, params=params, salt=1))
    tokens = np.unique(np.concatenate(parts))
    signature = minhash_signature(tokens, n_hashes=params.n_hashes, seed=params.seed)
    return Sketch(signature, int(tokens.size), float(fs), int(x.shape[0]), int(x.shape[1]), params)
