"""nwbinspector plug-in: the adhesive-dot checks inside the tool NWB users already run.

Load it with nwbinspector's ``--modules`` option (or import it before calling nwbinspector's
Python API)::

    nwbinspector --modules adhesive_dots.nwbinspector_checks session.nwb

Importing this module registers one nwbinspector check per adhesive-dots check (those with
``Check.nwb``), named ``check_adots_<group>_<name>`` (``check_adots_baseline_duration``, ...),
so nwbinspector's ``--select``/``--ignore`` and ``--threshold`` work on them. Each applies
to the ``NWBFile`` object; the first one to run opens the file, finds the baseline and runs
the validation once through :func:`~adhesive_dots.workflows.validate.validate_spec` (the same checks and
thresholds as ``adots validate``; the result is cached per file), and each check reports its own findings.
It is a face of the validate workflow (the top layer, like the command line).

Severities map to nwbinspector importances: critical and error (a non-compliant baseline)
-> ``CRITICAL``, warning -> ``BEST_PRACTICE_VIOLATION``, info -> ``BEST_PRACTICE_SUGGESTION``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from nwbinspector import Importance, InspectorMessage, register_check
from nwbinspector import Severity as InspectorSeverity
from pynwb import NWBFile

from adhesive_dots.core import Finding, Severity
from adhesive_dots.io.sources import SourceSpec
from adhesive_dots.validate import CHECKS, Check, Thresholds
from adhesive_dots.workflows.validate import validate_spec

IMPORTANCE = {
    Severity.CRITICAL: Importance.CRITICAL,
    Severity.ERROR: Importance.CRITICAL,
    Severity.WARNING: Importance.BEST_PRACTICE_VIOLATION,
    Severity.INFO: Importance.BEST_PRACTICE_SUGGESTION,
}
PREFIX = "check_adots_"
_CACHE: OrderedDict[tuple[str, str], list[Finding]] = OrderedDict()
_CACHE_SIZE = 4


def check_function_name(check_id: str) -> str:
    """``"baseline.duration"`` -> ``"check_adots_baseline_duration"`` (nwbinspector's check name)."""
    return PREFIX + check_id.replace(".", "_")


def findings_for(nwbfile: NWBFile, *, thresholds: Thresholds | None = None) -> list[Finding]:
    """The adhesive-dot findings of the file behind ``nwbfile`` (validated once, then cached)."""
    source = nwbfile.container_source
    key = (str(source), str(nwbfile.object_id))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    if source is None:
        findings = [_unreadable("<in-memory NWBFile>", "it was not read from a file or URL (container_source is None)")]
    else:  # opened, found and validated exactly as adots validate does (a failure becomes source.unreadable)
        findings = validate_spec(SourceSpec(str(source)), thresholds=thresholds).findings
    _CACHE[key] = findings
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return findings


def _unreadable(source: str, reason: str) -> Finding:
    check = CHECKS["source.unreadable"]
    return Finding(
        code=check.id,
        severity=check.severity,
        message=f"{source}: adhesive-dots cannot read it ({reason})",
        source=source,
        fix=check.fix,
    )


def _make_check(check: Check) -> Callable[[NWBFile], list[InspectorMessage]]:
    def run(nwbfile: NWBFile) -> list[InspectorMessage]:
        return [
            InspectorMessage(
                message=f"[{finding.code}] {finding.message}" + (f" Fix: {finding.fix}." if finding.fix else ""),
                severity=InspectorSeverity.HIGH if finding.severity.rank <= 1 else InspectorSeverity.LOW,
            )
            for finding in findings_for(nwbfile)
            if finding.code == check.id
        ]

    run.__name__ = run.__qualname__ = check_function_name(check.id)
    run.__doc__ = f"adhesive-dots check {check.id} ({check.severity.value}): {check.summary}"
    return register_check(importance=IMPORTANCE[check.severity], neurodata_type=NWBFile)(run)


REGISTERED: dict[str, Callable] = {check.id: _make_check(check) for check in CHECKS.values() if check.nwb}
"""The nwbinspector check function of each adhesive-dots check id."""
