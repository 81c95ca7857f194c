"""Sufficiency of a baseline's length: reliability of every fingerprint feature as a function of length.

Parameters: one :class:`~adhesive_dots.fingerprint.FingerprintParams` for the whole analysis. It is
resolved for the whole record (so the whole-record values equal :func:`~adhesive_dots.fingerprint.fingerprint`'s
with the same parameters), and every sub-segment is fingerprinted with those resolved values -- the same
window, segments, bands and fit ranges, so a feature means the same thing at every length -- except the DFA
scales and fit ranges the caller left to the rule, which follow each sub-segment (a tenth of its length):
how the DFA exponent changes with that range is part of what the curves show. In a corpus, every baseline
is resolved on its own record, with one window, segment and aperiodic range for all
(:func:`~adhesive_dots.fingerprint.shared_params`: the shortest baseline's window).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from adhesive_dots.core import Baseline
from adhesive_dots.errors import DataError
from adhesive_dots.fingerprint import (
    SUMMARY_FIELDS,
    SUMMARY_NAMES,
    FingerprintParams,
    ResolvedParams,
    compute_fingerprint_array,
    make_params,
    shared_params,
)
from adhesive_dots.fingerprint._checks import _check_data, _check_fs
from adhesive_dots.fingerprint.dfa import DEFAULT_MAX_FRACTION
from adhesive_dots.fingerprint.params import LENGTH_DEPENDENT
from adhesive_dots.metadata import Modality
from adhesive_dots.sufficiency.reliability import compute_icc, spearman_brown_length

DEFAULT_LENGTHS: tuple[float, ...] = (15, 30, 60, 120, 180, 300, 420, 600, 900, 1200, 1800, 2700, 3600)
"""Sub-segment lengths in s; those with at least two disjoint sub-segments in the record are used."""
CHANNEL_FEATURES: tuple[str, ...] = (
    "aperiodic_exponent",
    "peak_frequency",
    "dfa_exponent",
    "relative_power_delta",
    "relative_power_theta",
    "relative_power_alpha",
    "relative_power_beta",
    "relative_power_gamma",
)
"""Per-channel fingerprint variables whose reliability across channels is reported (as ``channel:<name>``)."""
ZERO_CENTRED: frozenset[str] = frozenset({"nonstationarity", "drift", "arousal_coupling"})
"""Summary features near zero by construction: a relative precision is meaningless for them."""
DFA_FEATURE = "dfa_broadband"
CHANNEL_DFA = "channel:dfa_exponent"
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Sufficiency:
    """Reliability of fingerprint features as a function of baseline length.

    ``dataset`` dims ``feature`` and ``length`` (s); variables:

    * ``mean``, ``within_sd`` [feature, length]: mean and SD of the feature over disjoint sub-segments of that
      length (pooled within-target SD when there are several targets: channels or baselines);
      ``ci_low``/``ci_high``: ``mean -/+ 1.96 within_sd``, the 95 % interval of one estimate of that length;
    * ``reliability`` [feature, length] and ``reliability_ci_low|high``: the ICC(1,1) across targets (or against
      a reference between-target SD), NaN where the feature has no between-target variance;
    * ``relative_sd`` [feature, length]: ``within_sd / |full_value|``; ``relative_bias``: ``(mean - full_value) /
      |full_value|``; ``relative_error``: ``sqrt(relative_sd**2 + relative_bias**2)``, the relative RMS deviation
      of one estimate of that length from the whole-record value (the precision criterion);
    * ``n_segments`` [length], ``n_targets`` [feature, length]; ``dfa_max_scale`` [length]: the longest DFA scale
      a segment of that length supports (``DEFAULT_MAX_FRACTION`` x length, the fingerprint's default);
    * per feature: ``full_value``, ``basis`` (``channels``, ``corpus``, ``reference``, ``precision`` or
      ``none``), ``criterion`` (the threshold), ``length_needed`` (s), ``extrapolated`` (bool), ``status``
      (``reached`` at an observed length, ``extrapolated`` beyond them, ``length-dependent`` when the mean of
      the longest sub-segments still differs from the whole-record value by the tolerance or more -- the feature
      keeps changing with length, e.g. a DFA exponent whose fit range grows -- or ``undetermined``),
      ``within_horizon`` (``length_needed <= horizon_s``).
    """

    dataset: xr.Dataset

    @property
    def target(self) -> float:
        return float(self.dataset.attrs["target"])

    @property
    def horizon_s(self) -> float:
        return float(self.dataset.attrs["horizon_s"])

    def table(self) -> pd.DataFrame:
        """One row per feature: basis, status, length needed (s), whether within the horizon, metric per length."""
        ds = self.dataset
        frame = pd.DataFrame(
            {
                "feature": ds["feature"].values,
                "basis": ds["basis"].values,
                "full_value": ds["full_value"].values,
                "status": ds["status"].values,
                "length_needed_s": ds["length_needed"].values,
                "extrapolated": ds["extrapolated"].values.astype(bool),
                "extrapolation": ds["extrapolation"].values,
                "within_horizon": ds["within_horizon"].values.astype(bool),
            }
        )
        metric = np.where(
            np.isin(ds["basis"].values, ["precision"])[:, None], ds["relative_error"].values, ds["reliability"].values
        )
        for j, length in enumerate(ds["length"].values):
            frame[f"{length:g}s"] = metric[:, j]
        return frame

    def curves(self) -> pd.DataFrame:
        """Long format for plotting: feature, basis, length (s), reliability (CI), relative_sd, mean, ci."""
        ds = self.dataset
        names = [
            "mean",
            "within_sd",
            "ci_low",
            "ci_high",
            "reliability",
            "reliability_ci_low",
            "reliability_ci_high",
            "relative_sd",
            "relative_bias",
            "relative_error",
        ]
        frame = ds[names].to_dataframe().reset_index()
        return frame.merge(pd.DataFrame({"feature": ds["feature"].values, "basis": ds["basis"].values}), on="feature")

    def dfa(self) -> pd.DataFrame:
        """The DFA exponent per length: mean, SD, 95 % interval of one estimate and the longest supported scale.

        With two or more channels this is one channel's broadband exponent (``channel:dfa_exponent``, SD pooled
        over channels: many more degrees of freedom); otherwise the summary ``dfa_broadband``.
        """
        ds = self.dataset
        name = CHANNEL_DFA if CHANNEL_DFA in ds["feature"].values else DFA_FEATURE
        sel = ds.sel(feature=name)
        return pd.DataFrame(
            {
                "feature": name,
                "length_s": ds["length"].values,
                "n_segments": ds["n_segments"].values,
                "dfa_max_scale_s": ds["dfa_max_scale"].values,
                "exponent_mean": sel["mean"].values,
                "exponent_sd": sel["within_sd"].values,
                "ci_low": sel["ci_low"].values,
                "ci_high": sel["ci_high"].values,
                "ci_width": (sel["ci_high"] - sel["ci_low"]).values,
            }
        )

    def between_sd(self) -> dict[str, float]:
        """Between-target SDs per feature (at the longest length with an estimate), for ``between_sd=`` of
        :func:`compute_sufficiency` -- e.g. a corpus's between-subject spread applied to one new recording."""
        ds = self.dataset
        out = {}
        for name in ds["feature"].values:
            values = ds["between_sd"].sel(feature=name).values
            finite = np.flatnonzero(np.isfinite(values))
            if finite.size:
                out[str(name)] = float(values[finite[-1]])
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: attrs, the table rows (NaN as None) and the DFA rows."""

        def clean(records):
            return [
                {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in records
            ]

        ds = self.dataset
        return {
            "source": ds.attrs["source"],
            "mode": ds.attrs["mode"],
            "duration_s": ds.attrs["duration_s"],
            "target": self.target,
            "tolerance": float(ds.attrs["tolerance"]),
            "horizon_s": self.horizon_s,
            "lengths_s": [float(v) for v in ds["length"].values],
            "n_segments": [int(v) for v in ds["n_segments"].values],
            "skipped_lengths": json.loads(ds.attrs["skipped_lengths"]),
            "features": clean(self.table().to_dict(orient="records")),
            "dfa": clean(self.dfa().to_dict(orient="records")) if DFA_FEATURE in ds["feature"].values else [],
        }


def _check_lengths(lengths: Sequence[float]) -> np.ndarray:
    values = np.unique(np.asarray(lengths, dtype=float))
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise DataError(f"lengths must be positive finite durations in s, got {list(lengths)!r}")
    return values


def _check_max_segments(max_segments: int) -> int:
    if int(max_segments) != max_segments or max_segments < 2:
        raise DataError(
            f"max_segments must be an integer >= 2 (two sub-segments measure agreement), got {max_segments!r}"
        )
    return int(max_segments)


def _check_target(target: float, tolerance: float) -> None:
    if not 0 < target < 1:
        raise DataError(f"target reliability must lie in (0, 1), got {target!r} (e.g. 0.8)")
    if not tolerance > 0:
        raise DataError(f"tolerance (relative RMS error) must be > 0, got {tolerance!r} (e.g. 0.1)")


def _slots(n_total: int, n: int, max_segments: int) -> np.ndarray:
    """Start samples of up to ``max_segments`` disjoint contiguous slots of ``n`` samples, spread over the record."""
    count = n_total // n
    chosen = np.unique(np.round(np.linspace(0, count - 1, min(count, max_segments))).astype(int))
    return chosen * n


def segment_params(params: FingerprintParams, whole: ResolvedParams) -> FingerprintParams:
    """The parameters of the sub-segments of a record whose own are ``whole`` (resolved from ``params``).

    Every value of ``whole``, except the DFA scales and fit ranges that ``params`` leaves to the rule
    (``LENGTH_DEPENDENT`` of :mod:`~adhesive_dots.fingerprint.params`): those follow each sub-segment's length.
    """
    fixed = whole.to_params(keep_scales=False)
    return fixed.replace(
        **{name: getattr(params, name) for name in LENGTH_DEPENDENT if getattr(params, name) is not None}
    )


def _segment_features(data: np.ndarray, fs: float, options: dict[str, Any], rng: np.random.Generator):
    """The summary vector (F,) and the per-channel features (C, G) of one segment."""
    ds = compute_fingerprint_array(data, fs, rng=rng, workers=1, **options).dataset
    n_channels = ds.sizes["channel"]
    columns = []
    for name in CHANNEL_FEATURES:
        band = name.removeprefix("relative_power_")
        if name != band:
            present = band in ds["band"].values
            columns.append(ds["relative_power"].sel(band=band).values if present else np.full(n_channels, np.nan))
        else:
            columns.append(ds[name].values if name in ds else np.full(n_channels, np.nan))
    per_channel = np.column_stack(columns)
    return ds["summary"].values.astype(float), per_channel


def _features_by_length(data, fs, lengths, max_segments, options, rng, source):
    """Features of the sub-segments of every usable length: {length: (summary (K, F), channel (K, C, G))}."""
    n_total = data.shape[-1]
    out, skipped = {}, {}
    for length in lengths:
        n = int(round(length * fs))
        starts = _slots(n_total, n, max_segments) if n >= 4 else np.zeros(0, dtype=int)
        if starts.size < 2:
            continue
        rngs = rng.spawn(starts.size)
        try:
            results = [_segment_features(data[:, s : s + n], fs, options, r) for s, r in zip(starts, rngs, strict=True)]
        except DataError as err:  # too short for some feature (e.g. the envelope DFA's scales): reported, not hidden
            skipped[f"{length:g}"] = f"{source}: {err}"
            continue
        out[float(length)] = (np.array([r[0] for r in results]), np.array([r[1] for r in results]))
    return out, skipped


def _length_needed(
    metric: np.ndarray,
    lengths: np.ndarray,
    *,
    higher_is_better: bool,
    threshold: float,
    kind: str,
    bias: np.ndarray | None = None,
):
    """(length_needed, extrapolated, status) from a metric per length and its threshold."""
    finite = np.flatnonzero(np.isfinite(metric))
    if finite.size == 0:
        return float("nan"), False, "undetermined"
    ok = (metric >= threshold if higher_is_better else metric <= threshold)[finite]
    # the first observed length from which every longer observed length also meets the criterion
    # (one noisy dip of a short length does not count as reached)
    if ok[-1]:
        first = finite[np.flatnonzero(~ok)[-1] + 1] if (~ok).any() else finite[0]
        return float(lengths[first]), False, "reached"
    last = finite[-1]
    if kind == "reliability":
        needed = spearman_brown_length(float(metric[last]), float(lengths[last]), threshold)
    else:  # precision: the SD of an estimate falls as 1 / sqrt(length); a bias is not assumed to shrink
        bias_last = float(bias[last]) if bias is not None else 0.0
        if abs(bias_last) >= threshold:
            return float("nan"), False, "length-dependent"
        sd_sq = metric[last] ** 2 - bias_last**2
        needed = float(lengths[last] * sd_sq / (threshold**2 - bias_last**2))
    if not np.isfinite(needed):
        return float("nan"), False, "undetermined"
    return needed, True, "extrapolated"


def _assemble(*, features, lengths, stats, basis, full_value, target, tolerance, horizon_s, attrs):
    """The Sufficiency dataset from per-feature, per-length statistics."""
    n_f, n_l = len(features), len(lengths)
    needed = np.full(n_f, np.nan)
    extrapolated = np.zeros(n_f, dtype=bool)
    status = np.array(["undetermined"] * n_f, dtype=object)
    for i in range(n_f):
        if basis[i] in ("channels", "corpus", "reference"):
            result = _length_needed(
                stats["reliability"][i], lengths, higher_is_better=True, threshold=target, kind="reliability"
            )
        elif basis[i] == "precision":
            result = _length_needed(
                stats["relative_error"][i],
                lengths,
                higher_is_better=False,
                threshold=tolerance,
                kind="precision",
                bias=stats["relative_bias"][i],
            )
        else:
            continue
        needed[i], extrapolated[i], status[i] = result
    ds = xr.Dataset(coords={"feature": list(features), "length": ("length", lengths, {"units": "s"})})
    for name in (
        "mean",
        "within_sd",
        "between_sd",
        "reliability",
        "reliability_ci_low",
        "reliability_ci_high",
        "relative_sd",
        "relative_bias",
        "relative_error",
        "n_targets",
    ):
        ds[name] = (("feature", "length"), np.asarray(stats[name], dtype=float).reshape(n_f, n_l))
    ds["ci_low"] = ds["mean"] - Z95 * ds["within_sd"]
    ds["ci_high"] = ds["mean"] + Z95 * ds["within_sd"]
    ds["ci_low"].attrs["long_name"] = "mean - 1.96 x SD over sub-segments (95 % interval of one estimate)"
    ds["n_segments"] = ("length", np.asarray(stats["n_segments"], dtype=int))
    ds["dfa_max_scale"] = (
        "length",
        DEFAULT_MAX_FRACTION * lengths,
        {"units": "s", "rule": f"longest DFA window = {DEFAULT_MAX_FRACTION:g} x segment length"},
    )
    ds["full_value"] = ("feature", np.asarray(full_value, dtype=float))
    ds["basis"] = ("feature", np.asarray(basis, dtype=str))
    ds["criterion"] = (
        "feature",
        np.array(
            [
                target if b in ("channels", "corpus", "reference") else tolerance if b == "precision" else np.nan
                for b in basis
            ]
        ),
    )
    ds["length_needed"] = ("feature", needed, {"units": "s"})
    ds["extrapolated"] = ("feature", extrapolated)
    method = np.where(np.isin(np.asarray(basis), ["channels", "corpus", "reference"]), "spearman-brown", "inverse-sqrt")
    ds["extrapolation"] = (
        "feature",
        np.where(extrapolated, method, "").astype(str),
        {"long_name": "how length_needed was extrapolated beyond the observed lengths ('' if not)"},
    )
    ds["status"] = ("feature", status.astype(str))
    ds["within_horizon"] = ("feature", np.isfinite(needed) & (needed <= horizon_s))
    ds.attrs.update({"target": float(target), "tolerance": float(tolerance), "horizon_s": float(horizon_s), **attrs})
    from adhesive_dots import __version__

    ds.attrs["adhesive_dots_version"] = __version__
    return Sufficiency(ds)


def compute_sufficiency_array(
    data: np.ndarray,
    fs: float,
    *,
    lengths: Sequence[float] = DEFAULT_LENGTHS,
    target: float = 0.8,
    tolerance: float = 0.1,
    between_sd: Mapping[str, float] | None = None,
    horizon_s: float | None = None,
    max_segments: int = 12,
    channel_names: Sequence[str] | None = None,
    modality: Modality | str = Modality.OTHER,
    units: str = "",
    source: str = "<array>",
    params: FingerprintParams | None = None,
    rng: np.random.Generator | int | None = None,
    **settings: Any,
) -> Sufficiency:
    """How long a baseline must be for each fingerprint feature to be reliable (one recording).

    The record is cut into disjoint contiguous sub-segments of each length (up to ``max_segments`` of them,
    spread over the record; a length is used when at least two fit), the fingerprint
    (:func:`~adhesive_dots.fingerprint.compute_fingerprint_array`) is computed on each, and the agreement between
    sub-segments measures the reliability of one estimate of that length:

    * per-channel features (``channel:<name>``, :data:`CHANNEL_FEATURES`; two or more channels): the ICC(1,1)
      with channels as targets and sub-segments as repeated measurements -- how well one segment of that length
      ranks the channels as the whole record does (basis ``channels``);
    * summary features (one value per segment) have no between-target variance in one recording. With
      ``between_sd`` (e.g. :meth:`Sufficiency.between_sd` of a corpus), the reliability is
      ``between_sd**2 / (between_sd**2 + within_sd**2)`` (basis ``reference``). Otherwise the criterion is the
      precision: the relative RMS deviation of one sub-segment's estimate from the whole-record value,
      ``sqrt(within_sd**2 + (mean - full)**2) / |full| <= tolerance`` (basis ``precision``); features
      near zero by construction (:data:`ZERO_CENTRED`) are then ``undetermined`` (basis ``none``).

    The length needed is the first observed length from which every longer observed length meets the criterion;
    when the longest does not, it is extrapolated from the longest
    (labelled ``extrapolated``): Spearman-Brown for reliabilities (error variance ~ 1/length), ``L relative_sd**2 /
    (tolerance**2 - relative_bias**2)`` for precision (SD ~ 1/sqrt(length), bias kept; ``length-dependent``
    when the bias alone exceeds the tolerance); both are optimistic under slow within-session drift.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times) or (n_times,)
        The baseline.
    fs : float
        Sampling rate in Hz.
    lengths : sequence of float
        Candidate sub-segment lengths in s (default :data:`DEFAULT_LENGTHS`).
    target : float
        Reliability to reach (ICC), in (0, 1).
    tolerance : float
        Relative SD to reach under the precision criterion.
    between_sd : dict of str to float, optional
        Reference between-target SD per summary feature.
    horizon_s : float, optional
        The verdict ``within_horizon`` compares the needed length with this (default: the record's duration).
    max_segments : int
        Sub-segments per length (bounds the cost).
    channel_names, modality, units, source
        As in :func:`~adhesive_dots.fingerprint.compute_fingerprint_array` (modality chooses its defaults).
    params : FingerprintParams, optional
        The fingerprint parameters, resolved for the whole record and applied to every sub-segment (see the
        module docstring); stored in ``attrs["parameters"]``.
    rng : Generator, int or None
        Randomness of the fingerprint's surrogates.
    **settings
        Fields of :class:`~adhesive_dots.fingerprint.FingerprintParams` overriding ``params`` (e.g. ``bands``).

    Returns
    -------
    Sufficiency

    Examples
    --------
    >>> from adhesive_dots.sim import sim_fgn
    >>> s = compute_sufficiency_array(sim_fgn(100 * 120, 0.7, rng=0), 100.0, lengths=(15, 30, 60), rng=0)
    >>> s.dfa()["dfa_max_scale_s"].tolist()
    [1.5, 3.0, 6.0]
    """
    fs = _check_fs(fs)
    data = _check_data(data, name=f"{source} data", min_times=4)
    if data.ndim == 1:
        data = data[np.newaxis]
    _check_target(target, tolerance)
    max_segments = _check_max_segments(max_segments)
    lengths = _check_lengths(lengths)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    duration = data.shape[-1] / fs
    requested = make_params(params, **settings)
    whole = requested.resolve(fs=fs, n_times=data.shape[-1], n_channels=data.shape[0], modality=modality)
    options = {"modality": modality, "channel_names": channel_names, "units": units, "source": source}
    segment_options = {**options, "params": segment_params(requested, whole)}
    by_length, skipped = _features_by_length(data, fs, lengths, int(max_segments), segment_options, rng, source)
    if not by_length:
        usable = [f"{v:g}" for v in lengths if 2 * v <= duration]
        raise DataError(
            f"{source}: {duration:.1f} s is too short for two disjoint sub-segments of any length in "
            f"{[f'{v:g}' for v in lengths]} s (usable: {usable or 'none'}; skipped: {skipped or 'none'}); "
            "pass shorter lengths= or a longer baseline"
        )
    full_summary, full_channel = _segment_features(data, fs, {**options, "params": requested}, rng.spawn(1)[0])
    used = np.array(sorted(by_length))
    n_channels = data.shape[0]
    channel_names_f = [f"channel:{n}" for n in CHANNEL_FEATURES] if n_channels >= 2 else []
    features = list(SUMMARY_NAMES) + channel_names_f
    n_f, n_l = len(features), used.size
    stats = {
        k: np.full((n_f, n_l), np.nan)
        for k in (
            "mean",
            "within_sd",
            "between_sd",
            "reliability",
            "reliability_ci_low",
            "reliability_ci_high",
            "relative_sd",
            "relative_bias",
            "relative_error",
            "n_targets",
        )
    }
    n_segments = []
    between_sd = dict(between_sd or {})
    unknown = sorted(set(between_sd) - set(SUMMARY_NAMES))
    if unknown:
        raise DataError(f"between_sd names unknown features {unknown}; expected names from {list(SUMMARY_NAMES)}")
    basis = []
    for name in SUMMARY_NAMES:
        if name in between_sd:
            basis.append("reference")
        elif name in ZERO_CENTRED:
            basis.append("none")
        else:
            basis.append("precision")
    basis = [b if np.isfinite(v) else "none" for b, v in zip(basis, full_summary, strict=True)]
    basis += ["channels"] * len(channel_names_f)
    full_value = (
        list(full_summary)
        + [float(np.nanmedian(c)) if np.isfinite(c).any() else np.nan for c in full_channel.T][: len(channel_names_f)]
    )
    for j, length in enumerate(used):
        summary, per_channel = by_length[length]  # (K, F), (K, C, G)
        n_segments.append(summary.shape[0])
        for i, name in enumerate(SUMMARY_NAMES):
            values = summary[:, i]
            if not np.all(np.isfinite(values)):
                continue
            sd = float(np.std(values, ddof=1))
            stats["mean"][i, j], stats["within_sd"][i, j], stats["n_targets"][i, j] = values.mean(), sd, 1
            if abs(full_value[i]) > 0 and np.isfinite(full_value[i]):
                stats["relative_sd"][i, j] = sd / abs(full_value[i])
                stats["relative_bias"][i, j] = (values.mean() - full_value[i]) / abs(full_value[i])
                stats["relative_error"][i, j] = np.hypot(stats["relative_sd"][i, j], stats["relative_bias"][i, j])
            if name in between_sd:
                b = float(between_sd[name])
                stats["between_sd"][i, j] = b
                stats["reliability"][i, j] = b**2 / (b**2 + sd**2)
        for g, _ in enumerate(channel_names_f):
            i = len(SUMMARY_NAMES) + g
            values = per_channel[:, :, g]  # (K, C)
            icc = compute_icc([values[:, c] for c in range(n_channels)])
            if not np.isfinite(icc.value):
                continue
            stats["mean"][i, j] = float(np.nanmean(values))
            stats["within_sd"][i, j] = np.sqrt(icc.within_variance)
            stats["between_sd"][i, j] = np.sqrt(icc.between_variance)
            stats["reliability"][i, j] = icc.value
            stats["reliability_ci_low"][i, j], stats["reliability_ci_high"][i, j] = icc.ci_low, icc.ci_high
            stats["n_targets"][i, j] = icc.n_targets
    stats["n_segments"] = n_segments
    return _assemble(
        features=features,
        lengths=used,
        stats=stats,
        basis=basis,
        full_value=full_value,
        target=target,
        tolerance=tolerance,
        horizon_s=duration if horizon_s is None else float(horizon_s),
        attrs={
            "source": source,
            "mode": "baseline",
            "duration_s": duration,
            "fs": fs,
            "n_channels": n_channels,
            "max_segments": int(max_segments),
            "skipped_lengths": json.dumps(skipped),
            "feature_units": json.dumps({n: u for n, u, _ in SUMMARY_FIELDS}),
            "parameters": whole.to_json(),
        },
    )


def _baseline_options(baseline: Baseline) -> dict[str, Any]:
    return {
        "channel_names": list(baseline.channel_names),
        "modality": baseline.metadata.recording.modality or baseline.recording.modality,
        "units": baseline.recording.units,
        "source": baseline.source,
    }


def compute_sufficiency(baseline: Baseline, **options: Any) -> Sufficiency:
    """The sufficiency of one baseline (reads only its segment); see :func:`compute_sufficiency_array`.

    A segment of several pieces is concatenated, as :func:`~adhesive_dots.fingerprint.fingerprint` does, so a
    sub-segment may straddle a gap; select a contiguous baseline when that matters.

    Parameters
    ----------
    baseline : Baseline
        The adhesive dot; its ``fs``, channel names, modality and units are used.
    **options
        Any keyword of :func:`compute_sufficiency_array` (``lengths``, ``target``, ``between_sd``, ``rng`` ...).
    """
    merged = {**_baseline_options(baseline), **options}
    return compute_sufficiency_array(baseline.load(), baseline.fs, **merged)


def compute_corpus_sufficiency_array(
    datasets: Sequence[np.ndarray],
    fs: float | Sequence[float],
    *,
    lengths: Sequence[float] = DEFAULT_LENGTHS,
    target: float = 0.8,
    horizon_s: float = 600.0,
    max_segments: int = 6,
    modality: Modality | str | Sequence[Modality | str] = Modality.OTHER,
    sources: Sequence[str] | None = None,
    params: FingerprintParams | None = None,
    rng: np.random.Generator | int | None = None,
    **settings: Any,
) -> Sufficiency:
    """Reliability of each summary feature across many baselines (subjects, sessions) as a function of length.

    For each length, every baseline long enough for two disjoint sub-segments contributes up to
    ``max_segments`` of them; the ICC(1,1) with baselines as targets (unbalanced one-way ANOVA) is the
    reliability of one estimate of that length relative to the between-baseline spread -- the quantity a lab
    needs to plan recordings. ``between_sd`` (:meth:`Sufficiency.between_sd`) gives that spread back, for
    :func:`compute_sufficiency_array` on a new recording. ``within_horizon`` says whether the target is reached
    within ``horizon_s`` (default ten minutes).

    Parameters
    ----------
    datasets : sequence of ndarray, each (n_channels, n_times) or (n_times,)
        The baselines (at least 2).
    fs : float or sequence of float
        Sampling rate(s) in Hz.
    lengths, target, max_segments, params, rng, **settings
        As in :func:`compute_sufficiency_array`; every baseline's parameters are resolved on its own record,
        with one window, segment and aperiodic range for all (the shortest baseline's window).
    horizon_s : float
        The planning horizon in s.
    modality : Modality or str, or one per baseline
    sources : sequence of str, optional
        Names of the baselines (messages, provenance).

    Returns
    -------
    Sufficiency
        Mode ``corpus``; features are the summary features (basis ``corpus``).
    """
    n = len(datasets)
    if n < 2:
        raise DataError(f"a corpus needs at least 2 baselines for a between-baseline spread, got {n}")
    rates = [float(fs)] * n if np.isscalar(fs) else [float(v) for v in fs]
    modalities = [modality] * n if isinstance(modality, str | Modality) else list(modality)
    sources = [f"<array {i}>" for i in range(n)] if sources is None else [str(s) for s in sources]
    if not len(rates) == len(modalities) == len(sources) == n:
        raise DataError(
            f"fs, modality and sources must have one entry per baseline ({n}), got "
            f"{len(rates)}, {len(modalities)}, {len(sources)}"
        )
    _check_target(target, 0.1)
    max_segments = _check_max_segments(max_segments)
    lengths = _check_lengths(lengths)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    checked = []
    for data, rate, src in zip(datasets, rates, sources, strict=True):
        data = _check_data(data, name=f"{src} data", min_times=4)
        checked.append((data[np.newaxis] if data.ndim == 1 else data, _check_fs(rate)))
    requested = shared_params(
        [r for _, r in checked], [d.shape[-1] for d, _ in checked], params=make_params(params, **settings)
    )
    per_baseline, skipped, durations = [], {}, []
    for (data, rate), mod, src, child in zip(checked, modalities, sources, rng.spawn(n), strict=True):
        durations.append(data.shape[-1] / rate)
        whole = requested.resolve(fs=rate, n_times=data.shape[-1], n_channels=data.shape[0], modality=mod)
        options = {"modality": mod, "source": src, "params": segment_params(requested, whole)}
        found, skip = _features_by_length(data, rate, lengths, int(max_segments), options, child, src)
        per_baseline.append(found)
        skipped.update({f"{src} {k}": v for k, v in skip.items()})
    used = np.array(sorted({length for found in per_baseline for length in found}))
    used = np.array([v for v in used if sum(v in found for found in per_baseline) >= 2])
    if used.size == 0:
        raise DataError(
            f"no length in {[f'{v:g}' for v in lengths]} s fits twice into two or more of the {n} "
            f"baselines (durations {[round(d, 1) for d in durations]} s); pass shorter lengths="
        )
    features = list(SUMMARY_NAMES)
    n_f, n_l = len(features), used.size
    stats = {
        k: np.full((n_f, n_l), np.nan)
        for k in (
            "mean",
            "within_sd",
            "between_sd",
            "reliability",
            "reliability_ci_low",
            "reliability_ci_high",
            "relative_sd",
            "relative_bias",
            "relative_error",
            "n_targets",
        )
    }
    n_segments = []
    for j, length in enumerate(used):
        summaries = [found[length][0] for found in per_baseline if length in found]  # each (K_b, F)
        n_segments.append(int(sum(s.shape[0] for s in summaries)))
        for i in range(n_f):
            icc = compute_icc([s[:, i] for s in summaries])
            if not np.isfinite(icc.value):
                continue
            stats["mean"][i, j] = float(np.nanmean(np.concatenate([s[:, i] for s in summaries])))
            stats["within_sd"][i, j] = np.sqrt(icc.within_variance)
            stats["between_sd"][i, j] = np.sqrt(icc.between_variance)
            stats["reliability"][i, j] = icc.value
            stats["reliability_ci_low"][i, j], stats["reliability_ci_high"][i, j] = icc.ci_low, icc.ci_high
            stats["n_targets"][i, j] = icc.n_targets
    stats["n_segments"] = n_segments
    full_value = [float(np.mean(row[np.isfinite(row)])) if np.isfinite(row).any() else np.nan for row in stats["mean"]]
    return _assemble(
        features=features,
        lengths=used,
        stats=stats,
        basis=["corpus"] * n_f,
        full_value=full_value,
        target=target,
        tolerance=0.1,
        horizon_s=float(horizon_s),
        attrs={
            "source": json.dumps(sources),
            "mode": "corpus",
            "duration_s": float(np.median(durations)),
            "n_baselines": n,
            "max_segments": int(max_segments),
            "skipped_lengths": json.dumps(skipped),
            "feature_units": json.dumps({n: u for n, u, _ in SUMMARY_FIELDS}),
            "window_s": requested.window_s,
        },
    )


def compute_corpus_sufficiency(baselines: Sequence[Baseline], **options: Any) -> Sufficiency:
    """Corpus sufficiency of Baselines (each reads only its segment); see :func:`compute_corpus_sufficiency_array`."""
    baselines = list(baselines)
    if len(baselines) < 2:
        raise DataError(f"a corpus needs at least 2 baselines, got {len(baselines)}")
    meta = [_baseline_options(b) for b in baselines]
    return compute_corpus_sufficiency_array(
        [b.load() for b in baselines],
        [b.fs for b in baselines],
        modality=options.pop("modality", [m["modality"] for m in meta]),
        sources=options.pop("sources", [m["source"] for m in meta]),
        **options,
    )
