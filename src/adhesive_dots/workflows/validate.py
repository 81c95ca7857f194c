"""Validate many sources at once (what ``adots validate`` runs): files, folders, BIDS roots, URLs.

Targets are expanded and each recording is resolved through the one road
(:mod:`adhesive_dots.io.sources`): its baseline is what the source spec says (marked intervals with
the extra ``labels``, ``start``/``stop``, ``whole``, or the dot recorded beside the file). One bad
source never stops the run: it becomes a ``source.unreadable`` finding, an empty folder a
``source.empty`` one. A BIDS run whose data were not fetched gets a ``data.present`` finding and
the checks that need no samples (duration from ``RecordingDuration``, metadata, sampling rate).
An NWB file holding only spike times is validated on its spike counts binned at
``units_bin_width`` (default :data:`SPIKE_BIN_WIDTH`); the checks that read those samples
(silent units, mean-rate drift) do not depend on the bin width. When the main series of a
local NWB file is timestamped, the timestamps of the baseline (only those) are read for the
``timestamps.*`` checks.

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
         "data_present": true,            # false for a placeholder run (sidecars only)
         "notes": ["..."],                # options ignored or overridden, defaults applied
         "findings": [{"code": "baseline.duration", "severity": "error", "message": "...",
                       "source": "...", "location": "...", "value": 420.0, "fix": "..."}]}
      ]
    }
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adhesive_dots.core import Baseline, Finding, Severity
from adhesive_dots.errors import TimestampsError, UnitsBinWidthRequired, option
from adhesive_dots.io.nwb_timestamps import nwb_segment_timestamps, nwb_timestamp_findings
from adhesive_dots.io.sources import Resolved, SourceSpec, expand_sources, resolve
from adhesive_dots.validate import (
    Thresholds,
    at_least,
    batch_finding,
    is_compliant,
    select_checks,
    validate_metadata_only,
    validate_recording,
)

REPORT_SCHEMA = "adhesive-dots/validate-report/1"
SPIKE_BIN_WIDTH = 0.1
"""s; bin width of the spike counts of a units-only NWB file (when no ``units_bin_width`` is given)."""


@dataclass
class SourceReport:
    """The validation of one source: its findings, the baseline that was checked, notes for the user."""

    source: str
    findings: list[Finding]
    baseline: Baseline | None = None
    notes: list[str] = field(default_factory=list)
    data_present: bool = True

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
            "data_present": self.data_present,
            "notes": list(self.notes),
            "findings": [f.to_dict() for f in at_least(self.findings, min_severity)],
        }


def validate_spec(
    spec: SourceSpec,
    *,
    min_duration: float = 600.0,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
) -> SourceReport:
    """Resolve one source and validate its baseline; any failure becomes a finding (never raised)."""
    notes: list[str] = []
    try:
        try:
            resolved = resolve(spec)
        except UnitsBinWidthRequired:  # the checks do not depend on the bin width: use the default
            resolved = resolve(spec.replace(units_bin_width=SPIKE_BIN_WIDTH))
            notes.append(f"spike times binned at {SPIKE_BIN_WIDTH:g} s ({option('units_bin_width')} to change)")
    except Exception as err:  # batch boundary: any failure of one source is reported, not raised
        return _unreadable(spec, err, select=select, ignore=ignore, thresholds=thresholds)
    with resolved:
        notes = resolved.notes + notes
        try:
            return _validate_resolved(
                resolved, notes, min_duration=min_duration, select=select, ignore=ignore, thresholds=thresholds
            )
        except Exception as err:  # a read error half-way through one file must not stop the batch
            message = f"{resolved.key}: reading failed during validation ({type(err).__name__}: {err})"
            finding = batch_finding("source.unreadable", resolved.key, message, value=type(err).__name__)
            return SourceReport(resolved.key, [finding], notes=notes)


def _validate_resolved(resolved: Resolved, notes: list[str], **options: Any) -> SourceReport:
    candidates = resolved.candidates
    baseline = candidates[0] if candidates else None
    if not resolved.present:
        message = f"{resolved.key}: data not present (the data files are empty placeholders or broken links)"
        if not resolved.recording.n_times:
            message += "; the sidecars do not give the recording's length, so its duration is not checked"
        findings = [batch_finding("data.present", resolved.key, message)]
        findings += validate_metadata_only(resolved.recording, baselines=candidates, **options)
        return SourceReport(resolved.key, findings, baseline, notes, data_present=False)
    timestamps = nwb_segment_timestamps(resolved.key, resolved.recording, baseline) if baseline else None
    findings = validate_recording(resolved.recording, baselines=candidates, timestamps=timestamps, **options)
    findings += [batch_finding("source.auxiliary", resolved.key, text) for text in resolved.recording.problems]
    return SourceReport(resolved.key, findings, baseline, notes)


def _unreadable(spec: SourceSpec, err: Exception, *, select, ignore, thresholds) -> SourceReport:
    message = str(err) if spec.key in str(err) else f"{spec.key}: {err}"
    unreadable = batch_finding("source.unreadable", spec.key, message, value=type(err).__name__)
    explained: list[Finding] = []
    if isinstance(err, TimestampsError):  # say what is wrong with them, in our terms
        try:
            explained = nwb_timestamp_findings(spec.key, thresholds=thresholds)
        except Exception:  # the file may be corrupt beyond its timestamps; the open error says enough
            explained = []
    chosen = {check.id for check in select_checks(select, ignore)}
    return SourceReport(spec.key, [f for f in explained if f.code in chosen] + [unreadable])


def validate_sources(
    targets: Iterable[str | Path | SourceSpec],
    *,
    template: SourceSpec | None = None,
    min_duration: float = 600.0,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[SourceReport]:
    """Validate every recording named by ``targets`` (see the module docstring).

    Parameters
    ----------
    targets : iterable of str, Path or SourceSpec
        Files, folders (searched recursively), BIDS roots, globs, URLs, archive ids, specs.
    template : SourceSpec, optional
        Reading options and baseline choice for every source (see :func:`~adhesive_dots.io.sources.expand_sources`).
    min_duration : float
        Shortest compliant baseline, s.
    select, ignore : sequence of str, optional
        Check ids, groups or wildcards (validated before anything is opened).
    thresholds : Thresholds, optional
        Every other limit of the checks.
    progress : callable, optional
        Called with each source's label before it is opened.

    Returns
    -------
    list of SourceReport
        One per recording, then one per target that yielded none.

    Raises
    ------
    UnknownCheckError
        When a ``select``/``ignore`` pattern matches no check (nothing is opened).
    """
    select_checks(select, ignore)  # fail fast on a typo
    specs, problems = expand_sources(targets, template=template)
    results = []
    for spec in specs:
        if progress is not None:
            progress(spec.label)
        report = validate_spec(spec, min_duration=min_duration, select=select, ignore=ignore, thresholds=thresholds)
        results.append(report)
    for problem in problems:
        finding = batch_finding(problem.code, problem.source, problem.message, fix=problem.fix)
        results.append(SourceReport(problem.source, [finding]))
    return results


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
