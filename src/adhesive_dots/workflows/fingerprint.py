"""The fingerprint of a source's baseline (what ``adots fingerprint`` runs), in memory or streamed.

:func:`fingerprint_baseline` is the one place where a baseline becomes a fingerprint for every
command (``fingerprint``, ``report``, ``compare``, ``ingest``, ``search --similar-to``): the same
parameters (:class:`~adhesive_dots.fingerprint.FingerprintParams`: what they leave unset follows one
documented rule), the same seed, and
the choice between reading the segment whole and streaming it in channel blocks (when its
samples would take more than ``max_memory`` GB of float64), so the same dot gives the same
numbers in every command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adhesive_dots.core import Baseline
from adhesive_dots.fingerprint import Fingerprint, FingerprintParams, fingerprint
from adhesive_dots.io.sources import SourceSpec, expand_one, open_baseline

DEFAULT_MAX_MEMORY_GB = 2.0
"""Segments whose float64 samples would take more than this are streamed in channel blocks."""


def fingerprint_baseline(
    baseline: Baseline,
    *,
    params: FingerprintParams | None = None,
    seed: int = 0,
    data: np.ndarray | None = None,
    stream: bool | None = None,
    max_memory: float = DEFAULT_MAX_MEMORY_GB,
    threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> Fingerprint:
    """The fingerprint of ``baseline`` with the shared parameters.

    Parameters
    ----------
    baseline : Baseline
        The dot.
    params : FingerprintParams, optional
        Analysis parameters; what they leave unset follows the documented rule
        (:mod:`adhesive_dots.fingerprint.params`), e.g. ``FingerprintParams(window_s=10)``.
    seed : int
        Seed of the surrogates and channel subsets.
    data : ndarray, shape (n_channels, n_times), optional
        The segment's samples when already read (then it is not streamed).
    stream : bool, optional
        Read the segment in channel blocks (True) or whole (False); default: stream when its
        float64 samples would take more than ``max_memory`` GB.
    max_memory : float
        GB; see ``stream``.
    threads : int
        Channel blocks fingerprinted at once when streaming.
    progress : callable, optional
        ``progress(done, total)`` over channel blocks when streaming.
    """
    n_bytes = 8 * len(baseline.channel_names) * baseline.duration * baseline.fs
    if data is None and (stream or (stream is None and n_bytes > max_memory * 1e9)):
        from adhesive_dots.fingerprint.streaming import fingerprint_streaming

        return fingerprint_streaming(baseline, params=params, threads=threads, rng=seed, progress=progress)
    return fingerprint(baseline, data=data, params=params, rng=seed)


@dataclass
class FingerprintRun:
    """What :func:`fingerprint_source` did: the fingerprint, the baseline's segment and notes for the user."""

    fingerprint: Fingerprint
    source: str
    segment: tuple[tuple[float, float], ...]
    evidence: str
    notes: list[str] = field(default_factory=list)
    out: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        import math

        ds = self.fingerprint.dataset
        summary = self.fingerprint.summary_dict()
        return {
            "source": self.source,
            "modality": ds.attrs["modality"],
            "n_channels": int(ds.sizes["channel"]),
            "fs": ds.attrs["fs"],
            "duration_s": ds.attrs["duration_s"],
            "segment": [list(p) for p in self.segment],
            "evidence": self.evidence,
            "parameters": self.fingerprint.params.to_dict(),
            "out": str(self.out) if self.out is not None else None,
            "notes": list(self.notes),
            "summary": {k: (None if math.isnan(v) else v) for k, v in summary.items()},
        }


def fingerprint_source(
    target: str | Path | SourceSpec,
    *,
    template: SourceSpec | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    **options: Any,
) -> FingerprintRun:
    """Fingerprint the baseline of one source and optionally write it to NetCDF (atomically).

    Parameters
    ----------
    target : str, Path or SourceSpec
        One recording (a BIDS dataset narrowed to one run by the template's entities).
    template : SourceSpec, optional
        Reading options and the baseline choice.
    out : path, optional
        NetCDF file to write.
    overwrite : bool
        Replace an existing ``out``.
    **options
        Of :func:`fingerprint_baseline` (``params``, ``seed``, ``stream``, ``max_memory``, ``threads``, ``progress``).
    """
    from adhesive_dots.errors import DataError, option

    if out is not None and Path(out).exists() and not overwrite:
        raise DataError(f"{out}: file exists; pass {option('overwrite', True)} to replace it")
    spec = expand_one(target, template=template)
    resolved, baseline = open_baseline(spec)
    with resolved:
        result = fingerprint_baseline(baseline, **options)
    if out is not None:
        result.to_netcdf(out, overwrite=overwrite)
    from adhesive_dots.fingerprint.dfa import dfa_findings

    fit_notes = [f"{f.message}; {f.fix}" for f in dfa_findings(result.dataset, source=str(resolved.key))]
    return FingerprintRun(
        result,
        resolved.key,
        baseline.segment.pieces,
        baseline.segment.evidence,
        [*resolved.notes, *fit_notes],
        Path(out) if out is not None else None,
    )
