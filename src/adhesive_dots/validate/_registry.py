"""The registry of validation checks: :func:`register_check`, :data:`CHECKS`, selection.

A check is a function ``check(ctx) -> Iterable[Finding]`` registered with an id
(``group.name``), a :class:`~adhesive_dots.core.Severity`, the names of the
:class:`Thresholds` fields it reads, a rationale and a fix hint. Checks never read files:
they look at the :class:`~adhesive_dots.validate._context.CheckContext` built once per
baseline (metadata, segment, and the streaming signal-quality summary).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import AdhesiveError
from adhesive_dots.metadata import Modality

if TYPE_CHECKING:
    from adhesive_dots.validate._context import CheckContext


class ValidationOptionError(AdhesiveError, ValueError):
    """An option of the validator is invalid (a negative duration, an unknown severity, ...)."""


class UnknownCheckError(ValidationOptionError):
    """A ``select``/``ignore`` pattern matches no registered check."""


@dataclass(frozen=True)
class Thresholds:
    """Every numeric limit of the checks, in one place (the CLI and nwbinspector read these).

    Attributes
    ----------
    min_duration : float
        Shortest compliant baseline, s (DESIGN.md: ten minutes).
    window : float
        Length in s of the windows in which per-window statistics are taken.
    min_fs : dict of Modality to float
        Lowest adequate sampling rate per modality, Hz.
    flat_window_fraction : float
        A channel is flat when more than this fraction of its windows are constant.
    flat_rtol : float
        A window is constant when its peak-to-peak range is at most ``flat_rtol`` times the
        median window range over all channels (exactly constant when that median is 0).
    max_nonfinite_fraction : float
        Largest tolerated fraction of NaN/Inf samples per channel (0: none tolerated).
    clip_fraction : float
        A channel is clipped when more than this fraction of its samples sit exactly on its
        minimum or maximum value.
    outlier_z : float
        A sample is an amplitude outlier beyond this many robust SDs (1.4826 MAD) from the
        median of its block.
    outlier_fraction : float
        A channel has extreme outliers when more than this fraction of samples are outliers.
    line_noise_ratio : float
        Largest tolerated ratio of mean power density within ±1 Hz of 50 or 60 Hz to the
        median density 2-5 Hz on either side.
    artefact_factor : float
        A window is artefact-like when its SD exceeds this factor times the channel's
        median window SD.
    artefact_fraction : float
        A channel is artefact-ridden when more than this fraction of its windows are.
    max_bad_time_fraction : float
        A channel is usable while at most this fraction of its time is bad: the largest of the fraction
        of its windows that are flat, artefact-like or without finite samples, of its NaN/Inf samples,
        of its samples on the rails and of its outlier samples (rules that do not apply to a modality
        are left out, as in the checks). Brief artefacts (blinks, a pop) leave a channel usable.
    min_usable_fraction : float
        Smallest compliant fraction of usable channels.
    drift_ratio : float
        Power (or mean rate) in the last third over the first third beyond ``drift_ratio``
        or below ``1 / drift_ratio`` is a drift.
    gap_factor : float
        A step between timestamps longer than ``gap_factor`` sample periods is a gap.
    min_arousal_coverage : float
        Smallest fraction of the baseline an arousal measure must cover with finite samples.
    fd_threshold : float
        fMRI: framewise displacement (mm) above which a volume counts as moved (and is scrubbed).
    max_mean_fd : float
        fMRI: largest tolerated mean framewise displacement over the baseline, mm.
    max_fd_fraction : float
        fMRI: largest tolerated fraction of volumes above ``fd_threshold``.
    tr_rtol : float
        fMRI: largest tolerated relative difference between the sidecar's and the header's repetition time.
    block_bytes : int
        Memory budget of one read block (the baseline is read in blocks of whole windows).
    """

    min_duration: float = 600.0
    window: float = 1.0
    min_fs: dict[Modality, float] = field(
        default_factory=lambda: {
            Modality.EEG: 100.0,
            Modality.MEG: 100.0,
            Modality.IEEG: 100.0,
            Modality.LFP: 100.0,
            Modality.SPIKES: 10.0,
            Modality.CALCIUM: 3.0,
            Modality.FMRI: 0.2,
        }
    )
    flat_window_fraction: float = 0.1
    flat_rtol: float = 1e-9
    max_nonfinite_fraction: float = 0.0
    clip_fraction: float = 0.001
    outlier_z: float = 10.0
    outlier_fraction: float = 1e-4
    line_noise_ratio: float = 10.0
    artefact_factor: float = 5.0
    artefact_fraction: float = 0.05
    max_bad_time_fraction: float = 0.2
    min_usable_fraction: float = 0.8
    drift_ratio: float = 2.0
    gap_factor: float = 1.5
    min_arousal_coverage: float = 0.95
    fd_threshold: float = 0.5
    max_mean_fd: float = 0.2
    max_fd_fraction: float = 0.2
    tr_rtol: float = 0.01
    block_bytes: int = 64 * 2**20

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "validation config") -> Thresholds:
        """Thresholds from a mapping (the ``[validation]`` table of a config file); unset keys keep their
        defaults; ``min_fs`` is a table of modality names to Hz merged into the defaults.

        Raises
        ------
        ValidationOptionError
            Naming ``source`` and the key, when a key is unknown or a value is not a non-negative number.
        """
        unknown = sorted(set(values) - set(THRESHOLD_NAMES))
        if unknown:
            raise ValidationOptionError(
                f"{source}: unknown validation threshold(s) {unknown}; known: {list(THRESHOLD_NAMES)}"
            )
        default = cls()
        options: dict[str, Any] = {}
        for key, value in values.items():
            try:
                if key == "min_fs":
                    options[key] = {**default.min_fs, **{Modality(str(m).lower()): float(v) for m, v in value.items()}}
                    numbers = list(options[key].values())
                else:
                    options[key] = type(getattr(default, key))(value)
                    numbers = [options[key]]
            except (TypeError, ValueError, AttributeError) as err:
                raise ValidationOptionError(f"{source}: validation.{key} = {value!r} is invalid ({err})") from None
            if any(not (n >= 0) for n in numbers):
                raise ValidationOptionError(f"{source}: validation.{key} must be a non-negative number, got {value!r}")
        return cls(**options)

    def describe(self, name: str) -> str:
        """``name=value`` text of one threshold (dict values as ``key=value`` pairs)."""
        value = getattr(self, name)
        if isinstance(value, dict):
            value = ", ".join(f"{Modality(k).value} {v:g}" for k, v in value.items())
            return f"{name}: {value}"
        return f"{name}={value:g}" if isinstance(value, float | int) else f"{name}={value}"


THRESHOLD_NAMES = tuple(f.name for f in fields(Thresholds))

CheckFunction = Callable[["CheckContext"], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    """One registered check.

    Attributes
    ----------
    id : str
        ``group.name``, e.g. ``"baseline.duration"``; what ``select``/``ignore`` match.
    severity : Severity
        Severity of every finding the check emits.
    summary : str
        What the check asks, in one line.
    rationale : str
        Why it matters for a baseline.
    fix : str
        The generic fix hint (findings may give a more specific one).
    thresholds : tuple of str
        Names of the :class:`Thresholds` fields the check reads.
    needs_signal : bool
        Whether the check needs the samples (the streaming quality pass).
    nwb : bool
        Whether the check also runs inside nwbinspector.
    function : callable
        ``function(ctx) -> iterable of Finding``.
    """

    id: str
    severity: Severity
    summary: str
    rationale: str
    fix: str
    thresholds: tuple[str, ...]
    needs_signal: bool
    nwb: bool
    function: CheckFunction

    def finding(
        self, ctx: CheckContext, message: str, *, location: str = "", value: Any = None, fix: str = ""
    ) -> Finding:
        """A :class:`Finding` of this check about ``ctx``'s source."""
        return Finding(
            code=self.id,
            severity=self.severity,
            message=message,
            source=ctx.source,
            location=location,
            value=value,
            fix=fix or self.fix,
        )


CHECKS: dict[str, Check] = {}
"""Every registered check by id, in registration order."""


def batch_finding(
    code: str, source: str, message: str, *, fix: str = "", value: Any = None, location: str = ""
) -> Finding:
    """A finding of check ``code`` emitted by batch work (an unreadable source, a placeholder run, ...)."""
    check = CHECKS[code]
    return Finding(
        code=code,
        severity=check.severity,
        message=message,
        source=source,
        fix=fix or check.fix,
        value=value,
        location=location,
    )


def register_check(
    id: str,
    *,
    severity: Severity | str,
    summary: str,
    rationale: str,
    fix: str,
    thresholds: Sequence[str] = (),
    needs_signal: bool = False,
    nwb: bool = True,
) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator adding ``function(ctx) -> Iterable[Finding]`` to :data:`CHECKS` as ``id``.

    Raises
    ------
    ValueError
        When ``id`` is taken or not ``group.name``, or a threshold name is unknown.
    """
    if id in CHECKS:
        raise ValueError(f"check id {id!r} is already registered (by {CHECKS[id].function.__qualname__})")
    if id.count(".") != 1 or not all(id.split(".")):
        raise ValueError(f"check id must look like 'group.name', got {id!r}")
    unknown = [name for name in thresholds if name not in THRESHOLD_NAMES]
    if unknown:
        raise ValueError(f"check {id!r}: unknown threshold(s) {unknown}; known: {list(THRESHOLD_NAMES)}")

    def decorate(function: CheckFunction) -> CheckFunction:
        CHECKS[id] = Check(
            id=id,
            severity=Severity(severity),
            summary=summary,
            rationale=rationale,
            fix=fix,
            thresholds=tuple(thresholds),
            needs_signal=needs_signal,
            nwb=nwb,
            function=function,
        )
        return function

    return decorate


def select_checks(select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> list[Check]:
    """The registered checks matching ``select`` (all when ``None``) and not ``ignore``.

    Patterns are check ids, groups (``"signal"`` means ``"signal.*"``) or shell-style
    wildcards (``"*.duration"``).

    Raises
    ------
    UnknownCheckError
        When a pattern matches no registered check (a typo would otherwise silently
        select nothing).
    """

    def matches(pattern: str) -> set[str]:
        pattern = pattern.strip()
        if pattern and "." not in pattern and not any(c in pattern for c in "*?["):
            pattern += ".*"
        hits = {check_id for check_id in CHECKS if fnmatch.fnmatchcase(check_id, pattern)}
        if not hits:
            raise UnknownCheckError(
                f"check pattern {pattern!r} matches no check; known ids: {', '.join(CHECKS)} "
                "(see `adots validate --list-checks`)"
            )
        return hits

    chosen = set(CHECKS) if select is None else set().union(*(matches(p) for p in select))
    if ignore is not None:
        for pattern in ignore:
            chosen -= matches(pattern)
    return [check for check_id, check in CHECKS.items() if check_id in chosen]


def parse_severity(name: str | Severity) -> Severity:
    """``"warning"`` -> :attr:`Severity.WARNING` (case-insensitive).

    Raises
    ------
    ValidationOptionError
        When ``name`` is not a severity.
    """
    try:
        return Severity(str(name).lower())
    except ValueError:
        raise ValidationOptionError(f"severity {name!r} is not one of {', '.join(s.value for s in Severity)}") from None


def at_least(findings: Iterable[Finding], severity: Severity | str) -> list[Finding]:
    """The findings at ``severity`` or more severe."""
    rank = parse_severity(severity).rank
    return [f for f in findings if Severity(f.severity).rank <= rank]


def is_compliant(findings: Iterable[Finding]) -> bool:
    """True when no finding is at error or critical."""
    return not at_least(findings, Severity.ERROR)
