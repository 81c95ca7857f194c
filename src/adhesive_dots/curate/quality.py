"""Quality scores of dots: signal quality, metadata completeness and duration, and their combination.

A dot's quality has three **components**, each in ``[0, 1]`` (1 means "no concern"), kept apart so
that a clean but short or poorly described recording is not mistaken for a noisy one:

``signal``
    The product of these factors, from the validation findings and the fingerprint:

    ``usable_channels``
        The usable channel fraction reported by ``signal.usable_fraction`` (its ``value``), or 1
        when that check found nothing to report.
    ``line_noise``
        ``1 - line_noise_weight * f``, ``f`` the fraction of channels flagged by ``signal.line_noise``.
    ``drift``
        ``exp(-|ln r| / drift_scale)`` for the drift ratio ``r`` of ``signal.drift``: a factor-2
        drift with the default scale gives 0.71.
    ``findings``
        ``(1 - severity_penalty[severity] * s)`` for every other finding that is not about metadata or
        duration (a critical finding gives 0, an error 0.6, a warning 0.9, info 1), where ``s`` is the
        fraction of the channels a per-channel finding names (``value["n_channels"] / value["of"]``;
        1 for other findings): a blink warning on 2 of 64 channels costs 0.3 %, not 10 %.
    ``plausibility``
        For each fingerprint feature of ``plausible_ranges`` for the dot's modality, 1 inside the
        range and ``exp(-d / range_width)`` outside it, ``d`` the distance to the range.

``metadata``
    Completeness: ``(1 - recommended_share) * required + recommended_share * recommended``, the
    fractions of the required fields (which depend on the species and paradigm,
    :func:`adhesive_dots.validate.checks.required_fields`) and of the recommended ones present,
    times ``(1 - severity_penalty)`` for each ``metadata.consistency`` finding.

``duration``
    ``min(1, duration / min_duration)``: 60 s of a 600 s standard gives 0.1.

The **combined score** is the weighted geometric mean of the known components,
``prod(c_i ** (w_i / sum(w)))`` with ``weights`` (default signal 0.6, metadata 0.2, duration 0.2);
a component that cannot be known (no metadata, no duration) is left out and the other weights
renormalised. A geometric mean keeps a dead recording (signal 0) at 0 whatever its metadata.

Everything is configurable through :class:`QualityConfig` (frozen: pass a new one with
:func:`dataclasses.replace`, or :meth:`QualityConfig.from_dict` from the ``[quality]`` table of a
config file, ``adots ... --config quality.toml``). Finding codes are those of
:mod:`adhesive_dots.validate`; the fingerprint features are a plain ``{name: value}`` mapping, so
any fingerprint version can be scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adhesive_dots.core import Finding, Severity
from adhesive_dots.errors import DataError
from adhesive_dots.metadata import DotMetadata
from adhesive_dots.validate.checks import metadata_completeness

COMPONENTS = ("signal", "metadata", "duration")
"""The quality components, in the order they are reported."""

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
    weights : mapping of str to float
        Weight of each component (``signal``, ``metadata``, ``duration``) in the combined score.
    recommended_share : float
        Share of the recommended fields in the metadata component (the rest is the required ones).
    min_duration : float
        Duration in s that gives a duration component of 1 (DESIGN.md: ten minutes).
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
    weights: Mapping[str, float] = field(default_factory=lambda: {"signal": 0.6, "metadata": 0.2, "duration": 0.2})
    recommended_share: float = 0.25
    min_duration: float = 600.0
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
        if set(self.weights) != set(COMPONENTS) or any(not 0 <= w for w in self.weights.values()):
            raise DataError(
                f"QualityConfig.weights must give a non-negative weight to each of {', '.join(COMPONENTS)}, "
                f"got {dict(self.weights)!r}"
            )
        if sum(self.weights.values()) <= 0:
            raise DataError("QualityConfig.weights: at least one weight must be positive")
        if not 0 <= self.recommended_share <= 1:
            raise DataError(f"QualityConfig.recommended_share must lie in [0, 1], got {self.recommended_share!r}")
        if not self.min_duration > 0:
            raise DataError(f"QualityConfig.min_duration must be positive, got {self.min_duration!r}")
        for modality, ranges in self.plausible_ranges.items():
            for feature, (low, high) in ranges.items():
                if not low < high:
                    raise DataError(f"QualityConfig.plausible_ranges[{modality!r}][{feature!r}]: need low < high")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str = "quality config") -> QualityConfig:
        """A config from a mapping (the ``[quality]`` table of a config file); unset keys keep their defaults.

        ``weights`` and ``severity_penalty`` are merged into the defaults (one weight may be given
        alone); ``plausible_ranges`` replaces the ranges of the modalities it names.

        Raises
        ------
        DataError
            Naming ``source`` and the key, when a key is unknown or a value is invalid.
        """
        allowed = {"severity_penalty", "line_noise_weight", "drift_scale", "plausible_ranges", "missing_feature",
                   "weights", "recommended_share", "min_duration"}  # fmt: skip
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise DataError(f"{source}: unknown quality setting(s) {unknown}; known: {sorted(allowed)}")
        default = cls()
        options: dict[str, Any] = {}
        try:
            for key, value in values.items():
                if key in ("weights", "severity_penalty"):
                    options[key] = {**getattr(default, key), **{str(k): float(v) for k, v in dict(value).items()}}
                elif key == "plausible_ranges":
                    ranges = {m: dict(r) for m, r in default.plausible_ranges.items()}
                    for modality, features in dict(value).items():
                        ranges[str(modality).lower()] = {
                            str(f): (float(lo), float(hi)) for f, (lo, hi) in features.items()
                        }
                    options[key] = ranges
                else:
                    options[key] = float(value)
            return cls(**options)
        except DataError as err:
            raise DataError(f"{source}: {err}") from None
        except (TypeError, ValueError) as err:
            raise DataError(f"{source}: invalid quality setting ({err})") from None


@dataclass(frozen=True)
class QualityScore:
    """A dot's quality score and how it came about.

    Attributes
    ----------
    score : float
        The combined score in [0, 1]: weighted geometric mean of the known components.
    components : dict of str to float or None
        ``signal``, ``metadata``, ``duration`` in [0, 1] (``None`` when not known).
    factors : dict of str to float
        The factors of the signal component: ``usable_channels``, ``line_noise``, ``drift``,
        ``findings``, ``plausibility``.
    reasons : tuple of str
        One line per factor below 1, for reports.
    """

    score: float
    components: dict[str, float | None]
    factors: dict[str, float]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """``score``, the components, the signal factors and the reasons (for JSON)."""
        return {
            "score": round(self.score, 6),
            **{name: None if v is None else round(v, 6) for name, v in self.components.items()},
            "signal_factors": {name: round(v, 6) for name, v in self.factors.items()},
            "reasons": list(self.reasons),
        }


def _severity(finding: Finding | Mapping[str, Any]) -> str:
    value = finding.severity if isinstance(finding, Finding) else finding.get("severity", "info")
    return Severity(getattr(value, "value", value)).value


def _field(finding: Finding | Mapping[str, Any], name: str) -> Any:
    return getattr(finding, name) if isinstance(finding, Finding) else finding.get(name)


def _channel_share(value: Any) -> float:
    """The fraction of channels a per-channel finding names (its ``value``'s ``n_channels / of``), else 1."""
    if isinstance(value, Mapping):
        n, of = _number(value.get("n_channels")), _number(value.get("of"))
        if n is not None and of:
            return min(max(n / of, 0.0), 1.0)
    return 1.0


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
    metadata: DotMetadata | None = None,
    duration: float | None = None,
    config: QualityConfig | None = None,
) -> QualityScore:
    """Score one dot (see the module docstring for the components and the formula).

    Parameters
    ----------
    findings : iterable of Finding or mapping
        The dot's validation findings (objects or dicts with ``code``, ``severity``, ``value``).
    features : mapping of str to float, optional
        Fingerprint feature values, e.g. ``{"aperiodic_exponent": 1.7}``.
    modality : str, optional
        Selects the plausible ranges (``"eeg"``, ``"lfp"``, ``"calcium"``, ...); default: the
        metadata's modality.
    metadata : DotMetadata, optional
        The dot's metadata (the metadata component; left out of the score when not given).
    duration : float, optional
        Seconds of data in the baseline (the duration component; left out when not given).
    config : QualityConfig, optional

    Returns
    -------
    QualityScore

    Examples
    --------
    >>> q = compute_quality([], features={"aperiodic_exponent": 1.5}, modality="eeg", duration=60.0)
    >>> q.components["signal"], round(q.components["duration"], 2), round(q.score, 3)
    (1.0, 0.1, 0.562)
    """
    config = config or QualityConfig()
    factors = {"usable_channels": 1.0, "line_noise": 1.0, "drift": 1.0, "findings": 1.0, "plausibility": 1.0}
    consistency = 1.0
    reasons: list[str] = []
    for finding in findings:
        code, value = _field(finding, "code"), _field(finding, "value")
        severity = _severity(finding)
        if code in ("metadata.required", "metadata.recommended", "baseline.duration"):
            continue  # the metadata and duration components
        if code == "metadata.consistency":
            consistency *= 1.0 - config.severity_penalty.get(severity, 0.0)
            reasons.append(f"metadata: {code}")
        elif code == config.usable_code and _number(value) is not None and severity != "critical":
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
            share = _channel_share(value) if severity != "critical" else 1.0
            if penalty and share:
                factors["findings"] *= 1.0 - penalty * share
                reasons.append(f"{severity}: {code}" + (f" on {share:.0%} of channels" if share < 1 else ""))
    if modality is None and metadata is not None and metadata.recording.modality is not None:
        modality = metadata.recording.modality.value
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
    signal = 1.0
    for factor in factors.values():
        signal *= factor
    components: dict[str, float | None] = {"signal": min(max(signal, 0.0), 1.0), "metadata": None, "duration": None}
    if metadata is not None:
        required, recommended = metadata_completeness(metadata)
        share = config.recommended_share
        components["metadata"] = ((1.0 - share) * required + share * recommended) * consistency
        if required < 1:
            reasons.append(f"metadata: {required:.0%} of the required fields present")
    if duration is not None and math.isfinite(duration):
        components["duration"] = min(max(duration / config.min_duration, 0.0), 1.0)
        if components["duration"] < 1:
            reasons.append(f"duration {duration:.0f} s of {config.min_duration:.0f} s")
    return QualityScore(combine_components(components, config), components, factors, tuple(reasons))


def combine_components(components: Mapping[str, float | None], config: QualityConfig | None = None) -> float:
    """The weighted geometric mean of the known components (``None`` ones left out), in [0, 1]."""
    config = config or QualityConfig()
    known = {n: c for n, c in components.items() if c is not None and config.weights.get(n, 0) > 0}
    total = sum(config.weights[n] for n in known)
    if not known or total <= 0:
        return float("nan")
    if any(c <= 0 for c in known.values()):
        return 0.0
    return float(min(max(math.exp(sum(config.weights[n] * math.log(c) for n, c in known.items()) / total), 0.0), 1.0))
