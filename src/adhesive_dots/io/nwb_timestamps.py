"""Timestamps of NWB series read with h5py for the ``timestamps.*`` checks of validation.

:func:`nwb_segment_timestamps` reads the timestamps of a baseline's samples (only those) when
the main series of a local NWB file is timestamped; :func:`nwb_timestamp_findings` checks every
timestamped neural series of a file whose reader refused it for its timestamps (the baseline
cannot be located then), in blocks of :data:`TIMESTAMP_BLOCK`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adhesive_dots.core import Baseline, Finding, Recording
from adhesive_dots.metadata import Modality
from adhesive_dots.validate import Thresholds, batch_finding, compute_timestamp_report

NEURAL_TYPES = {"ElectricalSeries": None, "RoiResponseSeries": Modality.CALCIUM}


def nwb_segment_timestamps(path: str, recording: Recording, baseline: Baseline) -> np.ndarray | None:
    """Timestamps (s) of the baseline of a local NWB file's timestamped main series, else ``None``.

    The main series is the neural series (``ElectricalSeries``/``RoiResponseSeries``) whose
    length is the recording's and whose first timestamp is its ``t0``; only the samples of
    the segment (plus one on either side) are read.
    """
    import h5py

    if not path.lower().endswith(".nwb") or not Path(path).is_file() or recording.modality is Modality.SPIKES:
        return None
    found: list[h5py.Dataset] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Group) and obj.attrs.get("neurodata_type") in NEURAL_TYPES and "timestamps" in obj:
            stamps = obj["timestamps"]
            if stamps.ndim == 1 and stamps.shape[0] == recording.n_times and stamps.shape[0] > 1:
                if abs(float(stamps[0]) - recording.t0) <= 0.5 / recording.fs:
                    found.append(stamps)

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
        if len(found) != 1:  # none, or ambiguous: no guess
            return None
        stamps = found[0]
        i0 = max(recording.sample_index(baseline.segment.start) - 1, 0)
        i1 = min(recording.sample_index(baseline.segment.stop) + 1, recording.n_times)
        return np.asarray(stamps[i0:i1], dtype=np.float64)


TIMESTAMP_BLOCK = 1_000_000
"""Timestamps read per block when a whole series is checked (8 MB of float64)."""


def nwb_timestamp_findings(path: str, *, thresholds: Thresholds | None = None) -> list[Finding]:
    """``timestamps.monotonic`` / ``timestamps.gaps`` findings of every timestamped neural series of an NWB file.

    Used when the reader refuses a file for its timestamps (the baseline cannot be located
    then, so the whole series is checked). Timestamps are read in blocks of
    :data:`TIMESTAMP_BLOCK`; the nominal rate is the inverse of the median step of the first block.
    """
    import h5py

    if not path.lower().endswith(".nwb") or not Path(path).is_file():
        return []
    gap_factor = (thresholds or Thresholds()).gap_factor
    series: list[tuple[str, h5py.Dataset]] = []
    findings: list[Finding] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Group) and obj.attrs.get("neurodata_type") in NEURAL_TYPES and "timestamps" in obj:
            series.append(("/" + name, obj["timestamps"]))

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
        for name, stamps in series:
            n = stamps.shape[0]
            if n < 3:
                continue
            first_block = np.asarray(stamps[: min(n, TIMESTAMP_BLOCK)], dtype=np.float64)
            steps = np.diff(first_block)
            period = float(np.median(steps[np.isfinite(steps)])) if np.isfinite(steps).any() else float("nan")
            if not period > 0:
                continue
            fs = 1.0 / period
            backward = gaps = dropped = 0
            first_back = first_gap = float("nan")
            for i0 in range(0, n - 1, TIMESTAMP_BLOCK):  # blocks overlap by one sample: every step counted once
                block = np.asarray(stamps[i0 : i0 + TIMESTAMP_BLOCK + 1], dtype=np.float64)
                report = compute_timestamp_report(block, fs, gap_factor=gap_factor)
                backward, gaps, dropped = (
                    backward + report.n_nonincreasing,
                    gaps + report.n_gaps,
                    dropped + report.n_dropped,
                )
                first_back = report.first_nonincreasing if np.isnan(first_back) else first_back
                first_gap = report.first_gap if np.isnan(first_gap) else first_gap
            if backward:
                message = (
                    f"{path}: {backward} timestamp(s) of series {name} do not increase, the first at {first_back:.3f} s"
                )
                findings.append(batch_finding("timestamps.monotonic", path, message, value=backward, location=name))
            if gaps:
                message = (
                    f"{path}: {gaps} gap(s) in the timestamps of series {name} ({fs:.6g} Hz), {dropped} "
                    f"sample(s) ({dropped / fs:.3f} s) missing; the first at {first_gap:.3f} s"
                )
                findings.append(
                    batch_finding(
                        "timestamps.gaps", path, message, location=name, value={"n_gaps": gaps, "n_dropped": dropped}
                    )
                )
    return findings
