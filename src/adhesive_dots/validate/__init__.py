"""Is this session a compliant adhesive dot? Checks with severities, findings on the Baseline (layer 2).

:func:`validate_baseline` runs the registered checks on a :class:`~adhesive_dots.core.Baseline`
and stores the :class:`~adhesive_dots.core.Finding` list on ``baseline.findings``;
:func:`validate_recording` first looks for the baseline (``baseline.exists`` when there is
none). A dot is *compliant* when no finding is at error or critical
(:func:`is_compliant`). The samples are read once, in blocks of whole windows of at most
``Thresholds.block_bytes``, and only when a selected check needs them.

The checks (``adots validate --list-checks`` prints this table with the current thresholds;
:class:`Thresholds` documents every limit):

=========================  ========  ============================================================
id                         severity  fires when (threshold)
=========================  ========  ============================================================
baseline.exists            critical  no interval marks spontaneous activity (lists the tables)
baseline.duration          error     data in the segment < ``min_duration`` (600 s)
baseline.contiguity        warning   the segment is concatenated (gaps listed)
baseline.coverage          error     the segment runs past the recorded samples
metadata.required          error     a field required for the species/paradigm is missing
metadata.recommended       info      recommended fields are missing (one finding, listed)
metadata.consistency       warning   metadata sampling rate / channel count / modality disagree
recording.sampling_rate    error     fs < ``min_fs`` of the modality (EEG/MEG/iEEG/LFP 100 Hz, ...)
timestamps.monotonic       error     timestamps inside the segment do not increase
timestamps.gaps            error     timestamp steps > ``gap_factor`` periods, or acquisition skips
signal.flat                error     a channel is constant in > ``flat_window_fraction`` windows
signal.nonfinite           error     NaN/Inf fraction of a channel > ``max_nonfinite_fraction``
signal.clipping            warning   > ``clip_fraction`` of samples exactly on the min/max
signal.outliers            warning   > ``outlier_fraction`` beyond ``outlier_z`` robust SD
signal.line_noise          warning   50/60 Hz power > ``line_noise_ratio`` x the flanks
signal.artefacts           warning   > ``artefact_fraction`` windows with SD > ``artefact_factor`` x
signal.usable_fraction     error     usable channels < ``min_usable_fraction`` (by bad time)
signal.drift               warning   power or mean rate ratio last/first third > ``drift_ratio``
arousal.coverage           error     a declared arousal signal covers < ``min_arousal_coverage``
fmri.repetition_time       error     fMRI without a TR, or sidecar and header TR differ > ``tr_rtol``
fmri.motion                warning   mean FD > ``max_mean_fd`` mm or > ``max_fd_fraction`` volumes moved
fmri.scrubbed_duration     info      volumes (and s) left after scrubbing at FD > ``fd_threshold`` mm
source.unreadable          critical  (adots validate) a source could not be opened or read
source.empty               error     (adots validate) a folder holds no recording
source.auxiliary           warning   (adots validate) an auxiliary series (pupil, ...) cannot be read
data.present               error     (adots validate) a run's data files are placeholders (not fetched)
=========================  ========  ============================================================

Examples
--------
>>> import numpy as np
>>> from adhesive_dots.core import Baseline
>>> baseline = Baseline.from_array(np.random.default_rng(0).standard_normal((4, 250 * 60)), 250.0)
>>> [f.code for f in validate_baseline(baseline, select=["baseline", "signal"])]
['baseline.duration']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from adhesive_dots.baselines import find_baselines
from adhesive_dots.core import Baseline, Finding, Recording, Segment, Severity
from adhesive_dots.errors import BaselineNotFoundError
from adhesive_dots.metadata import ValidationStatus
from adhesive_dots.validate import checks as _checks  # noqa: F401  (registers the checks)
from adhesive_dots.validate._context import CheckContext
from adhesive_dots.validate._registry import (
    CHECKS,
    Check,
    Thresholds,
    UnknownCheckError,
    ValidationOptionError,
    at_least,
    batch_finding,
    is_compliant,
    parse_severity,
    register_check,
    select_checks,
)
from adhesive_dots.validate.quality import QualityAccumulator, SignalQuality, compute_signal_quality
from adhesive_dots.validate.timestamps import TimestampReport, compute_timestamp_report


def _thresholds(thresholds: Thresholds | None, min_duration: float | None) -> Thresholds:
    thresholds = thresholds or Thresholds()
    if min_duration is not None:
        if not np.isfinite(min_duration) or min_duration < 0:
            raise ValidationOptionError(f"min_duration must be a non-negative number of seconds, got {min_duration!r}")
        thresholds = replace(thresholds, min_duration=float(min_duration))
    return thresholds


def _run(ctx: CheckContext, checks: Sequence[Check]) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check.function(ctx))
    findings.sort(key=lambda f: Severity(f.severity).rank)
    return findings


def validate_baseline(
    baseline: Baseline,
    *,
    min_duration: float = 600.0,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    thresholds: Thresholds | None = None,
    timestamps: np.ndarray | None = None,
) -> list[Finding]:
    """Run the checks on ``baseline``; store and return the findings (most severe first).

    Parameters
    ----------
    baseline : Baseline
        The dot to validate; its samples are read in bounded blocks when a signal check runs.
    min_duration : float
        Shortest compliant baseline, s (overrides ``thresholds.min_duration``).
    select, ignore : iterable of str, optional
        Check ids, groups (``"signal"``) or wildcards (``"*.duration"``) to run / skip.
    thresholds : Thresholds, optional
        Every other limit (defaults documented on :class:`Thresholds`).
    timestamps : ndarray, shape (n_times,), optional
        Sample times in s of the recording when it is timestamped; default: the
        recording's ``timestamps`` attribute when it has one (regular sampling otherwise).

    Returns
    -------
    list of Finding
        Also stored on ``baseline.findings``; when every check ran (no ``select``/``ignore``)
        ``baseline.metadata.curation.validation_status`` is set to compliant/noncompliant.

    Raises
    ------
    UnknownCheckError
        When a ``select``/``ignore`` pattern matches no check.
    """
    chosen = select_checks(select, ignore)
    limits = _thresholds(thresholds, min_duration)
    if timestamps is None:
        timestamps = getattr(baseline.recording, "timestamps", None)
    ctx = CheckContext(baseline.recording, baseline, limits, timestamps=timestamps)
    findings = _run(ctx, chosen)
    baseline.findings = findings
    if select is None and ignore is None:
        status = ValidationStatus.COMPLIANT if is_compliant(findings) else ValidationStatus.NONCOMPLIANT
        baseline.metadata = baseline.metadata.model_copy(
            update={"curation": baseline.metadata.curation.model_copy(update={"validation_status": status})}
        )
    return findings


def validate_recording(
    recording: Recording,
    *,
    min_duration: float = 600.0,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    thresholds: Thresholds | None = None,
    baselines: Sequence[Baseline] | None = None,
    timestamps: np.ndarray | None = None,
) -> list[Finding]:
    """Find the baseline of ``recording`` and validate it (``baseline.exists`` when none).

    The first baseline :func:`~adhesive_dots.baselines.find_baselines` returns is validated
    (it prefers the ``adhesive_baseline`` table); pass ``baselines`` to validate your own
    choice. Its findings are stored on it; the recording-level finding of a missing
    baseline is only returned. Parameters as :func:`validate_baseline`.
    """
    chosen = select_checks(select, ignore)
    limits = _thresholds(thresholds, min_duration)
    if baselines is None:
        try:
            baselines = find_baselines(recording)
        except BaselineNotFoundError:
            baselines = []
    if not baselines:
        return _run(CheckContext(recording, None, limits), chosen)
    return validate_baseline(
        baselines[0], min_duration=limits.min_duration, select=select, ignore=ignore, thresholds=limits,
        timestamps=timestamps,
    )  # fmt: skip


def validate_metadata_only(
    recording: Recording,
    *,
    baselines: Sequence[Baseline],
    min_duration: float = 600.0,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    thresholds: Thresholds | None = None,
) -> list[Finding]:
    """The checks that need no samples (baseline, metadata, sampling rate) on a recording described by its
    metadata alone (e.g. a BIDS run whose data were not fetched); the others are left out, and so are
    the baseline checks when the metadata do not give the recording's length (0 samples).

    Parameters as :func:`validate_recording`; ``baselines`` are the candidates found from the metadata.
    """
    known_length = recording.n_times > 0
    groups = ("baseline", "metadata", "recording") if known_length else ("metadata", "recording")
    chosen = [c for c in select_checks(select, ignore) if not c.needs_signal and c.id.split(".")[0] in groups]
    limits = _thresholds(thresholds, min_duration)
    baseline = baselines[0] if baselines else None
    if baseline is None and not known_length:  # the metadata checks look at the dot's metadata, not its samples
        baseline = Baseline(
            recording, Segment.between(0.0, 1.0 / recording.fs, evidence="metadata only"), recording.metadata
        )
    findings = _run(CheckContext(recording, baseline, limits), chosen)
    if baselines:
        baselines[0].findings = findings
    return findings


def checks_table(thresholds: Thresholds | None = None) -> list[dict[str, Any]]:
    """One row per registered check: id, severity, summary, thresholds (current values), rationale, fix."""
    thresholds = thresholds or Thresholds()
    return [
        {
            "id": check.id,
            "severity": check.severity.value,
            "summary": check.summary,
            "thresholds": "; ".join(thresholds.describe(name) for name in check.thresholds),
            "rationale": check.rationale,
            "fix": check.fix,
            "nwbinspector": check.nwb,
        }
        for check in CHECKS.values()
    ]


__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "QualityAccumulator",
    "SignalQuality",
    "Thresholds",
    "TimestampReport",
    "UnknownCheckError",
    "ValidationOptionError",
    "at_least",
    "batch_finding",
    "checks_table",
    "compute_signal_quality",
    "compute_timestamp_report",
    "is_compliant",
    "parse_severity",
    "register_check",
    "select_checks",
    "validate_baseline",
    "validate_metadata_only",
    "validate_recording",
]
