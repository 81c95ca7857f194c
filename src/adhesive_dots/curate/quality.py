"""Quality scores of dots from validation findings and fingerprint plausibility.

The score of a dot is a number in ``[0, 1]``, the product of independent factors, each in
``[0, 1]`` (1 means "no concern"):

``usable_channels``
    The usable channel fraction reported by the ``signal.usable_fraction`` finding (its
    ``value``), or 1 when that check found nothing to report.
``line_noise``
    ``1 - line_noise_weight * f``, where ``f`` is the fraction of channels flagged by
    ``signal.line_noise`` (from the finding's ``value["n_channels"] / value["of"]``; 1 when
    the finding carries no counts).
``drift``
    ``exp(-|ln r| / drift_scale)`` for the drift ratio ``r`` of ``signal.drift`` (last third /
    first third of the power): a factor-2 drift with the default scale gives 0.71.
``findings``
    ``(1 - penalty[severity])`` for every other finding, by severity (a critical finding
    gives 0, an error 0.6, a warning 0.9, info 1).
``plausibility``
    For each fingerprint feature named in ``plausible_ranges`` for the dot's modality, 1
    inside the range and ``exp(-d / range_width)`` outside it, ``d`` the distance to the
    range (a missing or non-finite value counts as ``missing_feature``).

Everything is configurable through :class:`QualityConfig` (frozen: pass a new one with
:func:`dataclasses.replace`). Finding codes are those of :mod:`adhesive_dots.validate`;
the fingerprint features are a plain ``{name: value}`` mapping, so any fingerprint version
can be scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import DataError

#: Plausible aperiodic exponents (1/f^x of the power spectrum) by modality.
DEFAULT_PLAUSIBLE_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "eeg": {"aperiodic_exponent": (0.5, 3.0)},
    "meg": {"aperiodic_exponent": (0.5, 3.0)},
    "ieeg": {"aperiodic_exponent": (0.5, 4.0)},
    "lfp": {"aperiodic_exponent": (0.5, 4.0)},
    "calcium": {"aperiodic_exponent": (0.0, 5.0)},
    "spikes": {"aperiodic_exponent": (0.0, 3.0)},
}


@dataclass(frozen=True)
class QualityConfig:
    """Weights and thresholds of :func:`compute_quality` (see the module docstring).

    Attributes
    ----------
    severity_penalty : mapping of str to float
        Factor lost per finding of each severity (``critical``, ``error``, ``warning``, ``info``)
        not covered by a dedicated factor.
    line_noise_weight : float
        Weight of the flagged channel fraction in the line-noise factor.
    drift_scale : float
        Scale of the drift factor in natural-log units of the drift ratio.
    plausible_ranges : mapping
        ``{modality: {feature: (low, high)}}``, inclusive.
    missing_feature : float
        Factor for a ranged feature that is absent or not finite (1.0 ignores it).
    usable_code, line_noise_code, drift_code : str
        Finding codes of the dedicated factors.
    """

    severity_penalty: Mapping[str, float] = field(
        default_factory=lambda: {"critical": 1.0, "error": 0.4, "warning": 0.1, "info": 0.0}
    )
    line_noise_weight: float = 0.5
    drift_scale: float = 2.0
    plausible_ranges: Mapping[str, Mapping[str, tuple[float, float]]] = field(
        default_factory=lambda: DEFAULT_PLAUSIBLE_RANGES
    )
    missing_feature: float = 1.0
    usable_code: str = "signal.usable_fraction"
    line_noise_code: str = "signal.line_noise"
    drift_code: str = "signal.drift"

    def __post_init__(self) -> None:
        for name, value in self.severity_penalty.items():
            if name not in {s.value for s in Severity} or not 0 <= value <= 1:
                raise DataError(
                    f"QualityConfig.severity_penalty[{name!r}] = {value!r}: keys must be severities "
                    f"({', '.join(s.value for s in Severity)}) and values in [0, 1]"
                )
        if not 0 <= self.line_noise_weight <= 1:
            raise DataError(f"QualityConfig.line_noise_weight must lie in [0, 1], got {self.line_noise_weight!r}")
        if self.drift_scale <= 0:
            raise DataError(f"QualityConfig.drift_scale must be positive, got {self.drift_scale!r}")
        if not 0 <= self.missing_feature <= 1:
            raise DataError(f"QualityConfig.missing_feature must lie in [0, 1], got {self.missing_feature!r}")
        for modality, ranges in self.plausible_ranges.items():
            for feature, (low, high) in ranges.items():
                if not low < high:
                    raise DataError(f"QualityConfig.plausible_ranges[{modality!r}][{feature!r}]: need low < high")


@dataclass(frozen=True)
class QualityScore:
    """A dot's quality score and how it came about.

    Attributes
    ----------
    score : float
        Product of the factors, in [0, 1].
    factors : dict of str to float
        ``usable_channels``, ``line_noise``, ``drift``, ``findings``, ``plausibility``.
    reasons : tuple of str
        One line per factor below 1, for reports.
    """

    score: float
    factors: dict[str, float]
    reasons: tuple[str, ...]


def _severity(finding: Finding | Mapping[str, Any]) -> str:
    value = finding.severity if isinstance(finding, Finding) else finding.get("severity", "info")
    return Severity(getattr(value, "value", value)).value


def _field(finding: Finding | Mapping[str, Any], name: str) -> Any:
    return getattr(finding, name) if isinstance(finding, Finding) else finding.get(name)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def compute_quality(
    findings: Iterable[Finding | Mapping[str, Any]] = (),
    *,
    features: Mapping[str, Any] | None = None,
    modality: str | None = None,
    config: QualityConfig | None = None,
) -> QualityScore:
    """Score one dot (see the module docstring for the formula).

    Parameters
    ----------
    findings : iterable of Finding or mapping
        The dot's validation findings (objects or dicts with ``code``, ``severity``, ``value``).
    features : mapping of str to float, optional
        Fingerprint feature values, e.g. ``{"aperiodic_exponent": 1.7}``.
    modality : str, optional
        Selects the plausible ranges (``"eeg"``, ``"lfp"``, ``"calcium"``, ...).
    config : QualityConfig, optional

    Returns
    -------
    QualityScore

    Examples
    --------
    >>> compute_quality([], features={"aperiodic_exponent": 1.5}, modality="eeg").score
    1.0
    """
    config = config or QualityConfig()
    factors = {"usable_channels": 1.0, "line_noise": 1.0, "drift": 1.0, "findings": 1.0, "plausibility": 1.0}
    reasons: list[str] = []
    for finding in findings:
        code, value = _field(finding, "code"), _field(finding, "value")
        severity = _severity(finding)
        if code == config.usable_code and _number(value) is not None and severity != "critical":
            fraction = min(max(_number(value), 0.0), 1.0)
            factors["usable_channels"] = min(factors["usable_channels"], fraction)
            reasons.append(f"usable channel fraction {fraction:.2f}")
        elif code == config.line_noise_code and severity != "critical":
            flagged = 1.0
            if isinstance(value, Mapping) and _number(value.get("of")):
                flagged = min(1.0, (_number(value.get("n_channels")) or 0.0) / _number(value.get("of")))
            factor = 1.0 - config.line_noise_weight * flagged
            factors["line_noise"] = min(factors["line_noise"], factor)
            reasons.append(f"line noise on {flagged:.0%} of channels")
        elif code == config.drift_code and _number(value) and _number(value) > 0 and severity != "critical":
            ratio = _number(value)
            factor = math.exp(-abs(math.log(ratio)) / config.drift_scale)
            factors["drift"] = min(factors["drift"], factor)
            reasons.append(f"power drift ratio {ratio:.2f}")
        else:
            penalty = config.severity_penalty.get(severity, 0.0)
            if penalty:
                factors["findings"] *= 1.0 - penalty
                reasons.append(f"{severity}: {code}")
    ranges = config.plausible_ranges.get(modality.lower() if isinstance(modality, str) else "", {})
    for feature, (low, high) in ranges.items():
        value = _number((features or {}).get(feature))
        if value is None:
            factor = config.missing_feature
            if factor < 1:
                reasons.append(f"{feature} missing")
        elif low <= value <= high:
            factor = 1.0
        else:
            distance = low - value if value < low else value - high
            factor = math.exp(-distance / (high - low))
            reasons.append(f"{feature} = {value:.3g} outside the plausible {low:g}-{high:g} for {modality}")
        factors["plausibility"] *= factor
    score = 1.0
    for factor in factors.values():
        score *= factor
    return QualityScore(float(min(max(score, 0.0), 1.0)), factors, tuple(reasons))
