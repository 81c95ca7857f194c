"""Validate many sources at once (what ``adots validate`` runs): files, folders, BIDS roots, URLs.

A folder is searched recursively for ``.nwb`` files, BIDS roots (folders holding
``dataset_description.json``: each of their resting-state runs, i.e. a ``task`` entity
containing ``rest``) and single raw files (EDF, BDF, BrainVision, FIF, EEGLAB) outside BIDS
roots. URLs and archive ids (``dandi:...``) go to :func:`~adhesive_dots.io.read.open_recording`
as they are. One bad source never stops the run: it becomes a ``source.unreadable``
finding, and an empty folder a ``source.empty`` one.

The baseline is what :func:`~adhesive_dots.baselines.find_baselines` finds first, unless the
user says where it is: ``start``/``stop`` (s; a missing side is the recording's edge) or
extra ``vocabulary`` words (e.g. ``"T0"``, the rest code of the PhysioNet motor/imagery
EEG runs). An NWB file holding only spike times (a ``Units`` table) is validated on its
spike counts binned at ``units_bin_width`` (default :data:`SPIKE_BIN_WIDTH`); the checks
that read those samples (silent units, mean-rate drift) do not depend on the bin width.
When the main series of a local NWB file is timestamped, the timestamps of the baseline
(only those) are read with h5py for the ``timestamps.*`` checks (:func:`nwb_segment_timestamps`).

The JSON report (:func:`report_to_dict`, ``adots validate --json``) has this stable shape
(version ``adhesive-dots/validate-report/1``; fields are only ever added)::

    {
      "schema": "adhesive-dots/validate-report/1",
      "min_duration": 600.0,              # s
      "min_severity": "info",             # findings below it are left out of "findings"
      "summary": {"sources": 3, "compliant": 2, "noncompliant": 1,
                  "findings": {"critical": 0, "error": 1, "warning": 0, "info": 2}},
      "sources": [
        {"source": "path/or/url",         # the file that was read (a BIDS run's data file)
         "compliant": false,              # no finding at error or above (before the filter)
         "baseline": {"start": 0.0, "stop": 420.0, "duration": 420.0,   # s; null when none
                      "contiguous": true, "gaps": [], "evidence": "..."},
         "findings": [{"code": "baseline.duration", "severity": "error", "message": "...",
                       "source": "...", "location": "...", "value": 420.0, "fix": "..."}]}
      ]
    }
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adhesive_dots.baselines import SPONTANEOUS_VOCABULARY, find_baselines
from adhesive_dots.core import Baseline, Finding, Recording, Severity
from adhesive_dots.errors import BaselineNotFoundError, DataError
from adhesive_dots.io import discover
from adhesive_dots.io.discover import SourceItem
from adhesive_dots.io.read import open_recording
from adhesive_dots.metadata import Modality
from adhesive_dots.validate import (
    CHECKS,
    Thresholds,
    at_least,
    compute_timestamp_report,
    is_compliant,
    select_checks,
    validate_recording,
)

REPORT_SCHEMA = "adhesive-dots/validate-report/1"
SPIKE_BIN_WIDTH = 0.1
"""s; bin width of the spike counts of a units-only NWB file (when no ``units_bin_width`` is given)."""


@dataclass
class SourceReport:
    """The validation of one source: its findings and the baseline that was checked."""

    source: str
    findings: list[Finding]
    baseline: Baseline | None = None

    @property
    def compliant(self) -> bool:
        return is_compliant(self.findings)

    def to_dict(self, *, min_severity: Severity | str = Severity.INFO) -> dict[str, Any]:
        baseline = None
        if self.baseline is not None:
            segment = self.baseline.segment
            baseline = {
                "start": segment.start,
                "stop": segment.stop,
                "duration": segment.duration,
                "contiguous": segment.contiguous,
                "gaps": [list(gap) for gap in segment.gaps],
                "evidence": segment.evidence,
            }
        return {
            "source": self.source,
            "compliant": self.compliant,
            "baseline": baseline,
            "findings": [f.to_dict() for f in at_least(self.findings, min_severity)],
        }


def _batch_finding(code: str, source: str, message: str, *, fix: str = "", value: Any = None,
                   location: str = "") -> Finding:  # fmt: skip
    check = CHECKS[code]
    return Finding(code=code, severity=check.severity, message=message, source=source, fix=fix or check.fix,
                   value=value, location=location)  # fmt: skip


def expand_sources(sources: Iterable[str | Path]) -> tuple[list[SourceItem], list[SourceReport]]:
    """Recordings to open from ``sources`` (see :func:`~adhesive_dots.io.discover.expand_sources`),
    and a report with one finding for each source that yields none."""
    items, problems = discover.expand_sources(sources)
    reports = [SourceReport(p.source, [_batch_finding(p.code, p.source, p.message, fix=p.fix)]) for p in problems]
    return items, reports


def _open(item: SourceItem, units_bin_width: float | None) -> Recording:
    options = dict(item.options)
    is_nwb = item.source.lower().split("?")[0].endswith(".nwb")
    if units_bin_width is not None and is_nwb:
        options["units_bin_width"] = units_bin_width
    try:
        return open_recording(item.source, **options)
    except DataError as err:
        # a units-only NWB file needs a bin width (the reader never guesses one); the validator picks its own
        if not is_nwb or "units_bin_width" in options or "units_bin_width" not in str(err):
            raise
        return open_recording(item.source, **options, units_bin_width=SPIKE_BIN_WIDTH)


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
                message = (f"{path}: {backward} timestamp(s) of series {name} do not increase, the first at "
                           f"{first_back:.3f} s")  # fmt: skip
                findings.append(_batch_finding("timestamps.monotonic", path, message, value=backward, location=name))
            if gaps:
                message = (f"{path}: {gaps} gap(s) in the timestamps of series {name} ({fs:.6g} Hz), {dropped} "
                           f"sample(s) ({dropped / fs:.3f} s) missing; the first at {first_gap:.3f} s")  # fmt: skip
                findings.append(_batch_finding("timestamps.gaps", path, message, location=name,
                                               value={"n_gaps": gaps, "n_dropped": dropped}))  # fmt: skip
    return findings


def validate_item(
    item: SourceItem,
    *,
    min_duration: float = 600.0,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
    start: float | None = None,
    stop: float | None = None,
    vocabulary: Sequence[str] = (),
    units_bin_width: float | None = None,
) -> SourceReport:
    """Open one source, find its baseline and validate it; a failure becomes a finding.

    Parameters as :func:`validate_sources`.
    """
    try:
        recording = _open(item, units_bin_width)
    except Exception as err:  # batch boundary: any failure of one source is reported, not raised
        unreadable = _batch_finding(
            "source.unreadable", item.label, f"{item.label}: cannot be opened ({type(err).__name__}: {err})",
            value=type(err).__name__)  # fmt: skip
        explained = []
        if isinstance(err, DataError) and "timestamps" in str(err):  # say what is wrong with them, in our terms
            try:
                explained = nwb_timestamp_findings(item.source, thresholds=thresholds)
            except Exception:  # the file may be corrupt beyond its timestamps; the open error says enough
                explained = []
        chosen = {check.id for check in select_checks(select, ignore)}
        return SourceReport(item.label, [f for f in explained if f.code in chosen] + [unreadable])
    try:
        try:
            words = (*SPONTANEOUS_VOCABULARY, *vocabulary)
            baselines = find_baselines(recording, vocabulary=words, start=start, stop=stop)
        except BaselineNotFoundError:
            baselines = []
        timestamps = None
        if baselines:
            timestamps = nwb_segment_timestamps(item.source, recording, baselines[0])
        findings = validate_recording(
            recording, min_duration=min_duration, select=select, ignore=ignore, thresholds=thresholds,
            baselines=baselines, timestamps=timestamps,
        )  # fmt: skip
        return SourceReport(recording.source, findings, baselines[0] if baselines else None)
    except Exception as err:  # a read error half-way through one file must not stop the batch
        return SourceReport(recording.source, [_batch_finding(
            "source.unreadable", recording.source,
            f"{recording.source}: reading failed during validation ({type(err).__name__}: {err})",
            value=type(err).__name__)])  # fmt: skip
    finally:
        recording.close()


def validate_sources(
    sources: Iterable[str | Path],
    *,
    min_duration: float = 600.0,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
    start: float | None = None,
    stop: float | None = None,
    vocabulary: Sequence[str] = (),
    units_bin_width: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SourceReport]:
    """Validate every recording in ``sources`` (see the module docstring).

    Parameters
    ----------
    sources : iterable of str or Path
        Files, folders (searched recursively), BIDS roots, URLs, archive ids.
    min_duration : float
        Shortest compliant baseline, s.
    select, ignore : sequence of str, optional
        Check ids, groups or wildcards (validated before anything is opened).
    thresholds : Thresholds, optional
        Every other limit of the checks.
    start, stop : float, optional
        The baseline in s, given by the user (for every source); a missing side is the
        recording's edge.
    vocabulary : sequence of str
        Words marking spontaneous intervals, added to ``SPONTANEOUS_VOCABULARY``.
    units_bin_width : float, optional
        s; read NWB files as spike counts in bins of this width (units-only files use
        :data:`SPIKE_BIN_WIDTH` when not given).
    progress : callable, optional
        Called with each source's label before it is opened.

    Returns
    -------
    list of SourceReport
        One per recording, then one per source that yielded none.

    Raises
    ------
    UnknownCheckError
        When a ``select``/``ignore`` pattern matches no check (nothing is opened).
    """
    select_checks(select, ignore)  # fail fast on a typo
    items, reports = expand_sources(sources)
    results = []
    for item in items:
        if progress is not None:
            progress(item.label)
        results.append(
            validate_item(
                item,
                min_duration=min_duration,
                select=select,
                ignore=ignore,
                thresholds=thresholds,
                start=start,
                stop=stop,
                vocabulary=vocabulary,
                units_bin_width=units_bin_width,
            )  # fmt: skip
        )
    return results + reports


def report_to_dict(
    reports: Sequence[SourceReport], *, min_duration: float = 600.0, min_severity: Severity | str = Severity.INFO
) -> dict[str, Any]:
    """The JSON report of ``adots validate --json`` (shape in the module docstring)."""
    counts = {severity.value: 0 for severity in Severity}
    for report in reports:
        for finding in report.findings:
            counts[Severity(finding.severity).value] += 1
    compliant = sum(report.compliant for report in reports)
    return {
        "schema": REPORT_SCHEMA,
        "min_duration": float(min_duration),
        "min_severity": Severity(min_severity).value,
        "summary": {
            "sources": len(reports),
            "compliant": compliant,
            "noncompliant": len(reports) - compliant,
            "findings": counts,
        },
        "sources": [report.to_dict(min_severity=min_severity) for report in reports],
    }
