"""Core types (layer 1): :class:`Recording`, :class:`Segment`, :class:`Baseline`, :class:`Finding`.

A :class:`Recording` is one session's data source, opened lazily: it knows its sampling
rate, channels and length, and reads a slice of samples only when asked. The ``io`` layer
builds recordings from NWB, BIDS and raw files by handing over a *reader*, a callable
``reader(start_index, stop_index, channel_index) -> ndarray (n_channels, n_samples)``;
:meth:`Recording.from_array` wraps data already in memory.

A :class:`Baseline` (an adhesive dot) is a spontaneous :class:`Segment` of a recording plus
its :class:`~adhesive_dots.metadata.DotMetadata`. ``baseline.load()`` reads only the segment.

Times are in seconds from the start of the recording, frequencies in Hz, and data arrays
are shaped ``(n_channels, n_times)`` (time last).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from adhesive_dots.errors import DataError
from adhesive_dots.metadata import DotMetadata, Modality

Reader = Callable[[int, int, np.ndarray], np.ndarray]
"""``reader(start_index, stop_index, channel_index) -> (n_channels, n_samples)`` array."""

INTERVAL_COLUMNS = ("start", "stop", "label", "table")


def memory_available() -> int:
    """Bytes this process may still allocate: the free physical memory, or the address-space limit
    (``RLIMIT_AS``) when one is set and lower."""
    import resource

    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        free = 1 << 62
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return int(min(free, soft)) if soft != resource.RLIM_INFINITY else int(free)


def check_memory(n_bytes: int, *, source: str, what: str) -> None:
    """Raise :class:`DataError` before allocating ``n_bytes`` that do not fit in :func:`memory_available`."""
    budget = memory_available()
    if n_bytes > budget:
        raise DataError(
            f"{source}: reading {what} needs {n_bytes / 1e9:.3g} GB, more than the {budget / 1e9:.3g} GB of memory "
            "available; choose a shorter segment (--start/--stop) or fewer channels (--channels), or check the "
            "file's declared size"
        )


class Recording:
    """One session's data source, opened lazily.

    Parameters
    ----------
    source : str
        Where the data come from (path, URL, archive id); used in every message.
    fs : float
        Sampling rate in Hz.
    channel_names : sequence of str
        One name per channel, unit or ROI.
    n_times : int
        Number of samples per channel.
    reader : callable
        ``reader(i0, i1, channel_index)`` returns samples ``i0:i1`` of the channels in
        ``channel_index`` (an integer array) as an array ``(n_channels, i1 - i0)``.
    modality : Modality
        Kind of signal.
    units : str
        Units of measure of the samples.
    t0 : float
        Time in s of the first sample, relative to the session start.
    metadata : DotMetadata, optional
        What the source says about itself (filled by ``io``).
    intervals : DataFrame, optional
        Labelled intervals with columns ``start``, ``stop`` (s), ``label``, ``table``.
    signals : dict of str to Recording, optional
        Auxiliary series by name (``"pupil"``, ``"running_speed"``, ...), each a recording.
    close : callable, optional
        Releases the underlying file or connection.

    Attributes
    ----------
    spikes : object or None
        Unbinned spike times when the source has them (``io`` sets an
        ``adhesive_dots.io.nwb.SpikeTrains`` with ``unit(i)`` and ``bin(bin_width)``).
    """

    spikes: Any = None

    def __init__(
        self,
        source: str,
        *,
        fs: float,
        channel_names: Sequence[str],
        n_times: int,
        reader: Reader,
        modality: Modality | str = Modality.OTHER,
        units: str = "",
        t0: float = 0.0,
        metadata: DotMetadata | None = None,
        intervals: pd.DataFrame | None = None,
        signals: dict[str, Recording] | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        if not np.isfinite(fs) or fs <= 0:
            raise DataError(f"{source}: sampling rate must be a positive number of Hz, got {fs!r}")
        self.source = str(source)
        self.fs = float(fs)
        self.channel_names = tuple(str(name) for name in channel_names)
        self.n_times = int(n_times)
        self.modality = Modality(modality)
        self.units = units
        self.t0 = float(t0)
        self.metadata = metadata if metadata is not None else DotMetadata()
        self.intervals = _check_intervals(intervals, self.source)
        self.signals: dict[str, Recording] = dict(signals or {})
        self._reader = reader
        self._close = close
        self.problems: list[str] = []  # parts of the file left out (an unreadable auxiliary series), for findings

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_array(
        cls,
        data: np.ndarray,
        fs: float,
        *,
        source: str = "<array>",
        channel_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Recording:
        """Wrap an in-memory array ``(n_channels, n_times)`` (1-D is one channel)."""
        array = np.asarray(data)
        if array.ndim == 1:
            array = array[np.newaxis]
        if array.ndim != 2:
            raise DataError(f"{source}: data must be (n_channels, n_times), got shape {array.shape}")
        if channel_names is None:
            channel_names = [f"ch{i:03d}" for i in range(array.shape[0])]
        if len(channel_names) != array.shape[0]:
            raise DataError(f"{source}: {len(channel_names)} channel names for {array.shape[0]} channels")

        def reader(i0: int, i1: int, index: np.ndarray) -> np.ndarray:
            return array[index, i0:i1]

        return cls(
            source,
            fs=fs,
            channel_names=channel_names,
            n_times=array.shape[1],
            reader=reader,
            **kwargs,
        )

    # -- properties --------------------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def duration(self) -> float:
        """Length in s."""
        return self.n_times / self.fs

    def __repr__(self) -> str:
        return (
            f"<Recording {self.source!r}: {self.modality.value}, {self.n_channels} channels, "
            f"{self.fs:g} Hz, {self.duration:.1f} s>"
        )

    # -- reading ---------------------------------------------------------------------------
    def channel_index(self, channels: Sequence[str] | Sequence[int] | None) -> np.ndarray:
        """Integer positions of ``channels`` (names or positions; ``None`` for all)."""
        if channels is None:
            return np.arange(self.n_channels)
        index = []
        for item in channels:
            if isinstance(item, str):
                if item not in self.channel_names:
                    raise DataError(
                        f"{self.source}: no channel named {item!r}; "
                        f"available: {', '.join(self.channel_names[:10])}" + (" ..." if self.n_channels > 10 else "")
                    )
                index.append(self.channel_names.index(item))
            else:
                position = int(item)
                if not 0 <= position < self.n_channels:
                    raise DataError(f"{self.source}: channel position {position} outside 0..{self.n_channels - 1}")
                index.append(position)
        return np.asarray(index, dtype=int)

    def sample_index(self, time: float) -> int:
        """Index of the first sample at or after ``time`` (s), clipped to the recording."""
        index = int(np.ceil(round((time - self.t0) * self.fs, 6)))
        return min(max(index, 0), self.n_times)

    def read(
        self,
        start: float | None = None,
        stop: float | None = None,
        *,
        channels: Sequence[str] | Sequence[int] | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> np.ndarray:
        """Samples between ``start`` and ``stop`` (s), shape ``(n_channels, n_samples)``."""
        i0 = 0 if start is None else self.sample_index(start)
        i1 = self.n_times if stop is None else self.sample_index(stop)
        if i1 < i0:
            raise DataError(f"{self.source}: stop ({stop} s) is before start ({start} s)")
        index = self.channel_index(channels)
        check_memory(len(index) * max(i1 - i0, 0) * 8, source=self.source, what=f"samples {i0}:{i1}")
        block = self._reader(i0, i1, index)
        return np.asarray(block, dtype=dtype)

    def select_channels(self, channels: Sequence[str] | Sequence[int]) -> Recording:
        """A recording of only ``channels`` (names or positions, in the order given), sharing this one's file.

        Closing either closes the file; intervals, signals and metadata are shared (spike times only
        when every unit is kept in order, since they are per unit).
        """
        index = self.channel_index(channels)
        if index.size == 0:
            raise DataError(f"{self.source}: the channel selection is empty; name at least one channel")
        reader = self._reader

        def selected(i0: int, i1: int, positions: np.ndarray) -> np.ndarray:
            return reader(i0, i1, index[positions])

        view = Recording(
            self.source,
            fs=self.fs,
            channel_names=[self.channel_names[i] for i in index],
            n_times=self.n_times,
            reader=selected,
            modality=self.modality,
            units=self.units,
            t0=self.t0,
            metadata=self.metadata.merged(recording={"n_channels": int(index.size)}),
            intervals=self.intervals,
            signals=self.signals,
            close=self.close,
        )
        view.spikes = self.spikes if np.array_equal(index, np.arange(self.n_channels)) else None
        view.problems = self.problems
        return view

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Release the file or connection behind the recording (idempotent)."""
        for signal in self.signals.values():
            signal.close()
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_intervals(intervals: pd.DataFrame | None, source: str) -> pd.DataFrame:
    if intervals is None:
        return pd.DataFrame(
            {name: pd.Series(dtype=float if name in ("start", "stop") else object) for name in INTERVAL_COLUMNS}
        )
    missing = [name for name in INTERVAL_COLUMNS if name not in intervals.columns]
    if missing:
        raise DataError(f"{source}: intervals lack column(s) {missing}; need {list(INTERVAL_COLUMNS)}")
    return intervals.reset_index(drop=True)


@dataclass(frozen=True)
class Segment:
    """A stretch of a recording, possibly concatenated from pieces.

    Attributes
    ----------
    pieces : tuple of (start, stop)
        Each contiguous piece in s, in time order; one piece for a contiguous segment.
    evidence : str
        What marked the segment, e.g. ``"epochs row 0 tagged 'spontaneous'"``.
    label : str
        The label of the marking interval, e.g. ``"spontaneous"``.
    """

    pieces: tuple[tuple[float, float], ...]
    evidence: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if not self.pieces:
            raise DataError("a segment needs at least one (start, stop) piece")
        pieces = tuple((float(a), float(b)) for a, b in self.pieces)
        for a, b in pieces:
            if not b > a:
                raise DataError(f"segment piece ({a} s, {b} s): stop must be after start")
        if any(pieces[i + 1][0] < pieces[i][1] for i in range(len(pieces) - 1)):
            raise DataError(f"segment pieces overlap or are out of order: {pieces}")
        object.__setattr__(self, "pieces", pieces)

    @classmethod
    def between(cls, start: float, stop: float, **kwargs: str) -> Segment:
        """A contiguous segment from ``start`` to ``stop`` (s)."""
        return cls(((start, stop),), **kwargs)

    @property
    def start(self) -> float:
        return self.pieces[0][0]

    @property
    def stop(self) -> float:
        return self.pieces[-1][1]

    @property
    def duration(self) -> float:
        """Seconds of data, gaps excluded."""
        return float(sum(b - a for a, b in self.pieces))

    @property
    def contiguous(self) -> bool:
        return len(self.pieces) == 1

    @property
    def gaps(self) -> tuple[tuple[float, float], ...]:
        return tuple((self.pieces[i][1], self.pieces[i + 1][0]) for i in range(len(self.pieces) - 1))


class Severity(StrEnum):
    """How much a finding matters, from most to least severe."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical ... 3 for info."""
        return list(Severity).index(self)


@dataclass(frozen=True)
class Finding:
    """A structured result of a check or of a batch step that failed."""

    code: str
    severity: Severity
    message: str
    source: str = ""
    location: str = ""
    value: Any = None
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": Severity(self.severity).value,
            "message": self.message,
            "source": self.source,
            "location": self.location,
            "value": self.value,
            "fix": self.fix,
        }


@dataclass
class Baseline:
    """A spontaneous segment of a recording plus its metadata (an adhesive dot)."""

    recording: Recording
    segment: Segment
    metadata: DotMetadata = field(default_factory=DotMetadata)
    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def from_array(
        cls,
        data: np.ndarray,
        fs: float,
        *,
        metadata: DotMetadata | None = None,
        channel_names: Sequence[str] | None = None,
        source: str = "<array>",
        modality: Modality | str = Modality.OTHER,
    ) -> Baseline:
        """A baseline spanning a whole in-memory array ``(n_channels, n_times)``."""
        recording = Recording.from_array(data, fs, source=source, channel_names=channel_names, modality=modality)
        segment = Segment.between(0.0, recording.duration, evidence="whole array")
        return cls(recording, segment, metadata if metadata is not None else DotMetadata())

    @property
    def fs(self) -> float:
        return self.recording.fs

    @property
    def channel_names(self) -> tuple[str, ...]:
        return self.recording.channel_names

    @property
    def source(self) -> str:
        return self.recording.source

    @property
    def duration(self) -> float:
        return self.segment.duration

    def load(
        self,
        channels: Sequence[str] | Sequence[int] | None = None,
        *,
        dtype: np.dtype | type = np.float64,
    ) -> np.ndarray:
        """Read only the segment: ``(n_channels, n_times)``, pieces concatenated in order."""
        blocks = [self.recording.read(a, b, channels=channels, dtype=dtype) for a, b in self.segment.pieces]
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=-1)

    def load_signal(self, name: str) -> np.ndarray:
        """An auxiliary series (e.g. ``"pupil"``) over the segment, ``(n_channels, n_times)``."""
        if name not in self.recording.signals:
            raise DataError(
                f"{self.source}: no auxiliary signal {name!r}; available: {sorted(self.recording.signals) or 'none'}"
            )
        signal = self.recording.signals[name]
        return np.concatenate([signal.read(a, b) for a, b in self.segment.pieces], axis=-1)

    def content_hash(self) -> str:
        """SHA-256 of the segment's samples as little-endian float32 (not of the file)."""
        digest = hashlib.sha256()
        for a, b in self.segment.pieces:
            block = self.recording.read(a, b, dtype=np.float32)
            digest.update(np.ascontiguousarray(block, dtype="<f4").tobytes())
        return f"sha256:{digest.hexdigest()}"

    def __repr__(self) -> str:
        kind = "contiguous" if self.segment.contiguous else f"{len(self.segment.pieces)} pieces"
        return (
            f"<Baseline {self.source!r} {self.segment.start:.1f}-{self.segment.stop:.1f} s "
            f"({self.duration:.1f} s, {kind})>"
        )
