"""What every check sees: :class:`CheckContext` (built once per baseline or recording)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adhesive_dots.core import Baseline, Recording, Segment
from adhesive_dots.metadata import DotMetadata, Modality
from adhesive_dots.validate._registry import Thresholds
from adhesive_dots.validate.quality import QualityAccumulator, SignalQuality, block_bounds

MAX_LISTED = 5
"""Channels named in a message before '... and N more' (the finding's value lists up to 50)."""


@dataclass
class CheckContext:
    """The inputs of the checks for one recording (and its baseline, when one was found).

    Attributes
    ----------
    recording : Recording
        The session.
    baseline : Baseline or None
        The baseline under validation; ``None`` when none was found.
    thresholds : Thresholds
        Every limit the checks apply.
    timestamps : ndarray or None
        Sample times in s of the recording's main series ``(n_times,)`` when it is
        timestamped rather than regularly sampled; ``None`` otherwise.
    """

    recording: Recording
    baseline: Baseline | None
    thresholds: Thresholds
    timestamps: np.ndarray | None = None
    _quality: SignalQuality | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        return self.recording.source

    @property
    def metadata(self) -> DotMetadata:
        return self.baseline.metadata if self.baseline is not None else self.recording.metadata

    @property
    def segment(self) -> Segment:
        if self.baseline is None:
            raise LookupError("no baseline in this context")
        return self.baseline.segment

    @property
    def modality(self) -> Modality:
        """The recording's modality, else the metadata's, else ``other``."""
        if self.recording.modality is not Modality.OTHER:
            return self.recording.modality
        return self.metadata.recording.modality or Modality.OTHER

    def where(self) -> str:
        """``"baseline 0.0-600.0 s (epochs row 0 labelled 'spontaneous')"``."""
        segment = self.segment
        text = f"baseline {segment.start:.1f}-{segment.stop:.1f} s"
        return f"{text} ({segment.evidence})" if segment.evidence else text

    @property
    def quality(self) -> SignalQuality:
        """Signal quality of the baseline, computed on first use by reading it in blocks."""
        if self._quality is None:
            self._quality = read_quality(self.recording, self.segment, self.thresholds)
        return self._quality

    def channels(self, mask: np.ndarray, values: np.ndarray, *, unit: str = "", digits: int = 3) -> tuple[str, dict]:
        """Location text and value record for the channels where ``mask`` is True.

        Returns
        -------
        location : str
            ``"channels Fp1 (0.52), O2 (0.4) (2 of 19)"`` naming at most :data:`MAX_LISTED`.
        value : dict
            ``{"n_channels": k, "of": n, "channels": {name: value, ...}}`` (worst first, at most 50).
        """
        names = self.recording.channel_names
        index = np.flatnonzero(mask)
        order = index[np.argsort(-np.nan_to_num(np.abs(values[index]), posinf=np.finfo(float).max))]
        listed = [f"{names[i]} ({_fmt(values[i], digits)}{unit})" for i in order[:MAX_LISTED]]
        more = f" ... and {len(order) - MAX_LISTED} more" if len(order) > MAX_LISTED else ""
        location = f"channel{'s' if len(order) > 1 else ''} {', '.join(listed)}{more} ({len(order)} of {len(names)})"
        value = {
            "n_channels": int(len(order)),
            "of": len(names),
            "channels": {names[i]: _json_number(values[i]) for i in order[:50]},
        }
        return location, value


def _fmt(value: float, digits: int) -> str:
    return "inf" if np.isinf(value) else f"{value:.{digits}g}"


def _json_number(value: Any) -> float | str:
    value = float(value)
    return value if np.isfinite(value) else str(value)


def read_quality(recording: Recording, segment: Segment, thresholds: Thresholds) -> SignalQuality:
    """Stream the segment of ``recording`` through a :class:`QualityAccumulator`.

    Blocks hold whole windows and at most ``thresholds.block_bytes`` of float64 samples;
    each piece of a concatenated segment is read separately (windows never straddle a gap).
    """
    accumulator = QualityAccumulator(
        recording.n_channels, recording.fs, window=thresholds.window, outlier_z=thresholds.outlier_z
    )
    max_block = max(thresholds.block_bytes // (8 * max(recording.n_channels, 1)), 1)
    for start, stop in segment.pieces:
        i0, i1 = recording.sample_index(start), recording.sample_index(stop)
        for b0, b1 in block_bounds(i1 - i0, accumulator.window_samples, max_block):
            accumulator.update(recording.read(_time(recording, i0 + b0), _time(recording, i0 + b1)))
    return accumulator.result()


def _time(recording: Recording, index: int) -> float:
    """Time in s whose :meth:`Recording.sample_index` is ``index``."""
    return recording.t0 + index / recording.fs


def segment_samples(recording: Recording, pieces: Sequence[tuple[float, float]]) -> tuple[int, int]:
    """(available, expected) samples of ``pieces`` given the recording's span."""
    available = sum(recording.sample_index(b) - recording.sample_index(a) for a, b in pieces)
    expected = sum(int(round((b - a) * recording.fs)) for a, b in pieces)
    return available, expected
